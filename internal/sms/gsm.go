package sms

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// gsmBasic is GSM 03.38's default alphabet, one septet each; gsmExtended
// costs two (an escape and the character).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

// Segments counts the SMS a body costs: a GSM-7 body takes 160 septets in
// one message, 153 in each part of a longer one (the rest is the header
// that joins them); a body with any character outside GSM-7 goes as UCS-2,
// 70 characters in one, 67 in each part.
func Segments(body string) int {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtended, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if !gsm {
		return parts(utf16Units(body), 70, 67)
	}
	return parts(septets, 160, 153)
}

func parts(n, single, each int) int {
	if n <= single {
		return 1
	}
	return (n + each - 1) / each
}

func utf16Units(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++ // a surrogate pair
		}
	}
	return n
}

// Fold writes s in GSM-7, so a centre's name with an accent or a curly
// quote does not turn the whole text into UCS-2 and more than double its
// cost: marks are dropped ("Pulau Pinang" stays, "Sabah’s" becomes
// "Sabah's"), and whatever has no GSM-7 form becomes "?".
func Fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == '‘' || r == '’':
			r = '\''
		case r == '“' || r == '”':
			r = '"'
		case r == '–' || r == '—':
			r = '-'
		case r == '\t':
			r = ' '
		}
		if !strings.ContainsRune(gsmBasic, r) && !strings.ContainsRune(gsmExtended, r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
