#!/usr/bin/env bash
# bench/linux-redis.sh: Debian's redis-server, unmodified, natively and in
# an arom VM (--linux) all-DRAM and with a DRAM budget, side by side in one
# run: fill KEYS keys of SIZE bytes (redis-benchmark SET), then a GET run
# over random keys, REPS times each way; prints requests/s, p50 latency,
# the LtRAM share the VM reached and the system calls it made, and plots
# requests/s (gnuplot) when it is installed.
#
#   bench/linux-redis.sh [--keys N] [--size B] [--gets N] [--reps N] [--budget PCT] [--mem SIZE] [--settle S] [--out DIR]
# (--settle: seconds between the fill and the GETs, for the VM's daemon to demote the clean data)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build keys=100000 size=1024 gets=1000000 reps=2 budget=25% mem=256M settle=8 out=$top/build/bench-linux-redis
while [ $# -gt 0 ]; do
    case $1 in
    --keys) keys=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --gets) gets=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: bench/linux-redis.sh [--keys N] [--size B] [--gets N] [--reps N] [--budget PCT] [--mem SIZE] [--settle S] [--out DIR]" >&2
       exit 2 ;;
    esac
done
for t in redis-server redis-benchmark redis-cli; do
    command -v $t >/dev/null || { echo "bench/linux-redis.sh: needs $t (apt-get install redis-server redis-tools)" >&2; exit 2; }
done
mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=(redis-server --port "$port" --save "" --appendonly no)

wait_up() { for _ in $(seq 150); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
# rps_of FILE: the "GET: N requests per second, p50=M msec" figures
rps_of() { tr '\r' '\n' <"$1" | sed -n 's/^\(SET\|GET\): \([0-9.]*\) requests per second, p50=\([0-9.]*\) msec.*/\2 \3/p' | tail -1; }

run() {   # run WAY REP
    local way=$1 rep=$2 pid
    case $way in
    native) "${server[@]}" >"$out/$way.$rep.log" 2>&1 & pid=$! ;;
    dram) "$build/arom-vmm" --quiet --linux --vcpus 6 --mem "$mem" --ltram off --linux-root / \
              "$(command -v redis-server)" "${server[@]:1}" >"$out/$way.$rep.log" 2>&1 & pid=$! ;;
    budget) "$build/arom-vmm" --quiet --linux --vcpus 6 --mem "$mem" --dram-budget "$budget" --linux-root / \
                --stats-json "$out/budget.$rep.json" "$(command -v redis-server)" "${server[@]:1}" \
                >"$out/$way.$rep.log" 2>&1 & pid=$! ;;
    esac
    wait_up || { echo "redis did not come up ($way)" >&2; kill $pid; exit 1; }
    redis-benchmark -p "$port" -t set -n "$keys" -r "$keys" -d "$size" -P 32 -q >"$out/$way.$rep.fill" 2>&1
    sleep "$settle"     # the VM's daemon: epochs to demote the now-clean data
    redis-benchmark -p "$port" -t get -n "$gets" -r "$keys" -d "$size" -P 16 -q >"$out/$way.$rep.get" 2>&1
    local mib
    mib=$(redis-cli -p "$port" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait $pid || true
    read -r rps p50 < <(rps_of "$out/$way.$rep.get")
    printf '%-7s rep %d: GET %10s req/s  p50 %7s ms  (redis used_memory %d MiB)\n' "$way" "$rep" "$rps" "$p50" \
        $(( ${mib:-0} / 1048576 ))
    echo "$way $rep $rps $p50" >>"$out/results.txt"
}

: >"$out/results.txt"
echo "== $keys keys of $size B, $gets GETs over random keys; VM: --mem $mem, 6 vCPUs; budget $budget"
for rep in $(seq "$reps"); do
    for way in native dram budget; do run $way "$rep"; done
done
med() { awk -v w="$1" '$1 == w {print $3}' "$out/results.txt" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
n=$(med native) d=$(med dram) b=$(med budget)
awk -v n="$n" -v d="$d" -v b="$b" -v bu="$budget" 'BEGIN {
    printf "median GET req/s: native %.0f, arom all-DRAM %.0f (%.3fx), arom %s budget %.0f (%.3fx)\n", n, d, d / n, bu, b, b / n }'
jq -r '"budget VM at exit: \(.tiering.pages.ltram * 4096 / 1048576 | floor) MiB on LtRAM of \(.tiering.pages.total * 4096 / 1048576 | floor) MiB RAM ("
       + "DRAM \(.tiering.dram_resident_bytes / 1048576 | floor) MiB, budget \(.tiering.dram_budget_bytes / 1048576 | floor) MiB), "
       + "\(.tiering.demotions) demotions, \(.tiering.promotions) promotions; \(.linux.syscalls) system calls"' \
    "$out/budget.$reps.json"
if command -v gnuplot >/dev/null; then
    printf 'native %s\narom-DRAM %s\narom-%s %s\n' "$n" "$d" "$budget" "$b" >"$out/median.dat"
    gnuplot -e "set terminal pngcairo size 640,400 noenhanced; set output '$out/redis-get.png'; set style fill solid;
        set boxwidth 0.6; set ylabel 'GET requests/s'; set title 'redis-server: native vs arom --linux';
        set yrange [0:*]; plot '$out/median.dat' using 0:2:xtic(1) with boxes notitle" 2>/dev/null &&
        echo "plot: $out/redis-get.png"
fi
