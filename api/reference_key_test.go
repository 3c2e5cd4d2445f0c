package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/api"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/config"
)

// A retried submission's reference is keyed with REFERENCE_KEY: the
// configured key's reference, the same on a second instance with that key,
// and not the one anybody can compute with the public dev key.
func TestSubmit_ReferenceIsKeyedWithReferenceKey(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("q", booking.MinReferenceKeyLen)
	var c api.Config
	if err := config.Load(context.Background(), func(k string) string { return map[string]string{"REFERENCE_KEY": key}[k] }, &c); err != nil {
		t.Fatal(err)
	}
	o, err := c.Options("test")
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := booking.NewReferences(key)
	want := refs.For("k-ref", "900101145678")
	for i := range 2 { // two instances sharing the key
		e := newEnv(t, true, func(opts *api.Options) { opts.References = o.References })
		w := e.do(t, http.MethodPost, "/submit", submission(nil), map[string]string{"Idempotency-Key": "k-ref"})
		var ans struct{ Reference string }
		if w.Code != http.StatusAccepted || json.Unmarshal(w.Body.Bytes(), &ans) != nil {
			t.Fatalf("instance %d: got %d %s, want 202", i, w.Code, w.Body)
		}
		if ans.Reference != want {
			t.Errorf("instance %d: reference %q, want %q", i, ans.Reference, want)
		}
		if ans.Reference == booking.DevReferences().For("k-ref", "900101145678") {
			t.Errorf("instance %d: reference %q is the dev key's", i, ans.Reference)
		}
	}
}

func TestConfig_ShortReferenceKeyIsNamedNotEchoed(t *testing.T) {
	t.Parallel()
	secret := "s3cr3t-but-too-short"
	var c api.Config
	if err := config.Load(context.Background(), func(k string) string { return map[string]string{"REFERENCE_KEY": secret}[k] }, &c); err != nil {
		t.Fatal(err)
	}
	_, err := c.Options("test")
	if err == nil || !strings.HasPrefix(err.Error(), "configuration: REFERENCE_KEY") {
		t.Fatalf("got %v, want a configuration error naming REFERENCE_KEY", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error %q echoes the key", err)
	}
}
