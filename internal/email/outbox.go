package email

import (
	"context"
	"encoding/json"
	htmltemplate "html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/notify"
)

// Outbox is the Sender of `vaxbook dev`: it keeps the newest messages in
// memory instead of sending them, and shows them at /dev/mail so a
// developer sees exactly what a person would receive.
type Outbox struct {
	mu    sync.Mutex
	max   int
	next  int
	items []outboxItem // newest first
}

type outboxItem struct {
	ID   int       `json:"id"`
	At   time.Time `json:"at"`
	Mail Message   `json:"message"`
}

// NewOutbox keeps at most max messages, dropping the oldest.
func NewOutbox(max int) *Outbox { return &Outbox{max: max} }

// Send keeps m; it never fails.
func (o *Outbox) Send(_ context.Context, m Message) (notify.Receipt, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	o.items = append([]outboxItem{{ID: o.next, At: time.Now().UTC(), Mail: m}}, o.items...)
	if len(o.items) > o.max {
		o.items = o.items[:o.max]
	}
	return notify.Receipt{Status: http.StatusAccepted, ID: "outbox-" + strconv.Itoa(o.next)}, nil
}

// Messages returns what the outbox holds, newest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, len(o.items))
	for i, it := range o.items {
		out[i] = it.Mail
	}
	return out
}

func (o *Outbox) snapshot() []outboxItem {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]outboxItem(nil), o.items...)
}

// ServeHTTP answers GET /dev/mail (the page), /dev/mail.json (the same for
// tests and scripts) and /dev/mail/{id}/{n} (attachment n of message id).
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case r.URL.Path == "/dev/mail.json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": o.snapshot()})
	case r.URL.Path == "/dev/mail" || r.URL.Path == "/dev/mail/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = outboxPage.Execute(w, o.snapshot())
	case strings.HasPrefix(r.URL.Path, "/dev/mail/"):
		o.attachment(w, strings.TrimPrefix(r.URL.Path, "/dev/mail/"))
	default:
		http.NotFound(w, r)
	}
}

func (o *Outbox) attachment(w http.ResponseWriter, rest string) {
	idText, nText, _ := strings.Cut(rest, "/")
	id, err1 := strconv.Atoi(idText)
	n, err2 := strconv.Atoi(nText)
	if err1 != nil || err2 != nil {
		http.Error(w, "want /dev/mail/{id}/{attachment}", http.StatusNotFound)
		return
	}
	for _, it := range o.snapshot() {
		if it.ID == id && n >= 0 && n < len(it.Mail.Attachments) {
			a := it.Mail.Attachments[n]
			w.Header().Set("Content-Type", a.ContentType)
			w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(a.Filename, `"`, "")+`"`)
			_, _ = w.Write(a.Content)
			return
		}
	}
	http.Error(w, "no such message or attachment (the outbox keeps only the newest)", http.StatusNotFound)
}

// The HTML body is shown in a sandboxed iframe: it renders as a mail client
// would, and nothing in it can script the dev page.
var outboxPage = htmltemplate.Must(htmltemplate.New("outbox").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>vaxbook dev outbox</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;background:#f4f6f8;color:#1b1f23}
article{background:#fff;border-radius:8px;padding:16px;margin:0 0 16px}
h2{font-size:17px;margin:0 0 8px} dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 8px}
dt{color:#57606a} pre{white-space:pre-wrap;background:#f6f8fa;padding:8px;border-radius:4px}
iframe{width:100%;height:420px;border:1px solid #d0d7de;border-radius:4px;background:#fff}
</style></head>
<body>
<h1>Outbox</h1>
<p>What <code>vaxbook dev</code> would have sent, newest first (kept in memory; also as <a href="/dev/mail.json">JSON</a>).</p>
{{range .}}<article id="m{{.ID}}">
<h2>{{.Mail.Subject}}</h2>
<dl><dt>To</dt><dd>{{.Mail.To.Name}} &lt;{{.Mail.To.Email}}&gt;</dd>
<dt>From</dt><dd>{{.Mail.From.Name}} &lt;{{.Mail.From.Email}}&gt;</dd>
<dt>Kind</dt><dd>{{.Mail.Kind}} ({{.Mail.Reference}})</dd>
<dt>Kept at</dt><dd>{{.At.Format "2006-01-02 15:04:05Z"}}</dd>
{{$id := .ID}}{{range $n, $a := .Mail.Attachments}}<dt>Attachment</dt><dd><a href="/dev/mail/{{$id}}/{{$n}}">{{$a.Filename}}</a> ({{$a.ContentType}})</dd>
{{end}}</dl>
<details open><summary>HTML</summary><iframe sandbox srcdoc="{{.Mail.HTML}}" title="HTML body"></iframe></details>
<details><summary>Text</summary><pre>{{.Mail.Text}}</pre></details>
{{range .Mail.Attachments}}<details><summary>{{.Filename}}</summary><pre>{{printf "%s" .Content}}</pre></details>
{{end}}</article>
{{else}}<p>Nothing yet: book something on <a href="/">the booking page</a>.</p>
{{end}}</body></html>
`))
