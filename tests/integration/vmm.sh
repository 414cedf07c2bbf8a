#!/usr/bin/env bash
# arom-vmm under real /dev/kvm: payloads, exit status, errors, stats JSON.
. "$(dirname "$0")/lib.sh"
P=$AROM_PAYLOADS

require_kvm "KVM integration"

t_hello() { run_vmm hello 0 -- "$P/hello.elf" && has "hello from arom guest" "$LAST_OUT"; }
check "hello runs and exits 0" t_hello

t_args() { run_vmm args 0 -- --mem 64M "$P/hello.elf" -- alpha beta=2 && has "args=alpha beta=2" "$LAST_OUT" && has "ram=64 MiB" "$LAST_OUT"; }
check "guest arguments and RAM size reach the payload" t_args

t_status() { run_vmm status 7 -- "$P/hello.elf" exit=7; }
check "guest exit status is arom-vmm's exit status" t_status

t_stats() {
    run_vmm stats 0 -- --stats-json "$WORK/s.json" "$P/hello.elf" &&
    jq -e '.metrics["hello.answer"] == 42 and .hypercalls.puts >= 1 and .hypercalls.exit == 1
           and .exits.io >= 3 and .exit_status == 0 and .launch_to_first_hypercall_s > 0
           and .run_time_s > 0' "$WORK/s.json" >/dev/null
}
check "stats JSON has metrics, hypercalls and exits" t_stats

t_stats_stdout() { run_vmm statsout 0 -- --quiet --stats-json - "$P/hello.elf" && sed -n '/^{/,$p' "$LAST_OUT" | jq -e '.payload' >/dev/null; }
check "stats JSON to stdout" t_stats_stdout

t_config() {
    printf '{"mem": "32M", "vcpus": 2, "args": "from-config"}\n' >"$WORK/c.json"
    run_vmm config 0 -- --config "$WORK/c.json" "$P/hello.elf" && has "vcpus=2 ram=32 MiB args=from-config" "$LAST_OUT"
}
check "JSON config file" t_config

t_config_bad() {
    printf '{"mem": "32Q"}\n' >"$WORK/bad.json"
    run_vmm configbad 2 -- --config "$WORK/bad.json" "$P/hello.elf" && has "bad.json" "$LAST_ERR"
}
check "malformed config: clear error, exit 2" t_config_bad

t_smp1() { run_vmm smp1 0 -- --vcpus 1 "$P/smp.elf" && has "smp: vcpus=1 ok" "$LAST_OUT"; }
check "smp on 1 vCPU" t_smp1
t_smp2() { run_vmm smp2 0 -- --vcpus 2 "$P/smp.elf" && has "smp: vcpus=2 ok" "$LAST_OUT"; }
check "smp on 2 vCPUs with shared atomics" t_smp2
t_smp4() { run_vmm smp4 0 -- --vcpus 4 "$P/smp.elf" iters=20000 && has "smp: vcpus=4 ok" "$LAST_OUT"; }
check "smp on 4 vCPUs (more vCPUs than host cores)" t_smp4

crash() {   # crash MODE EXPECTED-TEXT
    run_vmm "crash-$1" 125 -- "$P/crash.elf" "mode=$1" && has "$2" "$LAST_ERR" && has "RIP 0x4" "$LAST_ERR"
}
t_crash_null() { crash null "#PF page fault" && has "CR2 0x0 " "$LAST_ERR"; }
check "NULL dereference: #PF reported with RIP and CR2, exit 125" t_crash_null
check "ud2: #UD reported" crash ud2 "#UD invalid opcode"
check "divide by zero: #DE reported" crash div0 "#DE divide error"
check "privileged instruction at CPL3: #GP reported" crash gp "#GP general protection"

t_missing() { run_vmm missing 2 -- "$WORK/nope.elf" && has "nope.elf" "$LAST_ERR"; }
check "missing payload: exit 2 naming the file" t_missing
t_text() { echo "not an elf" >"$WORK/t.elf"; run_vmm text 2 -- "$WORK/t.elf" && has "t.elf" "$LAST_ERR"; }
check "non-ELF payload: exit 2" t_text
t_host_binary() { run_vmm hostbin 2 -- "$(command -v true)"; }
check "a dynamically linked host binary is refused" t_host_binary
t_badopt() { run_vmm badopt 2 -- --frobnicate "$P/hello.elf" && has "frobnicate" "$LAST_ERR"; }
check "unknown option: exit 2" t_badopt
t_badmem() { run_vmm badmem 2 -- --mem 3M "$P/hello.elf" && has "--mem" "$LAST_ERR"; }
check "bad --mem: exit 2" t_badmem
t_help() { run_vmm help 0 -- --help && has "usage: arom-vmm" "$LAST_OUT"; }
check "--help" t_help

# The man page documents every option --help lists.
t_man() { man_documents arom-vmm.1 $("$AROM_VMM" --help | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p'); }
check "man/arom-vmm.1 documents every option" t_man

# t_signal SIG STATUS NAME [VMM options]: the signal stops a spinning guest
# through the VMM's own path ("stopping the VM", stats written, LtRAM
# audited), not by killing the process. Tiering is on by default and its
# threads exist before the signal arrives: none of them may take it.
t_signal() {
    local sig=$1 want=$2 name=$3; shift 3
    "$AROM_VMM" --stats-json "$WORK/$name.json" "$@" "$P/hello.elf" spin=1 >"$WORK/$name.out" 2>&1 &
    local pid=$!
    ( sleep 60; kill -KILL $pid 2>/dev/null ) >/dev/null 2>&1 &
    local guard=$!
    for _ in $(seq 50); do grep -q spinning "$WORK/$name.out" && break; sleep 0.1; done
    sleep 0.3                       # let the tiering threads run too
    kill -"$sig" $pid
    wait $pid
    local st=$?
    kill $guard 2>/dev/null
    [ $st -eq "$want" ] || { echo "exit status $st, expected $want" | diag; diag <"$WORK/$name.out"; return 1; }
    has "stopping the VM" "$WORK/$name.out" &&
    json_check "$WORK/$name.json" ".exit_status == $want and .tiering.audits >= 1"
}
check "SIGTERM stops a running guest cleanly (exit 143, stats written)" t_signal TERM 143 sigterm
check "SIGINT stops a running guest cleanly (exit 130, stats written)" t_signal INT 130 sigint
check "SIGTERM with the tiering daemon running" t_signal TERM 143 sigterm-daemon --dram-budget 50% --epoch-ms 50

# A console nobody reads: output is lost, the run is not (no SIGPIPE death).
t_closed_console() {
    mkfifo "$WORK/console"
    exec 7<>"$WORK/console" 8>"$WORK/console"
    exec 7<&-                       # no reader left: every write gets EPIPE
    timeout -k 5 60 "$AROM_VMM" --stats-json "$WORK/epipe.json" "$P/hello.elf" >&8 2>"$WORK/epipe.err"
    local st=$?
    exec 8>&-
    [ $st -eq 0 ] || { echo "exit status $st, expected 0" | diag; diag <"$WORK/epipe.err"; return 1; }
    json_check "$WORK/epipe.json" '.exit_status == 0'
}
check "a closed console does not kill the VMM" t_closed_console

finish
