#!/usr/bin/env bash
# aromd under real /dev/kvm: VMs registered under a run directory, the host
# endpoint (every route, shapes checked against docs/openapi-aromd.yaml),
# two VMs sharing a host DRAM allowance, pinning, a VM killed with SIGKILL,
# aromd restarted while VMs run, bad options and requests.
. "$(dirname "$0")/lib.sh"
P=$AROM_PAYLOADS
: "${AROM_AROMD:?run through make check}"

require_kvm "aromd"
command -v curl >/dev/null || { not_ok "curl is not installed (scripts/bootstrap.sh installs it)"; finish; exit 1; }

RUN=$WORK/run
HS=$WORK/aromd.sock             # aromd on a unix socket: no port to collide with
H=$WORK/aromd-h                 # curl target for it (see hapi)
hapi() { api "$HS" "$@"; }

# start_vm NAME [VMM options]: a kvcache guest registered under $RUN; waits
# until its API answers. Sets VM_PID.
start_vm() {
    local name=$1; shift
    "$AROM_VMM" --mem 128M --name "$name" --run-dir "$RUN" --daemon on --epoch-ms 250 --stats-json "$WORK/$name.json" \
        "$@" "$P/kvcache.elf" values=64M mix=C warmup=0 seconds=120 >"$WORK/$name.out" 2>&1 &
    VM_PID=$!
    ( sleep 180; kill -KILL $VM_PID 2>/dev/null ) >/dev/null 2>&1 &
    await_api "$RUN/vms/$name.sock" /v1/vm $VM_PID "$WORK/$name.out"
}
# start_aromd [options]: aromd on $HS over $RUN; waits until it answers. Sets AROMD_PID.
start_aromd() {
    "$AROM_AROMD" --run-dir "$RUN" --listen "unix:$HS" --interval-ms 200 "$@" >>"$WORK/aromd.out" 2>&1 &
    AROMD_PID=$!
    await_api "$HS" /v1/host $AROMD_PID "$WORK/aromd.out"
}
# until_ok SECONDS CMD...: retry CMD every 0.2 s.
until_ok() {
    local n=$(($1 * 5)); shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    "$@"
}
vms_hold() { hapi GET /v1/vms >/dev/null && resp "$1"; }

t_bad_options() {
    local a
    for a in "--host-dram 0" "--host-dram 101%" "--host-dram 99T" "--interval-ms 5" "--listen nowhere" \
             "--listen 127.0.0.1:0" "--bogus" "--config /nonexistent.json" "stray"; do
        # shellcheck disable=SC2086
        timeout 10 "$AROM_AROMD" --run-dir "$RUN" --listen "unix:$WORK/x.sock" $a >"$WORK/bad.out" 2>&1
        local st=$?
        [ $st -eq 2 ] && grep -q '^aromd: error: ' "$WORK/bad.out" ||
            { echo "aromd $a: exit $st, expected 2 with an error" | diag; diag <"$WORK/bad.out"; return 1; }
    done
    echo '{"listen": "unix:/tmp/x", "colour": "blue"}' >"$WORK/bad.json"
    timeout 10 "$AROM_AROMD" --config "$WORK/bad.json" >"$WORK/bad.out" 2>&1
    [ $? -eq 2 ] && has "unknown setting 'colour'" "$WORK/bad.out"
}
check "bad options and config: exit 2 with one clear error" t_bad_options

t_help() { "$AROM_AROMD" --help | grep -q -- '--host-dram' && "$AROM_AROMD" --version | grep -q '^aromd '; }
check "--help and --version" t_help
t_man() { man_documents aromd.8 $("$AROM_AROMD" --help | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p'); }
check "man/aromd.8 documents every option" t_man

start_vm a1 && A1=$VM_PID
start_vm a2 && A2=$VM_PID
start_aromd --host-dram 96M     # two 128M guests whose data set is 64M each: pages must move

t_socket() {
    [ "$(stat -c %a "$HS")" = 600 ] || { stat -c %a "$HS" | diag; return 1; }
    nobody_refused "$HS" /v1/host
}
check "the unix-socket endpoint is mode 0600: another user cannot connect" t_socket

t_host() {
    hapi GET /v1/host >/dev/null && conforms Host openapi-aromd.yaml &&
    resp ".vms.count == 2 and .vms.reachable == 2 and .dram.steering == true and .dram.allowance_bytes == 100663296
          and .dram.guest_ram_bytes == 268435456 and .dram.host_bytes > 0 and .ltram.capacity_bytes == 268435456
          and .run_dir == \"$RUN\" and .interval_ms == 200 and (.dram.regime | type == \"string\")"
}
check "GET /v1/host: capacity and use across VMs; conforms to docs/openapi-aromd.yaml" "until_ok" 10 t_host

t_vms() {
    hapi GET /v1/vms >/dev/null && conforms VmList openapi-aromd.yaml &&
    resp "[.vms[].name] == [\"a1\", \"a2\"] and .vms[0].pid == $A1 and .vms[1].pid == $A2
          and all(.vms[]; .reachable and .state == \"running\" and .mem_bytes == 134217728 and .tiering
                  and .aromd.steering == \"steered\" and (.aromd.plan.budget_bytes | type == \"number\"))"
}
check "GET /v1/vms: both VMs, steered; conforms" t_vms

# The allowance divided: both budgets set by aromd, together within it, and
# pages moved to LtRAM in both VMs.
shared() {
    vms_hold '([.vms[].dram_budget_bytes] | add) <= 100663296 and all(.vms[]; .aromd.budget_sets >= 1
              and .ltram_resident_bytes >= 8388608 and .dram_budget_bytes < 134217728)'
}
check "two VMs share the host allowance: budgets within it, pages on LtRAM in both" until_ok 60 shared

t_vm() {
    hapi GET /v1/vms/a1 >/dev/null && conforms VmDetail openapi-aromd.yaml &&
    resp ".name == \"a1\" and .vm.pid == $A1 and .tiering.pages.total == 32768 and .aromd.steering == \"steered\"" &&
    api "$RUN/vms/a1.sock" GET /v1/vm >/dev/null && resp ".pid == $A1"
}
check "GET /v1/vms/NAME: the VM's own views, proxied" t_vm

t_metrics() {
    hapi GET /metrics >/dev/null || return 1
    "$PY" - "$WORK/resp" <<'PYEOF' 2>&1 | diag
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
assert sorted({s.labels["vm"] for s in fams["arom_ltram_resident_bytes"].samples}) == ["a1", "a2"]
assert fams["arom_host_vms"].samples[0].value == 2
assert fams["arom_host_dram_allowance_bytes"].samples[0].value == 100663296
assert fams["arom_promotions"].type == "counter"
for name, f in fams.items():
    assert name.startswith("arom_"), name
PYEOF
    [ "${PIPESTATUS[0]}" -eq 0 ]
}
check "GET /metrics: every VM's families labelled vm, and aromd's own; Prometheus parses it" t_metrics

t_errors() {
    expect_status 404 "$HS" GET /v1/vms/nosuch && resp '.error | contains("nosuch")' &&
    expect_status 404 "$HS" GET /v1/vms/..%2Fx && expect_status 404 "$HS" GET /v1/other &&
    expect_status 405 "$HS" POST /v1/host '{}' && grep -qi '^allow: GET' "$WORK/hdr" &&
    expect_status 405 "$HS" DELETE /v1/vms/a1 &&
    expect_status 400 "$HS" PATCH /v1/vms/a1 '{"dram_budget": 1' &&
    expect_status 400 "$HS" PATCH /v1/vms/a1 '{"dram_budget": "64M", "colour": 1}' &&
    expect_status 400 "$HS" PATCH /v1/vms/a1 '{"dram_budget": true}' &&
    expect_status 400 "$HS" PATCH /v1/vms/a1 '{"dram_budget": "150%"}' && resp '.error | contains("dram_budget")' &&
    expect_status 400 "$HS" PATCH /v1/vms/a1 '{"dram_budget": "1G"}' && resp '.error | contains("guest RAM")' &&
    expect_status 404 "$HS" PATCH /v1/vms/nosuch '{"dram_budget": "64M"}' &&
    head -c 20000 /dev/zero | tr '\0' ' ' >"$WORK/big" &&
    expect_status 413 "$HS" PATCH /v1/vms/a1 "@$WORK/big" &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$HS" -X PATCH -H 'Content-Type: text/plain' \
        -d x http://localhost/v1/vms/a1)" = 415 ]
}
check "errors: unknown VM 404, wrong method 405, malformed or unknown fields 400, over 16 KiB 413, not JSON 415" t_errors

# Pin a1 through aromd: its plan leaves it there; null hands it back.
t_pin() {
    expect_status 200 "$HS" PATCH /v1/vms/a1 '{"dram_budget": "48M"}' && resp '.dram_budget_bytes == 50331648' &&
    sleep 1 && vms_hold '.vms[0].aromd.steering == "pinned" and .vms[0].dram_budget_bytes == 50331648' &&
    expect_status 200 "$HS" PATCH /v1/vms/a1 '{"dram_budget": null}' && resp '.pinned == false' &&
    until_ok 10 vms_hold '.vms[0].aromd.steering == "steered"'
}
check "PATCH /v1/vms/NAME pins a budget the plan keeps; null unpins" t_pin

# SIGKILL a2: its socket stays behind; aromd drops it as stale, keeps
# serving, and the plan gives a1 the DRAM a2 held.
kill -KILL "$A2"
wait "$A2" 2>/dev/null
dropped() {
    hapi GET /v1/host >/dev/null && resp '.vms.count == 1 and .vms.dropped_total >= 1 and .vms.stale_sockets_removed == 1' &&
    [ ! -e "$RUN/vms/a2.sock" ]
}
check "a VM killed with SIGKILL: its stale socket removed, the VM dropped, aromd serving" until_ok 20 dropped
t_regrown() { vms_hold '.vms[0].name == "a1" and .vms[0].dram_budget_bytes > 100000000'; }
check "the DRAM it held goes to the remaining VM" until_ok 20 t_regrown

# aromd restarted while a1 runs: it finds it again from its socket.
t_restart() {
    kill -TERM "$AROMD_PID"
    wait "$AROMD_PID"
    local st=$?
    [ $st -eq 0 ] || { echo "aromd exited $st on SIGTERM" | diag; return 1; }
    [ ! -e "$HS" ] || { echo "aromd left its socket" | diag; return 1; }
    start_aromd --host-dram 96M && until_ok 10 vms_hold ".vms | length == 1 and .[0].name == \"a1\" and .[0].pid == $A1"
}
check "aromd stopped with SIGTERM exits 0; restarted, it finds the running VM again" t_restart

t_observe() {
    kill -TERM "$AROMD_PID"; wait "$AROMD_PID"
    expect_status 200 "$RUN/vms/a1.sock" PATCH /v1/tiering '{"dram_budget": "100M"}' || return 1
    start_aromd && sleep 1 && hapi GET /v1/host >/dev/null &&
    resp '.dram.steering == false and .dram.allowance_bytes == null and .dram.regime == null' && conforms Host openapi-aromd.yaml &&
    vms_hold '.vms[0].dram_budget_bytes == 104857600 and .vms[0].aromd.plan == null and .vms[0].aromd.budget_sets == 0'
}
check "without --host-dram aromd observes only: no budget set" t_observe

t_tcp() {
    local port
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$AROM_AROMD" --run-dir "$RUN" --listen "127.0.0.1:$port" >"$WORK/tcp.out" 2>&1 &
    local pid=$!
    until_ok 5 api "http://127.0.0.1:$port" GET /v1/vms >/dev/null
    resp '.vms[0].name == "a1"'
    local st=$?
    kill -TERM $pid; wait $pid
    return $st
}
check "--listen ADDR:PORT serves over TCP" t_tcp

kill -TERM "$AROMD_PID" 2>/dev/null; wait "$AROMD_PID" 2>/dev/null
kill -TERM "$A1" 2>/dev/null; wait "$A1" 2>/dev/null
t_clean() { json_check "$WORK/a1.json" '.tiering.audit_failures == 0 and .tiering.invariant_violations == 0'; }
check "the steered VM's LtRAM audit is clean at exit" t_clean
finish
