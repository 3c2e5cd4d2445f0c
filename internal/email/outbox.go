package email

import (
	"context"
	"encoding/json"
	htmltemplate "html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vaxbook/vaxbook/internal/notify"
)

// Outbox is the Sender of `vaxbook dev`: it keeps the newest messages in
// memory instead of sending them, e-mails and (through Texts) SMS, and
// shows them at /dev/mail, each marked by its channel, so a developer sees
// exactly what a person would receive.
type Outbox struct {
	mu    sync.Mutex
	max   int
	next  int
	items []outboxItem // newest first
	texts []textItem   // newest first
}

type outboxItem struct {
	ID      int            `json:"id"`
	At      time.Time      `json:"at"`
	Channel notify.Channel `json:"channel"`
	Mail    Message        `json:"message"`
}

type textItem struct {
	ID      int            `json:"id"`
	At      time.Time      `json:"at"`
	Channel notify.Channel `json:"channel"`
	Text    notify.Text    `json:"message"`
}

// NewOutbox keeps at most max messages of each channel, dropping the
// oldest.
func NewOutbox(max int) *Outbox { return &Outbox{max: max} }

// Send keeps m; it never fails.
func (o *Outbox) Send(_ context.Context, m Message) (notify.Receipt, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	o.items = keep(o.items, outboxItem{ID: o.next, At: time.Now().UTC(), Channel: notify.ChannelEmail, Mail: m}, o.max)
	return notify.Receipt{Status: http.StatusAccepted, ID: "outbox-" + strconv.Itoa(o.next)}, nil
}

// Texts is the outbox as the SMS channel's sender.
func (o *Outbox) Texts() notify.Sender[notify.Text] { return textOutbox{o} }

type textOutbox struct{ o *Outbox }

// Send keeps m; it never fails.
func (t textOutbox) Send(_ context.Context, m notify.Text) (notify.Receipt, error) {
	o := t.o
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	o.texts = keep(o.texts, textItem{ID: o.next, At: time.Now().UTC(), Channel: notify.ChannelSMS, Text: m}, o.max)
	return notify.Receipt{Status: http.StatusCreated, ID: "outbox-" + strconv.Itoa(o.next)}, nil
}

func keep[T any](items []T, it T, max int) []T {
	items = append([]T{it}, items...)
	if len(items) > max {
		items = items[:max]
	}
	return items
}

// Messages returns the e-mails the outbox holds, newest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, len(o.items))
	for i, it := range o.items {
		out[i] = it.Mail
	}
	return out
}

func (o *Outbox) snapshot() ([]outboxItem, []textItem) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]outboxItem(nil), o.items...), append([]textItem(nil), o.texts...)
}

// pageItem is one message of either channel on the page.
type pageItem struct {
	ID      int
	At      time.Time
	Channel notify.Channel
	Mail    *Message
	Text    *notify.Text
}

// page merges both channels, newest first.
func (o *Outbox) page() []pageItem {
	mails, texts := o.snapshot()
	out := make([]pageItem, 0, len(mails)+len(texts))
	for i := range mails {
		out = append(out, pageItem{ID: mails[i].ID, At: mails[i].At, Channel: mails[i].Channel, Mail: &mails[i].Mail})
	}
	for i := range texts {
		out = append(out, pageItem{ID: texts[i].ID, At: texts[i].At, Channel: texts[i].Channel, Text: &texts[i].Text})
	}
	slices.SortFunc(out, func(a, b pageItem) int { return b.ID - a.ID })
	return out
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
		// E-mails stay under "messages" as they always were, so scripts
		// that read them keep working; SMS come beside them.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		mails, texts := o.snapshot()
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": mails, "sms": texts})
	case r.URL.Path == "/dev/mail" || r.URL.Path == "/dev/mail/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = outboxPage.Execute(w, o.page())
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
	mails, _ := o.snapshot()
	for _, it := range mails {
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
.ch{display:inline-block;font-size:12px;padding:2px 6px;border-radius:4px;margin-right:6px;background:#ddf4ff;color:#0969da}
.sms .ch{background:#dafbe1;color:#1a7f37}
</style></head>
<body>
<h1>Outbox</h1>
<p>What <code>vaxbook dev</code> would have sent, e-mails and SMS, newest first (kept in memory; also as <a href="/dev/mail.json">JSON</a>).</p>
{{range .}}{{if .Text}}<article id="m{{.ID}}" class="sms">
<h2><span class="ch">SMS</span> {{.Text.Kind}} ({{.Text.Reference}})</h2>
<dl><dt>To</dt><dd>{{.Text.To}}</dd>
<dt>Segments</dt><dd>{{.Text.Segments}} ({{len .Text.Body}} characters)</dd>
<dt>Kept at</dt><dd>{{.At.Format "2006-01-02 15:04:05Z"}}</dd></dl>
<pre>{{.Text.Body}}</pre>
</article>
{{else}}<article id="m{{.ID}}" class="email">
<h2><span class="ch">E-mail</span> {{.Mail.Subject}}</h2>
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
{{end}}{{else}}<p>Nothing yet: book something on <a href="/">the booking page</a>.</p>
{{end}}</body></html>
`))
