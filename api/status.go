package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/respond"
)

func handleStatus(log *slog.Logger, statuses Statuses) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// References are read out over the phone and typed in by hand.
		ref := strings.ToUpper(strings.TrimSpace(chi.URLParam(r, "reference")))
		if !booking.ValidReference(ref) {
			fail(w, r, log, errBadReference)
			return
		}
		b, err := statuses.GetRaw(r.Context(), ref)
		switch {
		case errors.Is(err, booking.ErrUnknownReference):
			fail(w, r, log, errUnknownReference)
			return
		case errors.Is(err, booking.ErrStatusesRestoring):
			// Not 404: Redis lost records that the cache-fill loop is
			// writing back, and this may be one of them.
			fail(w, r, log, errStatusRestoring)
			return
		case err != nil:
			fail(w, r, log, errStatusUnavailable.because(err))
			return
		}
		respond.Raw(w, http.StatusOK, b)
	})
}
