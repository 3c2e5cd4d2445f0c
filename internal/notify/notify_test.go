package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/notify"
)

type senderFunc func() (notify.Receipt, error)

func (f senderFunc) Send(context.Context, string) (notify.Receipt, error) { return f() }

func TestSend_TurnsTheSendersAnswerIntoWhatIsRecorded(t *testing.T) {
	t.Parallel()
	transient := errors.New("503")
	cases := []struct {
		name    string
		answer  senderFunc
		want    notify.Outcome
		wantErr error
	}{
		{"accepted", func() (notify.Receipt, error) { return notify.Receipt{Status: 202, ID: "p1"}, nil },
			notify.Outcome{Result: notify.Sent, ProviderStatus: 202, ProviderID: "p1"}, nil},
		{"refused for good", func() (notify.Receipt, error) {
			return notify.Receipt{Status: 400}, &notify.RejectedError{Status: 400, Detail: "bad address"}
		}, notify.Outcome{Result: notify.Rejected, ProviderStatus: 400, Detail: "bad address"}, nil},
		{"try again later", func() (notify.Receipt, error) { return notify.Receipt{Status: 503}, transient },
			notify.Outcome{}, transient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := notify.Send[string](t.Context(), tc.answer, "hello")
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("got %+v, %v; want %+v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestKeyDaily_OneKeyPerMalaysianDay(t *testing.T) {
	t.Parallel()
	k := notify.Key{Reference: "ABCDEFGHJK234567", Kind: notify.KindAttempt, Channel: notify.ChannelEmail}
	day := func(s string) notify.Kind {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return k.Daily(at).Kind
	}
	// Malaysia is UTC+8: 15:59 UTC is still the 23rd there, 16:00 the 24th.
	if a, b := day("2026-11-23T00:00:00+08:00"), day("2026-11-23T15:59:59Z"); a != b || a != "attempt/2026-11-23" {
		t.Errorf("one Malaysian day: got %q and %q, want both attempt/2026-11-23", a, b)
	}
	if got := day("2026-11-23T16:00:00Z"); got != "attempt/2026-11-24" {
		t.Errorf("next Malaysian day: got %q", got)
	}
	if got := k.Daily(time.Now()); got.Reference != k.Reference || got.Channel != k.Channel {
		t.Errorf("Daily changed more than the kind: %+v", got)
	}
}
