package devstack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The "done when": a booking in `vaxbook dev` with contact=both
// shows one e-mail and one SMS in the outbox.
func TestStart_ContactBothPutsOneEmailAndOneSMSInTheOutbox(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, false)

	var listing struct {
		Centers []struct {
			Slots []struct {
				ID   string `json:"id"`
				Open bool   `json:"open"`
			} `json:"slots"`
		} `json:"centers"`
	}
	getInto(t, s.URL()+"/listppv?state=selangor", &listing)
	slot := listing.Centers[0].Slots[0].ID
	body := `{"state":"selangor","name":"Siti Aminah","id_number":"900101-14-5678","phone":"012-345 6789",
		"email":"siti@example.com","preferences":["` + slot + `"],"contact":"both"}`
	resp, err := http.Post(s.URL()+"/submit", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var accepted struct{ Reference string }
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || accepted.Reference == "" {
		t.Fatalf("POST /submit: %d %+v", resp.StatusCode, accepted)
	}

	var box struct{ Messages, SMS []outboxItem }
	deadline := time.Now().Add(60 * time.Second)
	for {
		getInto(t, s.URL()+"/dev/mail.json", &box)
		mails, texts := mine(box.Messages, accepted.Reference), mine(box.SMS, accepted.Reference)
		if len(mails) == 1 && len(texts) == 1 {
			if mails[0].Channel != "email" || texts[0].Channel != "sms" || texts[0].Message.To != "+60123456789" || texts[0].Message.Kind != "confirmed" {
				t.Errorf("outbox: e-mail %+v, SMS %+v", mails[0], texts[0])
			}
			for _, ic := range []string{"900101-14-5678", "900101145678"} {
				if strings.Contains(texts[0].Message.Body, ic) {
					t.Errorf("the SMS carries the IC: %q", texts[0].Message.Body)
				}
			}
			break
		}
		if len(mails) > 1 || len(texts) > 1 || time.Now().After(deadline) {
			t.Fatalf("outbox after %s: %d e-mails, %d SMS for %s; want one of each", time.Until(deadline), len(mails), len(texts), accepted.Reference)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err = http.Get(s.URL() + "/dev/mail")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `class="sms"`) || !strings.Contains(string(page), `class="email"`) {
		t.Error("/dev/mail does not show both channels, marked")
	}
}

// outboxItem is an entry of /dev/mail.json of either channel.
type outboxItem struct {
	Channel string `json:"channel"`
	Message struct {
		Reference string `json:"reference"`
		Kind      string `json:"kind"`
		To        any    `json:"to"`
		Body      string `json:"body"`
	} `json:"message"`
}

func mine(items []outboxItem, ref string) []outboxItem {
	var out []outboxItem
	for _, it := range items {
		if it.Message.Reference == ref {
			out = append(out, it)
		}
	}
	return out
}
