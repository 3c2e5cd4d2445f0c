package pii_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/pii"
)

func TestPepperHash_IsStableKeyedAndNotTheNumber(t *testing.T) {
	t.Parallel()
	p, err := pii.NewPepper(strings.Repeat("p", 32))
	if err != nil {
		t.Fatal(err)
	}
	const ic = "900101145678"
	h := p.Hash(ic)
	if h != p.Hash(ic) || len(h) != 64 {
		t.Fatalf("Hash = %q, want 64 hex characters, the same each time", h)
	}
	unkeyed := sha256.Sum256([]byte(ic))
	for name, other := range map[string]string{
		"unkeyed SHA-256": hex.EncodeToString(unkeyed[:]),
		"another pepper":  pii.Dev().Hash(ic),
		"another person":  p.Hash("900101145679"),
	} {
		if other == h {
			t.Errorf("%s gives the same hash %q", name, h)
		}
	}
	if strings.Contains(h, ic) {
		t.Errorf("hash %q contains the number", h)
	}
}

func TestNewPepper_RefusesAShortPepperWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	short := "pepper-pepper-pepper-pepper-31b"
	_, err := pii.NewPepper(short)
	if err == nil || strings.Contains(err.Error(), short) {
		t.Fatalf("NewPepper(31 bytes) = %v, want an error that does not echo it", err)
	}
}
