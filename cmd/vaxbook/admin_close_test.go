package main

import (
	"bytes"
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
// holding three bookings in `vaxbook dev` without offering a change of
// time: twice at once, then once more, as a member of staff whose first
// answer was lost would. Every close asks for each person's cancellation
// e-mail again; the outbox must hold exactly one per person, and none for
// the person booked in another session.
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

	post := signedInStaff(t, base)

	closeOnce := func() {
		code, body := post("/admin/api/slots/sel-001-am/close", `{"offer_change": false}`)
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

	told := map[string]int{}
	for _, m := range outbox(t, base) {
		if m.Kind == notify.KindClosed {
			told[m.Reference]++
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

// signedInStaff signs the dev staff member in to `vaxbook dev` at base and
// returns a POST to the admin role as them.
func signedInStaff(t *testing.T, base string) func(path, body string) (int, string) {
	t.Helper()
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
	return post
}

// TestDev_ClosingOffersAChangeOfTimeAndCancelsOnlyWhoStayed closes, in
// `vaxbook dev`, a centre's whole day with two people booked on it a week
// ahead: each is told they may move, with their manage link; one moves to
// another centre with it, and once the time to move is up only the other
// is cancelled, and told so once.
func TestDev_ClosingOffersAChangeOfTimeAndCancelsOnlyWhoStayed(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	day := seedBrowserData(t, dbURL)
	base := startBrowserDev(t, dbURL, testenv.RedisURL(t))
	book := func(n int) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"state": "selangor", "name": fmt.Sprintf("Person %d", n), "id_number": fmt.Sprintf("900202-14-%04d", n),
			"phone": "+60123456789", "email": fmt.Sprintf("c%d@example.com", n), "preferences": []string{"sel-001-am"}, "lang": "en",
		})
		return submitAccepted(t, base, string(body))
	}
	mover, stayer := book(1), book(2)
	for _, ref := range []string{mover, stayer} {
		waitBookingStatus(t, base, ref, booking.StatusConfirmed)
	}

	post := signedInStaff(t, base)
	code, body := post("/admin/api/centres/sel-001/days/"+day+"/close", `{}`)
	var closed struct {
		Told      int
		Cancelled int
		Slots     []struct {
			Slot     string
			CancelAt *time.Time `json:"cancel_at"`
		}
	}
	_ = json.Unmarshal([]byte(body), &closed)
	if code != http.StatusOK || closed.Told != 2 || closed.Cancelled != 0 || len(closed.Slots) != 2 {
		t.Fatalf("close the day: %d %s; want 200, both people told, nobody cancelled yet, both sessions", code, body)
	}
	for _, s := range closed.Slots {
		if s.CancelAt == nil || s.CancelAt.Before(time.Now().Add(23*time.Hour)) {
			t.Errorf("%s: cancel_at %v, want a day to move (the sessions are a week ahead)", s.Slot, s.CancelAt)
		}
	}

	// The notice carries the manage link; the mover uses it.
	link := waitForMessage(t, base, mover, notify.KindClosing)
	token := link[strings.Index(link, "?manage=")+len("?manage="):]
	code, body = postJSONTo(t, base+"/manage/change", map[string]any{"token": token, "preferences": []string{"sel-002-am"}})
	if code != http.StatusAccepted {
		t.Fatalf("change with the notice's link: %d %s", code, body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var rec booking.StatusRecord
		getJSON(t, base+"/status/"+mover, &rec)
		if rec.Slot != nil && rec.Slot.ID == "sel-002-am" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mover's booking: %+v after 60 s, want it on sel-002-am", rec)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitForMessage(t, base, stayer, notify.KindClosing)

	// The time to move is up (brought forward: the test cannot wait a day);
	// `vaxbook dev` finishes due closings every few seconds.
	pool := testenv.OpenPool(t, dbURL)
	if _, err := pool.Exec(t.Context(), `UPDATE slots SET cancel_at = now() WHERE center_id = 'sel-001' AND closed_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	waitBookingStatus(t, base, stayer, booking.StatusCancelled)
	waitForMessage(t, base, stayer, notify.KindClosed)
	var rec booking.StatusRecord
	getJSON(t, base+"/status/"+mover, &rec)
	if rec.Status != booking.StatusConfirmed || rec.Slot == nil || rec.Slot.ID != "sel-002-am" {
		t.Errorf("the mover after the closing: %+v, want confirmed on sel-002-am", rec)
	}
	var done int
	deadline = time.Now().Add(60 * time.Second)
	for done != 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM slots WHERE center_id = 'sel-001' AND rest_cancelled_at IS NOT NULL`).Scan(&done); err != nil {
			t.Fatal(err)
		}
	}
	if done != 2 {
		t.Fatalf("closings finished: %d of 2 sessions", done)
	}
	// Done: a later run tells nobody again.
	kinds := map[string]int{}
	for _, m := range outbox(t, base) {
		kinds[m.Reference+" "+string(m.Kind)]++
	}
	for key, want := range map[string]int{stayer + " closing": 1, stayer + " closed": 1, mover + " closing": 1, mover + " closed": 0, mover + " changed": 1} {
		if kinds[key] != want {
			t.Errorf("messages %s: %d, want %d (all: %v)", key, kinds[key], want, kinds)
		}
	}
}

// waitForMessage waits for a message of kind about ref in `vaxbook dev`'s
// outbox and returns the manage link it carries, if any.
func waitForMessage(t *testing.T, base, ref string, kind notify.Kind) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, m := range outbox(t, base) {
			if m.Reference == ref && m.Kind == kind {
				return manageLinkRe.FindString(m.Text)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s message for %s in the outbox after 60 s", kind, ref)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// outbox is every message in `vaxbook dev`'s outbox, both channels.
func outbox(t *testing.T, base string) []email.Message {
	t.Helper()
	var box struct {
		Messages []struct {
			Message email.Message `json:"message"`
		} `json:"messages"`
	}
	getJSON(t, base+"/dev/mail.json", &box)
	out := make([]email.Message, len(box.Messages))
	for i, m := range box.Messages {
		out[i] = m.Message
	}
	return out
}

// postJSONTo posts v as JSON to url and returns the answer.
func postJSONTo(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
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
