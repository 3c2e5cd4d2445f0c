// Package frontend holds the static booking page. Firebase Hosting serves
// these files in production; `vaxbook dev` serves the embedded copy.
package frontend

import "embed"

// Files is the site's content.
//
//go:embed index.html
var Files embed.FS
