#!/usr/bin/env bash
# bench/linux-memcached.sh: Debian's memcached, unmodified, natively and in
# an arom VM (--linux) all-DRAM and with a DRAM budget, side by side: fill
# KEYS keys of SIZE bytes, then GETS gets of random keys (bench/mcload.c,
# PIPE requests in flight), REPS times each way; prints requests/s and the
# LtRAM share the VM reached, and plots requests/s (gnuplot) when installed.
#
#   bench/linux-memcached.sh [--keys N] [--size B] [--gets N] [--pipe N] [--reps N] [--budget PCT] [--mem SIZE]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build keys=100000 size=1024 gets=200000 pipe=16 reps=2 budget=25% mem=256M out=$top/build/bench-linux-memcached
while [ $# -gt 0 ]; do
    case $1 in
    --keys) keys=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --gets) gets=$2; shift 2 ;;
    --pipe) pipe=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    *) echo "usage: bench/linux-memcached.sh [--keys N] [--size B] [--gets N] [--pipe N] [--reps N] [--budget PCT] [--mem SIZE]" >&2
       exit 2 ;;
    esac
done
command -v memcached >/dev/null || { echo "bench/linux-memcached.sh: needs memcached" >&2; exit 2; }
work=$(mktemp -d /tmp/arom-mc-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/mcload" "$top/bench/mcload.c"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
up() { for _ in $(seq 100); do "$work/mcload" "$port" 1 1 1 1 >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
: >"$work/results"
echo "== $keys keys of $size B, $gets random GETs, $pipe in flight; VM: --mem $mem, 12 vCPUs; budget $budget"
for rep in $(seq "$reps"); do
    for way in native dram budget; do
        port=$(free_port)       # a fresh one each run: no wait for the last one's sockets
        mc=("$(command -v memcached)" -p "$port" -U 0 -l 127.0.0.1 -u root -m 512 -t 4)
        case $way in
        native) "${mc[@]}" >/dev/null 2>&1 & ;;
        dram) "$build/arom-vmm" --quiet --linux --vcpus 12 --mem "$mem" --ltram off --linux-root / "${mc[@]}" >/dev/null 2>&1 & ;;
        budget) "$build/arom-vmm" --quiet --linux --vcpus 12 --mem "$mem" --dram-budget "$budget" --linux-root / \
                    --stats-json "$work/budget.json" "${mc[@]}" >/dev/null 2>&1 & ;;
        esac
        pid=$!
        up || { echo "memcached did not come up ($way)" >&2; kill $pid; exit 1; }
        "$work/mcload" "$port" "$keys" "$size" "$gets" "$pipe" >"$work/out"
        kill -TERM $pid; wait $pid || true
        g=$(sed -n 's/^get \([0-9]*\)\/s/\1/p' "$work/out") f=$(sed -n 's/^fill \([0-9]*\)\/s/\1/p' "$work/out")
        printf '%-7s rep %d: GET %8s req/s  (fill %s req/s)\n' "$way" "$rep" "$g" "$f"
        echo "$way $g" >>"$work/results"
    done
done
med() { awk -v w="$1" '$1 == w {print $2}' "$work/results" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
n=$(med native) d=$(med dram) b=$(med budget)
awk -v n="$n" -v d="$d" -v b="$b" -v bu="$budget" 'BEGIN {
    printf "median GET req/s: native %d, arom all-DRAM %d (%.3fx), arom %s budget %d (%.3fx)\n", n, d, d / n, bu, b, b / n }'
jq -r '"budget VM at exit: \(.tiering.pages.ltram * 4096 / 1048576 | floor) MiB on LtRAM of \(.tiering.pages.total * 4096 / 1048576 | floor) MiB RAM, "
       + "\(.tiering.demotions) demotions, \(.tiering.promotions) promotions; \(.linux.syscalls) system calls"' "$work/budget.json" 2>/dev/null || true
if command -v gnuplot >/dev/null; then
    mkdir -p "$out"
    printf 'native %s\narom-DRAM %s\narom-%s %s\n' "$n" "$d" "$budget" "$b" >"$out/median.dat"
    gnuplot -e "set terminal pngcairo size 640,400 noenhanced; set output '$out/memcached-get.png'; set style fill solid;
        set boxwidth 0.6; set ylabel 'GET requests/s'; set title 'memcached: native vs arom --linux';
        set yrange [0:*]; plot '$out/median.dat' using 0:2:xtic(1) with boxes notitle" 2>/dev/null &&
        echo "plot: $out/memcached-get.png"
fi
