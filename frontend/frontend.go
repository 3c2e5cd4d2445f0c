// Package frontend holds the static booking page. Firebase Hosting serves
// these files in production (firebase.json); `vaxbook dev` serves the
// embedded copy through Handler with the same cache headers.
//
// There is no build step. Instead, every reference to a script or style
// sheet carries "?v=" and a hash of the file's content, so those can be
// cached for a year and index.html, which is never cached, picks up a new
// version at once. A test fails when a hash is stale; `go test ./frontend
// -update` rewrites them.
package frontend

import (
	"embed"
	"net/http"
	"path"
)

// Files is the site's content: the page, its modules and its style sheet.
//
//go:embed index.html *.js *.css
var Files embed.FS

// Cache-Control values, the same as firebase.json's headers.
const (
	CacheVersioned  = "public, max-age=31536000, immutable"
	CacheRevalidate = "no-cache"
)

// The page's security headers, the same as firebase.json's for "**" (a
// test holds them together). The policy lets the page load its own files
// and the two captcha providers' script and frame, call its own origin's
// API, and nothing else; inline script and style stay out, so an injected
// fragment cannot run. frame-ancestors 'none' stops another site framing
// the form to trick a click.
const (
	ContentSecurityPolicy = "default-src 'self'; " +
		"script-src 'self' https://challenges.cloudflare.com https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/; " +
		"frame-src https://challenges.cloudflare.com https://www.google.com/recaptcha/ https://recaptcha.google.com/recaptcha/; " +
		"connect-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	ReferrerPolicy = "no-referrer"
	NoSniff        = "nosniff"
)

// Handler serves Files. A versioned script or style sheet may be kept for a
// year, since its URL changes with its content; anything else, index.html
// above all, is revalidated on every visit.
func Handler() http.Handler {
	files := http.FileServerFS(Files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cc := CacheRevalidate
		if ext := path.Ext(r.URL.Path); (ext == ".js" || ext == ".css") && r.URL.Query().Get("v") != "" {
			cc = CacheVersioned
		}
		h := w.Header()
		h.Set("Cache-Control", cc)
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("Referrer-Policy", ReferrerPolicy)
		h.Set("X-Content-Type-Options", NoSniff)
		files.ServeHTTP(w, r)
	})
}
