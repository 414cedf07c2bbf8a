#!/usr/bin/env bash
# The per-VM operator API (--api-sock) under real /dev/kvm, with curl: every
# endpoint and its documented shape, run-time settings that visibly move
# pages, pause and resume, shutdown, the error model, socket rights.
. "$(dirname "$0")/lib.sh"
P=$AROM_PAYLOADS

require_kvm "operator API"
command -v curl >/dev/null || { not_ok "curl is not installed (scripts/bootstrap.sh installs it)"; finish; exit 1; }

# start_vm NAME [VMM options] -- [payload args]: a kvcache guest serving its
# API on $WORK/NAME.sock; waits until the API answers. Sets VM_PID.
start_vm() {
    local name=$1; shift
    local opts=() args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    args=("$@")
    "$AROM_VMM" --mem 128M --name "$name" --api-sock "$WORK/$name.sock" --stats-json "$WORK/$name.json" \
        "${opts[@]}" "$P/kvcache.elf" values=48M mix=C warmup=0 seconds=90 "${args[@]}" \
        >"$WORK/$name.out" 2>&1 &
    VM_PID=$!
    ( sleep 150; kill -KILL $VM_PID 2>/dev/null ) >/dev/null 2>&1 &
    await_api "$WORK/$name.sock" /v1/vm $VM_PID "$WORK/$name.out" '.state == "running"'
}
# stop_vm: wait for VM_PID with a deadline; prints its exit status.
wait_vm() {
    for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1"
}

start_vm api1 --dram-budget 100% --epoch-ms 200
pid1=$VM_PID S1=$WORK/api1.sock

t_mode() { [ "$(stat -c '%a %U' "$S1")" = "600 $(id -un)" ] || { stat -c '%a %U' "$S1" | diag; return 1; }; }
check "the API socket is mode 0600, owned by the VMM's user" t_mode

t_other_user() { nobody_refused "$S1" /v1/vm; }
check "another user cannot connect" t_other_user

t_vm() {
    expect_status 200 "$S1" GET /v1/vm &&
    resp ".name == \"api1\" and .pid == $pid1 and .state == \"running\" and .paused == false and .vcpus == 1
          and .mem_bytes == 134217728 and .uptime_s > 0 and (.uuid | test(\"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$\"))
          and (.payload | endswith(\"kvcache.elf\")) and (.args | contains(\"values=48M\")) and .tiering == true
          and .api_socket == \"$S1\" and (.version | type == \"string\")" && conforms Vm &&
    grep -qi '^content-type: application/json' "$WORK/hdr"
}
check "GET /v1/vm: identity, state, vCPUs, memory, uptime, payload; conforms to docs/openapi.yaml" t_vm

t_tiering() {
    expect_status 200 "$S1" GET /v1/tiering &&
    resp '.enabled == true and .pages.total == 32768 and (.pages.ltram | type == "number")
          and .dram_budget_bytes == 134217728 and (.dram_resident_bytes | type == "number")
          and (.promotions | type == "number") and (.demotions | type == "number")
          and (.promotion_latency | .count >= 0 and (.p50_us | type == "number") and (.p99_us | type == "number")
               and (.buckets | length == 12) and (.buckets[0] | has("le_us") and has("count")))
          and (.ltram | (.bytes_written | type == "number") and (.wear.max_over_mean | type == "number")
               and .capacity_bytes > 0 and (.profile | type == "string"))
          and (.tokens | has("enabled") and has("level")) and (.mappings.estimated > 0) and (.mappings | has("process_maps") | not)
          and (.daemon | .enabled == true and (.dirty_tracking | type == "string") and (.access_tracking | type == "string")
               and .epoch_ms == 200 and (.guard.slowdown_pct | type == "number") and (.over_budget_reason | type == "string"))
          and .audit_failures == 0' && conforms Tiering
}
check "GET /v1/tiering: tiers, budget, migrations, latency, LtRAM writes, wear, tokens, tracking, mappings; conforms" t_tiering

# Lower the budget at run time: the daemon demotes until DRAM fits it.
t_budget() {
    expect_status 200 "$S1" PATCH /v1/tiering '{"dram_budget": "25%", "max_slowdown_pct": 5}' &&
    resp '.dram_budget_bytes == 33554432 and .daemon.guard.max_slowdown_pct == 5' || return 1
    for _ in $(seq 150); do
        api "$S1" GET /v1/tiering >/dev/null
        jq -e '.pages.ltram * 4096 >= 16777216' "$WORK/resp" >/dev/null && return 0
        sleep 0.2
    done
    echo "LtRAM did not grow after the budget change:" | diag
    jq -c '{pages, dram_resident_bytes, dram_budget_bytes, over: .daemon.over_budget_reason}' "$WORK/resp" | diag
    return 1
}
check "PATCH /v1/tiering dram_budget 25%: pages move to LtRAM" t_budget

t_settings() {
    expect_status 200 "$S1" PATCH /v1/tiering '{"epoch_ms": 250, "exit_cost_us": 20, "dram_budget": 50331648}' &&
    resp '.daemon.epoch_ms == 250 and .daemon.guard.exit_cost_us == 20 and .dram_budget_bytes == 50331648'
}
check "PATCH /v1/tiering: epoch, exit cost, budget in bytes" t_settings

t_patch_all_or_nothing() {
    expect_status 400 "$S1" PATCH /v1/tiering '{"epoch_ms": 300, "dram_budget": "150%"}' &&
    resp '.error | contains("dram_budget")' &&
    api "$S1" GET /v1/tiering >/dev/null && resp '.daemon.epoch_ms == 250'
}
check "PATCH with one bad value changes nothing" t_patch_all_or_nothing

t_bad_requests() {
    expect_status 400 "$S1" PATCH /v1/tiering '{"dram_budget": "25%", "colour": 1}' && resp '.error | contains("colour")' &&
    conforms Error &&
    expect_status 400 "$S1" PATCH /v1/tiering '{"dram_budget": ' &&
    expect_status 400 "$S1" PATCH /v1/tiering '[1, 2]' &&
    expect_status 400 "$S1" PATCH /v1/tiering '{"epoch_ms": 10}' && resp '.error | contains("epoch_ms")' &&
    expect_status 400 "$S1" PATCH /v1/tiering '{"epoch_ms": 1.5}' &&
    expect_status 400 "$S1" PATCH /v1/tiering '{"max_slowdown_pct": "lots"}' &&
    expect_status 400 "$S1" PATCH /v1/tiering '{} trailing' &&
    expect_status 400 "$S1" PATCH /v1/tiering '' &&
    expect_status 400 "$S1" PUT /v1/actions '{"action": "explode"}' &&
    expect_status 400 "$S1" PUT /v1/actions '{"action": "demote", "gpa": 4097, "len": 4096}' &&
    expect_status 400 "$S1" PUT /v1/actions '{"action": "demote", "gpa": 0, "len": "1G"}' &&
    expect_status 400 "$S1" PUT /v1/actions '{"action": "pause", "gpa": 0}'
}
check "malformed JSON, unknown fields, bad types and bounds: 400 with the reason" t_bad_requests

t_protocol_errors() {
    expect_status 404 "$S1" GET /v1/nothing &&
    expect_status 405 "$S1" POST /v1/vm '{}' && grep -qi '^allow: GET' "$WORK/hdr" &&
    expect_status 405 "$S1" DELETE /v1/tiering && grep -qi '^allow: GET, PATCH' "$WORK/hdr" &&
    expect_status 405 "$S1" GET /v1/actions &&
    [ "$(curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$S1" -X PATCH -H 'Content-Type: text/plain' \
         --data-binary '{"epoch_ms": 300}' http://localhost/v1/tiering)" = 415 ] &&
    head -c 20000 /dev/zero | tr '\0' ' ' >"$WORK/big" &&
    [ "$(curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$S1" -X PATCH -H 'Content-Type: application/json' \
         --data-binary @"$WORK/big" http://localhost/v1/tiering)" = 413 ] &&
    [ "$(curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$S1" -X PATCH -H 'Content-Type: application/json' \
         -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big" http://localhost/v1/tiering)" = 413 ]
}
check "unknown path 404, wrong method 405 with Allow, wrong type 415, oversized body 413 (also chunked)" t_protocol_errors

t_demote_audit() {
    expect_status 200 "$S1" PUT /v1/actions '{"action": "demote", "gpa": "0x4000000", "len": "2M"}' &&
    resp '.pages_demoted > 0' &&
    expect_status 200 "$S1" PUT /v1/actions '{"action": "audit"}' && resp '.mismatches == 0' && conforms ActionResult
}
check "PUT /v1/actions demote a range, then audit: no mismatches" t_demote_audit

t_metrics() {
    expect_status 200 "$S1" GET /metrics &&
    grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/hdr" &&
    has 'arom_vm_info{vm="api1",' "$WORK/resp" && has 'arom_ltram_resident_bytes{vm="api1"}' "$WORK/resp" &&
    has 'arom_promotion_duration_seconds_bucket{vm="api1",le="+Inf"}' "$WORK/resp" &&
    has '# TYPE arom_promotions_total counter' "$WORK/resp" && has 'arom_slowdown_ratio{vm="api1"}' "$WORK/resp" || return 1
    # Prometheus' own parser must read it, and the names follow its conventions.
    "$PY" - "$WORK/resp" <<'EOF' 2>&1 | diag
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
names = [f.name for f in fams]
assert len(names) == len(set(names)), "a family appears twice"
for f in fams:
    assert f.name.startswith("arom_"), f.name
    assert f.samples, f.name + " has no samples"
    for s in f.samples:
        assert s.labels.get("vm") == "api1", s
    if f.type == "counter":
        assert all(s.name.endswith("_total") or s.name.endswith("_created") for s in f.samples), f.name
h = [f for f in fams if f.name == "arom_promotion_duration_seconds"][0]
assert h.type == "histogram"
EOF
    [ "${PIPESTATUS[0]}" -eq 0 ]
}
check "GET /metrics: Prometheus text that Prometheus' parser reads, named the Prometheus way" t_metrics

vcpu_ticks() {   # CPU ticks the vCPU thread of pid $1 used so far
    local t
    for t in /proc/"$1"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = vcpu0 ] && awk '{print $14 + $15}' "$t/stat" && return
    done
    echo 0
}
t_pause() {
    expect_status 200 "$S1" PUT /v1/actions '{"action": "pause"}' && resp '.state == "paused"' &&
    api "$S1" GET /v1/vm >/dev/null && resp '.state == "paused" and .paused == true' || return 1
    expect_status 409 "$S1" PUT /v1/actions '{"action": "pause"}' || return 1
    local a b c
    a=$(vcpu_ticks $pid1); sleep 1; b=$(vcpu_ticks $pid1)
    expect_status 200 "$S1" PUT /v1/actions '{"action": "resume"}' && resp '.state == "running"' || return 1
    sleep 1; c=$(vcpu_ticks $pid1)
    # Paused, the vCPU thread sleeps (at most a tick of slack); resumed, it runs.
    [ $((b - a)) -le 2 ] && [ $((c - b)) -ge 20 ] || { echo "vCPU ticks paused $((b - a)), resumed $((c - b))" | diag; return 1; }
    expect_status 409 "$S1" PUT /v1/actions '{"action": "resume"}'
}
check "pause stops the vCPUs, resume restarts them; twice is 409" t_pause

t_shutdown() {
    expect_status 202 "$S1" PUT /v1/actions '{"action": "shutdown"}' && resp '.state == "stopping"' || return 1
    wait_vm $pid1
    local st=$?
    [ $st -eq 0 ] || { echo "exit status $st after shutdown" | diag; diag <"$WORK/api1.out"; return 1; }
    has "shutdown requested" "$WORK/api1.out" && has "stopping the VM" "$WORK/api1.out" &&
    json_check "$WORK/api1.json" '.name == "api1" and .exit_status == 0 and .tiering.audits >= 1 and .tiering.audit_failures == 0
                                   and .tiering.dram_budget_bytes == 50331648' &&
    [ ! -e "$S1" ]
}
check "PUT /v1/actions shutdown: exit 0, final stats written, socket removed" t_shutdown

# A VM killed with SIGKILL leaves its socket: the next VM takes the path over.
t_stale_socket() {
    start_vm stale || return 1
    kill -KILL $VM_PID; wait $VM_PID 2>/dev/null
    [ -S "$WORK/stale.sock" ] || { echo "no socket left behind" | diag; return 1; }
    start_vm stale || return 1
    local pid=$VM_PID
    kill -TERM $pid
    wait_vm $pid
    local st=$?
    [ $st -eq 143 ] && json_check "$WORK/stale.json" '.name == "stale" and .exit_status == 143' && [ ! -e "$WORK/stale.sock" ]
}
check "a stale socket is reused; SIGTERM with the API on writes the stats and removes the socket" t_stale_socket

t_socket_in_use() {
    start_vm busy || return 1
    local pid=$VM_PID
    run_vmm busy2 2 -- --api-sock "$WORK/busy.sock" "$P/hello.elf" && has "another process serves it" "$LAST_ERR" &&
    : >"$WORK/plain" && run_vmm plain 2 -- --api-sock "$WORK/plain" "$P/hello.elf" && has "not a socket" "$LAST_ERR" &&
    run_vmm nodir 2 -- --api-sock "$WORK/no/such/dir.sock" "$P/hello.elf" &&
    api "$WORK/busy.sock" GET /v1/vm >/dev/null && resp '.name == "busy"'
    local rc=$?
    kill -TERM $pid; wait_vm $pid >/dev/null
    return $rc
}
check "a socket in use, a file that is not a socket, a missing directory: exit 2, the live VM untouched" t_socket_in_use

t_identity_errors() {
    run_vmm badname 2 -- --name "../x" --api-sock "$WORK/x.sock" "$P/hello.elf" && has "--name" "$LAST_ERR" &&
    run_vmm baduuid 2 -- --uuid "not-a-uuid" "$P/hello.elf" && has "--uuid" "$LAST_ERR" &&
    run_vmm longsock 2 -- --api-sock "$WORK/$(printf 'x%.0s' $(seq 120)).sock" "$P/hello.elf"
}
check "bad --name, --uuid or socket path: exit 2" t_identity_errors

t_tiering_off() {
    start_vm plain1 --ltram off || return 1
    local pid=$VM_PID S=$WORK/plain1.sock rc=0
    { expect_status 200 "$S" GET /v1/tiering && resp '.enabled == false' && conforms Tiering &&
      expect_status 409 "$S" PATCH /v1/tiering '{"dram_budget": "50%"}' &&
      expect_status 409 "$S" PUT /v1/actions '{"action": "demote", "gpa": 0, "len": 4096}' &&
      expect_status 200 "$S" GET /metrics && has 'arom_vm_info{vm="plain1"' "$WORK/resp"; } || rc=1
    kill -TERM $pid; wait_vm $pid >/dev/null
    return $rc
}
check "--ltram off: tiering reads disabled, changes are 409" t_tiering_off

t_daemon_off() {
    start_vm nodaemon --daemon off || return 1
    local pid=$VM_PID rc=0
    expect_status 409 "$WORK/nodaemon.sock" PATCH /v1/tiering '{"dram_budget": "50%"}' && resp '.error | contains("daemon")' || rc=1
    kill -TERM $pid; wait_vm $pid >/dev/null
    return $rc
}
check "budget changes with the tiering daemon off: 409 saying so" t_daemon_off

finish
