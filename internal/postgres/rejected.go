package postgres

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// What rejected_messages keeps of a message. A rejected push is by
// definition not ours: it can be a forgery of up to the push body cap,
// carrying anyone's IC, name and contact. The table is for a person to see
// why something was refused, so it keeps the shape of the message and the
// values that identify nobody, and never the personal ones. The redaction is
// done here, at the only way into the table, rather than by each push
// handler, so that no route (booking, e-mail, any added later) can store a
// whole body by forgetting to.
const (
	maxRejectedIDLen      = 128 // Pub/Sub message ids are ~20 digits
	maxSubscriptionLen    = 320 // projects/<30>/subscriptions/<255>
	maxReasonLen          = 300
	maxExcerptFields      = 16
	maxExcerptKeyLen      = 40
	maxExcerptValueLen    = 64
	maxRejectedAttributes = 8
)

// keptFields are the message fields whose values say nothing about a
// person: the reference (random), the state, slot ids, language, channel,
// kind and times. Every other field, known or not, is kept only as its
// type and length.
var keptFields = []string{"reference", "state", "preferences", "lang", "contact", "kind", "submitted_at", "decided_at"}

// excerpt is the redacted, bounded stand-in for a rejected message's data:
// {"bytes":N,"fields":{"reference":"…","id_number":"<redacted: string, 12 bytes>",…}}
// for a JSON object, or only its size and type otherwise.
func excerpt(data []byte) []byte {
	out := map[string]any{"bytes": len(data)}
	var obj map[string]json.RawMessage
	switch err := json.Unmarshal(data, &obj); {
	case err == nil:
		fields := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if len(fields) == maxExcerptFields {
				out["more_fields"] = len(obj) - maxExcerptFields
				break
			}
			fields[clip(k, maxExcerptKeyLen)] = redactValue(k, obj[k])
		}
		out["fields"] = fields
	case json.Valid(data):
		out["json"] = jsonType(data)
	default:
		out["json"] = "invalid"
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Appendf(nil, `{"bytes":%d}`, len(data))
	}
	return b
}

func redactValue(key string, raw json.RawMessage) any {
	if slices.Contains(keptFields, key) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return clip(s, maxExcerptValueLen)
		}
		var list []string
		if json.Unmarshal(raw, &list) == nil && len(list) <= 8 {
			for i := range list {
				list[i] = clip(list[i], maxExcerptValueLen)
			}
			return list
		}
	}
	if t := jsonType(raw); t != "string" {
		return fmt.Sprintf("<redacted: %s, %d bytes>", t, len(raw))
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return fmt.Sprintf("<redacted: string, %d bytes>", len(s))
}

// jsonType names the type of a valid JSON value by its first byte.
func jsonType(raw []byte) string {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return "object"
		case '[':
			return "array"
		case '"':
			return "string"
		case 't', 'f':
			return "boolean"
		case 'n':
			return "null"
		}
		return "number"
	}
	return "empty"
}

// redactAttributes keeps the names of at most maxRejectedAttributes
// attributes and the value of reference alone.
func redactAttributes(attrs map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if len(out) == maxRejectedAttributes {
			break
		}
		v := attrs[k]
		if k != "reference" {
			v = fmt.Sprintf("<redacted: %d bytes>", len(v))
		}
		out[clip(k, maxExcerptKeyLen)] = clip(v, maxExcerptValueLen)
	}
	return out
}

// clip cuts s to at most n bytes on a rune boundary (TEXT must stay UTF-8).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
