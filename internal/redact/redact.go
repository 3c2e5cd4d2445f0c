// Package redact keeps credentials out of error lines: a connection URL an
// operator got wrong is reported without the password it carries, because
// start-up errors land in Cloud Logging, CI output and bug reports, where
// the Redis or database password would outlive any rotation.
package redact

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Mask is what a password is replaced by (pgx's own choice, so a line reads
// the same whichever library wrote it).
const Mask = "xxxxx"

// password= in a key=value connection string (libpq's other form).
var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// URL returns raw with the password of its userinfo, and any password=
// setting, replaced by Mask. raw need not parse: a URL that does not parse
// is exactly the one whose error is printed. The userinfo is taken to end at
// the last '@', which may hide more than the password (an '@' in a query
// string) but never less.
func URL(raw string) string {
	out := kvPassword.ReplaceAllString(raw, "${1}"+Mask)
	scheme := strings.Index(out, "://")
	if scheme < 0 {
		return out
	}
	rest := out[scheme+3:]
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return out
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		// redis://SECRET@host: go-redis reads a lone userinfo as a
		// username, but people write the password there.
		return out[:scheme+3] + Mask + rest[at:]
	}
	return out[:scheme+3] + user + ":" + Mask + rest[at:]
}

// ParseError is the start-up error for setting (a variable's name) whose URL
// raw parse refused with err. The message never carries the password: it is
// parse's complaint about the redacted URL, or, when only the real password
// upsets the parser, a sentence saying so.
func ParseError(setting, raw string, parse func(string) error, err error) error {
	if err == nil {
		return nil
	}
	masked := URL(raw)
	if masked == raw {
		// No password to hide; the library's own words are the most useful.
		return fmt.Errorf("%s: %w", setting, err)
	}
	if merr := parse(masked); merr != nil {
		return fmt.Errorf("%s: %w", setting, errors.New(strings.ReplaceAll(merr.Error(), raw, masked)))
	}
	return fmt.Errorf("%s: the password cannot be read as part of a URL (percent-encode characters such as @ : / ? # %% in it)", setting)
}
