# TAP helpers for the /dev/kvm integration tests (sourced).
# Environment (set by `make check`): AROM_VMM, AROM_PAYLOADS, AROM_SRCDIR.
set -u
: "${AROM_VMM:?run through make check}"
: "${AROM_PAYLOADS:?run through make check}"

TAP_N=0
TAP_FAILED=0
WORK=$(mktemp -d /tmp/arom-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }

# KVM must be usable; a missing /dev/kvm skips loudly, a broken one fails.
kvm_state() {
    if [ ! -e /dev/kvm ]; then echo missing; return; fi
    if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then echo unusable; return; fi
    echo present
}

# Skip the whole script loudly without /dev/kvm; fail if it exists but is unusable.
require_kvm() {   # require_kvm WHAT
    case $(kvm_state) in
    missing)
        echo "# ********************************************************"
        echo "# /dev/kvm is missing: every $1 test is SKIPPED"
        echo "# ********************************************************"
        skip "$1" "no /dev/kvm on this host"
        finish; exit $? ;;
    unusable)
        not_ok "/dev/kvm exists but is not readable and writable by $(id -un)"
        finish; exit $? ;;
    esac
}

# run NAME EXPECTED_STATUS -- arom-vmm args...: runs the VMM with a timeout,
# keeps stdout/stderr in $WORK/NAME.{out,err}, checks the exit status.
run_vmm() {
    local name=$1 want=$2; shift 3
    timeout -k 5 "${AROM_TEST_TIMEOUT:-120}" "$AROM_VMM" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    local got=$?
    LAST_OUT="$WORK/$name.out"
    LAST_ERR="$WORK/$name.err"
    if [ "$got" -eq "$want" ]; then
        return 0
    fi
    echo "exit status $got, expected $want; stdout/stderr:" | diag
    tail -n 20 "$LAST_OUT" "$LAST_ERR" | diag
    return 1
}

# expect TEXT FILE: fixed-string match, diagnostics on failure.
has() {
    if grep -qF -- "$1" "$2"; then return 0; fi
    echo "missing '$1' in $(basename "$2"):" | diag
    tail -n 20 "$2" | diag
    return 1
}

# json_check FILE EXPR: the jq expression must hold on a stats JSON file.
json_check() {
    if jq -e "$2" "$1" >/dev/null; then return 0; fi
    echo "stats check failed: $2" | diag
    jq -c '{metrics, tiering: (.tiering // {} | {promotions, demotions, pages, faults, tokens, mappings,
           daemon, audit_failures, invariant_violations}), linux}' "$1" | diag
    return 1
}

check() {   # check "description" command...
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# HTTP checks (api.sh, aromd.sh, cli.sh), with curl and Debian's python3.
PY=/usr/bin/python3             # where python3-prometheus-client, -yaml and -jsonschema live
# api TARGET METHOD PATH [BODY]: TARGET a unix socket path or a base URL
# (http://127.0.0.1:PORT); prints the HTTP status; the body lands in
# $WORK/resp, the headers in $WORK/hdr.
api() {
    local target=$1 method=$2 path=$3 base=http://localhost
    local args=(-s -o "$WORK/resp" -D "$WORK/hdr" -w '%{http_code}' --max-time 20 -X "$method")
    case $target in http://*) base=$target ;; *) args+=(--unix-socket "$target") ;; esac
    [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    curl "${args[@]}" "$base$path"
}
# expect_status WANT SOCK METHOD PATH [BODY]: the status, and for errors an
# {"error": "..."} body.
expect_status() {
    local want=$1; shift
    local got
    got=$(api "$@")
    if [ "$got" != "$want" ]; then
        echo "$2 $3: status $got, expected $want; body: $(head -c 300 "$WORK/resp")" | diag
        return 1
    fi
    [ "$want" -lt 400 ] || jq -e '.error | type == "string" and length > 0' "$WORK/resp" >/dev/null ||
        { echo "$2 $3: no error message in $(head -c 300 "$WORK/resp")" | diag; return 1; }
}
# conforms SCHEMA [DOC]: $WORK/resp validates against the schema of
# docs/DOC (default openapi.yaml).
conforms() {
    "$PY" - "$AROM_SRCDIR/docs/${2:-openapi.yaml}" "$1" "$WORK/resp" <<'EOF' 2>&1 | diag
import json, sys, yaml, jsonschema
doc = yaml.safe_load(open(sys.argv[1]))
schema = {"$ref": "#/components/schemas/" + sys.argv[2], "components": doc["components"]}
jsonschema.validate(json.load(open(sys.argv[3])), schema, format_checker=jsonschema.FormatChecker())
EOF
    [ "${PIPESTATUS[0]}" -eq 0 ]
}
resp() { jq -e "$1" "$WORK/resp" >/dev/null || { echo "check failed: $1 on $(head -c 400 "$WORK/resp")" | diag; return 1; }; }

# await_api TARGET PATH PID LOG [JQ]: poll TARGET's PATH (10 s) until it
# answers 200 (and $WORK/resp holds JQ); fails early, showing LOG, when
# PID exits.
await_api() {
    for _ in $(seq 100); do
        [ "$(api "$1" GET "$2" 2>/dev/null)" = 200 ] && jq -e "${5:-.}" "$WORK/resp" >/dev/null 2>&1 && return 0
        kill -0 "$3" 2>/dev/null || break
        sleep 0.1
    done
    echo "$1 did not answer $2" | diag
    diag <"$4"
    return 1
}

# nobody_refused SOCK PATH: as user nobody, curl cannot connect to the
# unix socket SOCK (exit 7); passes trivially when not run as root.
nobody_refused() {
    [ "$(id -u)" = 0 ] || return 0
    setpriv --reuid=65534 --regid=65534 --clear-groups curl -s --max-time 5 --unix-socket "$1" "http://localhost$2" \
        >/dev/null 2>&1
    local st=$?     # 7: could not connect (permission denied)
    [ $st -eq 7 ] || { echo "curl as nobody exited $st, expected 7" | diag; return 1; }
}

# man_documents PAGE WORD...: man/PAGE has a ".B WORD" line for each
# (an option or a command), WORD's dashes escaped as roff wants them.
man_documents() {
    local man=$AROM_SRCDIR/man/$1 missing="" w; shift
    for w in "$@"; do
        awk -v b=".B $(echo "$w" | sed 's/-/\\\\-/g')" \
            '$0 == b || index($0, b " ") == 1 || index($0, b "\\") == 1 {f = 1} END {exit !f}' "$man" ||
            missing="$missing $w"
    done
    [ -z "$missing" ] || { echo "not in man/$(basename "$man"):$missing" | diag; return 1; }
}

finish() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}
