package api

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/captcha"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/queue"
	"github.com/vaxbook/vaxbook/internal/ratelimit"
	"github.com/vaxbook/vaxbook/internal/redact"
)

// Config is how the API behaves, read from the environment by both `api`
// and `dev`; the stores it talks to are configured by their adapters.
type Config struct {
	MicroCacheTTL time.Duration `env:"LISTPPV_MICROCACHE_TTL, default=1s"`
	MaxCacheAge   time.Duration `env:"READY_MAX_CACHE_AGE, default=60s"`
	StatusTTL     time.Duration `env:"STATUS_TTL, default=720h"`
	// MaxInFlight is the requests one instance answers at once before it
	// sheds the rest with 503 (api/overload.go); deploy/api.yaml keeps it
	// equal to containerConcurrency.
	MaxInFlight int `env:"API_MAX_IN_FLIGHT, default=250"`
	// Deprecated: the per-instance limit these set is gone. A rate above
	// 0 still turns the shared limit on and, unless RATE_LIMIT_SUBMIT is
	// set, becomes its /submit limit (per second, this burst).
	SubmitRate  float64 `env:"SUBMIT_RATE_PER_IP, default=0"`
	SubmitBurst int     `env:"SUBMIT_BURST_PER_IP, default=20"`
	Captcha     CaptchaConfig
	// RegistrationsTopic is where POST /register queues registrations for
	// the worker's /push/registrations.
	RegistrationsTopic string `env:"REGISTRATIONS_TOPIC, default=registrations-topic"`
	// Optional at start: a state's mode changes at run time, and an
	// open-only deployment needs no secret. Unset, a submission in a queue
	// state is answered 503 invitations_unavailable and logged once.
	InvitationSecret string `env:"INVITATION_SECRET" json:"-"`
	// IDPepper is the worker's ID_PEPPER: tokens are bound to the ID hash
	// the database keeps (queue.Signer), so checking one hashes the number
	// given. Required with INVITATION_SECRET.
	IDPepper string `env:"ID_PEPPER" json:"-"`
	// ReferenceKey keys the references of submissions sent with an
	// Idempotency-Key (booking.References), the same on every instance.
	// Unset: booking.DevReferenceKey, which is public; deploy/api.yaml sets
	// it from Secret Manager.
	ReferenceKey string `env:"REFERENCE_KEY" json:"-"`
	Abuse        AbuseConfig
	// Contact proof (api/proof.go); off unless CONTACT_PROOF=on.
	Proof ProofConfig
	// ManageSecret checks the manage links the worker signs (the same
	// secret on both). Unset: the /manage endpoints are not served.
	ManageSecret string `env:"MANAGE_SECRET" json:"-"`
	// ManageTopic is where cancels, changes and resends are queued for
	// the worker's /push/manage.
	ManageTopic string `env:"MANAGE_TOPIC, default=manage-topic"`
}

// AbuseConfig is the shared abuse control (api/abuse.go). Off unless the
// deployment (deploy/api.yaml) or `vaxbook dev` turns it on: it needs the
// key every instance shares, and load tests come from one host.
//
// Limits read RATE/PERIOD[:BURST], PERIOD one of s, m, h, d or a Go
// duration: "20/m:20" is 20 a minute, 20 at once; "off" turns one off. They
// are per client address, and whole neighbourhoods share one address
// behind carrier-grade NAT, so they stop a script, not a household: the
// captcha and the contact caps are the finer controls.
type AbuseConfig struct {
	RateLimit string `env:"RATE_LIMIT"` // on | off; empty is off
	// Key HMACs every address, e-mail and phone number before it names a
	// Redis counter. The same on every instance (Secret Manager), or the
	// instances would count apart.
	Key string `env:"RATE_LIMIT_KEY" json:"-"`
	// Per endpoint; adding a route's limit is a field here and a line in
	// routeLimits.
	Submit       string `env:"RATE_LIMIT_SUBMIT"` // empty: SUBMIT_RATE_PER_IP, else 20/m:20
	Register     string `env:"RATE_LIMIT_REGISTER, default=20/m:20"`
	Status       string `env:"RATE_LIMIT_STATUS, default=120/m:60"`
	Registration string `env:"RATE_LIMIT_REGISTRATION, default=120/m:60"`
	Proof        string `env:"RATE_LIMIT_PROOF, default=10/m:10"`
	// The manage page, and asking for its link again by reference and
	// ID number: few a person needs, so guessing pairs is slow.
	Manage string `env:"RATE_LIMIT_MANAGE, default=60/m:30"`
	Resend string `env:"RATE_LIMIT_RESEND, default=5/h:5"`
	// Where the client's address is: see ratelimit.ClientIP. Through
	// Firebase Hosting it is one hop left of the last X-Forwarded-For entry.
	ClientIPHeader   string `env:"CLIENT_IP_HEADER, default=X-Forwarded-For"`
	TrustedProxyHops int    `env:"TRUSTED_PROXY_HOPS, default=0"`
	// Accepted bookings per e-mail address and per phone number in a
	// window; 0 turns one off. A family often books with one parent's
	// address and number, so a handful, not one.
	EmailCap  int           `env:"CONTACT_CAP_EMAIL, default=6"`
	PhoneCap  int           `env:"CONTACT_CAP_PHONE, default=6"`
	CapWindow time.Duration `env:"CONTACT_CAP_WINDOW, default=24h"`
	// Contact-proof codes sent to one e-mail address an hour (POST
	// /proof, when CONTACT_PROOF is on); 0 turns it off.
	ProofCap int `env:"CONTACT_CAP_PROOF, default=5"`
}

// on reports whether the shared limits are on.
func (c Config) abuseOn() (bool, error) {
	switch c.Abuse.RateLimit {
	case "on":
		return true, nil
	case "off":
		return false, nil
	case "":
		return c.SubmitRate > 0, nil
	}
	return false, fmt.Errorf("configuration: RATE_LIMIT: want on or off, got %q", c.Abuse.RateLimit)
}

// routeLimits reads the per-endpoint limits, naming the variable at fault.
func (c Config) routeLimits() ([]RouteLimit, error) {
	submit := c.Abuse.Submit
	if submit == "" {
		submit = "20/m:20"
		if c.SubmitRate > 0 {
			submit = fmt.Sprintf("%d/%s:%d", max(1, int(c.SubmitRate*3600)), "h", max(1, c.SubmitBurst))
		}
	}
	var out []RouteLimit
	for _, r := range []struct{ path, name, value string }{
		{"/submit", "RATE_LIMIT_SUBMIT", submit},
		{"/register", "RATE_LIMIT_REGISTER", c.Abuse.Register},
		{"/status/", "RATE_LIMIT_STATUS", c.Abuse.Status},
		{"/registration/", "RATE_LIMIT_REGISTRATION", c.Abuse.Registration},
		{"/manage", "RATE_LIMIT_MANAGE", c.Abuse.Manage},
		{"/manage/resend", "RATE_LIMIT_RESEND", c.Abuse.Resend},
	} {
		l, err := ratelimit.ParseLimit(r.value)
		if err != nil {
			return nil, fmt.Errorf("configuration: %s: %v", r.name, err)
		}
		out = append(out, RouteLimit{Path: r.path, Limit: l})
	}
	return out, nil
}

// abuse checks the abuse settings; the store is the caller's to add, since
// it needs the Redis client. An error is one line naming the variable.
func (c Config) abuse() (Abuse, error) {
	on, err := c.abuseOn()
	if err != nil || !on {
		return Abuse{}, err
	}
	if len(c.Abuse.Key) < ratelimit.MinKeyBytes {
		return Abuse{}, fmt.Errorf("configuration: RATE_LIMIT_KEY: at least %d characters, the same on every instance, required while RATE_LIMIT is on (got %d)", ratelimit.MinKeyBytes, len(c.Abuse.Key))
	}
	routes, err := c.routeLimits()
	if err != nil {
		return Abuse{}, err
	}
	switch {
	case c.Abuse.TrustedProxyHops < 0:
		return Abuse{}, fmt.Errorf("configuration: TRUSTED_PROXY_HOPS: want 0 or more, got %d", c.Abuse.TrustedProxyHops)
	case c.Abuse.ClientIPHeader == "":
		return Abuse{}, fmt.Errorf("configuration: CLIENT_IP_HEADER: must name a header")
	case c.Abuse.EmailCap < 0:
		return Abuse{}, fmt.Errorf("configuration: CONTACT_CAP_EMAIL: want 0 or more, got %d", c.Abuse.EmailCap)
	case c.Abuse.PhoneCap < 0:
		return Abuse{}, fmt.Errorf("configuration: CONTACT_CAP_PHONE: want 0 or more, got %d", c.Abuse.PhoneCap)
	case c.Abuse.ProofCap < 0:
		return Abuse{}, fmt.Errorf("configuration: CONTACT_CAP_PROOF: want 0 or more, got %d", c.Abuse.ProofCap)
	case c.Abuse.CapWindow < time.Minute:
		return Abuse{}, fmt.Errorf("configuration: CONTACT_CAP_WINDOW: at least 1m, got %s", c.Abuse.CapWindow)
	}
	return Abuse{
		ClientIP: ratelimit.ClientIP{Header: c.Abuse.ClientIPHeader, Hops: c.Abuse.TrustedProxyHops},
		Routes:   routes,
		EmailCap: ratelimit.Cap{Max: c.Abuse.EmailCap, Window: c.Abuse.CapWindow},
		PhoneCap: ratelimit.Cap{Max: c.Abuse.PhoneCap, Window: c.Abuse.CapWindow},
		ProofCap: ratelimit.Cap{Max: c.Abuse.ProofCap, Window: time.Hour},

		needsStore: true,
	}, nil
}

// AbuseStore builds the shared store over rdb when the limits are on, or
// returns nil; the caller puts it in Options.Abuse.Store. Options has
// checked the settings.
func (c Config) AbuseStore(rdb goredis.UniversalClient) (AbuseStore, error) {
	if on, _ := c.abuseOn(); !on {
		return nil, nil
	}
	s, err := ratelimit.New(rdb, []byte(c.Abuse.Key))
	if err != nil {
		return nil, fmt.Errorf("configuration: RATE_LIMIT_KEY: %w", err)
	}
	return s, nil
}

// CaptchaConfig is the optional human check on POST /submit. An empty
// provider (the default, and what `vaxbook dev` wants) turns it off.
type CaptchaConfig struct {
	Provider string `env:"CAPTCHA_PROVIDER"`
	// Public (the page shows it), but kept in Secret Manager beside the
	// secret so the two are rotated together.
	SiteKey   string `env:"CAPTCHA_SITE_KEY" json:"-"`
	Secret    string `env:"CAPTCHA_SECRET" json:"-"`
	VerifyURL string `env:"CAPTCHA_VERIFY_URL"`
	// The site's hostnames, comma-separated: a token solved elsewhere is
	// refused. Empty: not checked.
	Hostnames []string `env:"CAPTCHA_HOSTNAMES"`
	// The action the page renders the widget with (Turnstile): a token
	// from another widget is refused. Empty: not checked.
	Action string `env:"CAPTCHA_ACTION"`
}

// Options checks the settings and turns them into NewServer's options; an
// error is one line naming the variable at fault.
func (c Config) Options(project string) (Options, error) {
	if c.MicroCacheTTL <= 0 {
		return Options{}, fmt.Errorf("configuration: LISTPPV_MICROCACHE_TTL: must be a positive duration, got %s", c.MicroCacheTTL)
	}
	if c.MicroCacheTTL > time.Second {
		return Options{}, fmt.Errorf("configuration: LISTPPV_MICROCACHE_TTL: at most 1s, got %s", c.MicroCacheTTL)
	}
	if c.MaxInFlight < 1 {
		return Options{}, fmt.Errorf("configuration: API_MAX_IN_FLIGHT: want 1 or more, got %d", c.MaxInFlight)
	}
	human, err := c.Captcha.captcha()
	if err != nil {
		return Options{}, err
	}
	abuse, err := c.abuse()
	if err != nil {
		return Options{}, err
	}
	contactProof, err := c.Proof.proof()
	if err != nil {
		return Options{}, err
	}
	// POST /proof exists only with proof on, and so does its limit.
	if contactProof.On() && abuse.needsStore {
		l, err := ratelimit.ParseLimit(c.Abuse.Proof)
		if err != nil {
			return Options{}, fmt.Errorf("configuration: RATE_LIMIT_PROOF: %v", err)
		}
		abuse.Routes = append(abuse.Routes, RouteLimit{Path: "/proof", Limit: l})
	}
	var invitations Invitations
	if c.InvitationSecret != "" {
		if invitations.Signer, err = queue.NewSigner(c.InvitationSecret); err != nil {
			return Options{}, fmt.Errorf("configuration: INVITATION_SECRET: %w", err)
		}
		if invitations.IDs, err = pii.Configured(c.IDPepper); err != nil {
			return Options{}, fmt.Errorf("%w, with INVITATION_SECRET", err)
		}
	}
	var manage Manage
	if c.ManageSecret != "" {
		if manage.Signer, err = booking.NewManageSigner(c.ManageSecret); err != nil {
			return Options{}, fmt.Errorf("configuration: MANAGE_SECRET: %w", err)
		}
	}
	refs := booking.DevReferences()
	if c.ReferenceKey != "" {
		if refs, err = booking.NewReferences(c.ReferenceKey); err != nil {
			return Options{}, fmt.Errorf("configuration: REFERENCE_KEY: %w", err)
		}
	}
	return Options{
		Manage:        manage,
		References:    refs,
		Captcha:       human,
		Abuse:         abuse,
		Invitations:   invitations,
		Proof:         contactProof,
		Project:       project,
		MicroCacheTTL: c.MicroCacheTTL,
		MaxCacheAge:   c.MaxCacheAge,
		MaxInFlight:   c.MaxInFlight,
	}, nil
}

// captcha checks the settings and builds the verifier.
func (c CaptchaConfig) captcha() (Captcha, error) {
	if c.Provider == "" {
		return Captcha{}, nil
	}
	verifyURL, known := captcha.DefaultVerifyURL[c.Provider]
	switch {
	case !known:
		return Captcha{}, fmt.Errorf("configuration: CAPTCHA_PROVIDER: want %s, %s or empty, got %q", captcha.Turnstile, captcha.ReCAPTCHA, c.Provider)
	case c.SiteKey == "":
		return Captcha{}, fmt.Errorf("configuration: CAPTCHA_SITE_KEY: required when CAPTCHA_PROVIDER is set")
	case c.Secret == "":
		return Captcha{}, fmt.Errorf("configuration: CAPTCHA_SECRET: required when CAPTCHA_PROVIDER is set")
	}
	if c.VerifyURL != "" {
		u, err := url.Parse(c.VerifyURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Captcha{}, fmt.Errorf("configuration: CAPTCHA_VERIFY_URL: want an http(s) URL, got %q", redact.URL(c.VerifyURL))
		}
		verifyURL = c.VerifyURL
	}
	var hosts []string
	for _, h := range c.Hostnames {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	v := captcha.New(verifyURL, c.Secret, nil).Expect(hosts, c.Action)
	return Captcha{Provider: c.Provider, SiteKey: c.SiteKey, Verifier: v}, nil
}
