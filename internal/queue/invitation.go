package queue

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// Invitation is what a token says: whose registration it belongs to, in
// which state, and until when it may book.
type Invitation struct {
	Registration string // the registration's reference
	State        string
	ExpiresAt    time.Time
	idTag        [idTagLen]byte
}

// The ways a token can fail, each its own answer of POST /submit.
var (
	ErrInvitationInvalid  = errors.New("invitation is forged or malformed")
	ErrInvitationNotYours = errors.New("invitation belongs to another id_number")
	ErrInvitationExpired  = errors.New("invitation has expired")
)

// MinSecretLen is the shortest INVITATION_SECRET accepted: an HMAC key
// shorter than the hash's output only weakens it.
const MinSecretLen = 32

const (
	// 2: bound to the ID hash (1 bound the raw number, before any launch).
	tokenVersion = 2
	idTagLen     = 16
	macLen       = 20
	// maxTokenLen bounds what Verify will decode: far above any token Sign
	// makes (state codes are at most booking.MaxStateLen bytes).
	maxTokenLen = 256
)

var tokenEncoding = base64.RawURLEncoding

// Signer makes and checks invitation tokens with INVITATION_SECRET. A token
// carries everything the API needs to judge it (authentic, whose, until
// when) under an HMAC, so the API checks it without a database; the worker
// still consumes it in the booking's transaction, which is what makes it
// single use. It binds the person's ID hash (pii.Pepper's, the form the
// database keeps), so the invitation loop signs without any raw ID number
// stored, and the API, which holds the pepper, hashes the number it is
// given; the hash itself is bound keyed, so a token seen in a URL or a log
// gives away nothing about the person.
type Signer struct{ key []byte }

// NewSigner checks the secret's length.
func NewSigner(secret string) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, errors.New("must be at least 32 bytes")
	}
	return &Signer{key: []byte(secret)}, nil
}

// Sign makes the token for a registration's invitation, bound to the
// registrant's ID hash; neither it nor the number is recoverable from the
// token.
func (s *Signer) Sign(registration, state, idHash string, expiresAt time.Time) string {
	b := make([]byte, 0, 1+1+len(registration)+1+len(state)+8+idTagLen+macLen)
	b = append(b, tokenVersion)
	b = append(b, byte(len(registration)))
	b = append(b, registration...)
	b = append(b, byte(len(state)))
	b = append(b, state...)
	b = binary.BigEndian.AppendUint64(b, uint64(expiresAt.Unix()))
	tag := s.idTag(idHash)
	b = append(b, tag[:]...)
	b = append(b, s.mac(b)...)
	return tokenEncoding.EncodeToString(b)
}

// Parse checks that token is one this secret signed and reads it, without
// judging whose it is or whether it has expired.
func (s *Signer) Parse(token string) (Invitation, error) {
	if token == "" || len(token) > maxTokenLen {
		return Invitation{}, ErrInvitationInvalid
	}
	b, err := tokenEncoding.DecodeString(token)
	if err != nil || len(b) < macLen+1 {
		return Invitation{}, ErrInvitationInvalid
	}
	body, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(mac, s.mac(body)) {
		return Invitation{}, ErrInvitationInvalid
	}
	// Authentic from here on, so the layout is ours; the checks only guard
	// against a secret shared with another version.
	var inv Invitation
	rest, ok := body, true
	var v []byte
	if v, rest, ok = take(rest, 1); !ok || v[0] != tokenVersion {
		return Invitation{}, ErrInvitationInvalid
	}
	if v, rest, ok = takeString(rest); !ok || !booking.ValidReference(string(v)) {
		return Invitation{}, ErrInvitationInvalid
	}
	inv.Registration = string(v)
	if v, rest, ok = takeString(rest); !ok || len(v) == 0 {
		return Invitation{}, ErrInvitationInvalid
	}
	inv.State = string(v)
	if v, rest, ok = take(rest, 8); !ok {
		return Invitation{}, ErrInvitationInvalid
	}
	inv.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC()
	if v, rest, ok = take(rest, idTagLen); !ok || len(rest) != 0 {
		return Invitation{}, ErrInvitationInvalid
	}
	copy(inv.idTag[:], v)
	return inv, nil
}

// Verify judges a token presented with a submission: authentic, issued for
// the person of this ID hash, and not expired at now, in that order, so a
// stranger's token tells its presenter nothing about when it expires.
func (s *Signer) Verify(token, idHash string, now time.Time) (Invitation, error) {
	inv, err := s.Parse(token)
	if err != nil {
		return Invitation{}, err
	}
	tag := s.idTag(idHash)
	if !hmac.Equal(tag[:], inv.idTag[:]) {
		return Invitation{}, ErrInvitationNotYours
	}
	if !now.Before(inv.ExpiresAt) {
		return Invitation{}, ErrInvitationExpired
	}
	return inv, nil
}

// TokenHash is how a token is stored: the database can find and consume an
// invitation by it, but a copy of the table books nothing.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (s *Signer) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("vaxbook/invitation/v1\x00"))
	m.Write(b)
	return m.Sum(nil)[:macLen]
}

func (s *Signer) idTag(idHash string) [idTagLen]byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("vaxbook/invitation-id-hash/v2\x00"))
	m.Write([]byte(idHash))
	var tag [idTagLen]byte
	copy(tag[:], m.Sum(nil))
	return tag
}

func take(b []byte, n int) (head, rest []byte, ok bool) {
	if len(b) < n {
		return nil, b, false
	}
	return b[:n], b[n:], true
}

func takeString(b []byte) (s, rest []byte, ok bool) {
	n, rest, ok := take(b, 1)
	if !ok {
		return nil, b, false
	}
	return take(rest, int(n[0]))
}
