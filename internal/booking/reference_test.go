package booking_test

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/booking"
)

func mustReferences(t *testing.T, key string) *booking.References {
	t.Helper()
	r, err := booking.NewReferences(key)
	if err != nil {
		t.Fatalf("NewReferences: %v", err)
	}
	return r
}

var testRefKey = strings.Repeat("r", booking.MinReferenceKeyLen)

func TestReferencesFor_IsStableAcrossInstancesAndReleases(t *testing.T) {
	t.Parallel()
	// Pinned: a retry may land on another instance (given the same key) or
	// one running another release, and must still get the reference the
	// first attempt was given.
	const want = "A3OLXRC5XFHGBTUN"
	for range 3 {
		if got := mustReferences(t, testRefKey).For("key-1", "900101145678"); got != want {
			t.Fatalf("For(key-1, 900101145678) = %q, want %q", got, want)
		}
	}
}

func TestReferencesFor_DiffersByPersonAndKey(t *testing.T) {
	t.Parallel()
	refs := mustReferences(t, testRefKey)
	base := refs.For("key-1", "900101145678")
	others := map[string]string{
		"other person, same key": refs.For("key-1", "900101145679"),
		"same person, other key": refs.For("key-2", "900101145678"),
		"boundary shifted":       refs.For("key-19", "00101145678"),
		"passport holder":        refs.For("key-1", "A1234567"),
	}
	for name, got := range others {
		if got == base {
			t.Errorf("%s: For = %q, same as the base reference", name, got)
		}
		if !booking.ValidReference(got) {
			t.Errorf("%s: ValidReference(%q) = false, want true", name, got)
		}
	}
}

// An attacker with a leaked IC and a guessed Idempotency-Key must not be
// able to compute the reference (and read /status) without REFERENCE_KEY:
// neither the old unkeyed SHA-256 nor another key gives it.
func TestReferencesFor_CannotBeRecomputedWithoutTheKey(t *testing.T) {
	t.Parallel()
	const key, ic = "8e0f3c1a-6f7b-4c1e-9d2a-1b2c3d4e5f60", "900101145678"
	got := mustReferences(t, testRefKey).For(key, ic)
	for _, v := range []string{"vaxbook/booking-reference/v1\x00", "vaxbook/booking-reference/v2\x00"} {
		h := sha256.New()
		h.Write([]byte(v + key + "\x00" + ic))
		unkeyed := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)[:10])
		if got == unkeyed {
			t.Fatalf("For = %q, the unkeyed SHA-256 of the inputs", got)
		}
	}
	if other := mustReferences(t, strings.Repeat("x", 32)).For(key, ic); other == got {
		t.Fatalf("two keys gave the same reference %q", got)
	}
	if dev := booking.DevReferences().For(key, ic); dev == got {
		t.Fatalf("the dev key gave the deployment's reference %q", got)
	}
}

func TestNewReferences_RefusesAShortKeyWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	short := "hunter2-hunter2-hunter2-hunter2" // 31 bytes
	_, err := booking.NewReferences(short)
	if err == nil {
		t.Fatal("NewReferences(31 bytes) error = nil, want one")
	}
	if strings.Contains(err.Error(), short) {
		t.Fatalf("error %q echoes the key", err)
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
