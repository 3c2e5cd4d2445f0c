package email

import (
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// texts holds every sentence of every e-mail, per language, so the
// templates hold only layout and a translation is one place to read.
// Values taking arguments are fmt formats.
var texts = map[string]map[string]string{
	booking.LangEnglish: {
		"greeting":           "Dear %s,",
		"signoff":            "vaxbook, the vaccination appointment service",
		"reference":          "Reference",
		"confirmed_subject":  "Your vaccination appointment is confirmed (%s)",
		"confirmed_intro":    "Your vaccination appointment is confirmed.",
		"centre":             "Centre",
		"address":            "Address",
		"date":               "Date",
		"time":               "Time",
		"time_zone":          "Malaysia time",
		"bring":              "What to bring",
		"bring_id":           "Your MyKad (identity card), or the passport you registered with",
		"bring_reference":    "This reference",
		"arrive":             "Please arrive 15 minutes before your time.",
		"calendar_confirmed": "The attached file %s adds the appointment to your calendar.",
		"calendar_changed":   "The attached file %s moves the appointment in your calendar.",
		"calendar_cancelled": "The attached file %s removes the appointment from your calendar.",
		"manage":             "See, change or cancel your booking",
		"manage_private":     "Keep this link to yourself: whoever has it can change or cancel your booking.",
		"changed_subject":    "Your vaccination appointment has changed (%s)",
		"changed_intro":      "Your vaccination appointment has been moved, as you asked. Your new appointment:",
		"cancelled_subject":  "Your vaccination appointment is cancelled (%s)",
		"cancelled_intro":    "Your vaccination appointment is cancelled, as you asked, and its place is free for someone else. This was the appointment:",
		"cancelled_again":    "You may book again whenever you wish:",
		"closing_subject":    "Your vaccination session is closing: choose another time (%s)",
		"closing_intro":      "We are sorry: the centre has had to close the session of your appointment. Please choose another time with the link below; your booking keeps its reference. This is the appointment that is closing:",
		"closing_deadline":   "If you do not choose another time by %s (Malaysia time), this booking will be cancelled then and you may book again.",
		"closed_subject":     "Your vaccination appointment is cancelled: its session closed (%s)",
		"closed_intro":       "We are sorry: the centre closed the session of your appointment, and no other time was chosen for it, so the booking is cancelled. This was the appointment:",
		"calendar_closed":    "The attached file %s removes the appointment from your calendar.",
		"manage_subject":     "Your vaccination booking link (%s)",
		"manage_intro":       "You asked for the link to your booking again. Your appointment:",
		"full_subject":       "Your chosen slots were fully booked (%s)",
		"full_intro":         "We are sorry: every slot you chose was taken before your booking (reference %s) could be given a place, so you have no appointment yet.",
		"full_choices":       "Your choices",
		"full_again":         "You may choose again from the places still open:",
		"greeting_anonymous": "Hello,",
		"duplicate_subject":  "No new booking was made (%s)",
		"duplicate_intro":    "We did not make a new booking for your submission (reference %s): the ID number given already holds a booking, and an ID number can hold one booking only.",
		"duplicate_holder":   "The holder of that booking has been told, at the contact details they gave when they booked. If the booking is yours, your appointment is unchanged: the e-mail you received when you booked has its details.",
		"attempt_subject":    "Someone tried to book with your ID number",
		"attempt_intro":      "Someone submitted a vaccination booking with the ID number of your booking. We made no new booking and told them nothing about your appointment, which is unchanged.",
		"attempt_you":        "If it was you, there is nothing more to do. If it was not, keep your booking reference to yourself, and call the helpline on 1-800-888-828 if you have any concern.",
		"attempt_daily":      "We send this notice at most once a day.",
		"ics_summary":        "Vaccination appointment",
		"ics_filename":       "appointment.ics",
		"invitation_subject": "You are invited to book your vaccination (%s)",
		"invitation_intro":   "A vaccination place is now held for you. Book it with the link below: it works once, and only with the ID number you registered with.",
		"invitation_book":    "Choose your centre and time",
		"invitation_expires": "This invitation expires on %s (Malaysia time). After that, its place goes to the next person in the queue.",
		"invitation_private": "Do not share this link: it books a place for you only.",
		"expired_subject":    "Your vaccination invitation has expired (%s)",
		"expired_intro":      "Your invitation to book a vaccination (registration %s) was not used before it expired, so its place has gone to the next person in the queue.",
		"expired_again":      "To be invited again, please register again:",
		"proof_subject":      "Your vaxbook verification code",
		"proof_intro":        "Enter this code on the vaccination booking page to show that this e-mail address is yours:",
		"proof_expires":      "The code works until %s (Malaysia time).",
		"proof_ignore":       "If you did not ask for it, ignore this e-mail: no booking is made with your address unless the code is entered. Never give the code to anyone who asks for it.",
	},
	booking.LangMalay: {
		"greeting":           "%s yang dihormati,",
		"signoff":            "vaxbook, perkhidmatan janji temu vaksinasi",
		"reference":          "Rujukan",
		"confirmed_subject":  "Janji temu vaksinasi anda telah disahkan (%s)",
		"confirmed_intro":    "Janji temu vaksinasi anda telah disahkan.",
		"centre":             "Pusat",
		"address":            "Alamat",
		"date":               "Tarikh",
		"time":               "Masa",
		"time_zone":          "waktu Malaysia",
		"bring":              "Sila bawa",
		"bring_id":           "MyKad (kad pengenalan) anda, atau pasport yang anda daftarkan",
		"bring_reference":    "Nombor rujukan ini",
		"arrive":             "Sila tiba 15 minit sebelum masa anda.",
		"calendar_confirmed": "Fail %s yang dilampirkan menambah janji temu ini ke kalendar anda.",
		"calendar_changed":   "Fail %s yang dilampirkan memindahkan janji temu ini dalam kalendar anda.",
		"calendar_cancelled": "Fail %s yang dilampirkan membuang janji temu ini daripada kalendar anda.",
		"manage":             "Lihat, tukar atau batalkan tempahan anda",
		"manage_private":     "Jangan kongsi pautan ini: sesiapa yang memilikinya boleh menukar atau membatalkan tempahan anda.",
		"changed_subject":    "Janji temu vaksinasi anda telah ditukar (%s)",
		"changed_intro":      "Janji temu vaksinasi anda telah dipindahkan seperti yang anda minta. Janji temu baharu anda:",
		"cancelled_subject":  "Janji temu vaksinasi anda telah dibatalkan (%s)",
		"cancelled_intro":    "Janji temu vaksinasi anda telah dibatalkan seperti yang anda minta, dan tempatnya kini terbuka untuk orang lain. Ini janji temu tersebut:",
		"cancelled_again":    "Anda boleh menempah semula bila-bila masa:",
		"closing_subject":    "Sesi vaksinasi anda ditutup: pilih masa lain (%s)",
		"closing_intro":      "Harap maaf: pusat terpaksa menutup sesi janji temu anda. Sila pilih masa lain melalui pautan di bawah; tempahan anda kekal dengan rujukan yang sama. Ini janji temu yang ditutup:",
		"closing_deadline":   "Jika anda tidak memilih masa lain sebelum %s (waktu Malaysia), tempahan ini akan dibatalkan pada masa itu dan anda boleh menempah semula.",
		"closed_subject":     "Janji temu vaksinasi anda dibatalkan: sesinya ditutup (%s)",
		"closed_intro":       "Harap maaf: pusat telah menutup sesi janji temu anda, dan tiada masa lain dipilih, jadi tempahan ini dibatalkan. Ini janji temu tersebut:",
		"calendar_closed":    "Fail %s yang dilampirkan membuang janji temu ini daripada kalendar anda.",
		"manage_subject":     "Pautan tempahan vaksinasi anda (%s)",
		"manage_intro":       "Anda meminta pautan ke tempahan anda sekali lagi. Janji temu anda:",
		"full_subject":       "Slot pilihan anda telah penuh (%s)",
		"full_intro":         "Harap maaf: semua slot pilihan anda telah penuh sebelum tempahan anda (rujukan %s) dapat diberikan tempat, jadi anda belum mempunyai janji temu.",
		"full_choices":       "Pilihan anda",
		"full_again":         "Anda boleh memilih semula daripada tempat yang masih dibuka:",
		"greeting_anonymous": "Salam sejahtera,",
		"duplicate_subject":  "Tiada tempahan baharu dibuat (%s)",
		"duplicate_intro":    "Kami tidak membuat tempahan baharu untuk permohonan anda (rujukan %s): nombor ID yang diberikan sudah mempunyai tempahan, dan satu nombor ID hanya boleh mempunyai satu tempahan.",
		"duplicate_holder":   "Pemegang tempahan itu telah dimaklumkan melalui maklumat hubungan yang diberikan semasa menempah. Jika tempahan itu milik anda, janji temu anda tidak berubah: butirannya ada dalam e-mel yang anda terima semasa menempah.",
		"attempt_subject":    "Seseorang cuba menempah dengan nombor ID anda",
		"attempt_intro":      "Seseorang telah menghantar tempahan vaksinasi dengan nombor ID tempahan anda. Kami tidak membuat tempahan baharu dan tidak memberitahu mereka apa-apa tentang janji temu anda, yang tidak berubah.",
		"attempt_you":        "Jika itu anda, tiada apa-apa lagi yang perlu dilakukan. Jika bukan, jangan kongsi nombor rujukan tempahan anda, dan hubungi talian bantuan 1-800-888-828 jika anda ada sebarang kebimbangan.",
		"attempt_daily":      "Kami menghantar makluman ini sekali sehari sahaja.",
		"ics_summary":        "Janji temu vaksinasi",
		"ics_filename":       "janji-temu.ics",
		"invitation_subject": "Anda dijemput untuk menempah vaksinasi (%s)",
		"invitation_intro":   "Satu tempat vaksinasi kini dikhaskan untuk anda. Tempah melalui pautan di bawah: ia boleh digunakan sekali sahaja, dan hanya dengan nombor ID yang anda daftarkan.",
		"invitation_book":    "Pilih pusat dan masa anda",
		"invitation_expires": "Jemputan ini tamat tempoh pada %s (waktu Malaysia). Selepas itu, tempatnya diberikan kepada orang seterusnya dalam giliran.",
		"invitation_private": "Jangan kongsi pautan ini: ia menempah tempat untuk anda sahaja.",
		"expired_subject":    "Jemputan vaksinasi anda telah tamat tempoh (%s)",
		"expired_intro":      "Jemputan anda untuk menempah vaksinasi (pendaftaran %s) tidak digunakan sebelum tamat tempoh, jadi tempatnya telah diberikan kepada orang seterusnya dalam giliran.",
		"expired_again":      "Untuk dijemput semula, sila daftar semula:",
		"proof_subject":      "Kod pengesahan vaxbook anda",
		"proof_intro":        "Masukkan kod ini di halaman tempahan vaksinasi untuk menunjukkan bahawa alamat e-mel ini milik anda:",
		"proof_expires":      "Kod ini sah sehingga %s (waktu Malaysia).",
		"proof_ignore":       "Jika anda tidak memintanya, abaikan e-mel ini: tiada tempahan dibuat dengan alamat anda melainkan kod ini dimasukkan. Jangan berikan kod ini kepada sesiapa yang memintanya.",
	},
}

var (
	weekdays = map[string][7]string{
		booking.LangEnglish: {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		booking.LangMalay:   {"Ahad", "Isnin", "Selasa", "Rabu", "Khamis", "Jumaat", "Sabtu"},
	}
	months = map[string][12]string{
		booking.LangEnglish: {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		booking.LangMalay:   {"Januari", "Februari", "Mac", "April", "Mei", "Jun", "Julai", "Ogos", "September", "Oktober", "November", "Disember"},
	}
)

// longDateTime writes an instant as a person in Malaysia reads it,
// "Khamis, 3 Disember 2026, 16:00".
func longDateTime(lang string, t time.Time) string {
	t = t.In(myt)
	return fmt.Sprintf("%s, %02d:%02d", longDate(lang, t.Format(time.DateOnly)), t.Hour(), t.Minute())
}

// longDate writes a slot's date (YYYY-MM-DD) as a person reads it, "Selasa,
// 1 Disember 2026"; a date it cannot read is shown as it is.
func longDate(lang, date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return fmt.Sprintf("%s, %d %s %d", weekdays[lang][d.Weekday()], d.Day(), months[lang][d.Month()-1], d.Year())
}
