package booking_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
)

func TestNormalizePhone_GivesE164(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"+60123456789", "+60123456789"},
		{"0123456789", "+60123456789"},
		{"012-345 6789", "+60123456789"},
		{" +60 12-345 6789 ", "+60123456789"},
		{"011-1234 5678", "+601112345678"},
		{"03-2345 6789", "+60323456789"},
		{"+14155552671", "+14155552671"},
		{"+12345678", "+12345678"},               // shortest E.164 we take: 8 digits
		{"+123456789012345", "+123456789012345"}, // longest: 15 digits
	}
	for _, tt := range tests {
		got, err := booking.NormalizePhone(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizePhone_RejectsWhatIsNotAPhoneNumber(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, wantCode string }{
		{"", booking.CodeRequired},
		{"  ", booking.CodeRequired},
		{"+0123", booking.CodeInvalid},
		{"+0123456789", booking.CodeInvalid}, // country code cannot start with 0
		{"12345", booking.CodeInvalid},
		{"60123456789", booking.CodeInvalid}, // neither + nor a local 0
		{"+1234567", booking.CodeInvalid},    // 7 digits
		{"+1234567890123456", booking.CodeInvalid},
		{"0", booking.CodeInvalid},
		{"0123", booking.CodeInvalid},
		{"0060123456789", booking.CodeInvalid}, // international prefix, not a local number
		{"+60(12)3456789", booking.CodeInvalid},
		{"+60.12.345.6789", booking.CodeInvalid},
		{"+6012345678a", booking.CodeInvalid},
		{"+60\t123456789", booking.CodeInvalid},
		{"++60123456789", booking.CodeInvalid},
		{"０１２３４５６７８９", booking.CodeInvalid},
	}
	for _, tt := range tests {
		got, err := booking.NormalizePhone(tt.in)
		checkFieldError(t, fmt.Sprintf("NormalizePhone(%q)", tt.in), got, err, "phone", tt.wantCode)
	}
}

func TestValidEmail_AcceptsOnlyBareDottedAddresses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"siti@example.com", true},
		{"  siti@example.com\n", true},
		{"siti.aminah+vax@mail.example.com.my", true},
		{"SITI@EXAMPLE.COM", true},
		{"s@x.co", true},
		{strings.Repeat("a", 242) + "@example.com", true},  // 254 bytes
		{strings.Repeat("a", 243) + "@example.com", false}, // 255 bytes
		{"", false},
		{"   ", false},
		{"a@b", false},
		{"siti@localhost", false},
		{"Siti <s@x.com>", false},
		{"<s@x.com>", false},
		{"s@x.com (Siti)", false},
		{`"siti aminah"@example.com`, false},
		{`"siti"@example.com`, false},
		{"siti", false},
		{"siti@", false},
		{"@example.com", false},
		{"siti@@example.com", false},
		{"siti @example.com", false},
		{"siti@exa mple.com", false},
		{"siti@example..com", false},
		{"siti@.example.com", false},
		{"siti@example.com.", false},
		{"siti@example.com, ali@example.com", false},
		{"siti@example.com\r\nBcc: x@y.com", false},
		{"siti@example.com\u200b", false},
		{"si\u200dti@example.com", false},
		{"siti@exämple.com", true},
	}
	for _, tt := range tests {
		if got := booking.ValidEmail(tt.in); got != tt.want {
			t.Errorf("ValidEmail(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
