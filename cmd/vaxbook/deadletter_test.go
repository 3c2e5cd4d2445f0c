package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/vaxbook/vaxbook/internal/booking"
	vpubsub "github.com/vaxbook/vaxbook/internal/pubsub"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// TestDeadletterReplay_ADeadLetteredBookingEndsInExactlyOneBooking: a
// booking Pub/Sub gave up on sits twice in appointments-dead-letter (it was
// dead-lettered from a redelivery too). A dry run lists both and changes
// nothing; the replay puts both back on appointments-topic, where `vaxbook
// dev`'s worker books the person once, over real Postgres.
func TestDeadletterReplay_ADeadLetteredBookingEndsInExactlyOneBooking(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const project = "vaxbook-dev"
	srv, psc := testenv.NewPubSub(t, project)
	dbURL := testenv.DatabaseURL(t)
	seedBrowserData(t, dbURL)
	startRole(t, map[string]string{
		"PORT": freePort(t), "DATABASE_URL": dbURL, "REDIS_URL": testenv.RedisURL(t),
		"PUBSUB_EMULATOR_HOST": srv.Addr, "LOG_LEVEL": "warn",
	}, "/readyz", "dev")

	if err := vpubsub.EnsureTopic(ctx, psc, "appointments-dead-letter"); err != nil {
		t.Fatal(err)
	}
	if _, err := vpubsub.EnsurePullSubscription(ctx, psc, "appointments-dead-letter", "appointments-dead-letter-sub", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ref := booking.NewReference()
	data, err := json.Marshal(booking.Request{Reference: ref, State: "selangor", Name: "Siti Aminah", IDNumber: "900101145678",
		Phone: "+60123456789", Email: "siti@example.com", Preferences: []string{"sel-001-am"}, Lang: "ms", SubmittedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	dl := psc.Publisher("appointments-dead-letter")
	for range 2 {
		if _, err := dl.Publish(ctx, &pubsub.Message{Data: data, Attributes: map[string]string{
			"reference": ref, "CloudPubSubDeadLetterSourceDeliveryCount": "100",
			"CloudPubSubDeadLetterSourceSubscription": "appointments-push",
		}}).Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dl.Stop()
	env := envFunc(map[string]string{"GOOGLE_CLOUD_PROJECT": project, "PUBSUB_EMULATOR_HOST": srv.Addr})
	replay := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"vaxbook", "deadletter", "replay", "--subscription", "appointments-dead-letter-sub"}, args...), env, &out); err != nil {
			t.Fatalf("deadletter replay %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	// replayed counts the booking's copies on appointments-topic: not the
	// dead letters themselves, nor the e-mail requests the worker makes.
	replayed := func(acked bool) int {
		n := 0
		for _, m := range srv.Messages() {
			a := m.Attributes
			if a["reference"] == ref && a["CloudPubSubDeadLetterSourceDeliveryCount"] == "" && a["kind"] == "" && (!acked || m.Acks > 0) {
				n++
			}
		}
		return n
	}

	out := replay("--dry-run")
	if !strings.Contains(out, "would replay 2 messages from appointments-dead-letter-sub to appointments-topic") ||
		!strings.Contains(out, "100 delivery attempts, attributes reference="+ref+"\n") {
		t.Errorf("dry run printed:\n%s", out)
	}
	if n := replayed(false); n != 0 {
		t.Errorf("the dry run published %d messages", n)
	}
	if n, _, _ := bookingsFor(t, dbURL, "900101145678"); n != 0 {
		t.Errorf("after the dry run: %d bookings, want 0", n)
	}

	if out := replay("--limit", "1"); !strings.Contains(out, "replayed 1 messages") {
		t.Errorf("replay --limit 1 printed:\n%s", out)
	}
	if out := replay(); !strings.Contains(out, "replayed 1 messages") {
		t.Errorf("replay of the rest printed:\n%s", out)
	}
	if out := replay(); !strings.Contains(out, "replayed 0 messages") {
		t.Errorf("replay of an empty subscription printed:\n%s", out)
	}

	// Both copies taken by the dev relay (it acknowledges what it takes
	// into its custody, before the worker has them) and the booking made:
	// one booking, whichever copy made it; the other is a redelivery of
	// the same reference and changes nothing.
	deadline := time.Now().Add(60 * time.Second)
	for {
		acked := replayed(true)
		n, status, _ := bookingsFor(t, dbURL, "900101145678")
		if acked == 2 && n >= 1 && status == "confirmed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replayed copies were not handled: %d of 2 taken, %d bookings (%s)", acked, n, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, status, slot := bookingsFor(t, dbURL, "900101145678"); n != 1 || status != "confirmed" || slot != "sel-001-am" {
		t.Errorf("after the replay: %d bookings, last %s in %s; want exactly one, confirmed in sel-001-am", n, status, slot)
	}
}
