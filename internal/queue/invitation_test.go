package queue_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/queue"
)

const (
	secret = "0123456789abcdef0123456789abcdef"
	ref    = "ABCDEFGHIJKLMNOP"
	ic     = "900101145678"
)

func mustSigner(t *testing.T, s string) *queue.Signer {
	t.Helper()
	sg, err := queue.NewSigner(s)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return sg
}

func TestSigner_VerifiesItsOwnTokenForItsHolder(t *testing.T) {
	t.Parallel()
	s := mustSigner(t, secret)
	exp := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	tok := s.Sign(ref, "selangor", ic, exp)
	inv, err := s.Verify(tok, ic, exp.Add(-time.Second))
	if err != nil {
		t.Fatalf("Verify() error = %v, want nil", err)
	}
	if inv.Registration != ref || inv.State != "selangor" || !inv.ExpiresAt.Equal(exp) {
		t.Errorf("Verify() = %+v, want registration %s, state selangor, expires %s", inv, ref, exp)
	}
	if strings.Contains(tok, ic) {
		t.Errorf("token %q carries the id_number", tok)
	}
}

func TestSigner_RefusesEachBadToken(t *testing.T) {
	t.Parallel()
	s := mustSigner(t, secret)
	exp := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	now := exp.Add(-time.Hour)
	tok := s.Sign(ref, "selangor", ic, exp)
	flipped := []byte(tok)
	flipped[10] = 'A'
	if tok[10] == 'A' {
		flipped[10] = 'B'
	}
	tests := []struct {
		name  string
		token string
		id    string
		now   time.Time
		want  error
	}{
		{"empty", "", ic, now, queue.ErrInvitationInvalid},
		{"not base64", "not a token!", ic, now, queue.ErrInvitationInvalid},
		{"truncated", tok[:len(tok)-4], ic, now, queue.ErrInvitationInvalid},
		{"one character changed", string(flipped), ic, now, queue.ErrInvitationInvalid},
		{"signed with another secret", mustSigner(t, strings.Repeat("x", 32)).Sign(ref, "selangor", ic, exp), ic, now, queue.ErrInvitationInvalid},
		{"far too long", strings.Repeat("A", 300), ic, now, queue.ErrInvitationInvalid},
		{"another id_number", tok, "900101145679", now, queue.ErrInvitationNotYours},
		{"another id_number after expiry", tok, "A1234567", exp.Add(time.Hour), queue.ErrInvitationNotYours},
		{"at expiry", tok, ic, exp, queue.ErrInvitationExpired},
		{"after expiry", tok, ic, exp.Add(time.Hour), queue.ErrInvitationExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Verify(tt.token, tt.id, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("Verify() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewSigner_RefusesAShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := queue.NewSigner(strings.Repeat("k", queue.MinSecretLen-1)); err == nil {
		t.Error("NewSigner(31 bytes) error = nil, want one")
	}
}

func TestTokenHash_IsStableAndHidesTheToken(t *testing.T) {
	t.Parallel()
	tok := mustSigner(t, secret).Sign(ref, "johor", ic, time.Unix(1e9, 0))
	a, b := queue.TokenHash(tok), queue.TokenHash(tok)
	if a != b || len(a) != 64 || strings.Contains(a, tok) {
		t.Errorf("TokenHash() = %q then %q, want one 64-hex-digit hash", a, b)
	}
	if a == queue.TokenHash(tok+"x") {
		t.Error("two tokens share a hash")
	}
}

func FuzzSigner_Parse(f *testing.F) {
	s, _ := queue.NewSigner(secret)
	f.Add(s.Sign(ref, "selangor", ic, time.Unix(2e9, 0)))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		inv, err := s.Parse(tok)
		if err == nil && (inv.Registration == "" || inv.State == "") {
			t.Errorf("Parse(%q) = %+v with no error", tok, inv)
		}
	})
}
