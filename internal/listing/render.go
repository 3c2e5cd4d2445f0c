package listing

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Rendered is a document as it is served: the exact JSON bytes, a gzip copy,
// and the strong ETag of the JSON. The cache-fill loop renders once; every API
// instance then serves these bytes without encoding anything.
type Rendered struct {
	Body []byte
	Gzip []byte
	ETag string
}

// Render encodes v (a Document or a StatesDocument) for serving.
func Render(v any) (Rendered, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return Rendered{}, fmt.Errorf("encode listing: %w", err)
	}
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
	if _, err := zw.Write(body); err != nil {
		return Rendered{}, fmt.Errorf("gzip listing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Rendered{}, fmt.Errorf("gzip listing: %w", err)
	}
	return Rendered{Body: body, Gzip: zb.Bytes(), ETag: ETag(body)}, nil
}

// Documents is everything the cache serves for GET /listppv and GET /states:
// each state's rendered document by state code, and the states list.
type Documents struct {
	ByState map[string]Rendered
	States  Rendered
	digests map[string][32]byte
}

// RenderAll builds rows (ordered by state, centre, slot) into every state's
// document and the states list, stamped with at, and renders them. A state
// whose content is what it was in prev keeps prev's bytes and ETag, so
// clients and the CDN keep getting 304s for it; pass the zero Documents when
// there is no previous pass.
func RenderAll(rows []SlotRow, at time.Time, prev Documents) (Documents, error) {
	built, states := Build(rows, at)
	docs := Documents{ByState: make(map[string]Rendered, len(built)), digests: make(map[string][32]byte, len(built))}
	for _, b := range built {
		code := b.Doc.State
		r, ok := prev.ByState[code]
		if !ok || prev.digests[code] != b.Digest {
			var err error
			if r, err = Render(b.Doc); err != nil {
				return Documents{}, err
			}
		}
		docs.ByState[code], docs.digests[code] = r, b.Digest
	}
	var err error
	if docs.States, err = Render(states); err != nil {
		return Documents{}, err
	}
	return docs, nil
}

// ETag is a strong validator derived from the bytes alone, so every API
// instance agrees on it without coordination.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// Availability is what the API needs of a state's listing to check a
// submission: every slot id of the state and the places it showed as left.
type Availability map[string]int

// ParseAvailability reads the slot ids and availability out of a rendered
// state document.
func ParseAvailability(body []byte) (Availability, error) {
	var doc struct {
		Centers []struct {
			Slots []struct {
				ID        string `json:"id"`
				Available int    `json:"available"`
			} `json:"slots"`
		} `json:"centers"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode listing: %w", err)
	}
	av := make(Availability)
	for _, c := range doc.Centers {
		for _, s := range c.Slots {
			av[s.ID] = s.Available
		}
	}
	return av, nil
}

// ParseStates reads the states, by code, out of a rendered /states
// document.
func ParseStates(body []byte) (map[string]State, error) {
	var doc StatesDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode states: %w", err)
	}
	states := make(map[string]State, len(doc.States))
	for _, s := range doc.States {
		states[s.Code] = s
	}
	return states, nil
}
