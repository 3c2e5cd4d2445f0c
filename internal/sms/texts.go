package sms

import (
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/notify"
)

// texts is every SMS, per kind and language, in one table: a new kind is
// one entry here (TestTexts_EveryKindInBothLanguages finds one missing).
// Placeholders: {ref} the reference, {link} the page (or the invitation's
// own link), {date} {time} {centre} the slot, {expires} the invitation's
// end, {manage} the booking's manage link after manageLink's words (empty
// when the deployment gives none). Each must stay within one GSM-7 segment (160 characters) before
// its link and centre, and two with them (testdata/*.golden, with counts).
// A proof code is sent by e-mail only: it proves the address. No text
// names a person or their ID number.
var texts = map[notify.Kind]map[string]string{
	notify.KindConfirmed: {
		booking.LangEnglish: "vaxbook: Vaccination on {date} {time}, {centre}. Ref {ref}. Bring MyKad/passport; come 15 min early.{manage}",
		booking.LangMalay:   "vaxbook: Vaksinasi {date} {time}, {centre}. Rujukan {ref}. Bawa MyKad/pasport; tiba 15 minit awal.{manage}",
	},
	notify.KindChanged: {
		booking.LangEnglish: "vaxbook: Your vaccination is now on {date} {time}, {centre}. Ref {ref}.{manage}",
		booking.LangMalay:   "vaxbook: Vaksinasi anda kini pada {date} {time}, {centre}. Rujukan {ref}.{manage}",
	},
	notify.KindCancelled: {
		booking.LangEnglish: "vaxbook: Your vaccination on {date} {time} (ref {ref}) is cancelled. To book again: {link}",
		booking.LangMalay:   "vaxbook: Vaksinasi anda {date} {time} (rujukan {ref}) dibatalkan. Tempah semula: {link}",
	},
	notify.KindManage: {
		booking.LangEnglish: "vaxbook: Your booking {ref} on {date} {time}. Do not share this link.{manage}",
		booking.LangMalay:   "vaxbook: Tempahan anda {ref} pada {date} {time}. Jangan kongsi pautan ini.{manage}",
	},
	notify.KindClosing: {
		booking.LangEnglish: "vaxbook: Your session {date} {time}, {centre} is closing (ref {ref}). Choose another time by {expires} or it is cancelled.{manage}",
		booking.LangMalay:   "vaxbook: Sesi anda {date} {time}, {centre} ditutup (rujukan {ref}). Pilih masa lain sebelum {expires} atau ia dibatalkan.{manage}",
	},
	notify.KindClosed: {
		booking.LangEnglish: "vaxbook: Your vaccination session {date} {time} closed, so booking {ref} is cancelled. To book again: {link}",
		booking.LangMalay:   "vaxbook: Sesi vaksinasi anda {date} {time} ditutup, jadi tempahan {ref} dibatalkan. Tempah semula: {link}",
	},
	notify.KindFull: {
		booking.LangEnglish: "vaxbook: Sorry, all slots you chose were taken (ref {ref}); no appointment yet. Choose again: {link}",
		booking.LangMalay:   "vaxbook: Maaf, slot pilihan anda penuh (rujukan {ref}); tiada janji temu lagi. Pilih semula: {link}",
	},
	notify.KindDuplicate: {
		booking.LangEnglish: "vaxbook: No new booking was made (ref {ref}): the ID number given already holds one. Its holder has been told.",
		booking.LangMalay:   "vaxbook: Tiada tempahan baharu (rujukan {ref}): nombor ID itu sudah mempunyai tempahan. Pemegangnya telah dimaklumkan.",
	},
	notify.KindAttempt: {
		booking.LangEnglish: "vaxbook: Someone tried to book with your booking's ID number. Your appointment is unchanged. Not you? Call 1-800-888-828.",
		booking.LangMalay:   "vaxbook: Seseorang cuba menempah dengan nombor ID tempahan anda. Janji temu anda tidak berubah. Bukan anda? Hubungi 1-800-888-828.",
	},
	notify.KindInvitation: {
		booking.LangEnglish: "vaxbook: A vaccination place is held for you until {expires}. Book once, with your registered ID: {link}",
		booking.LangMalay:   "vaxbook: Tempat vaksinasi dikhaskan untuk anda hingga {expires}. Tempah sekali, dengan ID berdaftar: {link}",
	},
	notify.KindExpired: {
		booking.LangEnglish: "vaxbook: Your invitation (registration {ref}) expired unused. To be invited again, register again: {link}",
		booking.LangMalay:   "vaxbook: Jemputan anda (pendaftaran {ref}) tamat tempoh. Untuk dijemput semula, daftar semula: {link}",
	},
}

// manageLink introduces the link that changes or cancels a booking.
var manageLink = map[string]string{
	booking.LangEnglish: " Change or cancel: ",
	booking.LangMalay:   " Tukar atau batal: ",
}

var months = map[string][12]string{
	booking.LangEnglish: {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	booking.LangMalay:   {"Jan", "Feb", "Mac", "Apr", "Mei", "Jun", "Jul", "Ogo", "Sep", "Okt", "Nov", "Dis"},
}
