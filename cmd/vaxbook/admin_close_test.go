package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/devstack"
	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestDev_ClosingASessionTellsEachBookedPersonExactlyOnce closes a session
// holding three bookings in `vaxbook dev`: twice at once, then once more,
// as a member of staff whose first answer was lost would. Every close asks
// for each person's cancellation e-mail again; the outbox must hold exactly
// one per person, and none for the person booked in another session.
func TestDev_ClosingASessionTellsEachBookedPersonExactlyOnce(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	base := startBrowserDev(t, dbURL, testenv.RedisURL(t))

	book := func(n int, slot string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"state": "selangor", "name": fmt.Sprintf("Person %d", n), "id_number": fmt.Sprintf("900101-14-%04d", n),
			"phone": "+60123456789", "email": fmt.Sprintf("p%d@example.com", n), "preferences": []string{slot}, "lang": "en",
		})
		return submitAccepted(t, base, string(body))
	}
	closing := []string{book(1, "sel-001-am"), book(2, "sel-001-am"), book(3, "sel-001-am")}
	other := book(4, "sel-002-am")
	for _, ref := range append([]string{other}, closing...) {
		waitBookingStatus(t, base, ref, booking.StatusConfirmed)
	}

	jar, _ := cookiejar.New(nil)
	staff := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post := func(path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Vaxbook-Admin", "1")
		resp, err := staff.Do(req)
		if err != nil {
			t.Errorf("POST %s: %v", path, err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/admin/session", `{"credential":"dev:`+devstack.DevStaff+`"}`); code != http.StatusOK {
		t.Fatalf("dev sign-in: %d %s", code, body)
	}

	closeOnce := func() {
		code, body := post("/admin/api/slots/sel-001-am/close", `{}`)
		var got struct{ Cancelled int }
		_ = json.Unmarshal([]byte(body), &got)
		if code != http.StatusOK || got.Cancelled != len(closing) {
			t.Errorf("close: %d %s; want 200 with %d cancelled", code, body, len(closing))
		}
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(closeOnce)
	}
	wg.Wait()
	closeOnce()
	if t.Failed() {
		t.FailNow()
	}

	// Every e-mail asked for has been dealt with once the worker counted
	// them all as sent or already sent: the confirmations, and three
	// cancellations per person.
	want := len(closing) + 1 + 3*len(closing)
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := emailsDealtWith(t, base)
		if n == want {
			break
		}
		if n > want || time.Now().After(deadline) {
			t.Fatalf("e-mails sent or already sent: %d, want %d", n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}

	var box struct {
		Messages []struct {
			Message email.Message `json:"message"`
		} `json:"messages"`
	}
	getJSON(t, base+"/dev/mail.json", &box)
	told := map[string]int{}
	for _, m := range box.Messages {
		if m.Message.Kind == notify.KindCancelled {
			told[m.Message.Reference]++
		}
	}
	for _, ref := range closing {
		if told[ref] != 1 {
			t.Errorf("%s: %d cancellation e-mails, want exactly 1", ref, told[ref])
		}
		waitBookingStatus(t, base, ref, booking.StatusCancelled)
	}
	if told[other] != 0 {
		t.Errorf("%s, in another session: %d cancellation e-mails, want none", other, told[other])
	}
	if len(told) != len(closing) {
		t.Errorf("cancellation e-mails for %v, want one each for %v", told, closing)
	}
}

// emailsDealtWith sums the worker's e-mail sends counted as sent or as
// already sent, from `vaxbook dev`'s Prometheus /metrics.
func emailsDealtWith(t *testing.T, base string) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(get(t, base+"/metrics")) {
		if !strings.HasPrefix(line, "vaxbook_messages_sent_total{") || !strings.Contains(line, `channel="email"`) ||
			!(strings.Contains(line, `outcome="sent"`) || strings.Contains(line, `outcome="already"`)) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndex(line, " ")+1:]), 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(v)
	}
	return n
}

// waitBookingStatus polls GET /status/{ref} until it shows status.
func waitBookingStatus(t *testing.T, base, ref string, status booking.Status) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var rec booking.StatusRecord
		resp, err := http.Get(base + "/status/" + ref)
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&rec)
			resp.Body.Close()
			if rec.Status == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status of %s: got %q after 60 s, want %s", ref, rec.Status, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
