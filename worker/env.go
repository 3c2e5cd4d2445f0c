package worker

import (
	"fmt"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/pushauth"
)

// Config is what the worker role reads besides its stores' and SendGrid's
// settings, which their adapters own.
type Config struct {
	Project   string        `env:"GOOGLE_CLOUD_PROJECT"`
	StatusTTL time.Duration `env:"STATUS_TTL, default=720h"`
	// EmulatorHost matters only when EMAIL_TOPIC is set: the worker then
	// publishes, as the API does.
	EmulatorHost string `env:"PUBSUB_EMULATOR_HOST"`
	Email        EmailConfig
	// Push is who may push: Pub/Sub's token, checked unless PUSH_AUTH=off.
	Push pushauth.Config
	// IDPepper keys the ID hashes stored instead of ID numbers (pii.Pepper),
	// from Secret Manager. Required while PUSH_AUTH is on, as deployed;
	// with PUSH_AUTH=off (dev, local runs) unset means pii.DevPepper.
	IDPepper string `env:"ID_PEPPER" json:"-"`
	// ManageSecret signs the manage links of confirmed bookings (the API
	// checks them with the same secret). Unset: bookings get no link and
	// /push/manage is not served.
	ManageSecret string `env:"MANAGE_SECRET" json:"-"`
}

// ManageSigner checks MANAGE_SECRET; nil when it is unset.
func (c Config) ManageSigner() (*booking.ManageSigner, error) {
	if c.ManageSecret == "" {
		return nil, nil
	}
	s, err := booking.NewManageSigner(c.ManageSecret)
	if err != nil {
		return nil, fmt.Errorf("configuration: MANAGE_SECRET: %w", err)
	}
	return s, nil
}

// Pepper checks ID_PEPPER; dev reports that the public dev pepper is used.
// The error names the variable, never its value.
func (c Config) Pepper() (p *pii.Pepper, dev bool, err error) {
	// Without push authentication set up no push is accepted, so nothing
	// is hashed until the deployment gives both.
	if c.IDPepper == "" && (c.Push.Off() || c.Push.Unset()) {
		return pii.Dev(), true, nil
	}
	p, err = pii.Configured(c.IDPepper)
	return p, false, err
}

// EmailConfig is the worker's e-mail: the topic it asks on (empty: it asks
// for none) and, for /push/email, what the messages say.
type EmailConfig struct {
	Topic         string `env:"EMAIL_TOPIC"`
	From          string `env:"EMAIL_FROM"`
	PublicBaseURL string `env:"PUBLIC_BASE_URL"`
}

// Composer checks EMAIL_FROM and PUBLIC_BASE_URL, which sending needs.
func (c EmailConfig) Composer() (*email.Composer, error) {
	if c.From == "" {
		return nil, fmt.Errorf("configuration: EMAIL_FROM: required to send e-mail")
	}
	from, err := email.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("configuration: EMAIL_FROM: %w", err)
	}
	comp, err := email.NewComposer(from, c.PublicBaseURL)
	if err != nil {
		return nil, fmt.Errorf("configuration: PUBLIC_BASE_URL: %w", err)
	}
	return comp, nil
}
