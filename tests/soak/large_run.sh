#!/usr/bin/env bash
# A run of 10^6 synthetic cities under /usr/bin/time -v: prints the peak resident memory and the
# wall time. Usage: tests/soak/large_run.sh [CITYNET_BINARY] [STEPS]; the default binary is
# build/citynet. Needs about 2 GB of memory; the output file goes to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-build/citynet}
steps=${2:-24}
[ -x /usr/bin/time ] || { echo "large_run: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/large.yaml" <<YAML
name: large
time: {steps: $steps, dt: 1, unit: month}
cities: {source: synthetic, count: 1000000, countries: 150}
layers:
  - {name: random, kind: erdos_renyi, mean_degree: 10}
  - {name: near, kind: ring_lattice, mean_degree: 4}
  - {name: world, kind: complete, influence: 0.1}
solutions:
  - {name: first, random_seeds: 100}
  - {name: second, random_seeds: 10}
rule: {kind: bass, bass: {p: 0.001, q: 0.4}}
output: {events: false}
YAML
/usr/bin/time -v "$binary" run "$tmp/large.yaml" -o "$tmp/large.h5" >"$tmp/out" 2>"$tmp/time" ||
  { cat "$tmp/out" "$tmp/time" >&2; exit 1; }
peak_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
size=$(du -h "$tmp/large.h5" | cut -f1)
echo "large_run: 10^6 cities, $steps steps: peak memory $((peak_kb / 1024)) MB, wall $wall, file $size"
