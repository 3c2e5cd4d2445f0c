package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/vaxbook/vaxbook/internal/respond"
)

// Captcha is the optional human check on POST /submit. The zero value is
// off: no token is asked for and GET /config names no provider.
type Captcha struct {
	Provider string // "turnstile" or "recaptcha"; empty: off
	SiteKey  string // public; the page renders the widget with it
	Verifier CaptchaVerifier
}

// CaptchaVerifier asks the provider about a token; its errors wrap
// captcha.ErrRejected or captcha.ErrUnavailable.
type CaptchaVerifier interface {
	Verify(ctx context.Context, token, remoteIP string) error
}

func (c Captcha) on() bool { return c.Provider != "" && c.Verifier != nil }

// pageConfig is the body of GET /config: what the booking page needs to know
// about this deployment before it draws anything.
type pageConfig struct {
	Captcha struct {
		Provider string `json:"provider"`
		SiteKey  string `json:"site_key,omitempty"`
	} `json:"captcha"`
	// ContactProof: the forms ask for a code sent to the e-mail address
	// (POST /proof) and send it with the booking or registration. Left
	// out when off, so the answer is what it was before proof existed.
	ContactProof bool `json:"contact_proof,omitempty"`
}

// handleConfig answers bytes fixed at start. Every visitor asks for them, so
// they carry a few minutes' CDN cache; a change of provider is a new revision.
func handleConfig(c Captcha, contactProof bool) http.Handler {
	cfg := pageConfig{ContactProof: contactProof}
	if c.on() {
		cfg.Captcha.Provider, cfg.Captcha.SiteKey = c.Provider, c.SiteKey
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // two strings cannot fail to encode
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		respond.Raw(w, http.StatusOK, body)
	})
}
