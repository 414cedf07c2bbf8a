#!/usr/bin/env bash
# The AROM core's figures, measured in one go:
#   1. promotion latency (guest-measured p50/p99) beside the bare userfaultfd
#      write-protect round trip measured in the same run (goal: p50 <= 1.15x);
#   2. demotion throughput in GiB/s on one core (goal >= 1), with and without
#      the default profile's injected write latency;
#   3. wear skew (max/mean over ALL frames) after a long churn (goal <= 1.1).
# Usage: bench/tiering.sh [BUILD_DIR] [CHURN_SECONDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
churn_s=${2:-60}
vmm=$build/arom-vmm
P=$build/guest-tools/payloads
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
m() { jq -r ".metrics[\"$2\"]" "$1"; }

echo "tierbench: 5 runs x 3 rounds x 4096 pages, tokens off, LtRAM prefaulted"
for i in 1 2 3 4 5; do
    "$vmm" --quiet --tokens=off --ltram-prefault --stats-json "$tmp/t$i.json" "$P/tierbench.elf" >/dev/null
    "$vmm" --quiet --tokens=off --ltram-prefault --ltram-delay-scale 0 --stats-json "$tmp/n$i.json" \
        "$P/tierbench.elf" >/dev/null
    for k in wp_p50_us wp_p99_us promote_p50_us promote_p99_us promote_over_wp_p50 demote_gib_s; do
        m "$tmp/t$i.json" "tierbench.$k" >>"$tmp/$k"
    done
    m "$tmp/n$i.json" tierbench.demote_gib_s >>"$tmp/demote_nodelay"
    jq '.tiering.promotion_latency.p50_us' "$tmp/t$i.json" >>"$tmp/host_p50"
done
printf "%-52s %9s %9s %9s\n" figure min median max
row() { printf "%-52s %9.2f %9.2f %9.2f\n" "$1" "$(sort -g "$2" | head -1)" "$(median <"$2")" "$(sort -g "$2" | tail -1)"; }
row "bare uffd WP round trip p50 (us, guest)" "$tmp/wp_p50_us"
row "bare uffd WP round trip p99 (us, guest)" "$tmp/wp_p99_us"
row "promotion p50 (us, guest)" "$tmp/promote_p50_us"
row "promotion p99 (us, guest)" "$tmp/promote_p99_us"
row "promotion p50 / WP p50 (goal <= 1.15)" "$tmp/promote_over_wp_p50"
row "promotion handler p50 (us, host side)" "$tmp/host_p50"
row "demotion GiB/s, fefet write delay injected" "$tmp/demote_gib_s"
row "demotion GiB/s, no injected delay (goal >= 1)" "$tmp/demote_nodelay"

echo
echo "wear: memcheck churn for ${churn_s}s on a 16 MiB LtRAM (4096 frames), tokens off"
"$vmm" --quiet --vcpus 2 --ltram 16M --tokens=off --stats-json "$tmp/w.json" "$P/memcheck.elf" \
    seconds="$churn_s" >/dev/null
jq -r '.tiering as $t | "  demotions \($t.demotions), promotions \($t.promotions), frames touched \($t.ltram.frames_touched)/\($t.ltram.frames)\n  wear min \($t.ltram.wear.min) mean \($t.ltram.wear.mean) max \($t.ltram.wear.max): max/mean \($t.ltram.wear.max_over_mean) over all frames (goal <= 1.1)\n  audit failures \($t.audit_failures), mismatches \(.metrics["memcheck.mismatches"])"' "$tmp/w.json"
