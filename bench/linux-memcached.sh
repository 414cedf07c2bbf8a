#!/usr/bin/env bash
# bench/linux-memcached.sh: Debian's memcached, unmodified, natively and in
# an arom VM (--linux) all-DRAM and with a DRAM budget, side by side in one
# run. Each run fills KEYS keys of SIZE bytes (a data set that fills most of
# the VM), waits SETTLE seconds (the budget VM's daemon demotes the clean
# data), then sends OPS requests over random keys, SET percent of them sets
# (bench/kvload.c, PIPE in flight, every reply parsed). Prints requests/s,
# the measured GET share and hit ratio, the LtRAM share the budget VM reached,
# and plots the medians (gnuplot) when it is installed.
#
#   bench/linux-memcached.sh [--keys N] [--size B] [--ops N] [--set PCT] [--pipe N] [--reps N]
#                            [--budget PCT] [--mem SIZE] [--settle S] [--calls exit|ring] [--out DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/linux-common.sh"
build=$top/build keys=250000 size=1024 ops=200000 setpct=5 pipe=16 reps=2 budget=25% mem=768M settle=20
calls=exit out=$top/build/bench-linux-memcached
kv_options linux-memcached.sh "$@"
command -v memcached >/dev/null || { echo "bench/linux-memcached.sh: needs memcached (apt-get install memcached)" >&2; exit 2; }
vm=("$build/arom-vmm" --quiet --linux --vcpus 12 --mem "$mem" --linux-root / --linux-calls "$calls")

up() { for _ in $(seq 100); do "$out/kvload" memcached --no-fill "$port" 1 1 1 1 >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

run() {   # run WAY REP
    local way=$1 rep=$2
    port=$(free_port)       # a fresh one each run: no wait for the last one's sockets
    local mc=("$(command -v memcached)" -p "$port" -U 0 -l 127.0.0.1 -u root -m 448 -t 4)
    start_way "$way" "$rep" "${mc[@]}"
    up || { echo "memcached did not come up ($way)" >&2; kill $pid; exit 1; }
    "$out/kvload" memcached "$port" "$keys" "$size" 0 "$pipe" >"$out/$way.$rep.fill"
    sleep "$settle"
    "$out/kvload" memcached --no-fill "$port" "$keys" "$size" "$ops" "$pipe" "$setpct" >"$out/$way.$rep.mix"
    kill -TERM $pid; wait $pid || true
    local f o g s h
    f=$(sed -n 's/^fill \([0-9]*\)\/s/\1/p' "$out/$way.$rep.fill")
    read -r o g s h < <(kv_figures "$out/$way.$rep.mix")
    awk -v w="$way" -v r="$rep" -v o="$o" -v g="$g" -v s="$s" -v h="$h" -v f="$f" 'BEGIN {
        printf "%-7s rep %d: %8d req/s  (GET %.1f%%, hits %.1f%%; fill %d req/s)\n", w, r, o, 100 * g / (g + s), 100 * h / g, f }'
    echo "$way $rep $o" >>"$out/results.txt"
}

: >"$out/results.txt"
echo "== memcached: $keys keys of $size B ($(( keys * size >> 20 )) MiB of values), $ops requests over random keys," \
     "$setpct% SET, $pipe in flight; VM: --mem $mem, 12 vCPUs, calls via $calls; budget $budget"
for rep in $(seq "$reps"); do
    for way in native dram budget; do run $way "$rep"; done
done
med() { awk -v w="$1" '$1 == w {print $3}' "$out/results.txt" | median; }
n=$(med native) d=$(med dram) b=$(med budget)
awk -v n="$n" -v d="$d" -v b="$b" -v bu="$budget" 'BEGIN {
    printf "median req/s: native %d, arom all-DRAM %d (%.3fx), arom %s budget %d (%.3fx)\n", n, d, d / n, bu, b, b / n }'
echo "budget VM at exit (rep $reps): $(tier_summary "$out/budget.$reps.json")"
printf 'way %s\nnative %s\narom-DRAM %s\narom-%s %s\n' "$((100 - setpct))/$setpct-GET/SET" "$n" "$d" "$budget" "$b" >"$out/median.dat"
bar_plot "$out/median.dat" "$out/memcached.png" "requests/s ($setpct% SET)" \
    "memcached, $((100 - setpct))/$setpct GET/SET over $(( keys * size >> 20 )) MiB: native vs arom --linux"
