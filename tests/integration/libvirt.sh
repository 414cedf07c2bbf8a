#!/usr/bin/env bash
# libvirt integration under real /dev/kvm: domain XML as a VM definition
# (--domain-xml, and through libvirt's own test driver with --libvirt),
# lifecycle hooks the libvirt way (order, arguments, the XML on stdin, a
# failing prepare aborting the launch, a hanging hook timed out), and the
# contrib hook that reports QEMU domains to aromd.
. "$(dirname "$0")/lib.sh"
P=$AROM_PAYLOADS
: "${AROM_CLI:?run through make check}" "${AROM_AROMD:?run through make check}"
NS=https://arom.dev/xmlns/libvirt/domain/1.0

require_kvm "libvirt"

uuid() { echo "11111111-2222-4333-8444-$(printf '%s' "$1" | md5sum | cut -c1-12)"; }
# domain NAME PAYLOAD ARGS [EXTRA XML]: a domain definition on stdout.
domain() {
    cat <<XML
<domain type='kvm'>
  <name>$1</name>
  <uuid>$(uuid "$1")</uuid>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$P/$2</kernel>
    <cmdline>$3</cmdline>
  </os>
  <metadata>
    <lo:libosinfo xmlns:lo='http://libosinfo.org/xmlns/libvirt/domain/1.0'><lo:os id='http://debian.org/debian/12'/></lo:libosinfo>
    <arom:tiering xmlns:arom='$NS' dram-budget='25%' ltram-profile='nor-flash' epoch-ms='250'/>
  </metadata>
  <devices>
    <console type='pty'/>
    ${4:-}
  </devices>
</domain>
XML
}
vmm() { timeout -k 5 120 "$AROM_VMM" "$@"; }

domain kx1 kvcache.elf "values=48M mix=C warmup=0 seconds=4" >"$WORK/kx1.xml"
t_xml() {
    run_vmm kx1 0 -- --domain-xml "$WORK/kx1.xml" --hooks-dir off --stats-json "$WORK/kx1.json" &&
    json_check "$WORK/kx1.json" '.name == "kx1" and .uuid == "'"$(uuid kx1)"'"
        and .mem_bytes == 134217728 and .vcpus == 1 and (.payload | endswith("kvcache.elf"))
        and .tiering.dram_budget_bytes == 33554432 and .tiering.ltram.profile == "nor-flash"
        and .tiering.daemon.epoch_ms == 250 and .tiering.pages.ltram > 0' &&
    has "arom has no use for: console" "$LAST_ERR"
}
check "--domain-xml: name, uuid, memory units, vcpu, os/kernel, cmdline and arom:tiering metadata; tiering at work" t_xml

t_override() {
    run_vmm kx1o 0 -- --domain-xml "$WORK/kx1.xml" --hooks-dir off --mem 256M --dram-budget 50% --stats-json "$WORK/o.json" &&
    json_check "$WORK/o.json" '.mem_bytes == 268435456 and .tiering.dram_budget_bytes == 134217728 and .name == "kx1"'
}
check "the command line overrides the domain" t_override

t_bad() {
    local f=$WORK/bad.xml
    printf '<domain type="kvm"><name>b</name>\n<memory>1\n</domain>' >"$f"
    run_vmm bad1 2 -- --domain-xml "$f" && has "malformed XML at line 3" "$LAST_ERR" || return 1
    domain b1 hello.elf "" "<disk type='file' device='disk'><source file='/x.img'/></disk>" >"$f"
    run_vmm bad2 2 -- --domain-xml "$f" && has "<disk> device: arom VMs have none" "$LAST_ERR" || return 1
    domain b1 hello.elf "" "<interface type='network'><source network='default'/></interface>" >"$f"
    run_vmm bad3 2 -- --domain-xml "$f" && has "<interface>" "$LAST_ERR" || return 1
    domain b1 hello.elf "" | sed "s/type='kvm'/type='qemu'/" >"$f"
    run_vmm bad4 2 -- --domain-xml "$f" && has "type 'qemu'" "$LAST_ERR" || return 1
    domain b1 hello.elf "" | sed "s/dram-budget='25%'/dram-budget='250%'/" >"$f"
    run_vmm bad5 2 -- --domain-xml "$f" && has "--dram-budget" "$LAST_ERR" || return 1
    domain b1 hello.elf "" | sed "s/epoch-ms='250'/colour='blue'/" >"$f"
    run_vmm bad6 2 -- --domain-xml "$f" && has "unknown attribute 'colour'" "$LAST_ERR" || return 1
    run_vmm bad7 2 -- --domain-xml "$WORK/nonexistent.xml" && has "No such file" "$LAST_ERR"
}
check "malformed XML, disks, interfaces, type qemu, bad or unknown values: exit 2 with a clear error" t_bad

# libvirt's test driver: a node file of domains, no daemon.
{ echo "<node>"; domain lv1 kvcache.elf "values=16M warmup=0 seconds=60"; domain lv2 hello.elf "from=libvirt"; echo "</node>"; } >"$WORK/node.xml"
URI=test://$WORK/node.xml
t_libvirt() {
    run_vmm lv2 0 -- --libvirt "$URI" --domain lv2 --hooks-dir off --stats-json "$WORK/lv2.json" &&
    has "args=from=libvirt" "$LAST_OUT" && json_check "$WORK/lv2.json" '.name == "lv2" and .mem_bytes == 134217728' &&
    run_vmm lvx 2 -- --libvirt "$URI" --domain nosuch && has "--domain nosuch" "$LAST_ERR" &&
    run_vmm lvy 2 -- --libvirt "test://$WORK/none.xml" --domain lv2 && has "--libvirt test://" "$LAST_ERR" &&
    run_vmm lvz 2 -- --domain lv2 && has "go together" "$LAST_ERR"
}
check "--libvirt URI --domain NAME through libvirt's test driver; unknown domains and URIs exit 2" t_libvirt

t_cli() {
    AROM_RUN_DIR=$WORK/run timeout 60 "$AROM_CLI" run --libvirt "$URI" --domain lv1 --hooks-dir off >"$WORK/o" 2>&1 &&
    has "lv1: started" "$WORK/o" &&
    AROM_RUN_DIR=$WORK/run timeout 30 "$AROM_CLI" --json status lv1 >"$WORK/o" &&
    jq -e '.vm.name == "lv1" and .tiering.dram_budget_bytes == 33554432' "$WORK/o" >/dev/null &&
    AROM_RUN_DIR=$WORK/run timeout 60 "$AROM_CLI" stop lv1 >/dev/null &&
    AROM_RUN_DIR=$WORK/run timeout 60 "$AROM_CLI" run --domain-xml "$WORK/kx1.xml" --hooks-dir off >"$WORK/o" 2>&1 &&
    has "kx1: started" "$WORK/o" && AROM_RUN_DIR=$WORK/run timeout 60 "$AROM_CLI" stop kx1 >/dev/null
}
check "arom run --libvirt/--domain and --domain-xml: named after the domain, registered" t_cli

# Hooks: a recording hook as DIR/arom and two in DIR/arom.d.
H=$WORK/hooks
mkdir -p "$H/arom.d"
recorder() {   # recorder NAME: a hook that logs its arguments and keeps its stdin
    printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\ncat >"%s/stdin.%s.$2"\n' "$1" "$WORK" "$WORK" "$1" >"$2"
    chmod +x "$2"
}
recorder main "$H/arom"
recorder b "$H/arom.d/20-b"
recorder a "$H/arom.d/10-a"
printf '#!/bin/sh\necho never >>"%s/calls"\n' "$WORK" >"$H/arom.d/30-not-executable"
printf '#!/bin/sh\necho never >>"%s/calls"\n' "$WORK" >"$H/arom.d/.hidden"
chmod +x "$H/arom.d/.hidden"
domain hk1 hello.elf "x=1" >"$WORK/hk1.xml"

t_hooks() {
    rm -f "$WORK/calls"
    run_vmm hk1 0 -- --domain-xml "$WORK/hk1.xml" --hooks-dir "$H" || return 1
    local want op
    want=$(for op in "prepare begin -" "start begin -" "started begin -" "stopped end -" "release end shutdown"; do
        for h in main a b; do echo "$h hk1 $op"; done; done)
    [ "$(cat "$WORK/calls")" = "$want" ] || { diff <(echo "$want") "$WORK/calls" | diag; return 1; }
    for op in prepare start started stopped release; do
        cmp -s "$WORK/hk1.xml" "$WORK/stdin.main.$op" && cmp -s "$WORK/hk1.xml" "$WORK/stdin.b.$op" ||
            { echo "stdin of $op is not the domain XML" | diag; return 1; }
    done
}
check "hooks: arom then arom.d/* in order, libvirt's arguments, the domain XML on stdin, every phase" t_hooks

t_hooks_cli_vm() {
    rm -f "$WORK/calls" "$WORK"/stdin.*
    run_vmm hk2 0 -- --name hk2 --mem 64M --hooks-dir "$H" "$P/hello.elf" a=b || return 1
    [ "$(grep -c '^main hk2 ' "$WORK/calls")" -eq 5 ] &&
    xmllint --nonet --xpath "string(/domain/name)" "$WORK/stdin.main.prepare" | grep -qx hk2 &&
    [ "$(xmllint --nonet --xpath "string(/domain/memory)" "$WORK/stdin.main.prepare")" = 67108864 ] &&
    [ "$(xmllint --nonet --xpath "string(/domain/os/cmdline)" "$WORK/stdin.main.prepare")" = a=b ]
}
check "a VM defined on the command line gives hooks a domain XML of its own" t_hooks_cli_vm

t_prepare_fails() {
    rm -f "$WORK/calls"
    printf '#!/bin/sh\n[ "$2" = prepare ] && { echo "no bridge br7 for $1" >&2; exit 4; }\nexit 0\n' >"$H/arom.d/15-fail"
    chmod +x "$H/arom.d/15-fail"
    run_vmm pf 1 -- --domain-xml "$WORK/hk1.xml" --hooks-dir "$H" && rm -f "$H/arom.d/15-fail" &&
    has "15-fail prepare: exited with status 4: no bridge br7 for hk1: the launch is aborted" "$LAST_ERR" &&
    ! grep -q "start begin" "$WORK/calls" && ! grep -q "hello from" "$LAST_OUT" &&
    grep -q "^b hk1 release end failed" "$WORK/calls"
}
check "a failing prepare hook aborts the launch with its stderr in the error; release still runs" t_prepare_fails

t_hook_hangs() {
    # the hook's child records its pid: it must die with the hook's process group
    printf '#!/bin/sh\n[ "$2" = start ] && { sleep 300 & echo $! >"%s/hang.pid"; wait; }\nexit 0\n' "$WORK" \
        >"$H/arom.d/15-hang"
    chmod +x "$H/arom.d/15-hang"
    local t0=$SECONDS
    run_vmm hh 1 -- --domain-xml "$WORK/hk1.xml" --hooks-dir "$H" --hook-timeout 1s
    local st=$?
    rm -f "$H/arom.d/15-hang"
    [ $st -eq 0 ] && has "15-hang start: timed out after 1 s (killed)" "$LAST_ERR" || return 1
    [ $((SECONDS - t0)) -lt 20 ] || { echo "took $((SECONDS - t0)) s" | diag; return 1; }
    # gone, or a zombie waiting for its new parent to reap it
    local pid state
    pid=$(cat "$WORK/hang.pid")
    sleep 0.2
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
    [ -z "$state" ] || [ "$state" = Z ] || { echo "the hook's child $pid survived (state $state)" | diag; return 1; }
}
check "a hanging hook is killed at its timeout and the launch aborted" t_hook_hangs

t_late_failure() {
    rm -f "$WORK/calls"
    printf '#!/bin/sh\n[ "$2" = stopped ] && { echo "inventory down" >&2; exit 1; }\nexit 0\n' >"$H/arom.d/15-late"
    chmod +x "$H/arom.d/15-late"
    run_vmm lf 0 -- --domain-xml "$WORK/hk1.xml" --hooks-dir "$H"
    local st=$?
    rm -f "$H/arom.d/15-late"
    [ $st -eq 0 ] && has "15-late stopped: exited with status 1: inventory down" "$LAST_ERR" &&
    grep -q "^b hk1 stopped end -" "$WORK/calls" && grep -q "^b hk1 release end shutdown" "$WORK/calls"
}
check "a failing stopped hook is logged; the other hooks and the teardown go on" t_late_failure

# The contrib hook for QEMU hosts, against a running aromd.
HOOK=$AROM_SRCDIR/contrib/libvirt/qemu-arom-hook
"$AROM_AROMD" --run-dir "$WORK/run" --listen "unix:$WORK/aromd.sock" --interval-ms 200 >"$WORK/aromd.out" 2>&1 &
AROMD_PID=$!
await_api "$WORK/aromd.sock" /v1/host $AROMD_PID "$WORK/aromd.out"
domain q1 hello.elf "" | sed "s/type='kvm'/type='qemu'/" >"$WORK/q1.xml"
t_contrib() {
    AROMD=unix:$WORK/aromd.sock AROM_HOOK_LOG=$WORK/hook.log "$HOOK" q1 started begin - <"$WORK/q1.xml" || return 1
    api "$WORK/aromd.sock" GET /v1/vms >/dev/null && conforms VmList openapi-aromd.yaml &&
    resp '.external == [{"name": "q1", "driver": "qemu", "uuid": "'"$(uuid q1)"'", "mem_bytes": 134217728}]' &&
    has "QEMU does not tier memory" "$WORK/hook.log" &&
    AROMD=unix:$WORK/aromd.sock AROM_HOOK_LOG=$WORK/hook.log "$HOOK" q1 release end - <"$WORK/q1.xml" &&
    api "$WORK/aromd.sock" GET /v1/vms >/dev/null && resp '.external == []'
}
check "contrib qemu hook: a QEMU domain with arom metadata is reported to aromd, with a warning; release forgets it" t_contrib

t_contrib_ignores() {
    sed '/arom:tiering/d' "$WORK/q1.xml" >"$WORK/q2.xml"
    AROMD=unix:$WORK/aromd.sock AROM_HOOK_LOG=$WORK/hook2.log "$HOOK" q2 started begin - <"$WORK/q2.xml" &&
    api "$WORK/aromd.sock" GET /v1/vms >/dev/null && resp '.external == []' && [ ! -s "$WORK/hook2.log" ] &&
    AROMD=127.0.0.1:1 AROM_HOOK_LOG=$WORK/hook3.log "$HOOK" q1 started begin - <"$WORK/q1.xml" &&
    has "did not take the report" "$WORK/hook3.log" &&
    AROMD=unix:$WORK/aromd.sock "$HOOK" q1 prepare begin - <"$WORK/q1.xml" &&
    api "$WORK/aromd.sock" GET /v1/vms >/dev/null && resp '.external == []'
}
check "contrib qemu hook: domains without the metadata and other phases are left alone; no aromd is not a failure" t_contrib_ignores
kill -TERM $AROMD_PID; wait $AROMD_PID
finish
