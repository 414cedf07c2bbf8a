#!/usr/bin/env bash
# bench/aromd.sh: aromd dividing a host DRAM allowance between two VMs of
# different demand. Two kvcache guests (512 MiB each, 200 MiB of values):
# "reader" runs YCSB C (reads only), "writer" YCSB B (5% updates, spread
# over the keys, so a larger write-hot set). Run once with aromd steering
# an allowance of --allowance (default 320M, less than the ~420 MiB the two
# touch) and once all-DRAM without aromd, the VMs side by side both times.
# Prints each VM's budget, DRAM, LtRAM and slowdown over time, their
# throughput against the all-DRAM run, and what aromd's polling cost.
#
#   bench/aromd.sh [--seconds S] [--allowance SIZE] [--interval-ms MS] [--build DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build seconds=60 allowance=320M interval=1000
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --allowance) allowance=$2; shift 2 ;;
    --interval-ms) interval=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: bench/aromd.sh [--seconds S] [--allowance SIZE] [--interval-ms MS] [--build DIR]" >&2; exit 2 ;;
    esac
done
command -v curl >/dev/null && command -v jq >/dev/null || { echo "bench/aromd.sh: needs curl and jq" >&2; exit 2; }
work=$(mktemp -d /tmp/arom-aromd-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

vms() {   # vms MODE: start both VMs; MODE steered (registered, daemon on) or dram
    local name mix
    for name in reader writer; do
        mix=C; [ $name = writer ] && mix=B
        local extra=(--ltram off)
        [ "$1" = steered ] && extra=(--daemon on --run-dir "$work/run")
        "$build/arom-vmm" --quiet --mem 512M --name $name "${extra[@]}" --stats-json "$work/$1-$name.json" \
            "$build/guest-tools/payloads/kvcache.elf" values=200M mix=$mix warmup=0 seconds="$seconds" \
            >"$work/$1-$name.out" 2>&1 &
    done
}

echo "== steered: aromd --host-dram $allowance --interval-ms $interval, $seconds s"
vms steered
sleep 1
"$build/aromd" --quiet --run-dir "$work/run" --listen "unix:$work/aromd.sock" --host-dram "$allowance" \
    --interval-ms "$interval" &
aromd=$!
printf '%4s  %-7s %8s %8s %8s %9s %8s\n' t vm budget dram ltram write_hot slowdown
t0=$(date +%s)
while [ "$(jobs -rp | wc -l)" -gt 1 ]; do
    sleep 5
    curl -s --max-time 5 --unix-socket "$work/aromd.sock" http://localhost/v1/vms |
        jq -r --argjson t $(( $(date +%s) - t0 )) '.vms[] | [$t, .name, (.dram_budget_bytes // 0) / 1048576,
            .dram_resident_bytes / 1048576, .ltram_resident_bytes / 1048576, .aromd.write_hot_bytes / 1048576,
            (.slowdown_pct // 0)] | @tsv' |
        awk -F'\t' '{printf "%4d  %-7s %7.0fM %7.0fM %7.0fM %8.0fM %7.2f%%\n", $1, $2, $3, $4, $5, $6, $7}' || true
done
read -r ut st < <(awk '{print $14, $15}' "/proc/$aromd/stat")
elapsed=$(( $(date +%s) - t0 ))
kill -TERM $aromd; wait $aromd || true
wait

echo "== all DRAM, no aromd, $seconds s"
vms dram
wait

echo "== result"
tick=$(getconf CLK_TCK)
for name in reader writer; do
    jq -r --arg n $name --slurpfile d "$work/dram-$name.json" '
        "\($n): \(.metrics["kvcache.throughput"] / $d[0].metrics["kvcache.throughput"] * 100 | floor)% of all-DRAM throughput, "
        + "\(.tiering.pages.ltram * 4096 / 1048576 | floor) MiB on LtRAM at exit, final budget \(.tiering.dram_budget_bytes / 1048576 | floor) MiB, "
        + "slowdown \(.tiering.daemon.guard.slowdown_pct_run * 100 | floor / 100)%, p99 \(.metrics["kvcache.lat_p99_us"] * 100 | floor / 100) us "
        + "(all-DRAM \($d[0].metrics["kvcache.lat_p99_us"] * 100 | floor / 100) us)"' "$work/steered-$name.json"
done
# Steady state: the guests' per-second throughput over the second half of each run.
half() { awk -v h=$((seconds / 2)) -F'[ =]' '/phase=run ops_per_s=/ {if ($3 + 0 >= h) {s += $7; n++}} END {print (n ? s / n : 0)}' "$1"; }
for name in reader writer; do
    awk -v n=$name -v a="$(half "$work/steered-$name.out")" -v b="$(half "$work/dram-$name.out")" \
        'BEGIN {printf "%s, second half only: %.1f%% of all-DRAM throughput (%.2f vs %.2f Mops/s)\n", n, a / b * 100, a / 1e6, b / 1e6}'
done
awk -v u="$ut" -v s="$st" -v t="$tick" -v e="$elapsed" \
    'BEGIN {printf "aromd: %.2f%% of one core (%.2f s CPU in %d s)\n", (u + s) / t / e * 100, (u + s) / t, e}'
