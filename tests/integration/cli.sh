#!/usr/bin/env bash
# The arom CLI under real /dev/kvm: run, ls, status, top, budget, stop, each
# human and --json, against VMs it launches under a run directory, with and
# without aromd; exit codes as documented (0, 1, 2, 3).
. "$(dirname "$0")/lib.sh"
P=$AROM_PAYLOADS
: "${AROM_CLI:?run through make check}" "${AROM_AROMD:?run through make check}"

require_kvm "arom CLI"

export AROM_RUN_DIR=$WORK/run AROM_VMM
export AROMD=unix:$WORK/aromd.sock       # no aromd there until one is started
arom() { timeout -k 5 60 "$AROM_CLI" "$@"; }
# expect_exit WANT CMD...: the exit status, output in $WORK/o and $WORK/e.
expect_exit() {
    local want=$1; shift
    "$@" >"$WORK/o" 2>"$WORK/e"
    local got=$?
    [ $got -eq "$want" ] && return 0
    echo "$*: exit $got, expected $want" | diag
    diag <"$WORK/o"; diag <"$WORK/e"
    return 1
}
out() { jq -e "$1" "$WORK/o" >/dev/null || { echo "check failed: $1 on $(head -c 400 "$WORK/o")" | diag; return 1; }; }

t_usage() {
    expect_exit 0 arom --help && has "budget NAME" "$WORK/o" &&
    expect_exit 0 arom --version && has "arom " "$WORK/o" &&
    expect_exit 2 arom && expect_exit 2 arom frobnicate && has "unknown command" "$WORK/e" &&
    expect_exit 2 arom --bogus ls && expect_exit 2 arom --aromd nowhere ls &&
    expect_exit 2 arom status && expect_exit 2 arom status a b && expect_exit 2 arom top --interval 0 &&
    expect_exit 2 arom status '../x' && expect_exit 2 arom ls --frob
}
check "usage: --help, --version; bad commands, options and arguments exit 2" t_usage
t_man() {
    man_documents arom.1 $("$AROM_CLI" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]\+\).*/\1/p') \
        $("$AROM_CLI" --help | sed -n '/^options:/,/^$/s/^  \(--[a-z-]*\).*/\1/p')
}
check "man/arom.1 documents every command and option" t_man

t_empty() { expect_exit 0 arom ls --json && out '.vms == []'; }
check "ls with no VMs: an empty list" t_empty

t_run() {
    expect_exit 0 arom run --name c1 --mem 128M --dram-budget 100% --epoch-ms 250 --stats-json "$WORK/c1.json" \
        "$P/kvcache.elf" values=48M mix=C warmup=0 seconds=90 &&
    has "c1: started, pid" "$WORK/o" && [ -S "$AROM_RUN_DIR/vms/c1.sock" ] && [ -f "$AROM_RUN_DIR/logs/c1.log" ]
}
check "run: launches in the background, registered; socket and log in the run directory" t_run
C1=$(jq -r .pid <(curl -s --unix-socket "$AROM_RUN_DIR/vms/c1.sock" http://localhost/v1/vm))

t_run_json() {
    expect_exit 0 arom --json run --mem 64M "$P/kvcache.elf" values=16M warmup=0 seconds=90 &&
    out '(.name | test("^vm-[0-9a-f]{6}$")) and .pid > 0 and (.socket | endswith(".sock")) and (.log | endswith(".log"))' &&
    C2=$(jq -r .name "$WORK/o") && C2PID=$(jq -r .pid "$WORK/o")
}
check "run --json without --name: a generated name, pid, socket, log" t_run_json

t_run_bad() {
    expect_exit 2 arom run --name c1 --mem 64M "$P/hello.elf" && has "a VM named c1 runs" "$WORK/e" &&
    expect_exit 2 arom run --name c3 --mem 3M "$P/hello.elf" && has "--mem" "$WORK/e" &&
    expect_exit 2 arom run --name 'bad name' "$P/hello.elf" &&
    expect_exit 2 arom run --api-sock /tmp/x "$P/hello.elf" &&
    # it may be caught serving on its way out (on a slow host the API is up
    # before the guest ends): then its socket goes when it exits, soon
    expect_exit 0 arom run --name quick "$P/hello.elf" || return 1
    for _ in $(seq 50); do [ -e "$AROM_RUN_DIR/vms/quick.sock" ] || return 0; sleep 0.1; done
    echo "quick.sock still there 5 s after the run: $(cat "$WORK/o")" | diag
    return 1
}
check "run: a taken name, bad VMM options, --api-sock: exit 2 with the VMM's error; a guest that ends at once: 0" t_run_bad

t_ls() {
    expect_exit 0 arom ls && grep -qE '^c1 +running +'"$C1"' +1 +128M' "$WORK/o" && has "$C2" "$WORK/o" &&
    expect_exit 0 arom ls --json && out "[.vms[].name] == ([\"c1\", \"$C2\"] | sort) and all(.vms[]; .reachable)
        and (.vms[] | select(.name == \"c1\") | .vm.pid == $C1 and .tiering.daemon.enabled == true)"
}
check "ls: a table and --json with every VM's views" t_ls

t_status() {
    expect_exit 0 arom status c1 && has "c1: running, pid $C1" "$WORK/o" && has "DRAM budget 128M" "$WORK/o" &&
    has "daemon    epoch 250 ms" "$WORK/o" &&
    expect_exit 0 arom status c1 --json && out '.name == "c1" and .vm.mem_bytes == 134217728 and .tiering.pages.total == 32768' &&
    expect_exit 3 arom status nosuch && has "no VM 'nosuch'" "$WORK/e"
}
check "status: human and --json; an unknown VM exits 3" t_status

# Without aromd, budget goes to the VM; LtRAM visibly grows.
t_budget_vm() {
    expect_exit 0 arom budget c1 25% && has "c1: DRAM budget 32M (set on the VM" "$WORK/o" &&
    expect_exit 0 arom budget c1 40M --json && out '.via == "vm" and .pinned == false and .dram_budget_bytes == 41943040' &&
    expect_exit 2 arom budget c1 150% && has "dram_budget" "$WORK/e" &&
    expect_exit 2 arom budget c1 1G && has "guest RAM" "$WORK/e" &&
    expect_exit 2 arom budget c1 lots && expect_exit 3 arom budget nosuch 1G &&
    expect_exit 1 arom budget c1 auto && has "needs aromd" "$WORK/e"
}
check "budget without aromd: set on the VM; bad values exit 2, unknown VM 3, auto needs aromd (1)" t_budget_vm
moved() { arom status c1 --json >"$WORK/o" && out '.tiering.pages.ltram * 4096 >= 8388608'; }
t_moved() { for _ in $(seq 150); do moved >/dev/null 2>&1 && return 0; sleep 0.2; done; moved; }
check "the lower budget moves pages to LtRAM" t_moved

t_top() {
    expect_exit 0 arom top --count 2 --interval 0.5 && [ "$(grep -c '^arom top - ' "$WORK/o")" -eq 2 ] &&
    grep -qE '^c1 +running +\[[#= ]{24}\]' "$WORK/o" && ! grep -q $'\033' "$WORK/o" &&
    expect_exit 0 arom top --count 2 --interval 0.5 --json && [ "$(wc -l <"$WORK/o")" -eq 2 ] &&
    tail -1 "$WORK/o" | jq -e '.vms | length == 2 and all(.[]; has("promotions_per_s") and has("dram_budget_bytes")
        and .ltram_resident_bytes >= 0)' >/dev/null
}
check "top: refreshing frames with DRAM/LtRAM bars and rates (no escapes when not a tty); --json lines" t_top

# With aromd: budget pins through it; auto hands back.
"$AROM_AROMD" --run-dir "$AROM_RUN_DIR" --listen "$AROMD" --interval-ms 200 >"$WORK/aromd.out" 2>&1 &
AROMD_PID=$!
for _ in $(seq 50); do [ -S "$WORK/aromd.sock" ] && break; sleep 0.1; done
sleep 0.5
t_budget_aromd() {
    expect_exit 0 arom budget c1 48M --json && out '.via == "aromd" and .pinned == true and .dram_budget_bytes == 50331648' &&
    curl -s --unix-socket "$WORK/aromd.sock" http://localhost/v1/vms >"$WORK/o" &&
    out '.vms[] | select(.name == "c1") | .aromd.steering == "pinned"' &&
    expect_exit 0 arom budget c1 auto && has "handed back to aromd" "$WORK/o"
}
check "budget with aromd: pinned through it; auto hands it back" t_budget_aromd
kill -TERM $AROMD_PID; wait $AROMD_PID

t_stop() {
    expect_exit 0 arom stop c1 && has "c1: stopped (pid $C1" "$WORK/o" && ! kill -0 "$C1" 2>/dev/null &&
    [ ! -e "$AROM_RUN_DIR/vms/c1.sock" ] && json_check "$WORK/c1.json" '.tiering.audit_failures == 0 and .name == "c1"' &&
    expect_exit 0 arom stop "$C2" --json && out ".stopped == true and .pid == $C2PID" &&
    expect_exit 3 arom stop c1 && expect_exit 0 arom ls --json && out '.vms == []'
}
check "stop: shuts down (final stats written), waits for the exit; again: 3" t_stop
finish
