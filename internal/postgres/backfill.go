package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vaxbook/vaxbook/internal/pii"
)

// Rows written before migration 7 carry the raw id_number and no id_hash;
// SQL cannot hash them (the pepper never reaches Postgres), so Backfill
// reads them in batches, hashes in Go and writes the hash back, clearing
// the number (invitation tokens bind the hash, so nothing needs it).
var backfills = []struct{ table, read, write string }{
	{"bookings",
		`SELECT reference, id_number FROM bookings WHERE id_hash IS NULL AND id_number IS NOT NULL LIMIT 1000`,
		`UPDATE bookings b SET id_hash = v.h, id_number = NULL FROM unnest($1::text[], $2::text[]) v (ref, h) WHERE b.reference = v.ref`},
	{"registrations",
		`SELECT reference, id_number FROM registrations WHERE id_hash IS NULL AND id_number IS NOT NULL LIMIT 1000`,
		`UPDATE registrations r SET id_hash = v.h, id_number = NULL FROM unnest($1::text[], $2::text[]) v (ref, h) WHERE r.reference = v.ref`},
	{"invitations",
		`SELECT token_hash, id_number FROM invitations WHERE id_hash IS NULL AND id_number IS NOT NULL LIMIT 1000`,
		`UPDATE invitations i SET id_hash = v.h, id_number = NULL FROM unnest($1::text[], $2::text[]) v (ref, h) WHERE i.token_hash = v.ref`},
}

// Backfill hashes every stored raw ID number with ids and returns how many
// rows it changed per table. Run it once after `vaxbook migrate up` to 7,
// with the worker paused (Pub/Sub keeps the messages): a worker of the old
// release would go on writing raw numbers.
func Backfill(ctx context.Context, pool *pgxpool.Pool, ids *pii.Pepper) (map[string]int, error) {
	out := map[string]int{}
	for _, b := range backfills {
		for {
			rows, err := pool.Query(ctx, b.read)
			if err != nil {
				return out, fmt.Errorf("backfill %s: %w", b.table, err)
			}
			var refs, hashes []string
			var ref, id string
			if _, err := pgx.ForEachRow(rows, []any{&ref, &id}, func() error {
				refs, hashes = append(refs, ref), append(hashes, ids.Hash(id))
				return nil
			}); err != nil {
				return out, fmt.Errorf("backfill %s: %w", b.table, err)
			}
			if len(refs) == 0 {
				break
			}
			if _, err := pool.Exec(ctx, b.write, refs, hashes); err != nil {
				return out, fmt.Errorf("backfill %s: %w", b.table, err)
			}
			out[b.table] += len(refs)
		}
	}
	return out, nil
}
