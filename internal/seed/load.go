package seed

import (
	"context"
	"errors"

	"github.com/vaxbook/vaxbook/internal/listing"
	"github.com/vaxbook/vaxbook/internal/postgres"
)

// Load upserts rows into states, centres and slots in one transaction (see
// postgres.UpsertSeed), and reports how many rows of each it inserted or
// changed. It applies the same rules as ParseCSV first; a row with no Line
// is numbered as WriteCSV would place it. Loading the same rows again writes
// nothing, and the booked counters are never touched. Lowering a capacity
// below the places already booked fails the whole load, naming the line; on
// any error nothing is loaded.
func Load(ctx context.Context, db postgres.Beginner, rows []Row) (postgres.SeedResult, error) {
	line := func(i int) int {
		if rows[i].Line == 0 {
			return i + 2
		}
		return rows[i].Line
	}
	slots := make([]listing.SlotRow, len(rows))
	c := newChecker()
	for i, r := range rows {
		r.Line = line(i)
		if err := c.check(r); err != nil {
			return postgres.SeedResult{}, err
		}
		slots[i] = listing.SlotRow{StateCode: r.State, StateName: r.StateName, CenterID: r.CenterID, CenterName: r.CenterName,
			CenterAddress: r.Address, SlotID: r.SlotID, Date: r.Date, Time: r.Time, Capacity: r.Capacity}
	}
	res, err := postgres.UpsertSeed(ctx, db, slots)
	if ce := (*postgres.CapacityBelowBookedError)(nil); errors.As(err, &ce) {
		return postgres.SeedResult{}, errAt(line(ce.Row), "capacity", "%d is below the %d places already booked for slot %s", ce.Capacity, ce.Booked, ce.SlotID)
	}
	return res, err
}
