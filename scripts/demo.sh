#!/usr/bin/env bash
# Build arom and run the demo: a read-heavy key-value cache VM (416 MiB of
# values in a 512 MiB VM, Zipfian keys, YCSB C: all gets) on the default
# emulated LtRAM, with the tiering daemon holding it to a 25% DRAM budget and
# the slowdown guard at its default (2%). Live lines show throughput, the
# share of guest memory on LtRAM and resident DRAM; a summary compares it
# with an all-DRAM run of the same VM.
#
# DEMO_MIX=B runs YCSB B (5% sets) instead: the stores spread over every
# page, and the guard keeps the VM's speed by leaving most of it on DRAM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/bootstrap.sh"
B=$top/build
P=$B/guest-tools/payloads
MEM=${DEMO_MEM:-512M}
VCPUS=${DEMO_VCPUS:-1}
MIX=${DEMO_MIX:-C}
ARGS="values=${DEMO_VALUES:-416M} mix=$MIX warmup=${DEMO_WARMUP:-20} seconds=${DEMO_SECONDS:-12}"

echo
echo "=== 1/2: baseline, all DRAM (tiering off): kvcache $ARGS, $MEM, $VCPUS vCPU(s)"
"$B/arom-vmm" --quiet --mem "$MEM" --vcpus "$VCPUS" --ltram off --stats-json "$B/demo-dram.json" \
    "$P/kvcache.elf" $ARGS | grep -E "phase=run|result" || true

echo
echo "=== 2/2: AROM, DRAM budget 25%, LtRAM profile fefet (emulated), tiering daemon and slowdown guard on"
echo "    (ltram_pct: share of guest pages on LtRAM; dram_mib: DRAM actually resident;"
echo "     the first seconds are the cache's set-up, which the daemon leaves alone, then demotion)"
"$B/arom-vmm" --quiet --mem "$MEM" --vcpus "$VCPUS" --dram-budget 25% --stats-json "$B/demo-arom.json" \
    "$P/kvcache.elf" $ARGS | grep -E "t=|result"

echo
echo "=== summary"
jq -r -n --slurpfile d "$B/demo-dram.json" --slurpfile a "$B/demo-arom.json" '
  $d[0].metrics as $dm | $a[0].metrics as $am | $a[0].tiering as $t | $t.daemon as $dd |
  "throughput      all-DRAM \($dm["kvcache.throughput"] | floor) ops/s, AROM \($am["kvcache.throughput"] | floor) ops/s (\($am["kvcache.throughput"] / $dm["kvcache.throughput"] * 1000 | floor / 10)%)",
  "latency p99     all-DRAM \($dm["kvcache.lat_p99_us"] * 100 | floor / 100) us, AROM \($am["kvcache.lat_p99_us"] * 100 | floor / 100) us",
  "memory          \($t.pages.ltram * 4 / 1024 | floor) MiB on LtRAM (\($t.pages.ltram / $t.pages.total * 100 | floor)% of guest RAM, \($am["kvcache.data_ltram_pct"] | floor)% of the cache data), DRAM resident \($t.dram_resident_bytes / 1048576 | floor) MiB of a \($t.dram_budget_bytes / 1048576 | floor) MiB budget",
  "slowdown guard  tiering cost the guest \($dd.guard.slowdown_pct_run * 100 | floor / 100)% of its vCPU time (target \($dd.guard.max_slowdown_pct)%); over budget: \($dd.over_budget_reason)",
  "migrations      \($t.demotions) demotions, \($t.promotions) promotions (stores to LtRAM pages), promotion p50 \($t.promotion_latency.p50_us) us",
  "tracking        \($dd.armed_total) pages re-armed for write tracking, \($dd.tracking_faults) of them written (one VM exit each)",
  "LtRAM device    \($t.ltram.bytes_written / 1048576 | floor) MiB written, wear max/mean over all frames \($t.ltram.wear.max_over_mean * 100 | floor / 100) (\($t.ltram.frames_touched) of \($t.ltram.frames) frames written), tokens throttled \($t.tokens.throttled_batches)x",
  "integrity       audit failures \($t.audit_failures), data mismatches \($am["kvcache.mismatches"])"'
echo "(stats: $B/demo-dram.json, $B/demo-arom.json)"
