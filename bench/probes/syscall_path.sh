#!/usr/bin/env bash
# bench/probes/syscall_path.sh: build syscall_path.c and run every path,
# REPS times each, interleaved; prints the RESULT lines and a median per path.
#   bench/probes/syscall_path.sh [--reps N] [--calls N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
reps=3 calls=20000
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    *) echo "usage: bench/probes/syscall_path.sh [--reps N] [--calls N]" >&2; exit 2 ;;
    esac
done
bin=$(mktemp /tmp/syscall_path.XXXXXX)
trap 'rm -f "$bin" "$bin.out"' EXIT
gcc -O2 -Wall -Wextra -std=gnu11 -o "$bin" "$here/syscall_path.c"
for _ in $(seq "$reps"); do
    for p in bare out syscall ud vmret sync; do
        "$bin" "$p" "$calls" 2>/dev/null || true
    done
done | tee "$bin.out"
echo "== median us per call (ok=0: the path does not work on this host)"
for p in bare out syscall ud vmret sync; do
    grep " path=$p " "$bin.out" | sed 's/.*us_per_call=\([0-9.]*\) ok=\([01]\)/\1 \2/' | sort -n |
        awk -v p=$p '{v[NR] = $1; ok = ok && $2; if (NR == 1) ok = $2} END {printf "%-8s %8.2f  ok=%d\n", p, v[int((NR + 1) / 2)], ok}'
done
