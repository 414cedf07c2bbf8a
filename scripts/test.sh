#!/usr/bin/env bash
# Build and run every test: unit tests (CUnit) and /dev/kvm integration
# tests, once in a normal build and once under ASan+UBSan. Ends with
# "N passed, N failed" counting every test case of both runs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0 skipped=0 status=0

run_suite() {   # run_suite NAME BUILD_DIR [configure args]
    local name=$1 dir=$2; shift 2
    echo "=== $name: build ($dir)"
    if ! BUILD_DIR="$dir" "$top/scripts/bootstrap.sh" "$@"; then
        echo "=== $name: BUILD FAILED"
        failed=$((failed + 1)); status=1; return
    fi
    echo "=== $name: make check"
    make -s -C "$dir" check || status=1
    local p f s
    p=$(cat "$dir"/tests/*/*.trs 2>/dev/null | grep -c '^:test-result: PASS')
    f=$(cat "$dir"/tests/*/*.trs 2>/dev/null | grep -cE '^:test-result: (FAIL|ERROR|XPASS)')
    s=$(cat "$dir"/tests/*/*.trs 2>/dev/null | grep -c '^:test-result: SKIP')
    [ -f "$dir/test-suite.log" ] && [ "$f" -gt 0 ] && sed -n '/^FAIL\|^ERROR\|^not ok/p' "$dir"/tests/*/*.log | head -40
    echo "=== $name: $p passed, $f failed, $s skipped"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    [ "$f" -eq 0 ] || status=1
}

run_suite "default build" "$top/build"
[ "${AROM_SKIP_SANITIZERS:-0}" = 1 ] || run_suite "ASan+UBSan build" "$top/build-san" --enable-sanitizers

echo "$passed passed, $failed failed, $skipped skipped"
exit $status
