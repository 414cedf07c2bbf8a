#!/usr/bin/env bash
# bench/linux-redis.sh: Debian's redis-server, unmodified, natively and in
# an arom VM (--linux) all-DRAM and with a DRAM budget, side by side in one
# run. Each run fills KEYS keys of SIZE bytes (a data set that fills most of
# the VM), waits SETTLE seconds (the budget VM's daemon demotes the clean
# data), then drives it from the host twice over random keys:
#   mix       OPS requests, SET percent of them SETs, PIPE in flight
#             (bench/kvload.c: redis-benchmark cannot mix GETs and SETs in
#             one run; every reply is parsed, so the hit ratio is measured)
#   GET-only  redis-benchmark -t get, 50 connections, -P PIPE
# Prints requests/s of both, the GET share, hit ratio and GET p50, the
# LtRAM share the budget VM reached, and plots the medians (gnuplot).
#
#   bench/linux-redis.sh [--keys N] [--size B] [--ops N] [--set PCT] [--pipe N] [--reps N]
#                        [--budget PCT] [--mem SIZE] [--settle S] [--calls exit|ring] [--out DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/linux-common.sh"
build=$top/build keys=250000 size=1024 ops=1000000 setpct=5 pipe=16 reps=2 budget=25% mem=512M settle=20
calls=exit out=$top/build/bench-linux-redis
kv_options linux-redis.sh "$@"
for t in redis-server redis-benchmark redis-cli; do
    command -v $t >/dev/null || { echo "bench/linux-redis.sh: needs $t (apt-get install redis-server redis-tools)" >&2; exit 2; }
done
vm=("$build/arom-vmm" --quiet --linux --vcpus 6 --mem "$mem" --linux-root / --linux-calls "$calls")

wait_up() { for _ in $(seq 150); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
# bench_figures FILE: "requests/s p50" of redis-benchmark -q output
bench_figures() { tr '\r' '\n' <"$1" | sed -n 's/^\(SET\|GET\): \([0-9.]*\) requests per second, p50=\([0-9.]*\) msec.*/\2 \3/p' | tail -1; }
info_field() { redis-cli -p "$port" info "$1" | tr -d '\r' | sed -n "s/^$2:\([0-9]*\).*/\1/p"; }

run() {   # run WAY REP
    local way=$1 rep=$2
    port=$(free_port)
    local server=("$(command -v redis-server)" --port "$port" --save "" --appendonly no)
    start_way "$way" "$rep" "${server[@]}"
    wait_up || { echo "redis did not come up ($way)" >&2; kill $pid; exit 1; }
    "$out/kvload" redis "$port" "$keys" "$size" 0 "$pipe" >"$out/$way.$rep.fill"
    local n; n=$(redis-cli -p "$port" dbsize)
    [ "$n" = "$keys" ] || { echo "redis holds $n keys after the fill, not $keys ($way)" >&2; kill $pid; exit 1; }
    local mib=$(( $(info_field memory used_memory) >> 20 ))
    sleep "$settle"
    "$out/kvload" redis --no-fill "$port" "$keys" "$size" "$ops" "$pipe" "$setpct" >"$out/$way.$rep.mix"
    redis-benchmark -p "$port" -t get -n "$ops" -r "$keys" -P "$pipe" -q >"$out/$way.$rep.get" 2>&1
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait $pid || true
    local o g s h grps gp50
    read -r o g s h < <(kv_figures "$out/$way.$rep.mix")
    read -r grps gp50 < <(bench_figures "$out/$way.$rep.get")
    awk -v w="$way" -v r="$rep" -v o="$o" -v g="$g" -v s="$s" -v h="$h" -v gr="$grps" -v p="$gp50" -v mib="$mib" 'BEGIN {
        printf "%-7s rep %d: mix %7d req/s (GET %.1f%%, hits %.1f%%)  GET-only %8.0f req/s, p50 %s ms  (used_memory %d MiB)\n",
            w, r, o, 100 * g / (g + s), 100 * h / g, gr, p, mib }'
    echo "$way $rep $o $grps" >>"$out/results.txt"
}

: >"$out/results.txt"
echo "== redis: $keys keys of $size B ($(( keys * size >> 20 )) MiB of values), $ops requests over random keys" \
     "($setpct% SET in the mix), $pipe in flight; VM: --mem $mem, 6 vCPUs, calls via $calls; budget $budget"
for rep in $(seq "$reps"); do
    for way in native dram budget; do run $way "$rep"; done
done
med() { awk -v w="$1" -v c="$2" '$1 == w {print $c}' "$out/results.txt" | median; }
{
    echo "way mix GET-only"
    for way in native dram budget; do echo "$way $(med $way 3) $(med $way 4)"; done |
        sed "s/^dram/arom-DRAM/; s/^budget/arom-$budget/"
} >"$out/median.dat"
awk -v bu="$budget" 'NR > 1 { m[NR - 1] = $2; g[NR - 1] = $3 } END {
    printf "median mix req/s:      native %.0f, arom all-DRAM %.0f (%.3fx), arom %s budget %.0f (%.3fx)\n", m[1], m[2], m[2] / m[1], bu, m[3], m[3] / m[1]
    printf "median GET-only req/s: native %.0f, arom all-DRAM %.0f (%.3fx), arom %s budget %.0f (%.3fx)\n", g[1], g[2], g[2] / g[1], bu, g[3], g[3] / g[1] }' \
    "$out/median.dat"
echo "budget VM at exit (rep $reps): $(tier_summary "$out/budget.$reps.json")"
bar_plot "$out/median.dat" "$out/redis.png" "requests/s" \
    "redis-server over $(( keys * size >> 20 )) MiB, $((100 - setpct))/$setpct mix and GET-only: native vs arom --linux (budget $budget)"
