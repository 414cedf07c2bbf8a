#!/usr/bin/env bash
# Unmodified Linux programs as guests (--linux) under real /dev/kvm: static
# glibc programs built here from tests/linux/, their output identical to a
# native run; a call arom does not serve is -ENOSYS and named in the stats;
# a pointer outside guest memory is -EFAULT; the file root cannot be left;
# a read-heavy SQLite program gives the same answers on tiered memory; bad
# programs are refused.
. "$(dirname "$0")/lib.sh"
SRC=$AROM_SRCDIR/tests/linux

require_kvm "Linux guest"
command -v gcc >/dev/null || { not_ok "gcc is not installed"; finish; exit 1; }

build() {   # build NAME [LIBS]: a static program from tests/linux/NAME.c
    gcc -static -O2 -o "$WORK/$1" "$SRC/$1.c" "${@:2}" 2>"$WORK/$1.cc" ||
        { echo "cannot build $1:" | diag; diag <"$WORK/$1.cc"; return 1; }
}
# native NAME ARGS...: the program on the host, in the environment a guest gets
native() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/ LANG=C.UTF-8 TERM=dumb "$@"; }
build hello && build files && build kvsql -lsqlite3 -lm && build threads -pthread && build clock &&
    build unixsock -pthread && build signals -pthread || { finish; exit 1; }

t_hello() {
    run_vmm hello 3 -- --linux --mem 64M --stats-json "$WORK/hello.json" "$WORK/hello" a "b c" || return 1
    native "$WORK/hello" a "b c" >"$WORK/hello.native"
    # the same, but for the call arom does not serve (natively acct(NULL) succeeds as root)
    diff <(grep -v '^acct:' "$WORK/hello.native") <(grep -v '^acct:' "$LAST_OUT") | diag
    [ "${PIPESTATUS[0]}" -eq 0 ] && has "acct: ENOSYS" "$LAST_OUT" && has "write(bad pointer): -1 EFAULT" "$LAST_OUT" &&
    cp "$LAST_OUT" "$WORK/hello.cli" || return 1
    # the same from a config file: "args" as an array keeps "b c" one argument
    printf '{"linux": true, "mem": "64M", "payload": "%s", "args": ["a", "b c"]}' "$WORK/hello" >"$WORK/hello.cfg"
    run_vmm hello-cfg 3 -- --config "$WORK/hello.cfg" && cmp -s "$WORK/hello.cli" "$LAST_OUT" ||
        { diff "$WORK/hello.cli" "$LAST_OUT" | diag; return 1; }
}
check "a static glibc program runs unmodified: arguments, environment, heap, exit status; output as native; the same from --config (args array)" t_hello

t_stats() {
    json_check "$WORK/hello.json" '.linux.exit_status == 3 and .linux.syscalls > 10 and .linux.enosys >= 1
        and .linux.unsupported["?(163)"] == 1 and .linux.efault == 1 and .exit_status == 3' &&
    has "system call ? (163) is not supported" "$LAST_ERR"
}
check "an unsupported call is -ENOSYS, counted and named in the stats; a bad pointer -EFAULT" t_stats

mkdir -p "$WORK/root/sub"
echo "hello file" >"$WORK/root/data.txt"
ln -s /etc/passwd "$WORK/root/escape"
t_files() {
    run_vmm files 0 -- --linux --mem 64M --linux-root "$WORK/root" "$WORK/files" || return 1
    has 'open /data.txt: ok "hello file"' "$LAST_OUT" && has 'open data.txt: ok "hello file"' "$LAST_OUT" &&
    has "open /../../../../etc/passwd: No such file or directory" "$LAST_OUT" &&
    has "open /escape: No such file or directory" "$LAST_OUT" &&
    has "open /new.txt: Read-only file system" "$LAST_OUT" && has "stat /data.txt: ok size 11" "$LAST_OUT" &&
    has "entries in /: 3" "$LAST_OUT" && [ ! -e "$WORK/root/new.txt" ] &&
    run_vmm files-rw 0 -- --linux --mem 64M --linux-root "$WORK/root" --linux-root-rw "$WORK/files" &&
    has 'open /new.txt: ok ""' "$LAST_OUT" && [ -e "$WORK/root/new.txt" ] &&
    run_vmm files-none 0 -- --linux --mem 64M "$WORK/files" && has "open /data.txt: No such file or directory" "$LAST_OUT"
}
check "files: only under --linux-root, read-only by default; '..' and symlinks cannot leave it" t_files

t_sqlite() {
    native "$WORK/kvsql" 600000 3000000 >"$WORK/kvsql.native" 2>/dev/null &&
    run_vmm kvsql 0 -- --linux --mem 256M --dram-budget 25% --epoch-ms 200 --stats-json "$WORK/kvsql.json" \
        "$WORK/kvsql" 600000 3000000 &&
    cmp -s "$WORK/kvsql.native" "$LAST_OUT" || { diff "$WORK/kvsql.native" "$LAST_OUT" | diag; return 1; }
    json_check "$WORK/kvsql.json" '.tiering.demotions > 0 and .tiering.audit_failures == 0
        and .tiering.invariant_violations == 0 and .linux.exit_status == 0'
}
check "SQLite (Debian's libsqlite3, static): a read-heavy query run on tiered memory answers as native" t_sqlite

t_threads() {
    native "$WORK/threads" >"$WORK/threads.native" &&
    run_vmm threads 0 -- --linux --vcpus 4 --mem 64M --dram-budget 50% --churn-ms 5 --stats-json "$WORK/th.json" \
        "$WORK/threads" &&
    cmp -s "$WORK/threads.native" "$LAST_OUT" || { diff "$WORK/threads.native" "$LAST_OUT" | diag; return 1; }
    json_check "$WORK/th.json" '.tiering.audit_failures == 0 and .tiering.invariant_violations == 0' &&
    run_vmm threads1 4 -- --linux --vcpus 2 --mem 64M "$WORK/threads" && has "pthread_create: Resource temporarily unavailable" "$LAST_OUT"
}
check "threads: clone on vCPUs of their own, a contended mutex (futex), join; output as native under tiering churn; too few vCPUs: EAGAIN" t_threads

t_signals() {
    local m
    for m in basic async; do
        native "$WORK/signals" $m >"$WORK/sig.$m.native" &&
        run_vmm sig-$m 0 -- --linux --vcpus 4 --mem 64M --dram-budget 50% --churn-ms 5 --stats-json "$WORK/sig.$m.json" \
            "$WORK/signals" $m || return 1
        cmp -s "$WORK/sig.$m.native" "$LAST_OUT" || { diff "$WORK/sig.$m.native" "$LAST_OUT" | diag; return 1; }
    done
    json_check "$WORK/sig.basic.json" '.linux.signals_delivered == 5' &&
    json_check "$WORK/sig.async.json" '.linux.signals_delivered == 22 and .tiering.audit_failures == 0' &&
    # default actions: killed, 128 + the signal, as a shell reports it
    run_vmm sig-pipe 141 -- --linux --mem 64M --stats-json "$WORK/sig.pipe.json" "$WORK/signals" pipe &&
    has "terminated by signal SIGPIPE (13)" "$LAST_ERR" && ! grep -q "still alive" "$LAST_OUT" &&
    json_check "$WORK/sig.pipe.json" '.linux.terminated_by == "PIPE" and .exit_status == 141' &&
    run_vmm sig-abort 134 -- --linux --mem 64M "$WORK/signals" abort && has "SIGABRT (6)" "$LAST_ERR"
}
check "signals: handlers with siginfo/ucontext, masks, SIGPIPE, sigaltstack, a computing thread's SSE state kept, SA_RESTART; output as native; default actions kill (141, 134)" t_signals

# await_line FILE TEXT: wait (10 s) for a line of a running program's output.
await_line() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; diag <"$1"; return 1; }

t_signals_host() {
    local pid st
    "$AROM_VMM" --linux --mem 64M "$WORK/signals" host >"$WORK/sigh.out" 2>"$WORK/sigh.err" &
    pid=$!
    await_line "$WORK/sigh.out" '^ready' && kill -HUP $pid &&
    await_line "$WORK/sigh.out" 'read: EINTR (SIGHUP 1, SIGTERM 0)' && kill -TERM $pid || { kill -9 $pid; return 1; }
    wait $pid
    st=$?
    [ $st -eq 0 ] && has "SIGTERM handled: exiting" "$WORK/sigh.out" && has "signal 15: passed to the program" "$WORK/sigh.err" ||
        { echo "exit $st" | diag; diag <"$WORK/sigh.err"; return 1; }
    # a program without a handler: SIGTERM's default ends it (143)
    "$AROM_VMM" --linux --mem 64M --stats-json "$WORK/sigw.json" "$WORK/signals" wait >"$WORK/sigw.out" 2>&1 &
    pid=$!
    await_line "$WORK/sigw.out" '^waiting' && kill -TERM $pid || { kill -9 $pid; return 1; }
    wait $pid
    st=$?
    [ $st -eq 143 ] && json_check "$WORK/sigw.json" '.linux.terminated_by == "TERM"' || { echo "exit $st" | diag; return 1; }
}
check "the host's SIGHUP and SIGTERM reach the program's handlers (a blocking read returns EINTR), it exits 0 on its own; without a handler: 143" t_signals_host

# The API's shutdown (arom stop): SIGTERM to a program that handles it, which
# then exits on its own; one without a handler is stopped at once.
t_signals_shutdown() {
    local pid st
    "$AROM_VMM" --linux --mem 64M --api-sock "$WORK/sigs.sock" "$WORK/signals" host >"$WORK/sigs.out" 2>"$WORK/sigs.err" &
    pid=$!
    await_line "$WORK/sigs.out" '^ready' && await_api "$WORK/sigs.sock" /v1/vm $pid "$WORK/sigs.err" &&
    expect_status 202 "$WORK/sigs.sock" PUT /v1/actions '{"action": "shutdown"}' || { kill -9 $pid; return 1; }
    wait $pid
    st=$?
    [ $st -eq 0 ] && has "SIGTERM handled: exiting" "$WORK/sigs.out" && has "SIGTERM to the program" "$WORK/sigs.err" ||
        { echo "exit $st" | diag; diag <"$WORK/sigs.err"; return 1; }
    "$AROM_VMM" --linux --mem 64M --api-sock "$WORK/sigw.sock" "$WORK/signals" wait >"$WORK/sigw2.out" 2>&1 &
    pid=$!
    await_line "$WORK/sigw2.out" '^waiting' && await_api "$WORK/sigw.sock" /v1/vm $pid "$WORK/sigw2.out" &&
    expect_status 202 "$WORK/sigw.sock" PUT /v1/actions '{"action": "shutdown"}' || { kill -9 $pid; return 1; }
    wait $pid
    st=$?
    [ $st -eq 0 ] && has "shutdown requested: stopping the VM" "$WORK/sigw2.out" || { echo "exit $st" | diag; return 1; }
}
check "the API's shutdown: SIGTERM to a program that handles it, which exits on its own (0); without a handler: stopped at once (0)" t_signals_shutdown

# Servers from Debian, reachable from the host on loopback.
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
until_ok() { local n=$(($1 * 5)); shift; for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; "$@"; }

t_redis() {
    command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
        { echo "redis-server/redis-tools are not installed (scripts/bootstrap.sh installs them)" | diag; return 1; }
    local port pid
    port=$(free_port)
    timeout -k 5 120 "$AROM_VMM" --linux --vcpus 6 --mem 512M --dram-budget 50% --epoch-ms 200 --linux-root / \
        --stats-json "$WORK/redis.json" "$(command -v redis-server)" --port "$port" --save "" --appendonly no \
        >"$WORK/redis.out" 2>"$WORK/redis.err" &
    pid=$!
    until_ok 30 redis-cli -p "$port" ping || { diag <"$WORK/redis.out"; diag <"$WORK/redis.err"; kill $pid; return 1; }
    [ "$(redis-cli -p "$port" set arom tiered)" = OK ] && [ "$(redis-cli -p "$port" get arom)" = tiered ] &&
    redis-benchmark -p "$port" -t set,get -n 2000 -r 1000 -d 64 -P 8 -q >"$WORK/rb.out" 2>&1 &&
    grep -q "GET: [0-9.]* requests per second" "$WORK/rb.out" || { diag <"$WORK/rb.out"; kill $pid; return 1; }
    sleep 2                     # epochs past the start (every vCPU thread busy setting up)
    kill -TERM $pid             # redis' own handler: a clean shutdown, exit 0
    wait $pid
    local st=$?
    [ $st -eq 0 ] && has "Received SIGTERM scheduling shutdown" "$WORK/redis.out" &&
        has "ready to exit, bye bye" "$WORK/redis.out" || { echo "arom-vmm exited $st" | diag; diag <"$WORK/redis.err"; return 1; }
    # 6 vCPUs, one busy thread: the guard's share is of the vCPU time in use, not of six
    json_check "$WORK/redis.json" '.linux.syscalls > 1000 and .tiering.audit_failures == 0 and .linux.exit_status == 0
        and .tiering.daemon.epochs > 0 and .tiering.daemon.guard.vcpus_in_use >= 1 and .tiering.daemon.guard.vcpus_in_use < 3'
}
check "Debian's redis-server in a VM with a DRAM budget: reachable from the host (redis-cli, redis-benchmark); SIGTERM: its own clean shutdown; the guard counts the vCPUs in use" t_redis

t_memcached() {
    command -v memcached >/dev/null || { echo "memcached is not installed (scripts/bootstrap.sh installs it)" | diag; return 1; }
    local port pid
    port=$(free_port)
    timeout -k 5 60 "$AROM_VMM" --linux --vcpus 12 --mem 192M --linux-root / --stats-json "$WORK/mc.json" \
        "$(command -v memcached)" -p "$port" -U 0 -l 127.0.0.1 -u root -m 32 -t 2 -v >"$WORK/mc.out" 2>"$WORK/mc.err" &
    pid=$!
    mc() {      # mc REQUEST: send it, print the reply up to its last line (END, VERSION ...)
        "$PY" - "$port" "$1" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
data = b""
while not (data.endswith(b"END\r\n") or data.startswith(b"VERSION")):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
PYEOF
    }
    until_ok 30 mc 'version\r\n' || { diag <"$WORK/mc.err"; kill $pid; return 1; }
    mc 'set k 0 0 5\r\nhello\r\nget k\r\n' >"$WORK/mc.reply"
    kill -TERM $pid
    wait $pid
    local st=$?
    grep -q "^STORED" "$WORK/mc.reply" && grep -q "^hello" "$WORK/mc.reply" || { diag <"$WORK/mc.reply"; return 1; }
    [ $st -eq 0 ] && has "Exiting normally" "$WORK/mc.err" || { echo "arom-vmm exited $st" | diag; diag <"$WORK/mc.err"; return 1; }
    json_check "$WORK/mc.json" '.linux.signals_delivered >= 1'
}
check "Debian's memcached (threads, epoll, sockets) in a VM: set and get from the host; SIGTERM: its own exit, 0" t_memcached

# --linux-calls ring (PVM): the same programs, the calls served through the ring.
t_ring() {
    native "$WORK/threads" >"$WORK/threads.native" &&
    run_vmm ring-th 0 -- --linux --linux-calls ring --vcpus 4 --mem 64M --dram-budget 50% --churn-ms 5 "$WORK/threads" &&
    cmp -s "$WORK/threads.native" "$LAST_OUT" || { diff "$WORK/threads.native" "$LAST_OUT" | diag; return 1; }
    run_vmm ring-sig 0 -- --linux --linux-calls ring --vcpus 4 --mem 64M "$WORK/signals" async &&
    cmp -s "$WORK/sig.async.native" "$LAST_OUT" || { diff "$WORK/sig.async.native" "$LAST_OUT" | diag; return 1; }
    command -v redis-server >/dev/null || { echo "redis-server is not installed" | diag; return 1; }
    local port pid st
    port=$(free_port)
    timeout -k 5 120 "$AROM_VMM" --linux --linux-calls ring --vcpus 6 --mem 256M --dram-budget 50% --linux-root / \
        --stats-json "$WORK/ring.json" "$(command -v redis-server)" --port "$port" --save "" --appendonly no \
        >"$WORK/ring.out" 2>"$WORK/ring.err" &
    pid=$!
    until_ok 30 redis-cli -p "$port" ping || { diag <"$WORK/ring.err"; kill $pid; return 1; }
    redis-benchmark -p "$port" -t set,get -n 5000 -r 1000 -d 64 -P 8 -q >"$WORK/ringb.out" 2>&1 &&
    [ "$(redis-cli -p "$port" set arom ring)" = OK ] && [ "$(redis-cli -p "$port" get arom)" = ring ] ||
        { diag <"$WORK/ringb.out"; kill $pid; return 1; }
    kill -TERM $pid
    wait $pid
    st=$?
    [ $st -eq 0 ] || { echo "arom-vmm exited $st" | diag; diag <"$WORK/ring.err"; return 1; }
    # How many calls the ring takes depends on the host (a poller that slept
    # sends them back to the exit; 2-3k of ~7k here when quiet): that it
    # serves them is the test, the share is bench/linux-redis.sh --calls ring's.
    json_check "$WORK/ring.json" '.linux.calls_path == "ring" and .linux.ring_calls >= 100 and .tiering.audit_failures == 0'
}
check "--linux-calls ring: threads under churn and signals as native; redis served through the ring" t_ring

t_vdso() {
    run_vmm clock 0 -- --linux --mem 64M --stats-json "$WORK/clock.json" "$WORK/clock" || return 1
    json_check "$WORK/clock.json" '.linux.syscalls < 1000' || return 1
    # the time the guest read agrees with the host's (within 5 s)
    local t
    t=$(sed -n 's/.*time() \([0-9]*\) vs gettimeofday \([0-9]*\)$/\1 \2/p' "$LAST_OUT")
    set -- $t
    [ -n "${1:-}" ] && [ "$1" -le "$2" ] && [ $(( $(date +%s) - $1 )) -lt 5 ] ||
        { echo "guest time '$t' vs host $(date +%s)" | diag; return 1; }
    # over 3 s the VMM refills the clock page each second: the vDSO stays with the kernel's clock
    run_vmm clock3 0 -- --linux --mem 64M --stats-json "$WORK/clock3.json" "$WORK/clock" 3 &&
    has "3 s: never backwards, vDSO within 1 ms of the system call: yes" "$LAST_OUT" &&
    json_check "$WORK/clock3.json" '.linux.vdso_clock_fills >= 3'
}
check "the vDSO: the clock is read without a VM exit (200000 calls, < 1000 system calls), agrees with the host, and stays with it over 3 s (refilled each second)" t_vdso

t_unix() {
    mkdir -p "$WORK/uroot/in"
    run_vmm unix 0 -- --linux --vcpus 2 --mem 64M --linux-root "$WORK/uroot/in" --linux-root-rw "$WORK/unixsock" /s.sock &&
    has "server got ping" "$LAST_OUT" && has "client got pong" "$LAST_OUT" && [ -S "$WORK/uroot/in/s.sock" ] &&
    has "bind /../../dotdot.sock: ok" "$LAST_OUT" && [ -S "$WORK/uroot/in/dotdot.sock" ] && [ ! -e "$WORK/dotdot.sock" ] &&
    has "bind abstract: Invalid argument" "$LAST_OUT" &&
    run_vmm unix-ro 1 -- --linux --vcpus 2 --mem 64M --linux-root "$WORK/uroot/in" "$WORK/unixsock" /t.sock &&
    has "bind: Read-only file system" "$LAST_OUT"
}
check "unix sockets: by path inside the root ('..' stays inside; a bind needs --linux-root-rw), the abstract namespace refused" t_unix

t_refused() {
    printf 'not an elf' >"$WORK/junk"; chmod +x "$WORK/junk"
    run_vmm junk 2 -- --linux "$WORK/junk" || return 1
    run_vmm dyn 2 -- --linux /usr/bin/sqlite3 :memory: && has "give --linux-root" "$LAST_ERR" &&
    run_vmm root 2 -- --linux --linux-root "$WORK/nonexistent" "$WORK/hello" && has "--linux-root" "$LAST_ERR" &&
    run_vmm noroot 2 -- --linux-root "$WORK/root" "$AROM_PAYLOADS/hello.elf" && has "go with --linux" "$LAST_ERR" &&
    run_vmm calls 2 -- --linux --linux-calls fast "$WORK/hello" && has "is not exit or ring" "$LAST_ERR"
}
check "refused with exit 2: not an ELF, a dynamic program without a root for its libraries, a bad root, --linux-root alone" t_refused

# Debian's own sqlite3: dynamically linked and position-independent; its
# interpreter and libraries are read (read-only) from the host's root.
t_debian_sqlite3() {
    command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed (scripts/bootstrap.sh installs it)" | diag; return 1; }
    local script=$SRC/readheavy.sql
    native sqlite3 :memory: ".read $script" >"$WORK/sq.native" 2>&1 || return 1
    run_vmm sq 0 -- --linux --mem 256M --dram-budget 25% --linux-root / --stats-json "$WORK/sq.json" \
        "$(command -v sqlite3)" :memory: ".read $script" || return 1
    cmp -s "$WORK/sq.native" "$LAST_OUT" || { diff "$WORK/sq.native" "$LAST_OUT" | diag; return 1; }
    [ "$(wc -l <"$LAST_OUT")" -ge 10 ] &&
    json_check "$WORK/sq.json" '.linux.exit_status == 0 and .linux.syscalls > 100 and .tiering.audit_failures == 0'
}
check "Debian's sqlite3 binary (dynamic, PIE) runs a read-heavy script on an in-memory database: output identical to native" t_debian_sqlite3
finish
