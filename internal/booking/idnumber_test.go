package booking_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// icNow is a fixed "now" for IC tests: 23 November 2026, midday in Malaysia.
var icNow = time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// checkFieldError checks that call, written as a failure should show it,
// failed with a *booking.FieldError on field with code and a message; got
// is what the call returned besides the error.
func checkFieldError(t *testing.T, call string, got any, err error, field, code string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = %+v, nil; want error %q", call, got, code)
		return
	}
	fe, ok := errors.AsType[*booking.FieldError](err)
	if !ok {
		t.Fatalf("%s error %v (%T) is not a *booking.FieldError", call, err, err)
	}
	if fe.Field != field || fe.Code != code {
		t.Errorf("%s error = {%q %q}, want {%q %q}", call, fe.Field, fe.Code, field, code)
	}
	if fe.Message == "" {
		t.Errorf("%s error has no message", call)
	}
}

func TestParseICAt_AcceptsBothFormsWithARealPastDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		wantDigits string
		wantBirth  time.Time
	}{
		{"900101-14-5678", "900101145678", date(1990, 1, 1)},
		{"900101145678", "900101145678", date(1990, 1, 1)},
		{"000229-01-1234", "000229011234", date(2000, 2, 29)},
		{"000229011234", "000229011234", date(2000, 2, 29)},
		{"991231-99-9999", "991231999999", date(1999, 12, 31)},
		{"261123-10-0001", "261123100001", date(2026, 11, 23)}, // born today
		{"270101-10-0001", "270101100001", date(1927, 1, 1)},   // year above this one: last century
		{"260101-10-0001", "260101100001", date(2026, 1, 1)},
		{"200229-00-0000", "200229000000", date(2020, 2, 29)},
		{"900101-00-0000", "900101000000", date(1990, 1, 1)}, // place of birth not checked
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := booking.ParseICAt(tt.in, icNow)
			if err != nil {
				t.Fatalf("ParseICAt(%q) error = %v, want nil", tt.in, err)
			}
			if got.Digits != tt.wantDigits {
				t.Errorf("ParseICAt(%q).Digits = %q, want %q", tt.in, got.Digits, tt.wantDigits)
			}
			if !got.BirthDate.Equal(tt.wantBirth) {
				t.Errorf("ParseICAt(%q).BirthDate = %v, want %v", tt.in, got.BirthDate, tt.wantBirth)
			}
		})
	}
}

func TestParseICAt_RejectsBadShapesAndDates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantCode string
	}{
		{"common-year leap day", "010229-01-1234", booking.CodeInvalidDate},
		{"month 13", "991301-01-1234", booking.CodeInvalidDate},
		{"month 0", "990001-01-1234", booking.CodeInvalidDate},
		{"day 0", "990100-01-1234", booking.CodeInvalidDate},
		{"day 32", "990132-01-1234", booking.CodeInvalidDate},
		{"31 April", "990431-01-1234", booking.CodeInvalidDate},
		{"tomorrow", "261124-10-1234", booking.CodeInvalidDate},
		{"later this year", "261231101234", booking.CodeInvalidDate},
		{"dash inside date", "9001-01-145678", booking.CodeInvalid},
		{"one dash only", "900101-145678", booking.CodeInvalid},
		{"second dash misplaced", "900101-1-45678", booking.CodeInvalid},
		{"dashes moved", "90010-114-5678", booking.CodeInvalid},
		{"double dash", "900101--14-5678", booking.CodeInvalid},
		{"trailing dash", "900101145678-", booking.CodeInvalid},
		{"11 digits", "90010114567", booking.CodeInvalid},
		{"13 digits", "9001011456789", booking.CodeInvalid},
		{"11 digits dashed", "900101-14-567", booking.CodeInvalid},
		{"13 digits dashed", "900101-14-56789", booking.CodeInvalid},
		{"empty", "", booking.CodeInvalid},
		{"surrounding space", " 900101145678", booking.CodeInvalid},
		{"inner spaces", "900101 14 5678", booking.CodeInvalid},
		{"letter", "900101-14-567A", booking.CodeInvalid},
		{"full-width digits", "９００１０１１４５６７８", booking.CodeInvalid},
		{"plus sign", "+90101145678", booking.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := booking.ParseICAt(tt.in, icNow)
			checkFieldError(t, fmt.Sprintf("ParseICAt(%q)", tt.in), got, err, "id_number", tt.wantCode)
		})
	}
}

func TestParseICAt_JudgesTodayInMalaysia(t *testing.T) {
	t.Parallel()
	// 17:00 UTC on 23 November is already 01:00 on the 24th in Malaysia,
	// where a baby born that night is registered.
	now := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	got, err := booking.ParseICAt("261124-14-0001", now)
	if err != nil {
		t.Fatalf("ParseICAt(born 24 Nov, at 01:00 MYT on 24 Nov) error = %v, want nil", err)
	}
	if want := date(2026, 11, 24); !got.BirthDate.Equal(want) {
		t.Errorf("BirthDate = %v, want %v", got.BirthDate, want)
	}
}

func TestParseICAt_PivotsTheCenturyOnTheCurrentYear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		now      time.Time
		in       string
		wantYear int
	}{
		{date(2026, 6, 1), "260101-01-0001", 2026},
		{date(2026, 6, 1), "270101-01-0001", 1927},
		{date(2027, 6, 1), "270101-01-0001", 2027},
		{date(2030, 6, 1), "000101-01-0001", 2000},
		{date(2030, 6, 1), "310101-01-0001", 1931},
	}
	for _, tt := range tests {
		got, err := booking.ParseICAt(tt.in, tt.now)
		if err != nil {
			t.Errorf("ParseICAt(%q, %v) error = %v, want nil", tt.in, tt.now, err)
			continue
		}
		if got.BirthDate.Year() != tt.wantYear {
			t.Errorf("ParseICAt(%q, %v) year = %d, want %d", tt.in, tt.now, got.BirthDate.Year(), tt.wantYear)
		}
	}
}

func TestParseIC_UsesTheClock(t *testing.T) {
	t.Parallel()
	if _, err := booking.ParseIC("900101-14-5678"); err != nil {
		t.Errorf("ParseIC(900101-14-5678) error = %v, want nil", err)
	}
	tomorrow := time.Now().Add(24 * time.Hour).In(time.FixedZone("MYT", 8*60*60))
	if tomorrow.YearDay() > 1 { // on 31 December, tomorrow's YY is read as last century
		in := tomorrow.Format("060102") + "-01-0001"
		if _, err := booking.ParseIC(in); err == nil {
			t.Errorf("ParseIC(%q) error = nil, want a future date refused", in)
		}
	}
}

func TestNormalizeIDNumber_GivesOneFormPerPerson(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"900101-14-5678", "900101145678"},
		{"900101145678", "900101145678"},
		{"  900101-14-5678\t", "900101145678"},
		{"000229-01-1234", "000229011234"},
		{"A1234567", "A1234567"},
		{"a1234567", "A1234567"},
		{" k12345678 ", "K12345678"},
		{"AB123C", "AB123C"},
		{"ABCDEF", "ABCDEF"},
		{"AB1234567890", "AB1234567890"},
	}
	for _, tt := range tests {
		got, err := booking.NormalizeIDNumber(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeIDNumber(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeIDNumber_RejectsWhatIsNeitherICNorPassport(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, wantCode string }{
		{"", booking.CodeRequired},
		{"   ", booking.CodeRequired},
		{"010229-01-1234", booking.CodeInvalidDate},
		{"991301011234", booking.CodeInvalidDate},
		{"123456789", booking.CodeInvalid},     // no letter: not a passport, too short for an IC
		{"AB12", booking.CodeInvalid},          // passport too short
		{"AB123", booking.CodeInvalid},         // passport too short
		{"AB12345678901", booking.CodeInvalid}, // passport too long
		{"AB 123456", booking.CodeInvalid},
		{"AB-123456", booking.CodeInvalid},
		{"ÄB123456", booking.CodeInvalid},
		{"900101-14-5678x", booking.CodeInvalid},
		{"9001-01-145678", booking.CodeInvalid},
		{"------", booking.CodeInvalid},
	}
	for _, tt := range tests {
		got, err := booking.NormalizeIDNumber(tt.in)
		checkFieldError(t, fmt.Sprintf("NormalizeIDNumber(%q)", tt.in), got, err, "id_number", tt.wantCode)
	}
}
