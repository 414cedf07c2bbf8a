#!/usr/bin/env bash
# The AROM core under real /dev/kvm: guest memory stays intact under
# promotion/demotion churn, exhaustion degrades gracefully, LtRAM is only
# written by migrations (audit), bad tiering options are refused.
. "$(dirname "$0")/lib.sh"
P=$AROM_PAYLOADS

require_kvm "tiering integration"

stat() { json_check "$WORK/$1.json" "$2"; }   # stat RUN-NAME JQ-EXPR
clean() {   # NAME: memcheck passed, audit clean, no invariant violation
    has "memcheck: PASS" "$LAST_OUT" &&
    stat "$1" '.metrics["memcheck.mismatches"] == 0 and .tiering.audit_failures == 0
               and .tiering.audits >= 1 and .tiering.invariant_violations == 0'
}

t_default() {   # the issue's command: default tokens, 256M LtRAM, 2 vCPUs
    run_vmm churn 0 -- --vcpus 2 --ltram 256M --stats-json "$WORK/churn.json" \
        "$P/memcheck.elf" seconds=30 && clean churn &&
    stat churn '.tiering.promotions >= 10000 and .tiering.demotions >= 10000 and .run_time_s < 60'
}
check "memcheck: >= 10k promotions and demotions in < 60 s, data intact, audit clean" t_default

t_heavy() {     # >= 100k migrations: tokens off, audits while running
    run_vmm heavy 0 -- --vcpus 2 --ltram 256M --tokens=off --audit-ms 500 \
        --stats-json "$WORK/heavy.json" "$P/memcheck.elf" seconds=25 && clean heavy &&
    stat heavy '(.tiering.promotions + .tiering.demotions) >= 100000 and .tiering.audits >= 10'
}
check "memcheck: >= 100k migrations with periodic audits, zero mismatches" t_heavy

t_host() {      # the host demotes in the background while the guest writes
    run_vmm host 0 -- --vcpus 2 --tokens=off --churn-ms 5 --stats-json "$WORK/host.json" \
        "$P/memcheck.elf" mode=host seconds=10 && clean host &&
    stat host '.tiering.promotions >= 5000 and .tiering.demotions >= 5000'
}
check "memcheck: host-thread demotion churn, data intact" t_host

t_samepage() {
    run_vmm same 0 -- --vcpus 2 --stats-json "$WORK/same.json" "$P/samepage.elf" rounds=2000 &&
    stat same '.metrics["samepage.bad_rounds"] == 0 and .metrics["samepage.promotions"] == 2000
               and .tiering.faults.write_faults > .tiering.promotions'
}
check "concurrent stores to one LtRAM page: all land, one promotion each" t_samepage

t_full() {      # 8 MiB of LtRAM for 64 MiB of churn
    run_vmm full 0 -- --vcpus 2 --ltram 8M --tokens=off --stats-json "$WORK/full.json" \
        "$P/memcheck.elf" seconds=5 && clean full &&
    stat full '.tiering.ltram_full_events > 0 and .tiering.ltram.frames_used <= 2048'
}
check "LtRAM full: demotion stops, data intact" t_full

t_retire() {    # frames wear out after 3 writes: retired, never reused, data intact
    run_vmm retire 0 -- --vcpus 2 --ltram 16M --ltram-endurance 3 --tokens=off \
        --stats-json "$WORK/retire.json" "$P/memcheck.elf" seconds=5 && clean retire &&
    stat retire '.tiering.ltram.frames_retired > 0 and .tiering.ltram.wear.max <= 3'
}
check "frames retired at endurance mid-run, data intact" t_retire

t_maplimit() {
    run_vmm maps 0 -- --vcpus 2 --map-limit 64 --tokens=off --stats-json "$WORK/maps.json" \
        "$P/memcheck.elf" seconds=5 && clean maps &&
    stat maps '.tiering.mappings.demotions_stopped > 0 and .tiering.mappings.guest_runs <= 100'
}
check "mapping limit: demotion stops near it, data intact" t_maplimit

t_file() {
    local f=/dev/shm/arom-test-ltram-$$
    run_vmm file 0 -- --vcpus 2 --ltram "file:$f" --ltram-size 64M --tokens=off \
        --stats-json "$WORK/file.json" "$P/memcheck.elf" seconds=3 && clean file &&
    stat file '.tiering.ltram.backend | startswith("file:")' && [ -f "$f" ]
    local rc=$?
    rm -f "$f"
    return $rc
}
check "file: LtRAM backend" t_file

t_tokens() {    # a slow bucket: demotions are paced and the stats say so
    run_vmm tokens 0 -- --vcpus 2 --token-rate 200 --token-cap 100 --stats-json "$WORK/tokens.json" \
        "$P/memcheck.elf" seconds=3 && clean tokens &&
    stat tokens '.tiering.tokens.throttled_batches > 0 and .tiering.demotions <= 100 + 200 * (.run_time_s + 1)'
}
check "token bucket paces demotions" t_tokens

t_budget() {
    run_vmm budget 0 -- --dram-budget 25% --mem 256M --stats-json "$WORK/budget.json" "$P/hello.elf" &&
    stat budget '.tiering.dram_budget_bytes == 67108864'
}
check "--dram-budget accepted and reported" t_budget

t_off() {
    run_vmm off 0 -- --ltram off --stats-json "$WORK/off.json" "$P/memcheck.elf" seconds=1 &&
    has "memcheck: PASS" "$LAST_OUT" && stat off '.tiering == null'
}
check "--ltram off: no tiering, payload still runs" t_off

t_corrupt() {   # the checker can fail
    run_vmm corrupt 1 -- --vcpus 2 --stats-json "$WORK/corrupt.json" "$P/memcheck.elf" seconds=2 selftest_corrupt=1 &&
    stat corrupt '.metrics["memcheck.mismatches"] >= 1'
}
check "memcheck detects a corrupted word (the checker can fail)" t_corrupt

bad() {         # bad NAME EXPECTED-TEXT args...
    local name=$1 text=$2; shift 2
    run_vmm "$name" 2 -- "$@" "$P/hello.elf" && has "$text" "$LAST_ERR"
}
check "bad --ltram-profile: exit 2" bad badprof "unknown profile" --ltram-profile bogus
check "bad --ltram size: exit 2" bad badlt "--ltram" --ltram 12Q
check "bad --ltram-endurance: exit 2" bad badend "endurance" --ltram-endurance lots
check "unusable LtRAM file: exit 2" bad badfile "/nonexistent/dir" --ltram file:/nonexistent/dir/lt --ltram-size 8M
# A character device maps a new object each time: demoted pages would read back as zeros.
check "LtRAM on a character device: exit 2" bad devzero "not a regular file" --ltram file:/dev/zero --ltram-size 64M

# A file on a disk filesystem cannot be write-protected with userfaultfd:
# refused at start, not accepted to fail every demotion.
t_diskfile() {
    local dir fs
    for dir in "$(dirname "$AROM_VMM")" /var/tmp "$WORK"; do
        fs=$(command stat -f -c %T "$dir" 2>/dev/null) || continue
        case $fs in tmpfs|ramfs) continue ;; esac
        local f=$dir/arom-test-ltram-$$
        run_vmm diskfile 2 -- --ltram "file:$f" --ltram-size 16M "$P/hello.elf" &&
            has "userfaultfd cannot write-protect" "$LAST_ERR"
        local rc=$?
        rm -f "$f"
        return $rc
    done
    echo "no disk filesystem to try" | diag
    return 1
}
check "LtRAM file on a disk filesystem: refused with exit 2" t_diskfile

# The host running out of memory is a VMM failure (1), not bad input (2).
t_enomem() {
    ( ulimit -v 3000000; exec "$AROM_VMM" --ltram 8G "$P/hello.elf" ) >"$WORK/enomem.out" 2>"$WORK/enomem.err"
    local st=$?
    [ $st -eq 1 ] || { echo "exit status $st, expected 1" | diag; diag <"$WORK/enomem.err"; return 1; }
    has "Cannot allocate memory" "$WORK/enomem.err"
}
if [ "${AROM_SANITIZERS:-no}" = yes ]; then
    skip "LtRAM set-up out of memory: exit 1" "ASan reserves more address space than the limit"
else
    check "LtRAM set-up out of memory: exit 1, not 2" t_enomem
fi
check "bad --dram-budget: exit 2" bad badbudget "--dram-budget" --dram-budget 150%
check "bad --token-lifetime: exit 2" bad badlife "--token-lifetime" --token-lifetime soon
check "--token-lifetime that overflows to infinity: exit 2" bad inflife "out of range" --token-lifetime 1e308y
check "--map-limit above vm.max_map_count's headroom: exit 2" bad bigmaps "headroom" \
    --map-limit "$(cat /proc/sys/vm/max_map_count)"
t_config_nul() {    # JSON after a NUL byte is not silently ignored
    printf '{"vcpus":2}\0{"vcpus":999}' >"$WORK/nul.json"
    bad confnul "NUL byte" --config "$WORK/nul.json"
}
check "config file with a NUL byte: exit 2" t_config_nul

finish
