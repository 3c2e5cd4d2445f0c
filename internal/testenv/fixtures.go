package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// MustSeed loads slots, with their states and centres, into db through the
// seed's own upsert, then sets each slot's booked counter as the worker
// would have left it; the test fails on any error. A field left empty is
// filled so a test names only what it is about: StateCode "selangor",
// StateName the code capitalised, CenterID the code's first three letters
// and "-001", CenterName "Dewan " and CenterAddress "Jalan " followed by the
// centre id, Date "2026-12-01", Time "08:00-13:00". It returns the rows as
// loaded, for a test that loads them again or asserts against them. The
// default date is a fixed day, already past: a test whose outcome turns on
// today names its Date with Day.
func MustSeed(t testing.TB, db *pgxpool.Pool, slots ...listing.SlotRow) []listing.SlotRow {
	t.Helper()
	rows := SeedRows(slots...)
	var booked []string
	var counts []int
	for _, r := range rows {
		if r.Booked > 0 {
			booked, counts = append(booked, r.SlotID), append(counts, r.Booked)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := postgres.UpsertSeed(ctx, db, rows); err != nil {
		t.Fatalf("testenv: seed %d slots: %v", len(rows), err)
	}
	if len(booked) > 0 {
		_, err := db.Exec(ctx, `UPDATE slots s SET booked = v.booked FROM unnest($1::text[], $2::int[]) v (id, booked) WHERE s.id = v.id`,
			booked, counts)
		if err != nil {
			t.Fatalf("testenv: set booked counters: %v", err)
		}
	}
	return rows
}

// SeedRows fills the empty fields of slots as MustSeed does, for a test
// that loads them itself.
func SeedRows(slots ...listing.SlotRow) []listing.SlotRow {
	rows := make([]listing.SlotRow, len(slots))
	for i, r := range slots {
		rows[i] = withDefaults(r)
	}
	return rows
}

func withDefaults(r listing.SlotRow) listing.SlotRow {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&r.StateCode, "selangor")
	def(&r.StateName, strings.ToUpper(r.StateCode[:1])+r.StateCode[1:])
	def(&r.CenterID, r.StateCode[:min(3, len(r.StateCode))]+"-001")
	def(&r.CenterName, "Dewan "+r.CenterID)
	def(&r.CenterAddress, "Jalan "+r.CenterID)
	def(&r.Date, "2026-12-01")
	def(&r.Time, "08:00-13:00")
	return r
}

// malaysia is the zone slots are dated in: UTC+8, with no daylight saving.
var malaysia = time.FixedZone("MYT", 8*60*60)

// Day is Malaysia's date days from now (negative: before), for a slot in a
// test whose outcome turns on what day it is (the manage page refuses a
// past appointment, the invitation loop counts places from today on,
// retention counts from the appointment's day): a fixed date would pass
// until that day comes, and then fail.
func Day(days int) string { return DayOf(time.Now().AddDate(0, 0, days)) }

// DayOf is Malaysia's date at t.
func DayOf(t time.Time) string { return t.In(malaysia).Format(time.DateOnly) }

// RowVersions lists every state, centre and slot with its xmin, which
// changes whenever a row is rewritten even with the same values: comparing
// two lists tells a row left alone from one written again.
func RowVersions(t testing.TB, db *pgxpool.Pool) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.Query(ctx, `
SELECT concat_ws('|', 'state', code, name, xmin) FROM states
UNION ALL SELECT concat_ws('|', 'centre', id, state_code, name, address, xmin) FROM centers
UNION ALL SELECT concat_ws('|', 'slot', id, center_id, slot_date, time_range, capacity, booked, xmin) FROM slots
ORDER BY 1`)
	if err != nil {
		t.Fatalf("testenv: read row versions: %v", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("testenv: read row versions: %v", err)
	}
	return got
}

// NewRequest is a well-formed booking request from person n (the same n,
// the same IC number) for the slots in prefs, under a fresh reference.
func NewRequest(n int, prefs ...string) booking.Request {
	return booking.Request{
		Reference:   booking.NewReference(),
		State:       "selangor",
		Name:        fmt.Sprintf("Person %d", n),
		IDNumber:    fmt.Sprintf("9001011%05d", n),
		Phone:       "+60123456789",
		Email:       "p@example.com",
		Preferences: prefs,
		Lang:        "ms",
		SubmittedAt: time.Now().UTC(),
	}
}

// ManageSigner signs manage tokens with a fixed test secret, for the
// worker's and the API's sides of one test alike.
func ManageSigner() *booking.ManageSigner {
	s, err := booking.NewManageSigner("vaxbook-test-manage-secret-not-for-production")
	if err != nil {
		panic(err)
	}
	return s
}

// NewManage is a well-formed manage request on a booking under a fresh
// request reference: cancel or change with token (change to prefs).
func NewManage(action booking.Action, bookingRef, token string, prefs ...string) booking.ManageRequest {
	return booking.ManageRequest{
		Action: action, Booking: bookingRef, Request: booking.NewReference(), Token: token,
		Preferences: prefs, RequestedAt: time.Now().UTC(),
	}
}
