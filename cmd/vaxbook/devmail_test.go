package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestDev_BookingEndsWithExactlyOneEmailInTheOutbox books through `vaxbook
// dev` (demo data, in-process Pub/Sub, both relays) and finds the one
// confirmation at /dev/mail.json, /dev/mail and its calendar file.
func TestDev_BookingEndsWithExactlyOneEmailInTheOutbox(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"PORT": freePort(t), "DATABASE_URL": testenv.DatabaseURL(t), "REDIS_URL": testenv.RedisURL(t),
		"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "warn",
	}
	base := startRole(t, env, "/readyz", "dev")

	var doc listing.Document
	getJSON(t, base+"/listppv?state=selangor", &doc)
	slot := doc.Centers[0].Slots[0]
	body, _ := json.Marshal(map[string]any{
		"state": "selangor", "name": "Siti Aminah", "id_number": "900101-14-5678", "phone": "+60123456789",
		"email": "siti@example.com", "preferences": []string{slot.ID}, "lang": "en",
	})
	ref := submitAccepted(t, base, string(body))

	var box struct {
		Messages []struct {
			ID      int           `json:"id"`
			Message email.Message `json:"message"`
		} `json:"messages"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(box.Messages) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no e-mail in the outbox 60 s after the booking")
		}
		time.Sleep(50 * time.Millisecond)
		getJSON(t, base+"/dev/mail.json", &box)
	}
	// The status is final before the e-mail is requested; give a stray
	// second e-mail the same chance to arrive before counting.
	var rec booking.StatusRecord
	getJSON(t, base+"/status/"+ref, &rec)
	getJSON(t, base+"/dev/mail.json", &box)
	if len(box.Messages) != 1 {
		t.Fatalf("outbox: got %d e-mails, want 1", len(box.Messages))
	}
	m := box.Messages[0].Message
	if m.Reference != ref || m.Kind != notify.KindConfirmed || m.To.Email != "siti@example.com" ||
		rec.Status != booking.StatusConfirmed || len(m.Attachments) != 1 {
		t.Fatalf("e-mail: got %s %s to %s with %d attachments (status %s), want the confirmation of %s",
			m.Kind, m.Reference, m.To.Email, len(m.Attachments), rec.Status, ref)
	}
	for _, part := range []string{m.Subject, m.Text, m.HTML, string(m.Attachments[0].Content)} {
		if strings.Contains(part, "900101145678") || strings.Contains(part, "900101-14-5678") {
			t.Errorf("the IC number appears in the e-mail: %.200s", part)
		}
	}

	page := get(t, base+"/dev/mail")
	if !strings.Contains(page, ref) || !strings.Contains(page, "appointment.ics") {
		t.Errorf("/dev/mail does not show the e-mail:\n%.500s", page)
	}
	ics := get(t, base+"/dev/mail/"+strconv.Itoa(box.Messages[0].ID)+"/0")
	if !strings.HasPrefix(ics, "BEGIN:VCALENDAR\r\n") {
		t.Errorf("attachment: got %.100q", ics)
	}
}

// submitAccepted posts a submission and returns its reference, failing the
// test unless the API answers 202.
func submitAccepted(t *testing.T, base, body string) string {
	t.Helper()
	resp, err := http.Post(base+"/submit", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var accepted struct{ Reference string }
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /submit: got %d, want 202", resp.StatusCode)
	}
	return accepted.Reference
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
