#!/usr/bin/env bash
# Latency of GET /listppv against offered rate (open model), and a PNG of
# p50/p90/p99 per rate: where the knee is, and whether p99 stays under
# 10 ms at half the maximum rate. Each rate runs against a fresh in-process
# api + cache-fill stack (`vaxbook loadtest --dev --api-only`).
#
#   bash bench/listppv-sweep.sh OUT_DIR [RATE ...]
#   bash bench/listppv-sweep.sh docs/perf 2000 4000 6000 8000 10000 12000
#
# Needs DATABASE_URL and REDIS_URL (a scratch database: dev seeds its demo
# data into an empty one), jq and gnuplot.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: bench/listppv-sweep.sh OUT_DIR [RATE ...]}
shift
if [ "$#" -gt 0 ]; then rates=("$@"); else rates=(2000 4000 6000 8000 10000); fi
mkdir -p "$out"
go build -o "$out/.vaxbook" ./cmd/vaxbook
trap 'rm -f "$out/.vaxbook"' EXIT
: > "$out/listppv-sweep.dat"
for r in "${rates[@]}"; do
  "$out/.vaxbook" loadtest listppv --dev --api-only --rate "$r" --duration "${DURATION:-5s}" --quiet --out "$out/.sweep.json" >&2
  jq -r --arg r "$r" '.phases[0] | [$r, .throughput, .latency.p50_ms, .latency.p90_ms, .latency.p99_ms, .latency.max_ms] | @tsv' \
    "$out/.sweep.json" >> "$out/listppv-sweep.dat"
done
rm -f "$out/.sweep.json"
gnuplot <<GP
set terminal pngcairo size 900,500 font ",11"
set output "$out/listppv-latency.png"
set title "GET /listppv latency against offered rate (open model, 2 shared cores)"
set xlabel "offered rate (requests/s)"
set ylabel "latency (ms, log scale)"
set logscale y
set grid
set key top left
set arrow from graph 0, first 10 to graph 1, first 10 nohead dt 2 lc rgb "red"
set label "10 ms goal" at graph 0.01, first 12 tc rgb "red"
plot "$out/listppv-sweep.dat" using 1:3 with linespoints title "p50", \
     "" using 1:4 with linespoints title "p90", \
     "" using 1:5 with linespoints title "p99"
GP
echo "rate	ok/s	p50ms	p90ms	p99ms	maxms"
cat "$out/listppv-sweep.dat"
