#!/usr/bin/env bash
# bench/api.sh: what observing a running VM costs it. The demo's guest
# (kvcache, 416 MiB in 512 MiB, YCSB C, 1 vCPU, 25% DRAM budget) runs with
# the operator API on, once left alone and once with a client polling
# GET /v1/tiering and GET /metrics at RATE requests/s; runs alternate.
# Prints the guest's throughput both ways and the requests' latency.
#
#   bench/api.sh [--reps N] [--rate R] [--seconds S] [--warmup S] [--build DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build reps=2 rate=20 seconds=10 warmup=20
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "usage: bench/api.sh [--reps N] [--rate R] [--seconds S] [--warmup S] [--build DIR]" >&2; exit 2 ;;
    esac
done
command -v curl >/dev/null || { echo "bench/api.sh: needs curl" >&2; exit 2; }
work=$(mktemp -d /tmp/arom-api-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# poll SOCK PID: alternate the two GETs at $rate/s while the VM runs; one
# latency line each.
poll() {
    local i=0 path
    while kill -0 "$2" 2>/dev/null; do
        path=/v1/tiering; [ $((i % 2)) -eq 1 ] && path=/metrics
        curl -s -o /dev/null -w "$path %{http_code} %{time_total}\n" --max-time 5 --unix-socket "$1" "http://localhost$path" || true
        i=$((i + 1))
        sleep "$(awk -v r="$rate" 'BEGIN {print 1 / r}')"
    done
}

run() {   # run polled|idle REP -> throughput on stdout
    local how=$1 rep=$2 sock=$work/vm.sock
    "$build/arom-vmm" --quiet --mem 512M --dram-budget 25% --api-sock "$sock" --stats-json "$work/$how-$rep.json" \
        "$build/guest-tools/payloads/kvcache.elf" values=416M mix=C warmup="$warmup" seconds="$seconds" seed="$rep" \
        >"$work/$how-$rep.out" 2>&1 &
    local pid=$!
    if [ "$how" = polled ]; then
        for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
        poll "$sock" $pid >>"$work/latency.txt" &
        local poller=$!
    fi
    wait $pid
    [ "$how" = polled ] && { kill $poller 2>/dev/null; wait $poller 2>/dev/null || true; }
    jq -r '.metrics["kvcache.throughput"]' "$work/$how-$rep.json"
}

echo "bench/api.sh: kvcache values=416M mix=C in 512M, 25% budget, ${warmup}s + ${seconds}s, $reps reps, polling at $rate/s"
: >"$work/latency.txt"
idle=() polled=()
for rep in $(seq "$reps"); do
    idle+=("$(run idle "$rep")")
    polled+=("$(run polled "$rep")")
    echo "rep $rep: idle ${idle[-1]} ops/s, polled ${polled[-1]} ops/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
mi=$(median "${idle[@]}") mp=$(median "${polled[@]}")
awk -v i="$mi" -v p="$mp" 'BEGIN {printf "throughput  idle %.4g ops/s, polled %.4g ops/s: %.3fx\n", i, p, p / i}'
for path in /v1/tiering /metrics; do
    awk -v p="$path" '$1 == p && $2 == 200 {print $3 * 1e3}' "$work/latency.txt" | sort -g |
        awk -v p="$path" '{a[NR] = $1} END {
            if (!NR) exit
            k = int(NR * 0.99) + 1; if (k > NR) k = NR
            printf "latency     %-12s %d requests, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", p, NR, a[int(NR * 0.5) + 1], a[k], a[NR]}'
done
bad=$(awk '$2 != 200 && $2 != "000"' "$work/latency.txt" | wc -l)
none=$(awk '$2 == "000"' "$work/latency.txt" | wc -l)
echo "failed requests: $bad answered other than 200, $none unanswered (one a run may race the VM's exit)"
