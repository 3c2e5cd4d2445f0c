package admin

import (
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/postgres"
)

func TestDeadline_OffersADayToMoveButNeverPastTheSessionsStart(t *testing.T) {
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC) // 10:00 in Malaysia
	no, yes := false, true
	week := []postgres.SlotState{{Date: "2026-12-08", Time: "14:00-18:00"}, {Date: "2026-12-08", Time: "08:00-13:00"}}
	tomorrow := []postgres.SlotState{{Date: "2026-12-02", Time: "08:00-13:00"}}
	for _, c := range []struct {
		name     string
		body     closeBody
		sessions []postgres.SlotState
		want     time.Time
		field    string
	}{
		{"a week ahead: a day to move", closeBody{}, week, now.Add(MoveWindow), ""},
		{"offered explicitly", closeBody{OfferChange: &yes}, week, now.Add(MoveWindow), ""},
		// 08:00 tomorrow in Malaysia is 00:00 UTC; an hour before is 23:00.
		{"tomorrow morning: until an hour before", closeBody{}, tomorrow, time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC), ""},
		{"started already: at once", closeBody{}, []postgres.SlotState{{Date: "2026-12-01", Time: "08:00-13:00"}}, now, ""},
		// The morning is under way at 10:00; the afternoon's 14:00 start
		// (06:00 UTC) leaves until 13:00.
		{"a day half gone: until an hour before what is left", closeBody{},
			[]postgres.SlotState{{Date: "2026-12-01", Time: "08:00-13:00"}, {Date: "2026-12-01", Time: "14:00-18:00"}},
			time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC), ""},
		{"no change offered: at once", closeBody{OfferChange: &no}, week, now, ""},
		{"move_by given", closeBody{MoveBy: "2026-12-03T12:00:00+08:00"}, week, time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC), ""},
		{"move_by in the past", closeBody{MoveBy: "2026-11-30T12:00:00+08:00"}, week, time.Time{}, "move_by"},
		{"move_by after the first session starts", closeBody{MoveBy: "2026-12-08T09:00:00+08:00"}, week, time.Time{}, "move_by"},
		{"move_by once every session started", closeBody{MoveBy: "2026-12-03T12:00:00+08:00"},
			[]postgres.SlotState{{Date: "2026-12-01", Time: "08:00-13:00"}}, time.Time{}, "move_by"},
		{"move_by unreadable", closeBody{MoveBy: "tomorrow"}, week, time.Time{}, "move_by"},
		{"move_by without an offer", closeBody{OfferChange: &no, MoveBy: "2026-12-03T12:00:00+08:00"}, week, time.Time{}, "move_by"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, field, msg := deadline(c.body, c.sessions, now)
			if field != c.field || (c.field == "" && !got.Equal(c.want)) {
				t.Errorf("deadline: %s, field %q (%s); want %s, field %q", got, field, msg, c.want, c.field)
			}
		})
	}
}
