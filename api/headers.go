package api

import (
	"net/http"
	"strings"
)

// Security headers on every API answer. The API serves JSON only, so the
// policy allows nothing at all to load or frame it; nosniff keeps a
// browser from reading an answer as a script or page; no-referrer keeps a
// reference in a URL out of third parties' logs. Shared slices, assigned
// not built, so the /listppv hit stays free of allocations.
var (
	hdrNosniff        = []string{"nosniff"}
	hdrReferrerPolicy = []string{"no-referrer"}
	hdrAPICSP         = []string{"default-src 'none'; frame-ancestors 'none'"}
	hdrNoStore        = []string{"no-store"}
)

// personal reports whether path answers about one person (a booking's or a
// registration's status): never stored by a CDN or a browser.
func personal(path string) bool {
	return strings.HasPrefix(path, "/status/") || path == "/status" ||
		strings.HasPrefix(path, "/registration/") || path == "/registration"
}

func setSecurityHeaders(h http.Header) {
	h["X-Content-Type-Options"] = hdrNosniff
	h["Referrer-Policy"] = hdrReferrerPolicy
	h["Content-Security-Policy"] = hdrAPICSP
}
