// Package respond writes vaxbook's JSON answers and the one error body shape
// of the contract, so every handler speaks the same way.
package respond

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ContentType is the media type of every body vaxbook writes.
const ContentType = "application/json; charset=utf-8"

// contentType is shared by every response; handlers never modify it.
var contentType = []string{ContentType}

// Error is the body of every error answer.
type Error struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Field     string       `json:"field,omitempty"`
	Fields    []FieldError `json:"fields,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// FieldError is one field at fault, when several are.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// JSON writes v as the body with status.
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"The server could not encode its answer."}}`)
	}
	Raw(w, status, b)
}

// Raw writes bytes that are already JSON.
func Raw(w http.ResponseWriter, status int, b []byte) {
	w.Header()["Content-Type"] = contentType
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Fail writes the contract's error body.
func Fail(w http.ResponseWriter, status int, e Error) {
	if e.RequestID == "" {
		if v := w.Header()["X-Request-Id"]; len(v) > 0 {
			e.RequestID = v[0]
		}
	}
	JSON(w, status, struct {
		Error Error `json:"error"`
	}{e})
}

// Unavailable answers 503 with the Retry-After the contract promises.
func Unavailable(w http.ResponseWriter, retryAfter time.Duration, code, message string) {
	RetryAfter(w, retryAfter)
	Fail(w, http.StatusServiceUnavailable, Error{Code: code, Message: message})
}

// RetryAfter tells the client how long to wait, in whole seconds and at
// least one, before asking again.
func RetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(d/time.Second))))
}
