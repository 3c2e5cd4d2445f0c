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

// RawPublisher is what the bare-publish ceiling needs: the API's publisher
// settings, publishing bytes as they are.
type RawPublisher interface {
	Publish(ctx context.Context, data json.RawMessage) error
}

// barePublishAnswer is what the ceiling answers, about the size of the
// API's 202.
var barePublishAnswer = []byte(`{"reference":"BAREPUBLISH00000","status":"pending"}`)

// BarePublishHandler is the ceiling for /submit: plain net/http that reads
// the body and publishes it as it is, to the same Pub/Sub with the same
// client settings as the API, answering 202 once Pub/Sub has it. The
// generator drives it over HTTP exactly as it drives the API, so what is
// missing against /submit is the API's own work: decoding and validation,
// the listing check, the Idempotency-Key lookup and the pending record in
// Redis, the router and the log context.
func BarePublishHandler(pub RawPublisher) http.Handler {
	ctype := []string{"application/json; charset=utf-8"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := pub.Publish(r.Context(), body); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header()["Content-Type"] = ctype
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(barePublishAnswer)
	})
}
