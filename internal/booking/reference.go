package booking

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
)

// refBytes is 80 bits: enough that guessing someone's reference to read
// their /status is hopeless, and exactly 16 base32 characters with no padding.
const (
	refBytes = 10
	refLen   = 16
)

// refEncoding is upper-case base32 without padding: URL-safe, and free of
// 0/O and 1/I confusions when a reference is read out over the phone.
var refEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// refDomain separates reference hashes from any other use of SHA-256 over the
// same inputs; the version lets the scheme change without collisions.
const refDomain = "vaxbook/booking-reference/v1\x00"

// NewReference returns a fresh random reference for a submission sent
// without an Idempotency-Key.
func NewReference() string {
	var b [refBytes]byte
	// crypto/rand.Read never returns an error; it crashes the program
	// rather than hand out predictable bytes.
	_, _ = rand.Read(b[:])
	return refEncoding.EncodeToString(b[:])
}

// ReferenceFor derives the reference of a submission sent with an
// Idempotency-Key, from the key and the normalised id_number. Being a pure
// function, it gives a retry the same reference on any API instance with no
// shared state, so the worker's insert-once rule makes the retry a no-op; the
// id_number is mixed in so that two people who happen to send the same key
// still get different bookings.
func ReferenceFor(idempotencyKey, normalizedIDNumber string) string {
	h := sha256.New()
	h.Write([]byte(refDomain))
	h.Write([]byte(idempotencyKey))
	// A valid key is printable ASCII, so the 0 byte cannot occur in it and
	// ("ab", "c") cannot collide with ("a", "bc").
	h.Write([]byte{0})
	h.Write([]byte(normalizedIDNumber))
	return refEncoding.EncodeToString(h.Sum(nil)[:refBytes])
}

// ValidReference reports whether s has the shape of a reference, 16
// characters of A-Z and 2-7, so that the API can refuse anything else before
// it reaches a Redis key.
func ValidReference(s string) bool {
	if len(s) != refLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// MaxIdempotencyKeyLen bounds the Idempotency-Key header, in bytes.
const MaxIdempotencyKeyLen = 255

// ValidIdempotencyKey reports whether s is 1 to 255 bytes of printable ASCII
// without spaces (0x21-0x7E): enough for a UUID or any client scheme, and
// safe to log and hash unambiguously.
func ValidIdempotencyKey(s string) bool {
	if s == "" || len(s) > MaxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7E {
			return false
		}
	}
	return true
}
