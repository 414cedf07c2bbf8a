#!/usr/bin/env bash
# Build arom and run the demo: a read-heavy key-value cache VM (YCSB B:
# 95% gets, 5% sets, Zipfian keys) on the default emulated LtRAM, with the
# tiering daemon keeping it within a 25% DRAM budget. Shows live how memory
# moves to LtRAM and what throughput does, then a summary against an
# all-DRAM run of the same VM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/bootstrap.sh"
B=$top/build
P=$B/guest-tools/payloads
MEM=${DEMO_MEM:-512M}
ARGS="values=${DEMO_VALUES:-416M} mix=B warmup=${DEMO_WARMUP:-8} seconds=${DEMO_SECONDS:-12}"

echo
echo "=== 1/2: baseline, all DRAM (tiering off): kvcache $ARGS, $MEM, 2 vCPUs"
"$B/arom-vmm" --quiet --mem "$MEM" --vcpus 2 --ltram off --stats-json "$B/demo-dram.json" \
    "$P/kvcache.elf" $ARGS | grep -E "phase=run|result" || true

echo
echo "=== 2/2: AROM, DRAM budget 25%, LtRAM profile fefet (emulated), tiering daemon on"
echo "    (ltram_pct: share of guest pages on LtRAM; dram_mib: DRAM actually resident)"
"$B/arom-vmm" --quiet --mem "$MEM" --vcpus 2 --dram-budget 25% --stats-json "$B/demo-arom.json" \
    "$P/kvcache.elf" $ARGS | grep -E "t=|result"

echo
echo "=== summary"
jq -r -n --slurpfile d "$B/demo-dram.json" --slurpfile a "$B/demo-arom.json" '
  $d[0].metrics as $dm | $a[0].metrics as $am | $a[0].tiering as $t |
  "throughput      all-DRAM \($dm["kvcache.throughput"] | floor) ops/s, AROM \($am["kvcache.throughput"] | floor) ops/s (\($am["kvcache.throughput"] / $dm["kvcache.throughput"] * 100 | floor)%)",
  "latency p99     all-DRAM \($dm["kvcache.lat_p99_us"] * 100 | floor / 100) us, AROM \($am["kvcache.lat_p99_us"] * 100 | floor / 100) us",
  "memory          \($t.pages.ltram * 4 / 1024 | floor) MiB on LtRAM (\($am["kvcache.data_ltram_pct"] | floor)% of the cache data), DRAM resident \($t.dram_resident_bytes / 1048576 | floor) MiB of a \($t.dram_budget_bytes / 1048576 | floor) MiB budget",
  "migrations      \($t.demotions) demotions, \($t.promotions) promotions (stores to LtRAM pages), promotion p50 \($t.promotion_latency.p50_us) us",
  "LtRAM device    \($t.ltram.bytes_written / 1048576 | floor) MiB written, wear max/mean \($t.ltram.wear.max_over_mean * 100 | floor / 100), tokens throttled \($t.tokens.throttled_batches)x",
  "integrity       audit failures \($t.audit_failures), data mismatches \($am["kvcache.mismatches"])"'
echo "(stats: $B/demo-dram.json, $B/demo-arom.json)"
