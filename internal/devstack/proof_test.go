package devstack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
)

func postJSON(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func getInto(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

var codeLine = regexp.MustCompile(`(?m)^\s+(\d{6})$`)

// With CONTACT_PROOF=on, dev sends the code through email-topic, the relay
// and /push/email into its outbox, and a booking counts only with it.
func TestStart_ContactProofCodeArrivesInTheOutboxAndBooks(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error", "CONTACT_PROOF": "on"}, false)
	var cfg struct {
		ContactProof bool `json:"contact_proof"`
	}
	getInto(t, s.URL()+"/config", &cfg)
	if !cfg.ContactProof {
		t.Fatal("/config does not say contact_proof with CONTACT_PROOF=on")
	}
	status, b := postJSON(t, s.URL()+"/proof", `{"email":"siti@example.com","lang":"ms"}`)
	if status != http.StatusAccepted {
		t.Fatalf("POST /proof: %d %s", status, b)
	}
	var ch struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(b, &ch); err != nil {
		t.Fatal(err)
	}

	var box struct {
		Messages []struct {
			Message email.Message `json:"message"`
		} `json:"messages"`
	}
	var code string
	for deadline := time.Now().Add(60 * time.Second); code == ""; {
		if time.Now().After(deadline) {
			t.Fatal("no code e-mail in /dev/mail.json 60 s after POST /proof")
		}
		time.Sleep(50 * time.Millisecond)
		getInto(t, s.URL()+"/dev/mail.json", &box)
		for _, m := range box.Messages {
			if m.Message.Kind == notify.KindProof && m.Message.To.Email == "siti@example.com" {
				if c := codeLine.FindStringSubmatch(m.Message.Text); c != nil {
					code = c[1]
				}
			}
		}
	}

	var doc listing.Document
	getInto(t, s.URL()+"/listppv?state=selangor", &doc)
	sub := func(proof map[string]string) string {
		m := map[string]any{"state": "selangor", "name": "Siti Aminah", "id_number": "900101-14-5678", "phone": "+60123456789",
			"email": "siti@example.com", "preferences": []string{doc.Centers[0].Slots[0].ID}}
		if proof != nil {
			m["proof"] = proof
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	if status, b := postJSON(t, s.URL()+"/submit", sub(nil)); status != http.StatusForbidden || !strings.Contains(string(b), "proof_required") {
		t.Errorf("booking without proof: %d %s, want 403 proof_required", status, b)
	}
	if status, b := postJSON(t, s.URL()+"/submit", sub(map[string]string{"challenge": ch.Challenge, "code": code})); status != http.StatusAccepted {
		t.Errorf("booking with the code from /dev/mail: %d %s, want 202", status, b)
	}
}

func TestStart_ContactProofIsOffByDefault(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, true)
	if status, _ := postJSON(t, s.URL()+"/proof", `{"email":"siti@example.com"}`); status != http.StatusNotFound {
		t.Errorf("POST /proof in dev by default: %d, want 404 (proof off)", status)
	}
	s2 := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error", "CONTACT_PROOF": "on"}, true)
	if status, b := postJSON(t, s2.URL()+"/proof", `{"email":"siti@example.com"}`); status != http.StatusAccepted {
		t.Errorf("POST /proof in an API-only stack with proof on: %d %s, want 202", status, b)
	}
}
