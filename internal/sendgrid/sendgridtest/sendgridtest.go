// Package sendgridtest is an httptest server standing in for SendGrid's v3
// mail/send API in tests: it checks what the real API checks of our
// requests (method, path, bearer key, the JSON shape) and answers with the
// statuses a test scripts.
package sendgridtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Mail is one accepted-for-checking mail/send body, decoded.
type Mail struct {
	Personalizations []struct {
		To []struct {
			Email string `json:"email"`
			Name  string `json:"name"`
		} `json:"to"`
	} `json:"personalizations"`
	From struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"from"`
	Subject string `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	Attachments []struct {
		Content  string `json:"content"`
		Type     string `json:"type"`
		Filename string `json:"filename"`
	} `json:"attachments"`
	CustomArgs map[string]string `json:"custom_args"`
	// TrackingSettings is kept as sent, so a test can tell "enable": false
	// from a setting left out (which means the account's default).
	TrackingSettings map[string]map[string]any `json:"tracking_settings"`
}

// Server is the stand-in. Statuses are answered in order, then 202 for
// every call after them.
type Server struct {
	*httptest.Server
	Key string

	mu       sync.Mutex
	held     chan struct{} // closed to release held requests
	arrived  chan struct{}
	statuses []int
	calls    int
	accepted []Mail
}

// New starts a server that accepts the API key key; it is closed when the
// test ends.
func New(t testing.TB, key string, statuses ...int) *Server {
	t.Helper()
	s := &Server{Key: key, statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(t, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(t testing.TB, w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send":
		t.Errorf("sendgrid: got %s %s, want POST /v3/mail/send", r.Method, r.URL.Path)
		http.Error(w, `{"errors":[{"message":"not found"}]}`, http.StatusNotFound)
		return
	case r.Header.Get("Authorization") != "Bearer "+s.Key:
		t.Errorf("sendgrid: Authorization %q, want the bearer key", r.Header.Get("Authorization"))
		http.Error(w, `{"errors":[{"message":"unauthorized"}]}`, http.StatusUnauthorized)
		return
	}
	var m Mail
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		t.Errorf("sendgrid: body is not JSON: %v", err)
		http.Error(w, `{"errors":[{"message":"bad json"}]}`, http.StatusBadRequest)
		return
	}
	if err := check(m); err != nil {
		t.Errorf("sendgrid: %v", err)
		http.Error(w, `{"errors":[{"message":"bad request"}]}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	held, arrived := s.held, s.arrived
	s.mu.Unlock()
	if held != nil {
		arrived <- struct{}{}
		<-held
	}
	s.mu.Lock()
	status := http.StatusAccepted
	if s.calls < len(s.statuses) {
		status = s.statuses[s.calls]
	}
	s.calls++
	if status == http.StatusAccepted {
		s.accepted = append(s.accepted, m)
		w.Header().Set("X-Message-Id", fmt.Sprintf("sg-%d", len(s.accepted)))
	}
	s.mu.Unlock()
	w.WriteHeader(status)
	if status >= 400 {
		fmt.Fprintf(w, `{"errors":[{"message":"scripted %d"}]}`, status)
	}
}

// check holds a body to the v3 mail/send rules our messages rely on.
func check(m Mail) error {
	switch {
	case len(m.Personalizations) == 0 || len(m.Personalizations[0].To) == 0 || m.Personalizations[0].To[0].Email == "":
		return fmt.Errorf("personalizations[0].to[0].email missing")
	case m.From.Email == "":
		return fmt.Errorf("from.email missing")
	case m.Subject == "":
		return fmt.Errorf("subject missing")
	case len(m.Content) != 2 || m.Content[0].Type != "text/plain" || m.Content[1].Type != "text/html":
		return fmt.Errorf("content must be text/plain then text/html, got %d parts", len(m.Content))
	case m.Content[0].Value == "" || m.Content[1].Value == "":
		return fmt.Errorf("empty content")
	}
	for i, a := range m.Attachments {
		if a.Filename == "" || a.Type == "" || a.Content == "" {
			return fmt.Errorf("attachments[%d]: content, type and filename are required", i)
		}
		if _, err := base64.StdEncoding.DecodeString(a.Content); err != nil {
			return fmt.Errorf("attachments[%d].content is not base64: %v", i, err)
		}
		if strings.ContainsAny(a.Content, "\r\n") {
			return fmt.Errorf("attachments[%d].content has line breaks", i)
		}
	}
	return nil
}

// Hold makes well-formed requests wait before they are answered: each
// arrival is signalled on arrived, and all go on once release is called.
func (s *Server) Hold() (arrived <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held, s.arrived = make(chan struct{}), make(chan struct{}, 64)
	held := s.held
	return s.arrived, sync.OnceFunc(func() { close(held) })
}

// Calls is how many well-formed requests arrived, whatever was answered.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Accepted returns the mails answered 202, in order.
func (s *Server) Accepted() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.accepted...)
}
