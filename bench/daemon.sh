#!/usr/bin/env bash
# The tiering daemon's figures:
#   1. tracking CPU cost per epoch per GiB of guest RAM at 1 s epochs
#      (goal <= 1% of a core per GiB), for an idle and a write-heavy guest;
#   2. convergence time after a phase change (phases payload, 1 s epochs);
#   3. guest throughput with tracking alone (daemon on, budget 100%) vs
#      tracking off, alternated in one run of this script.
# Usage: bench/daemon.sh [BUILD_DIR] [REPEATS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
reps=${2:-3}
vmm=$build/arom-vmm
P=$build/guest-tools/payloads
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "1. tracking cost: 1 GiB guest, 1 s epochs, budget 100% (tracking only), 12 s"
cost() {   # NAME PAYLOAD ARGS...
    local name=$1; shift
    "$vmm" --quiet --mem 1G --daemon on --dram-budget 100% --stats-json "$tmp/$name.json" "$@" >/dev/null
    jq -r --arg n "$name" '.tiering.daemon as $d | "  \($n): \($d.epochs) epochs, scan+track \($d.scan_us_mean | floor) us/epoch (max \($d.scan_us_max | floor)) = \($d.scan_us_mean / 1e4 | . * 100 | floor / 100)% of a core per GiB; backend \($d.access_tracking)"' "$tmp/$name.json"
}
cost idle "$P/memcheck.elf" size=4M seconds=12 mode=host
cost writer "$P/memcheck.elf" size=768M seconds=12 mode=host

echo
echo "2. convergence after a phase change (phases: 16M write-hot, 48M read-hot, 48M cold; budget 17M; 1 s epochs)"
"$vmm" --quiet --mem 256M --dram-budget 17M --tokens=off --stats-json "$tmp/ph.json" "$P/phases.elf" p1=20 p2=25 >/dev/null
jq -r '.metrics as $m | "  phase 1 converged after \($m["phases.p1.converge_s"]) s: cold \($m["phases.p1.cold_ltram_pct"])% read-hot \($m["phases.p1.read_ltram_pct"])% write-hot \($m["phases.p1.hot_ltram_pct"])% on LtRAM\n  phase change: newly write-hot set back on DRAM after \($m["phases.p2.converge_s"]) s; max on LtRAM afterwards \($m["phases.p2.cold_ltram_max_pct_after"])%\n  ping-pongs \(.tiering.daemon.pingpongs), over budget \(.tiering.daemon.over_budget_s) s"' "$tmp/ph.json"

echo
echo "3. guest throughput, tracking off vs on (budget 100%), memcheck 256 MiB rewrite loop, 8 s, $reps pairs"
for i in $(seq "$reps"); do
    for mode in off on; do
        extra=(); [ $mode = on ] && extra=(--daemon on --dram-budget 100%)
        "$vmm" --quiet --mem 1G --vcpus 2 "${extra[@]}" --stats-json "$tmp/t-$mode-$i.json" \
            "$P/memcheck.elf" size=256M seconds=8 mode=host >/dev/null
        jq '.metrics["memcheck.passes"] / .guest_time_s' "$tmp/t-$mode-$i.json" >>"$tmp/$mode"
    done
done
off=$(median <"$tmp/off"); on=$(median <"$tmp/on")
printf "  passes/s median: off %.2f, on %.2f -> tracking costs %.1f%% of guest throughput\n" "$off" "$on" \
    "$(awk -v a="$on" -v b="$off" 'BEGIN {print (1 - a / b) * 100}')"
