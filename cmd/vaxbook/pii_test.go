package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/pii"
	"github.com/vaxbook/vaxbook/internal/postgres"
	"github.com/vaxbook/vaxbook/internal/testenv"
)

func TestRun_EraseRemovesOnePersonAndSaysWhat(t *testing.T) {
	t.Parallel()
	url, pool := testenv.NewDatabase(t)
	testenv.MustSeed(t, pool, listing.SlotRow{SlotID: "sel-001-am", Capacity: 5})
	pepper := strings.Repeat("p", 32)
	ids, _ := pii.NewPepper(pepper)
	b := postgres.NewBookings(pool, ids)
	mine, theirs := testenv.NewRequest(1, "sel-001-am"), testenv.NewRequest(2, "sel-001-am")
	if _, err := b.Decide(t.Context(), mine, "m1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decide(t.Context(), theirs, "m2"); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{"DATABASE_URL": url, "ID_PEPPER": pepper}
	var out bytes.Buffer
	// Typed as people write it, with dashes.
	ic := mine.IDNumber[:6] + "-" + mine.IDNumber[6:8] + "-" + mine.IDNumber[8:]
	if err := run(t.Context(), []string{"vaxbook", "erase", "--id-number", ic}, envFunc(env), &out); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if !strings.Contains(out.String(), "1 bookings ["+mine.Reference+"]") || strings.Contains(out.String(), mine.IDNumber) {
		t.Errorf("output %q: want the one booking named, and not the ID number", out.String())
	}
	var name, email string
	var hasID bool
	var booked int
	if err := pool.QueryRow(t.Context(), `SELECT b.name, b.email, b.id_hash IS NOT NULL, s.booked FROM bookings b JOIN slots s ON s.id = b.slot_id WHERE b.reference = $1`,
		mine.Reference).Scan(&name, &email, &hasID, &booked); err != nil {
		t.Fatal(err)
	}
	if name != "" || email != "" || hasID || booked != 2 {
		t.Errorf("after erase: name %q email %q id hash %v, slot booked %d; want nothing personal and both places still counted", name, email, hasID, booked)
	}
	if err := pool.QueryRow(t.Context(), `SELECT name FROM bookings WHERE reference = $1`, theirs.Reference).Scan(&name); err != nil || name == "" {
		t.Errorf("someone else's booking lost its name (%q, %v)", name, err)
	}

	// Without the pepper an ID number cannot be looked up; the error names
	// the variable.
	err := run(t.Context(), []string{"vaxbook", "erase", "--id-number", ic}, envFunc(map[string]string{"DATABASE_URL": url}), &out)
	if err == nil || !strings.Contains(err.Error(), "ID_PEPPER") || strings.Contains(err.Error(), mine.IDNumber[6:]) {
		t.Errorf("erase without ID_PEPPER: %v, want an error naming ID_PEPPER only", err)
	}
	if err := run(t.Context(), []string{"vaxbook", "erase"}, envFunc(env), &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("erase with nothing to erase: %v, want the usage", err)
	}
}

func TestRun_RetentionRunsOnceAndExits(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := map[string]string{"DATABASE_URL": testenv.DatabaseURL(t)}
	if err := run(t.Context(), []string{"vaxbook", "retention"}, envFunc(env), &out); err != nil {
		t.Fatalf("retention: %v", err)
	}
	if !strings.Contains(out.String(), "retention pass") {
		t.Errorf("output %q: want the pass logged", out.String())
	}
	env["RETENTION_AFTER"] = "1h"
	if err := run(t.Context(), []string{"vaxbook", "retention"}, envFunc(env), &out); err == nil || !strings.Contains(err.Error(), "RETENTION_AFTER") {
		t.Errorf("retention with RETENTION_AFTER=1h: %v, want an error naming it", err)
	}
}
