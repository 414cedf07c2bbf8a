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
           daemon, audit_failures, invariant_violations})}' "$1" | diag
    return 1
}

check() {   # check "description" command...
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}

finish() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}
