// Package pii is how vaxbook keeps the least it can about a person: the ID
// number as a keyed hash (ID_PEPPER) instead of the number itself. The
// one-booking-per-person rule and the invitation's binding only ever ask
// "is this the same ID?", which the hash answers; the number itself is
// never needed again once the worker has it, so it is not stored.
package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// MinPepperLen is the shortest ID_PEPPER accepted: an HMAC key shorter than
// SHA-256's output only weakens it.
const MinPepperLen = 32

// DevPepper is the pepper of `vaxbook dev` and tests. It is public: a
// deployment sets its own from Secret Manager (deploy/worker.yaml).
const DevPepper = "vaxbook-dev-id-pepper-not-a-secret-!!!!"

// ErrPepperShort is NewPepper's error; it never carries the pepper.
var ErrPepperShort = errors.New("must be at least 32 bytes")

// Pepper hashes normalised ID numbers with ID_PEPPER. Keyed, because a
// Malaysian IC has about 10^10 plausible values (a birth date, a place
// code, four digits): an unkeyed hash of one is reversed by enumeration in
// minutes, so a copy of the database alone must not be enough.
type Pepper struct{ key []byte }

// NewPepper checks the pepper's length. Every process that writes or looks
// up ID hashes (worker, `vaxbook erase`, `vaxbook pii backfill`) must be
// given the same one; changing it orphans every stored hash.
func NewPepper(secret string) (*Pepper, error) {
	if len(secret) < MinPepperLen {
		return nil, ErrPepperShort
	}
	return &Pepper{key: []byte(secret)}, nil
}

// Configured checks ID_PEPPER as a role that needs it reads it: the error
// is one configuration line naming the variable, never its value.
func Configured(secret string) (*Pepper, error) {
	if secret == "" {
		return nil, fmt.Errorf("configuration: ID_PEPPER: required (at least %d bytes, the worker's, from Secret Manager)", MinPepperLen)
	}
	p, err := NewPepper(secret)
	if err != nil {
		return nil, fmt.Errorf("configuration: ID_PEPPER: %w", err)
	}
	return p, nil
}

// Dev is the pepper of DevPepper.
func Dev() *Pepper { return &Pepper{key: []byte(DevPepper)} }

// Hash is the stored form of a normalised ID number: 64 hex characters.
func (p *Pepper) Hash(normalizedIDNumber string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("vaxbook/id/v1\x00"))
	m.Write([]byte(normalizedIDNumber))
	return hex.EncodeToString(m.Sum(nil))
}
