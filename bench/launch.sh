#!/usr/bin/env bash
# Launch cost and hypercall cost of arom-vmm, measured with public tools only.
#   bench/launch.sh [BUILD_DIR] [RUNS]
# Prints per-run figures and the median of: launch -> first hypercall (from
# the VMM's own clock), launch -> exit (wall, whole process), and one
# hypercall round trip (guest-measured over many calls).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
runs=${2:-21}
vmm=$build/arom-vmm
P=$build/guest-tools/payloads
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

"$vmm" --quiet "$P/hello.elf" >/dev/null        # warm the page cache
for i in $(seq "$runs"); do
    s=$(date +%s%N)
    "$vmm" --quiet --stats-json "$tmp/s$i.json" "$P/hello.elf" >/dev/null
    e=$(date +%s%N)
    echo $(( (e - s) / 1000 )) >>"$tmp/wall"
    jq '.launch_to_first_hypercall_s * 1e6' "$tmp/s$i.json" >>"$tmp/first"
done
for i in $(seq 5); do
    "$vmm" --quiet --stats-json "$tmp/h$i.json" "$P/hcbench.elf" calls=200000 >/dev/null
    jq '.metrics["hypercall.round_trip_ns"]' "$tmp/h$i.json" >>"$tmp/hc"
done
printf "%-40s %10s %10s %10s\n" "figure ($runs runs; hypercalls 5 runs)" min median max
row() { printf "%-40s %10.1f %10.1f %10.1f\n" "$1" "$(sort -g "$2" | head -1)" "$(median <"$2")" "$(sort -g "$2" | tail -1)"; }
row "launch -> first hypercall (us)" "$tmp/first"
row "launch -> exit, hello, wall (us)" "$tmp/wall"
row "hypercall round trip (ns)" "$tmp/hc"
