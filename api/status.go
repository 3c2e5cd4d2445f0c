package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/logging"
	"github.com/vaxbook/vaxbook/internal/respond"
)

func handleStatus(log *slog.Logger, statuses Statuses) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// References are read out over the phone and typed in by hand.
		ref := strings.ToUpper(strings.TrimSpace(chi.URLParam(r, "reference")))
		if !booking.ValidReference(ref) {
			respond.Fail(w, http.StatusBadRequest, respond.Error{Code: "invalid", Field: "reference", Message: "reference is not a vaxbook booking reference."})
			return
		}
		b, err := statuses.GetRaw(r.Context(), ref)
		switch {
		case errors.Is(err, booking.ErrUnknownReference):
			respond.Fail(w, http.StatusNotFound, respond.Error{Code: "not_found", Field: "reference", Message: "No booking is known under this reference."})
			return
		case err != nil:
			logging.FromContext(r.Context(), log).Error("read status", "reference", ref, "error", err)
			respond.Unavailable(w, retryCache, "status_unavailable", "The booking status cannot be read right now; please try again shortly.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		respond.Raw(w, http.StatusOK, b)
	})
}
