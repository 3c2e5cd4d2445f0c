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
		w.Header().Set("Cache-Control", cc)
		files.ServeHTTP(w, r)
	})
}
