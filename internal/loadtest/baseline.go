package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
)

// BareListHandler is the ceiling for /listppv: plain net/http writing the
// bytes the system served, from memory, with the same headers and the same
// 304 and gzip choices, and nothing else (no cache, no Redis, no router).
func BareListHandler(snap *Snapshot) http.Handler {
	type doc struct {
		plain, gzip       []byte
		etag              []string
		lenPlain, lenGzip []string
	}
	docs := map[string]*doc{}
	for code, st := range snap.ByState {
		docs[code] = &doc{plain: st.Plain, gzip: st.Gzip, etag: []string{st.ETag},
			lenPlain: []string{fmt.Sprint(len(st.Plain))}, lenGzip: []string{fmt.Sprint(len(st.Gzip))}}
	}
	ctype := []string{"application/json; charset=utf-8"}
	cc := []string{"public, max-age=1, s-maxage=2, stale-while-revalidate=2"}
	vary := []string{"Accept-Encoding"}
	gz := []string{"gzip"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, code, _ := strings.Cut(r.URL.RawQuery, "state=")
		code, _, _ = strings.Cut(code, "&")
		d := docs[code]
		if d == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Cache-Control"], h["Vary"], h["Etag"] = cc, vary, d.etag
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == d.etag[0] {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h["Content-Type"] = ctype
		body := d.plain
		if d.gzip != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			body, h["Content-Encoding"], h["Content-Length"] = d.gzip, gz, d.lenGzip
		} else {
			h["Content-Length"] = d.lenPlain
		}
		_, _ = w.Write(body)
	})
}

// ServeLoopback serves h on a free loopback port until ctx ends and returns
// its base URL and a func that waits for it to stop.
func ServeLoopback(ctx context.Context, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for baseline server: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A failure shows as the attack's transport errors, where it is read.
		_ = srv.Serve(ln)
	}()
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), func() { stop(); _ = srv.Close(); <-done }, nil
}

// Publisher is what the bare-publish ceiling needs: the same publisher, with
// the same settings, the API uses.
type Publisher interface {
	Publish(ctx context.Context, req booking.Request) error
}

// PublishTransport is the ceiling for /submit: an http.RoundTripper that
// vegeta drives exactly as it drives the API, but which turns each
// submission straight into the booking message and publishes it, waiting
// for the server's ack as the API does. What is missing against the API
// is the API's own work: HTTP, validation, the listing check, Redis.
type PublishTransport struct{ Pub Publisher }

// RoundTrip publishes the request body's booking and answers 202.
func (t PublishTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read submission: %w", err)
	}
	var m booking.Request
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode submission: %w", err)
	}
	if id, err := booking.NormalizeIDNumber(m.IDNumber); err == nil {
		m.IDNumber = id
	}
	m.Reference, m.SubmittedAt = booking.NewReference(), time.Now().UTC()
	code := http.StatusAccepted
	if err := t.Pub.Publish(req.Context(), m); err != nil {
		code = http.StatusServiceUnavailable
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: http.NoBody,
		Header: http.Header{}, Request: req, ContentLength: 0, ProtoMajor: 1, ProtoMinor: 1}, nil
}
