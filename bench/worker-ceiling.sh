#!/usr/bin/env bash
# The worker's ceiling and the worker against it, in one run on one machine:
#   1. pgbench runs the worker's exact transaction (worker-tx.sql) on a
#      scratch database: the most bookings/s this Postgres can commit.
#   2. BenchmarkWorker_BookParallel/spread pushes envelopes through the real
#      worker handler (decode, the same transaction through pgx, the Redis
#      status write) with 16 in flight, as Pub/Sub push would.
#   3. pgbench again, so a neighbour's load shows as a spread, not a bias.
# It prints the ratio worker / mean(pgbench).
#
#   bash bench/worker-ceiling.sh            # 10 s each
#   SECONDS_EACH=30 CLIENTS=16 bash bench/worker-ceiling.sh
#
# Needs pgbench (Debian: postgresql's /usr/lib/postgresql/*/bin/pgbench), a
# PostgreSQL at $PGURL (default postgres://postgres@127.0.0.1:5432, trust)
# and the Redis the tests use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
SECONDS_EACH=${SECONDS_EACH:-10}
CLIENTS=${CLIENTS:-16}
DB=vaxbook_pgbench_$$
PGBENCH=$(command -v pgbench || printf '%s\n' /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -n 1)
[ -x "$PGBENCH" ] || { echo "pgbench not found: apt-get install postgresql" >&2; exit 1; }

psql "$PGURL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
trap 'psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
psql "$PGURL/$DB" -q -v ON_ERROR_STOP=1 -f migrations/000001_schema.up.sql >/dev/null
# The benchmark's data: 8 slots in 4 centres, room for any run.
psql "$PGURL/$DB" -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
INSERT INTO states VALUES ('selangor', 'Selangor');
INSERT INTO centers SELECT 'sel-00' || c, 'selangor', 'Dewan sel-00' || c, 'Jalan 1, Shah Alam' FROM generate_series(1, 4) c;
INSERT INTO slots (id, center_id, slot_date, time_range, capacity)
  SELECT 'slot-' || i, 'sel-00' || (1 + i / 2), DATE '2026-12-01', CASE WHEN i % 2 = 0 THEN '08:00-13:00' ELSE '14:00-18:00' END, 1 << 30
  FROM generate_series(0, 7) i;
SQL

pgbench_tps() {
  "$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -f bench/worker-tx.sql "$PGURL/$DB" 2>&1 |
    tee /dev/stderr | awk '/^tps = / && !t { t = $3 } END { print t }'
}

echo "== pgbench (1/2): the worker's transaction, $CLIENTS clients, ${SECONDS_EACH}s" >&2
a=$(pgbench_tps)
echo "== worker: BenchmarkWorker_BookParallel/spread, ${SECONDS_EACH}s" >&2
w=$(go test -run '^$' -bench 'BenchmarkWorker_BookParallel/spread' -benchtime "${SECONDS_EACH}s" ./worker/ 2>&1 |
  tee /dev/stderr | awk '{ for (i = 1; i < NF; i++) if ($(i+1) == "bookings/s") r = $i } END { print r }')
echo "== pgbench (2/2)" >&2
b=$(pgbench_tps)
awk -v a="$a" -v b="$b" -v w="$w" 'BEGIN {
  c = (a + b) / 2
  printf "pgbench tps: %.0f and %.0f (mean %.0f); worker bookings/s: %.0f; worker / pgbench = %.3f (goal >= 0.70)\n", a, b, c, w, w / c
}'
