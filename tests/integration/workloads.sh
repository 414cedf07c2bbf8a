#!/usr/bin/env bash
# The benchmark workloads run (briefly) under AROM and natively, verify
# their data, fail when their own checks are made to fail, and arom-bench
# produces its table, JSON, CSV and plots.
. "$(dirname "$0")/lib.sh"
P=$AROM_PAYLOADS
N=$(dirname "$AROM_PAYLOADS")/native
require_kvm "workload integration"

# workload NAME METRIC ARGS...: 2 vCPUs, 50% budget, a short run
workload() {
    local name=$1 metric=$2; shift 2
    run_vmm "wl-$name" 0 -- --mem 256M --vcpus 2 --dram-budget 50% --epoch-ms 200 --tokens=off \
        --stats-json "$WORK/wl-$name.json" "$P/$name.elf" warmup=2 seconds=2 "$@" &&
    json_check "$WORK/wl-$name.json" ".metrics[\"$name.throughput\"] > 0 and .metrics[\"$name.seconds\"] > 1.5
        and (.metrics[\"$name.$metric\"] // 0) == 0 and .tiering.audit_failures == 0"
}
check "kvcache C runs under AROM, values verified" workload kvcache mismatches values=160M mix=C
check "kvcache A runs under AROM, values verified" workload kvcache mismatches values=160M mix=A
check "weights runs under AROM, result verified" workload weights verify_errors weights=160M
check "graph runs under AROM, ranks sum to 1" workload graph verify_errors vertices=1000000
check "writestorm runs under AROM, stores verified" workload writestorm mismatches size=160M

t_corrupt() {   # NAME ARGS: the workload's own check must catch a planted error
    local name=$1; shift
    run_vmm "corrupt-$name" 1 -- --mem 256M --ltram off "$P/$name.elf" seconds=1 corrupt=1 "$@"
}
check "kvcache detects a corrupted value (exit 1)" t_corrupt kvcache values=32M
check "writestorm detects a lost store (exit 1)" t_corrupt writestorm size=32M

t_native() {    # NAME ARGS: the same code as a host process
    local name=$1; shift
    "$N/$name-native" --vcpus 2 --mem 512M --stats-json "$WORK/n-$name.json" seconds=1 "$@" >"$WORK/n-$name.out" 2>&1 &&
    json_check "$WORK/n-$name.json" ".metrics[\"$name.throughput\"] > 0"
}
check "kvcache-native runs" t_native kvcache values=64M
check "weights-native runs" t_native weights weights=64M
check "graph-native runs" t_native graph vertices=500000
check "writestorm-native runs" t_native writestorm size=64M

t_bench() {
    local out=$WORK/bench
    "$AROM_SRCDIR/bench/arom-bench" --build "$(dirname "$AROM_VMM")" --workloads "kvcache-C" --budgets 25 --vcpus 2 \
        --reps 1 --seconds 1 --warmup 2 --mem 128M --out "$out" >"$WORK/bench.log" 2>&1 || { tail "$WORK/bench.log" | diag; return 1; }
    jq -e 'length == 3 and (map(.config) | sort) == ["arom25", "dram", "native"]
           and all(.[]; .throughput_median > 0)' "$out/summary.json" >/dev/null &&
    [ -s "$out/summary.csv" ] && [ -s "$out/runs.csv" ] && has "kvcache-C" "$out/summary.txt" &&
    { ! command -v gnuplot >/dev/null || [ -s "$out/rel.png" ]; }
}
check "arom-bench writes its table, JSON, CSV and plots" t_bench

finish
