package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

// A forged push carries someone's IC and contact details, and may be as
// large as the push cap: rejected_messages must keep a bounded excerpt with
// the personal values masked, enough for a person to see what was refused
// (issue 11, item 5).
func TestReject_KeepsABoundedExcerptWithoutPersonalData(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	secrets := []string{"900101145678", "Siti Aminah", "+60123456789", "siti@example.com", "A9876543", "0123"}
	data, _ := json.Marshal(map[string]any{
		"reference": "ABCDEFGHJK234567", "state": "selangor", "preferences": []string{"sel-001-am"},
		"name": "Siti Aminah", "id_number": "900101145678", "phone": "+60123456789", "email": "siti@example.com",
		"Id_Number": "A9876543", // encoding/json would read it as id_number
		"padding":   strings.Repeat("0123", 256<<10),
	})
	for _, rej := range []interface {
		Reject(context.Context, postgres.RejectedMessage) error
	}{postgres.NewBookings(pool, pii.Dev()), postgres.NewEmails(pool)} {
		id := strings.Repeat("m", 2000) // attacker-chosen, unbounded
		m := postgres.RejectedMessage{MessageID: id, Subscription: strings.Repeat("s", 5000), Data: data,
			Attributes: map[string]string{"reference": "ABCDEFGHJK234567", "ic": "900101145678"}, Reason: strings.Repeat("r", 5000)}
		if err := rej.Reject(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		var (
			gotID, sub, reason, attrs string
			got                       []byte
		)
		if err := pool.QueryRow(context.Background(),
			`SELECT message_id, subscription, data, attributes::text, reason FROM rejected_messages WHERE message_id LIKE 'mmm%'`).
			Scan(&gotID, &sub, &got, &attrs, &reason); err != nil {
			t.Fatal(err)
		}
		stored := gotID + sub + string(got) + attrs + reason
		if len(stored) > 2048 {
			t.Errorf("%T: stored %d bytes for a %d-byte message, want a bounded excerpt", rej, len(stored), len(data))
		}
		for _, s := range secrets {
			if strings.Contains(stored, s) {
				t.Errorf("%T: rejected_messages keeps %q in clear: %s", rej, s, got)
			}
		}
		var ex struct {
			Bytes  int            `json:"bytes"`
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(got, &ex); err != nil {
			t.Fatalf("%T: excerpt is not JSON: %v: %s", rej, err, got)
		}
		if ex.Bytes != len(data) || ex.Fields["reference"] != "ABCDEFGHJK234567" || ex.Fields["state"] != "selangor" ||
			!strings.HasPrefix(ex.Fields["id_number"].(string), "<redacted: string, 12 bytes") {
			t.Errorf("%T: excerpt %s: want the size, the reference and state, and id_number as its length", rej, got)
		}
		if _, err := pool.Exec(context.Background(), `DELETE FROM rejected_messages`); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReject_NonJSONDataKeepsOnlyItsSize(t *testing.T) {
	t.Parallel()
	pool := testenv.NewPool(t)
	m := postgres.RejectedMessage{MessageID: "m1", Subscription: "s", Data: []byte("IC 900101145678 not json"), Reason: "r"}
	if err := postgres.NewBookings(pool, pii.Dev()).Reject(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := pool.QueryRow(context.Background(), `SELECT convert_from(data, 'UTF8') FROM rejected_messages`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != `{"bytes":24,"json":"invalid"}` {
		t.Errorf("data: got %s, want only the size", got)
	}
}
