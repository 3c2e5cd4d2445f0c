package email_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
)

func TestOutbox_ShowsBothChannelsMarked(t *testing.T) {
	o := email.NewOutbox(10)
	ctx := t.Context()
	if _, err := o.Send(ctx, email.Message{Reference: "R1", Kind: notify.KindConfirmed, Subject: "Confirmed", To: email.Address{Email: "siti@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Texts().Send(ctx, notify.Text{Reference: "R1", Kind: notify.KindConfirmed, To: "+60123456789", Body: "vaxbook: <hi>", Segments: 1}); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/mail.json", nil))
	var box struct {
		Messages []struct {
			Channel string        `json:"channel"`
			Message email.Message `json:"message"`
		} `json:"messages"`
		SMS []struct {
			Channel string      `json:"channel"`
			Message notify.Text `json:"message"`
		} `json:"sms"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &box); err != nil {
		t.Fatal(err)
	}
	if len(box.Messages) != 1 || box.Messages[0].Channel != "email" || box.Messages[0].Message.To.Email != "siti@example.com" {
		t.Errorf("messages: %+v", box.Messages)
	}
	if len(box.SMS) != 1 || box.SMS[0].Channel != "sms" || box.SMS[0].Message.To != "+60123456789" {
		t.Errorf("sms: %+v", box.SMS)
	}

	rec = httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/mail", nil))
	page := rec.Body.String()
	sms, mail := strings.Index(page, `class="sms"`), strings.Index(page, `class="email"`)
	if sms < 0 || mail < 0 || sms > mail {
		t.Errorf("page: want the SMS (newest) then the e-mail, each marked")
	}
	if !strings.Contains(page, "vaxbook: &lt;hi&gt;") {
		t.Error("the SMS body is not shown escaped")
	}
}
