#!/usr/bin/env bash
# bench/linux.sh: an unmodified Linux program (tests/linux/kvsql.c: SQLite,
# an in-memory table, read-heavy point and range queries) natively, under
# arom-vmm --linux all-DRAM, and with a DRAM budget, runs interleaved.
# Prints queries/s per run, the median of each way against native, the
# LtRAM share reached and the system calls the program made.
#
#   bench/linux.sh [--reps N] [--rows N] [--queries N] [--budget PCT] [--build DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/linux-common.sh"
build=$top/build reps=3 rows=600000 queries=3000000 budget=25%
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: bench/linux.sh [--reps N] [--rows N] [--queries N] [--budget PCT] [--build DIR]" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d /tmp/arom-linux-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -o "$work/kvsql" "$top/tests/linux/kvsql.c" -lsqlite3 -lm 2>/dev/null
qps() { sed -n 's/^kvsql: \([0-9]*\) queries\/s$/\1/p' "$1"; }
for r in $(seq "$reps"); do
    env -i PATH=/usr/bin:/bin HOME=/ "$work/kvsql" "$rows" "$queries" >"$work/native.out" 2>"$work/native.$r"
    "$build/arom-vmm" --quiet --linux --mem 256M --ltram off "$work/kvsql" "$rows" "$queries" \
        >"$work/dram.out" 2>"$work/dram.$r"
    "$build/arom-vmm" --quiet --linux --mem 256M --dram-budget "$budget" --stats-json "$work/tier.$r.json" \
        "$work/kvsql" "$rows" "$queries" >"$work/tier.out" 2>"$work/tier.$r"
    cmp -s "$work/native.out" "$work/dram.out" && cmp -s "$work/native.out" "$work/tier.out" ||
        { echo "bench/linux.sh: the answers differ from native" >&2; exit 1; }
    printf 'run %d: native %s, arom all-DRAM %s, arom %s budget %s queries/s\n' "$r" "$(qps "$work/native.$r")" \
        "$(qps "$work/dram.$r")" "$budget" "$(qps "$work/tier.$r")"
done
med() { for r in $(seq "$reps"); do qps "$work/$1.$r"; done | median; }
n=$(med native) d=$(med dram) t=$(med tier)
awk -v n="$n" -v d="$d" -v t="$t" -v b="$budget" 'BEGIN {
    printf "median: native %d, all-DRAM %d (%.3fx), %s budget %d (%.3fx) queries/s\n", n, d, d / n, b, t, t / n }'
jq -r '"last tiered run: \(.tiering.pages.ltram * 4096 / 1048576 | floor) MiB on LtRAM at exit (of \(.tiering.pages.total * 4096 / 1048576 | floor) MiB), "
    + "\(.tiering.demotions) demotions, \(.tiering.promotions) promotions, slowdown \(.tiering.daemon.guard.slowdown_pct_run * 100 | floor / 100)%, "
    + "\(.linux.syscalls) system calls (\(.linux.enosys) -ENOSYS: \(.linux.unsupported | keys | join(", ")))"' "$work/tier.$reps.json"
