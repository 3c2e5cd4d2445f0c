package sendgrid_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/sendgrid"
	"github.com/vaxbook/vaxbook/internal/sendgrid/sendgridtest"
)

func message() email.Message {
	return email.Message{
		Reference: "ABCDEFGHJK234567", Kind: notify.KindConfirmed,
		From: email.Address{Name: "vaxbook", Email: "no-reply@example.my"}, To: email.Address{Name: "Siti", Email: "siti@example.com"},
		Subject: "Confirmed", Text: "text body", HTML: "<p>html body</p>",
		Attachments: []email.Attachment{{Filename: "appointment.ics", ContentType: "text/calendar", Content: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")}},
	}
}

func TestSend_PostsTheV3MailSendBody(t *testing.T) {
	t.Parallel()
	srv := sendgridtest.New(t, "SG.key")
	c, err := sendgrid.New(sendgrid.Config{APIKey: "SG.key", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.Send(context.Background(), message())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != http.StatusAccepted || rec.ID != "sg-1" {
		t.Errorf("receipt: got %+v, want 202 sg-1", rec)
	}
	got := srv.Accepted()
	if len(got) != 1 {
		t.Fatalf("accepted: got %d, want 1", len(got))
	}
	m := got[0]
	if m.Personalizations[0].To[0].Email != "siti@example.com" || m.From.Email != "no-reply@example.my" || m.Subject != "Confirmed" {
		t.Errorf("addresses or subject: got %+v", m)
	}
	if m.Content[0].Value != "text body" || m.Content[1].Value != "<p>html body</p>" {
		t.Errorf("content: got %+v", m.Content)
	}
	ics, _ := base64.StdEncoding.DecodeString(m.Attachments[0].Content)
	if string(ics) != "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" || m.Attachments[0].Filename != "appointment.ics" || m.Attachments[0].Type != "text/calendar" {
		t.Errorf("attachment: got %+v", m.Attachments[0])
	}
	if m.CustomArgs["reference"] != "ABCDEFGHJK234567" || m.CustomArgs["kind"] != "confirmed" {
		t.Errorf("custom_args: got %v", m.CustomArgs)
	}
}

func TestSend_TellsRetryableFromPermanentAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status    int
		permanent bool
	}{
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusUnauthorized, false}, // our key, not the message
		{http.StatusForbidden, false},
		{http.StatusBadRequest, true}, // e.g. an address SendGrid refuses
		{http.StatusRequestEntityTooLarge, true},
	}
	for _, tc := range cases {
		srv := sendgridtest.New(t, "k", tc.status)
		c, _ := sendgrid.New(sendgrid.Config{APIKey: "k", BaseURL: srv.URL})
		_, err := c.Send(context.Background(), message())
		if err == nil {
			t.Errorf("status %d: got nil error", tc.status)
			continue
		}
		if _, rejected := errors.AsType[*notify.RejectedError](err); rejected != tc.permanent {
			t.Errorf("status %d: permanent %t, want %t (%v)", tc.status, rejected, tc.permanent, err)
		}
	}
}

func TestSend_NetworkErrorIsRetryable(t *testing.T) {
	t.Parallel()
	srv := sendgridtest.New(t, "k")
	srv.Close()
	c, _ := sendgrid.New(sendgrid.Config{APIKey: "k", BaseURL: srv.URL})
	_, err := c.Send(context.Background(), message())
	if _, rejected := errors.AsType[*notify.RejectedError](err); err == nil || rejected {
		t.Errorf("got %v, want a retryable error", err)
	}
}

func TestNew_RefusesABadBaseURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "api.sendgrid.com", "ftp://x"} {
		if _, err := sendgrid.New(sendgrid.Config{APIKey: "k", BaseURL: u}); err == nil {
			t.Errorf("base URL %q: got nil error", u)
		}
	}
}

// Click tracking would rewrite every link through SendGrid's domain and open
// tracking would report each reading: the body must switch both off
// explicitly, since an absent setting means the account's default.
func TestSend_SwitchesOffClickAndOpenTracking(t *testing.T) {
	t.Parallel()
	srv := sendgridtest.New(t, "SG.key")
	c, err := sendgrid.New(sendgrid.Config{APIKey: "SG.key", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	got := srv.Accepted()[0].TrackingSettings
	for _, want := range []struct{ setting, field string }{
		{"click_tracking", "enable"}, {"click_tracking", "enable_text"},
		{"open_tracking", "enable"}, {"subscription_tracking", "enable"}, {"ganalytics", "enable"},
	} {
		if v, ok := got[want.setting][want.field]; !ok || v != false {
			t.Errorf("tracking_settings.%s.%s: got %v (present %t), want false", want.setting, want.field, v, ok)
		}
	}
}
