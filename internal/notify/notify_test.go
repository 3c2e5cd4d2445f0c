package notify_test

import (
	"context"
	"errors"
	"testing"

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
