// Package proof is contact proof (CONTACT_PROOF): a short code sent to the
// contact a person gives, and the signed challenge that lets the API check
// the code later without storing anything. The API hands the challenge to
// the page with the code's message; the page sends both back with the
// booking or registration. Everything the check needs (which channel, which
// address, until when, which code) is bound into the challenge under an
// HMAC, so any API instance can judge it with the secret alone, and the API
// still never reads Postgres.
package proof

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/vaxbook/vaxbook/internal/notify"
)

// The ways a proof can fail, each its own answer of the API.
var (
	// ErrInvalid: forged, malformed, or issued for another contact or
	// channel. One error for all three, so a challenge tells whoever holds
	// it nothing about the address it was issued for.
	ErrInvalid = errors.New("challenge is forged, malformed or for another contact")
	// ErrExpired: genuine and for this contact, but past its expiry.
	ErrExpired = errors.New("challenge has expired")
	// ErrWrongCode: genuine, for this contact and current, but the code is
	// not the one sent.
	ErrWrongCode = errors.New("code does not match the challenge")
)

// MinSecretLen is the shortest CONTACT_PROOF_SECRET accepted: an HMAC key
// shorter than the hash's output only weakens it.
const MinSecretLen = 32

// CodeLen is the number of digits in a code: short enough to type from a
// phone's notification, and with attempts bounded per challenge (the API's
// job) long enough that guessing is hopeless.
const CodeLen = 6

const (
	version  = 1
	idLen    = 10 // 80 bits, the size of a booking reference
	tagLen   = 16
	macLen   = 20
	tokenLen = 1 + 1 + 8 + idLen + tagLen + macLen
)

var (
	tokenEncoding = base64.RawURLEncoding
	// refEncoding spells a challenge's id as a booking reference does, so
	// the e-mail that carries its code has a reference like every other.
	refEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)
)

// channels are the contacts a code can be sent to, as one byte in the
// challenge. SMS is named so a challenge format need not change when it
// comes; until then the API issues e-mail challenges only.
var channels = map[notify.Channel]byte{notify.ChannelEmail: 1, "sms": 2}

// Challenge is what a genuine challenge says: its id and channel, and until
// when its code counts.
type Challenge struct {
	ID        [idLen]byte
	Channel   notify.Channel
	ExpiresAt time.Time
	codeTag   [tagLen]byte
}

// Reference is the challenge's id spelled as a booking reference: the
// send-once key of the message that carries its code.
func (c Challenge) Reference() string { return refEncoding.EncodeToString(c.ID[:]) }

// Signer issues and checks challenges with CONTACT_PROOF_SECRET, the same
// on every API instance.
type Signer struct{ key []byte }

// NewSigner checks the secret's length.
func NewSigner(secret string) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("must be at least %d bytes", MinSecretLen)
	}
	return &Signer{key: []byte(secret)}, nil
}

// NewCode returns CodeLen random decimal digits, each of the 10^6 codes
// equally likely.
func NewCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		// crypto/rand does not fail on the platforms Go supports.
		panic(fmt.Sprintf("proof: read random: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// Issue makes a fresh code and its challenge for address (normalised, as
// the booking rules leave it) on channel ch, valid until expiresAt.
func (s *Signer) Issue(ch notify.Channel, address string, expiresAt time.Time) (token, code string, c Challenge, err error) {
	if _, ok := channels[ch]; !ok {
		return "", "", Challenge{}, fmt.Errorf("proof: unknown channel %q", ch)
	}
	c = Challenge{Channel: ch, ExpiresAt: time.Unix(expiresAt.Unix(), 0).UTC()}
	_, _ = rand.Read(c.ID[:]) // never fails; see NewCode
	code = NewCode()
	return s.Sign(c, address, code), code, c, nil
}

// Sign makes the challenge c for address and code. Issue is the way in;
// Sign is exported for tests that need a chosen id, code or expiry.
func (s *Signer) Sign(c Challenge, address, code string) string {
	b := make([]byte, 0, tokenLen)
	b = append(b, version, channels[c.Channel])
	b = binary.BigEndian.AppendUint64(b, uint64(c.ExpiresAt.Unix()))
	b = append(b, c.ID[:]...)
	tag := s.codeTag(c.ID, code)
	b = append(b, tag[:]...)
	b = append(b, s.mac(b, address)...)
	return tokenEncoding.EncodeToString(b)
}

// Open judges a challenge presented for address on channel ch at now:
// genuine and issued for them (else ErrInvalid), then not expired (else
// ErrExpired), in that order, so a stranger's challenge tells its presenter
// nothing. The code is judged apart (Check), after the caller has counted
// the attempt.
func (s *Signer) Open(token string, ch notify.Channel, address string, now time.Time) (Challenge, error) {
	want, known := channels[ch]
	if !known || len(token) != tokenEncoding.EncodedLen(tokenLen) {
		return Challenge{}, ErrInvalid
	}
	b, err := tokenEncoding.DecodeString(token)
	if err != nil || len(b) != tokenLen {
		return Challenge{}, ErrInvalid
	}
	body, mac := b[:tokenLen-macLen], b[tokenLen-macLen:]
	if !hmac.Equal(mac, s.mac(body, address)) || body[0] != version || body[1] != want {
		return Challenge{}, ErrInvalid
	}
	c := Challenge{Channel: ch, ExpiresAt: time.Unix(int64(binary.BigEndian.Uint64(body[2:10])), 0).UTC()}
	copy(c.ID[:], body[10:10+idLen])
	copy(c.codeTag[:], body[10+idLen:])
	if !now.Before(c.ExpiresAt) {
		return Challenge{}, ErrExpired
	}
	return c, nil
}

// Check reports whether code is the one c was issued with: nil, or
// ErrWrongCode. The tag is an HMAC, so a challenge cannot be tried against
// every code offline; each try has to go through the API, which bounds them.
func (s *Signer) Check(c Challenge, code string) error {
	tag := s.codeTag(c.ID, code)
	if !hmac.Equal(tag[:], c.codeTag[:]) {
		return ErrWrongCode
	}
	return nil
}

// Verify is Open then Check.
func (s *Signer) Verify(token string, ch notify.Channel, address, code string, now time.Time) (Challenge, error) {
	c, err := s.Open(token, ch, address, now)
	if err != nil {
		return Challenge{}, err
	}
	return c, s.Check(c, code)
}

// AttemptsKey names c's count of tries in the store: keyed, so the store's
// keys cannot be matched to challenges seen elsewhere (a log, a proxy).
func (s *Signer) AttemptsKey(c Challenge) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("vaxbook/proof-attempts/v1\x00"))
	m.Write(c.ID[:])
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// mac binds the challenge's body to the address without carrying it: the
// challenge does not give away whom it was sent to.
func (s *Signer) mac(body []byte, address string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("vaxbook/proof/v1\x00"))
	m.Write(body)
	m.Write([]byte{0})
	m.Write([]byte(address))
	return m.Sum(nil)[:macLen]
}

func (s *Signer) codeTag(id [idLen]byte, code string) [tagLen]byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("vaxbook/proof-code/v1\x00"))
	m.Write(id[:])
	m.Write([]byte(code))
	var tag [tagLen]byte
	copy(tag[:], m.Sum(nil))
	return tag
}
