package proof_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/proof"
)

const (
	secret = "0123456789abcdef0123456789abcdef"
	addr   = "siti@example.com"
)

func mustSigner(t testing.TB, s string) *proof.Signer {
	t.Helper()
	sg, err := proof.NewSigner(s)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return sg
}

func TestNewSigner_RefusesAShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := proof.NewSigner(secret[:31]); err == nil {
		t.Error("NewSigner(31 bytes) = nil error, want one")
	}
}

func TestNewCode_IsSixDigits(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		c := proof.NewCode()
		if len(c) != proof.CodeLen || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("NewCode() = %q, want %d digits", c, proof.CodeLen)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 codes had only %d distinct values", len(seen))
	}
}

func TestSigner_AcceptsItsOwnChallengeWithItsCode(t *testing.T) {
	t.Parallel()
	s := mustSigner(t, secret)
	exp := time.Date(2026, 12, 3, 8, 15, 0, 0, time.UTC)
	tok, code, c, err := s.Issue(notify.ChannelEmail, addr, exp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(tok, notify.ChannelEmail, addr, code, exp.Add(-time.Second))
	if err != nil {
		t.Fatalf("Verify() error = %v, want nil", err)
	}
	if got.ID != c.ID || !got.ExpiresAt.Equal(exp) || got.Channel != notify.ChannelEmail {
		t.Errorf("Verify() = %+v, want %+v", got, c)
	}
	if len(got.Reference()) != 16 {
		t.Errorf("Reference() = %q, want 16 characters like a booking reference", got.Reference())
	}
	for _, leak := range []string{addr, "siti", code} {
		if strings.Contains(tok, leak) {
			t.Errorf("challenge %q carries %q", tok, leak)
		}
	}
}

func TestSigner_RefusesEachBadProof(t *testing.T) {
	t.Parallel()
	s := mustSigner(t, secret)
	exp := time.Date(2026, 12, 3, 8, 15, 0, 0, time.UTC)
	now := exp.Add(-10 * time.Minute)
	tok, code, _, err := s.Issue(notify.ChannelEmail, addr, exp)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	flipped := []byte(tok)
	flipped[5] ^= 1
	other := mustSigner(t, strings.Repeat("x", 32))
	otherTok, otherCode, _, _ := other.Issue(notify.ChannelEmail, addr, exp)
	tests := []struct {
		name              string
		token, addr, code string
		ch                notify.Channel
		now               time.Time
		want              error
	}{
		{"wrong code", tok, addr, wrong, notify.ChannelEmail, now, proof.ErrWrongCode},
		{"empty code", tok, addr, "", notify.ChannelEmail, now, proof.ErrWrongCode},
		{"another address", tok, "amin@example.com", code, notify.ChannelEmail, now, proof.ErrInvalid},
		{"address case in the local part", tok, "Siti@example.com", code, notify.ChannelEmail, now, proof.ErrInvalid},
		{"another channel", tok, addr, code, "sms", now, proof.ErrInvalid},
		{"unknown channel", tok, addr, code, "fax", now, proof.ErrInvalid},
		{"flipped byte", string(flipped), addr, code, notify.ChannelEmail, now, proof.ErrInvalid},
		{"another secret", otherTok, addr, otherCode, notify.ChannelEmail, now, proof.ErrInvalid},
		{"truncated", tok[:len(tok)-1], addr, code, notify.ChannelEmail, now, proof.ErrInvalid},
		{"empty", "", addr, code, notify.ChannelEmail, now, proof.ErrInvalid},
		{"not base64", strings.Repeat("*", len(tok)), addr, code, notify.ChannelEmail, now, proof.ErrInvalid},
		{"expired", tok, addr, code, notify.ChannelEmail, exp, proof.ErrExpired},
		// Authenticity first: a stranger learns nothing, not even expiry.
		{"expired and another address", tok, "amin@example.com", code, notify.ChannelEmail, exp.Add(time.Hour), proof.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(tt.token, tt.ch, tt.addr, tt.code, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSigner_AttemptsKeyIsPerChallengeAndHidesTheID(t *testing.T) {
	t.Parallel()
	s := mustSigner(t, secret)
	exp := time.Now().Add(time.Hour)
	_, _, a, _ := s.Issue(notify.ChannelEmail, addr, exp)
	_, _, b, _ := s.Issue(notify.ChannelEmail, addr, exp)
	if s.AttemptsKey(a) == s.AttemptsKey(b) {
		t.Error("two challenges share an attempts key")
	}
	if again := s.AttemptsKey(a); again != s.AttemptsKey(a) {
		t.Error("one challenge's attempts key changes")
	}
	if strings.Contains(strings.ToUpper(s.AttemptsKey(a)), a.Reference()) {
		t.Error("the attempts key carries the challenge's id")
	}
}

func FuzzSigner_Open(f *testing.F) {
	s := mustSigner(f, secret)
	exp := time.Date(2026, 12, 3, 8, 15, 0, 0, time.UTC)
	tok, _, _, _ := s.Issue(notify.ChannelEmail, addr, exp)
	f.Add(tok, addr, "123456")
	f.Add("", "", "")
	f.Add(strings.Repeat("A", len(tok)), addr, "000000")
	f.Fuzz(func(t *testing.T, token, address, code string) {
		c, err := s.Verify(token, notify.ChannelEmail, address, code, exp.Add(-time.Minute))
		if err == nil && (token != tok || address != addr) {
			// Only the genuine challenge for its address can pass; its code
			// is random, so the fuzzer finding it would be news too.
			t.Fatalf("Verify(%q, %q, %q) = %+v, nil: accepted a challenge it did not issue", token, address, code, c)
		}
		if err != nil && !errors.Is(err, proof.ErrInvalid) && !errors.Is(err, proof.ErrWrongCode) {
			t.Fatalf("Verify() error = %v, want ErrInvalid or ErrWrongCode before expiry", err)
		}
	})
}

func BenchmarkSigner_Issue(b *testing.B) {
	s := mustSigner(b, secret)
	exp := time.Now().Add(15 * time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := s.Issue(notify.ChannelEmail, addr, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSigner_Verify(b *testing.B) {
	s := mustSigner(b, secret)
	exp := time.Now().Add(15 * time.Minute)
	tok, code, _, _ := s.Issue(notify.ChannelEmail, addr, exp)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, notify.ChannelEmail, addr, code, now); err != nil {
			b.Fatal(err)
		}
	}
}
