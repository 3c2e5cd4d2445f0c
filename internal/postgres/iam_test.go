package postgres

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"
)

type countingTokens struct {
	n   int
	err error
}

func (c *countingTokens) Token() (*oauth2.Token, error) {
	c.n++
	if c.err != nil {
		return nil, c.err
	}
	return &oauth2.Token{AccessToken: "token-" + string(rune('0'+c.n))}, nil
}

func TestIAMLogin_EachConnectionLogsInWithATokenAsItsPassword(t *testing.T) {
	ts := &countingTokens{}
	login := iamLogin(ts)
	for _, want := range []string{"token-1", "token-2"} {
		cc := &pgx.ConnConfig{}
		cc.Password = "from-the-url"
		if err := login(t.Context(), cc); err != nil {
			t.Fatal(err)
		}
		if cc.Password != want {
			t.Errorf("password: got %q, want %q", cc.Password, want)
		}
	}
	ts.err = errors.New("metadata server down")
	if err := login(t.Context(), &pgx.ConnConfig{}); err == nil {
		t.Error("a failed token fetch must fail the connect")
	}
}

func TestIAMAuth_ReadsOnAndOffOnly(t *testing.T) {
	for v, want := range map[string]IAMAuth{"on": true, "off": false} {
		var a IAMAuth
		if err := a.EnvDecode(v); err != nil || a != want {
			t.Errorf("%q: got %v, %v", v, a, err)
		}
	}
	var a IAMAuth
	if err := a.EnvDecode("yes"); err == nil {
		t.Error(`"yes": want an error`)
	}
}
