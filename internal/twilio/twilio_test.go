package twilio_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/twilio"
	"github.com/vaxbook/vaxbook/internal/twilio/twiliotest"
)

const callback = "https://hooks.example.my/hooks/twilio"

func client(t *testing.T, srv *twiliotest.Server, from string) *twilio.Client {
	t.Helper()
	c, err := twilio.New(twilio.Config{AccountSID: twiliotest.AccountSID, AuthToken: twiliotest.AuthToken, From: from,
		BaseURL: srv.URL, StatusCallback: callback})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var text = notify.Text{Reference: "ABCDEFGHJK234567", Kind: notify.KindConfirmed, To: "+60123456789", Body: "vaxbook: hello", Segments: 1}

func TestSend_CreatesTheMessageAsTheAPIExpects(t *testing.T) {
	for _, from := range []string{"+60312345678", "MG0123456789abcdef0123456789abcdef"} {
		srv := twiliotest.New(t)
		rec, err := client(t, srv, from).Send(t.Context(), text)
		if err != nil {
			t.Fatal(err)
		}
		got := srv.Accepted()
		if len(got) != 1 || rec.ID != got[0].SID || rec.Status != http.StatusCreated {
			t.Fatalf("receipt %+v for %+v", rec, got)
		}
		m := got[0]
		if m.To != text.To || m.Body != text.Body || m.StatusCallback != callback {
			t.Errorf("sent %+v", m)
		}
		if strings.HasPrefix(from, "MG") && (m.MessagingServiceSID != from || m.From != "") || !strings.HasPrefix(from, "MG") && m.From != from {
			t.Errorf("from %q gave From %q, MessagingServiceSid %q", from, m.From, m.MessagingServiceSID)
		}
	}
}

func TestSend_ClassifiesAnswers(t *testing.T) {
	for _, c := range []struct {
		status   int
		rejected bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusTooManyRequests, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusUnauthorized, false},
	} {
		srv := twiliotest.New(t, c.status)
		_, err := client(t, srv, "+60312345678").Send(t.Context(), text)
		_, rejected := errors.AsType[*notify.RejectedError](err)
		if err == nil || rejected != c.rejected {
			t.Errorf("status %d: err %v, rejected %v, want rejected %v", c.status, err, rejected, c.rejected)
		}
	}
}

func TestNew_NamesTheVariable(t *testing.T) {
	ok := twilio.Config{AccountSID: twiliotest.AccountSID, AuthToken: twiliotest.AuthToken, From: "+60312345678", BaseURL: "https://api.twilio.com"}
	for _, c := range []struct {
		edit func(*twilio.Config)
		want string
	}{
		{func(c *twilio.Config) { c.AccountSID = "" }, "TWILIO_ACCOUNT_SID"},
		{func(c *twilio.Config) { c.AccountSID = "XX12" }, "TWILIO_ACCOUNT_SID"},
		{func(c *twilio.Config) { c.AuthToken = "" }, "TWILIO_AUTH_TOKEN"},
		{func(c *twilio.Config) { c.From = "" }, "SMS_FROM"},
		{func(c *twilio.Config) { c.BaseURL = "ftp://x" }, "TWILIO_BASE_URL"},
		{func(c *twilio.Config) { c.StatusCallback = "/hooks/twilio" }, "TWILIO_STATUS_CALLBACK"},
	} {
		cfg := ok
		c.edit(&cfg)
		_, err := twilio.New(cfg)
		if err == nil || !strings.HasPrefix(err.Error(), c.want+":") || strings.Contains(err.Error(), twiliotest.AuthToken) {
			t.Errorf("want an error naming %s, got %v", c.want, err)
		}
	}
}

func TestValidator_AcceptsTwiliosSignatureOnly(t *testing.T) {
	v, err := twilio.NewValidator(twilio.Config{AuthToken: twiliotest.AuthToken, StatusCallback: callback})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {twiliotest.AccountSID}}
	sig := twiliotest.Sign(twiliotest.AuthToken, callback, form)
	if !v.Valid([]byte(form.Encode()), sig) {
		t.Error("Twilio's signature refused")
	}
	changed := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "AccountSid": {twiliotest.AccountSID}}
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"unsigned":         {[]byte(form.Encode()), ""},
		"body changed":     {[]byte(changed.Encode()), sig},
		"other key":        {[]byte(form.Encode()), twiliotest.Sign("ffffffffffffffffffffffffffffffff", callback, form)},
		"other url signed": {[]byte(form.Encode()), twiliotest.Sign(twiliotest.AuthToken, "https://evil.example/hooks/twilio", form)},
	} {
		if v.Valid(c.body, c.sig) {
			t.Errorf("%s: accepted", name)
		}
	}
}
