package booking

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
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

// refDomain separates reference MACs from any other use of the key over the
// same inputs; the version lets the scheme change without collisions.
const refDomain = "vaxbook/booking-reference/v2\x00"

// MinReferenceKeyLen is the shortest REFERENCE_KEY accepted: an HMAC key
// shorter than SHA-256's output only weakens it.
const MinReferenceKeyLen = 32

// DevReferenceKey is the key used when REFERENCE_KEY is unset (`vaxbook
// dev`, tests, an API started bare). It is public, so a deployment sets its
// own from Secret Manager (deploy/api.yaml; the deploy test checks it).
const DevReferenceKey = "vaxbook-dev-reference-key-not-a-secret!!"

// ErrReferenceKeyShort is NewReferences' error; it never carries the key.
var ErrReferenceKeyShort = errors.New("must be at least 32 bytes")

// References derives the reference of a submission sent with an
// Idempotency-Key, keyed with REFERENCE_KEY. Keyed, because an unkeyed hash
// of (key, id_number) lets anyone holding a leaked IC and a guessed or
// observed key recompute the reference and read GET /status of someone
// else's booking; without REFERENCE_KEY the reference is as unguessable as
// a random one.
type References struct{ key []byte }

// NewReferences checks the key's length. Every API instance must be given
// the same key, or a retry landing on another instance gets another
// reference.
func NewReferences(key string) (*References, error) {
	if len(key) < MinReferenceKeyLen {
		return nil, ErrReferenceKeyShort
	}
	return &References{key: []byte(key)}, nil
}

// DevReferences uses DevReferenceKey.
func DevReferences() *References { return &References{key: []byte(DevReferenceKey)} }

// NewReference returns a fresh random reference for a submission sent
// without an Idempotency-Key.
func NewReference() string {
	var b [refBytes]byte
	// crypto/rand.Read never returns an error; it crashes the program
	// rather than hand out predictable bytes.
	_, _ = rand.Read(b[:])
	return refEncoding.EncodeToString(b[:])
}

// For derives the reference of a submission sent with an Idempotency-Key,
// from the key and the normalised id_number. Being a pure function of its
// inputs and REFERENCE_KEY, it gives a retry the same reference on any API
// instance with no shared state, so the worker's insert-once rule makes the
// retry a no-op; the id_number is mixed in so that two people who happen to
// send the same key still get different bookings.
func (r *References) For(idempotencyKey, normalizedIDNumber string) string {
	h := hmac.New(sha256.New, r.key)
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
