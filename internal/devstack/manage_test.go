package devstack_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/vaxbook/vaxbook/internal/email"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/notify"
)

var manageLink = regexp.MustCompile(`/\?manage=([A-Za-z0-9_%-]+)`)

type outbox struct {
	Messages []struct {
		Message email.Message `json:"message"`
	} `json:"messages"`
}

// mailOf waits for the message of kind about reference in /dev/mail.json.
func mailOf(t *testing.T, base, reference string, kind notify.Kind) email.Message {
	t.Helper()
	var found email.Message
	eventually(t, "a "+string(kind)+" e-mail for "+reference, func() (bool, any) {
		var box outbox
		getInto(t, base+"/dev/mail.json", &box)
		for _, m := range box.Messages {
			if m.Message.Reference == reference && m.Message.Kind == kind {
				found = m.Message
				return true, nil
			}
		}
		return false, len(box.Messages)
	})
	return found
}

func bearer(t *testing.T, u, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}

// TestStart_BookOpenTheManageLinkChangeCancelAndBookAgain is the issue's
// "done when" for people: book in `vaxbook dev`, take the manage link from
// /dev/mail, change the time, cancel, and book again.
func TestStart_BookOpenTheManageLinkChangeCancelAndBookAgain(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"CACHEFILL_INTERVAL": "200ms", "LOG_LEVEL": "error"}, false)
	base := s.URL()
	var doc listing.Document
	getInto(t, base+"/listppv?state=melaka", &doc)
	first, second := doc.Centers[0].Slots[0], doc.Centers[1].Slots[1]

	body := `{"state":"melaka","name":"Siti Aminah","id_number":"900101-14-5678","phone":"+60123456789","email":"siti@example.com","preferences":["` + first.ID + `"]}`
	var sub struct{ Reference string }
	if code := call(t, "POST", base+"/submit", body, &sub); code != http.StatusAccepted {
		t.Fatalf("POST /submit: %d", code)
	}
	confirmed := mailOf(t, base, sub.Reference, notify.KindConfirmed)
	m := manageLink.FindStringSubmatch(confirmed.Text)
	if m == nil {
		t.Fatalf("no manage link in the confirmation:\n%s", confirmed.Text)
	}
	token, _ := url.QueryUnescape(m[1])

	var view struct {
		Reference string
		Status    string
		State     string
		Slot      struct{ ID string }
		CanChange bool `json:"can_change"`
	}
	if code := bearer(t, base+"/manage", token, &view); code != http.StatusOK || view.Reference != sub.Reference || view.Slot.ID != first.ID || view.State != "melaka" || !view.CanChange {
		t.Fatalf("GET /manage: %d %+v, want the booking in %s", code, view, first.ID)
	}

	var req struct{ Request string }
	if code := call(t, "POST", base+"/manage/change", `{"token":"`+token+`","preferences":["`+second.ID+`"]}`, &req); code != http.StatusAccepted {
		t.Fatalf("POST /manage/change: %d", code)
	}
	eventually(t, "the change", func() (bool, any) {
		var st struct{ Status string }
		call(t, "GET", base+"/status/"+req.Request, "", &st)
		return st.Status == "changed", st
	})
	if changed := mailOf(t, base, sub.Reference, notify.KindChanged); len(changed.Attachments) != 1 {
		t.Errorf("changed e-mail: %d attachments, want the new .ics", len(changed.Attachments))
	}
	bearer(t, base+"/manage", token, &view)
	if view.Slot.ID != second.ID {
		t.Errorf("after the change GET /manage shows %s, want %s", view.Slot.ID, second.ID)
	}

	if code := call(t, "POST", base+"/manage/cancel", `{"token":"`+token+`"}`, &req); code != http.StatusAccepted {
		t.Fatalf("POST /manage/cancel: %d", code)
	}
	eventually(t, "the cancellation", func() (bool, any) {
		bearer(t, base+"/manage", token, &view)
		return view.Status == "cancelled", view
	})
	mailOf(t, base, sub.Reference, notify.KindCancelled)
	if code := call(t, "POST", base+"/manage/cancel", `{"token":"`+token+`"}`, nil); code != http.StatusConflict {
		t.Errorf("cancelling again: %d, want 409", code)
	}

	// The person may book again, and the resend answers the same for a
	// pair that matches and one that does not.
	var again struct{ Reference string }
	if code := call(t, "POST", base+"/submit", body, &again); code != http.StatusAccepted {
		t.Fatalf("booking again: %d", code)
	}
	eventually(t, "the second booking", func() (bool, any) {
		var st struct{ Status string }
		call(t, "GET", base+"/status/"+again.Reference, "", &st)
		return st.Status == "confirmed", st
	})
	for _, id := range []string{"900101-14-5678", "A1234567"} {
		var ans map[string]string
		if code := call(t, "POST", base+"/manage/resend", `{"reference":"`+again.Reference+`","id_number":"`+id+`"}`, &ans); code != http.StatusAccepted || ans["status"] != "accepted" {
			t.Errorf("resend with %s: %d %v, want 202 accepted", id, code, ans)
		}
	}
	mailOf(t, base, again.Reference, notify.KindManage)
}
