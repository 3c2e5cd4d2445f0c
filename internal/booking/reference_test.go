package booking_test

import (
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
)

func TestReferenceFor_IsStableAcrossInstancesAndReleases(t *testing.T) {
	t.Parallel()
	// Pinned: a retry may land on an instance running another release, and
	// must still get the reference the first attempt was given.
	const want = "7KNMXYNMEI7ZYNDG"
	for range 3 {
		if got := booking.ReferenceFor("key-1", "900101145678"); got != want {
			t.Fatalf("ReferenceFor(key-1, 900101145678) = %q, want %q", got, want)
		}
	}
}

func TestReferenceFor_DiffersByPersonAndKey(t *testing.T) {
	t.Parallel()
	base := booking.ReferenceFor("key-1", "900101145678")
	others := map[string]string{
		"other person, same key": booking.ReferenceFor("key-1", "900101145679"),
		"same person, other key": booking.ReferenceFor("key-2", "900101145678"),
		"boundary shifted":       booking.ReferenceFor("key-19", "00101145678"),
		"passport holder":        booking.ReferenceFor("key-1", "A1234567"),
	}
	for name, got := range others {
		if got == base {
			t.Errorf("%s: ReferenceFor = %q, same as the base reference", name, got)
		}
		if !booking.ValidReference(got) {
			t.Errorf("%s: ValidReference(%q) = false, want true", name, got)
		}
	}
}

func TestNewReference_IsValidAndFresh(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 1000 {
		ref := booking.NewReference()
		if !booking.ValidReference(ref) {
			t.Fatalf("ValidReference(NewReference() = %q) = false, want true", ref)
		}
		if seen[ref] {
			t.Fatalf("NewReference() repeated %q", ref)
		}
		seen[ref] = true
	}
}

func TestValidReference_AcceptsOnlyTheShapeWeIssue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"7KNMXYNMEI7ZYNDG", true},
		{"AAAAAAAAAAAAAAAA", true},
		{"2345672345672345", true},
		{"", false},
		{"7KNMXYNMEI7ZYND", false},   // 15
		{"7KNMXYNMEI7ZYNDGA", false}, // 17
		{"7knmxynmei7zyndg", false},  // lower-case
		{"7KNMXYNMEI7ZYND0", false},  // 0 is not base32
		{"7KNMXYNMEI7ZYND1", false},
		{"7KNMXYNMEI7ZYND8", false},
		{"7KNMXYNMEI7ZYND=", false},
		{"7KNMXYNMEI7ZYN/G", false},
		{"7KNMXYNMEI7ZYNDÉ", false},
	}
	for _, tt := range tests {
		if got := booking.ValidReference(tt.in); got != tt.want {
			t.Errorf("ValidReference(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidIdempotencyKey_AcceptsPrintableASCIIUpTo255Bytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"uuid", "8e0f3c1a-6f7b-4c1e-9d2a-1b2c3d4e5f60", true},
		{"one byte", "a", true},
		{"all punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", true},
		{"255 bytes", strings.Repeat("k", 255), true},
		{"empty", "", false},
		{"256 bytes", strings.Repeat("k", 256), false},
		{"space", "my key", false},
		{"tab", "my\tkey", false},
		{"NUL", "my\x00key", false},
		{"DEL", "key\x7f", false},
		{"non-ASCII", "clé", false},
	}
	for _, tt := range tests {
		if got := booking.ValidIdempotencyKey(tt.in); got != tt.want {
			t.Errorf("%s: ValidIdempotencyKey(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}
