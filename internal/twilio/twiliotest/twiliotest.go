// Package twiliotest is an httptest server standing in for Twilio's
// Messages API in tests: it checks what the real API checks of our requests
// (POST to /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth
// with the account SID and auth token, a form body with To, Body and From or
// MessagingServiceSid) and answers with the statuses a test scripts. Sign
// signs a status callback as Twilio does.
package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Test credentials in Twilio's shapes.
const (
	AccountSID = "AC0123456789abcdef0123456789abcdef"
	AuthToken  = "0123456789abcdef0123456789abcdef"
)

// Message is one accepted create call's form.
type Message struct {
	SID, To, From, MessagingServiceSID, Body, StatusCallback string
}

// Server is the stand-in. Statuses are answered in order, then 201 for
// every call after them.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	statuses []int
	calls    int
	accepted []Message
}

// New starts a server; it is closed when the test ends.
func New(t testing.TB, statuses ...int) *Server {
	t.Helper()
	s := &Server{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(t, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func (s *Server) serve(t testing.TB, w http.ResponseWriter, r *http.Request) {
	path := "/2010-04-01/Accounts/" + AccountSID + "/Messages.json"
	user, pass, ok := r.BasicAuth()
	switch {
	case r.Method != http.MethodPost || r.URL.Path != path:
		t.Errorf("twilio: got %s %s, want POST %s", r.Method, r.URL.Path, path)
		apiError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	case !ok || user != AccountSID || pass != AuthToken:
		t.Errorf("twilio: basic auth %q, want the account SID and auth token", user)
		apiError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		t.Errorf("twilio: Content-Type %q, want a form", r.Header.Get("Content-Type"))
		apiError(w, http.StatusBadRequest, 20001, "bad content type")
		return
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("twilio: form: %v", err)
		apiError(w, http.StatusBadRequest, 20001, "bad form")
		return
	}
	m := Message{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"),
		Body: r.PostForm.Get("Body"), StatusCallback: r.PostForm.Get("StatusCallback")}
	switch {
	case !e164.MatchString(m.To):
		t.Errorf("twilio: To %q is not E.164", m.To)
		apiError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number")
		return
	case m.From == "" && m.MessagingServiceSID == "":
		t.Errorf("twilio: neither From nor MessagingServiceSid")
		apiError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
		return
	case m.Body == "" || len([]rune(m.Body)) > 1600:
		t.Errorf("twilio: Body of %d characters", len([]rune(m.Body)))
		apiError(w, http.StatusBadRequest, 21602, "Message body is required")
		return
	}
	s.mu.Lock()
	status := http.StatusCreated
	if s.calls < len(s.statuses) {
		status = s.statuses[s.calls]
	}
	s.calls++
	if status != http.StatusCreated {
		s.mu.Unlock()
		// 21211 is what Twilio answers an invalid number with: a 400
		// that no retry fixes.
		apiError(w, status, map[bool]int{true: 21211, false: 20500}[status == http.StatusBadRequest], fmt.Sprintf("scripted %d", status))
		return
	}
	m.SID = fmt.Sprintf("SM%032x", len(s.accepted)+1)
	s.accepted = append(s.accepted, m)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid": m.SID, "account_sid": AccountSID, "to": m.To, "from": m.From, "body": m.Body, "status": "queued",
		"num_segments": "1", "direction": "outbound-api",
	})
}

func apiError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

// Calls is how many well-formed requests arrived, whatever was answered.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Accepted returns the messages answered 201, in order.
func (s *Server) Accepted() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.accepted...)
}

// Sign is X-Twilio-Signature for a form POST of params to callbackURL, as
// Twilio computes it: HMAC-SHA1 under the auth token of the URL followed by
// each parameter's name and value, sorted by name, in base64.
func Sign(token, callbackURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(callbackURL))
	for _, k := range keys {
		mac.Write([]byte(k + params.Get(k)))
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
