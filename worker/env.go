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
	// SMSTopic is where SMS are asked for (empty: none; everything goes by
	// e-mail whatever the person chose).
	SMSTopic string `env:"SMS_TOPIC"`
	// DailyCap is the most messages one recipient (an address or a number)
	// is sent a day, Malaysia time, across all kinds; 0: no cap. A person
	// booking for a family of eight with one address gets eight
	// confirmations, and nobody's inbox or phone can be flooded through
	// our sender by someone who typed their contact.
	DailyCap int `env:"MESSAGE_DAILY_CAP, default=10"`
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
	return booking.ConfiguredManageSigner(c.ManageSecret)
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

// CheckMessages checks the settings of both channels' topics and the cap.
func (c Config) CheckMessages() error {
	switch {
	case c.DailyCap < 0:
		return fmt.Errorf("configuration: MESSAGE_DAILY_CAP: must be 0 (no cap) or positive, got %d", c.DailyCap)
	case c.SMSTopic != "" && c.Email.Topic == "":
		return fmt.Errorf("configuration: SMS_TOPIC: needs EMAIL_TOPIC as well (e-mail is the default channel)")
	}
	return nil
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
