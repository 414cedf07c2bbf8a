#!/usr/bin/env bash
# The libFuzzer targets (TAP): per target, every seed of tests/fuzz/corpus/
# must pass, then a short fuzzing run from that corpus (FUZZ_SECONDS per
# target, default 15) must find nothing. New corpus entries and crash
# artifacts go to a scratch directory in /tmp (kept, and named, when a
# target fails), never into the source tree. No KVM needed.
# Environment (set by `make check`): AROM_FUZZ_BINDIR, AROM_HAVE_FUZZER,
# AROM_SRCDIR; FUZZ_SECONDS optional (`make check FUZZ_SECONDS=60`).
set -u
SRC=${AROM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/fuzz
BIN=${AROM_FUZZ_BINDIR:-$PWD/tests/fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-15}
TARGETS="hypercall options api host"

N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
todo() { N=$((N + 1)); echo "$1 $N - $2 # TODO $3"; }     # todo ok|"not ok" TEXT WHY
diag() { sed 's/^/# /'; }
finish() { echo "1..$N"; [ "$FAILED" -eq 0 ]; }

if [ "${AROM_HAVE_FUZZER:-no}" != yes ]; then
    echo "# ********************************************************"
    echo "# no clang with a working -fsanitize=fuzzer at configure time:"
    echo "# every fuzz test is SKIPPED (apt-get install clang libclang-rt-dev,"
    echo "# then re-run configure)"
    echo "# ********************************************************"
    for t in $TARGETS; do skip "fuzz-$t" "no libFuzzer (clang -fsanitize=fuzzer)"; done
    finish
    exit $?
fi

case $SECONDS_EACH in
'' | *[!0-9]*) not_ok "FUZZ_SECONDS='$SECONDS_EACH' is not a number of seconds"; finish; exit 1 ;;
esac

WORK=$(mktemp -d /tmp/arom-fuzz.XXXXXX)
KEEP=0
trap '[ "$KEEP" -eq 1 ] || rm -rf "$WORK"' EXIT

# libFuzzer's last status line (cov, ft, corp, exec/s) and final stats.
summary() {
    grep -E '^#[0-9]+[[:space:]]+DONE' "$1" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$1" | tr '\n' ' '
    echo
}

failure() {   # failure LOG: show why, keep the evidence
    KEEP=1
    grep -E 'INVARIANT VIOLATED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$1" |
        head -n 5 | diag
    tail -n 40 "$1" | diag
    ls "$WORK"/artifacts 2>/dev/null | sed "s|^|reproducer: $WORK/artifacts/|" | diag
    echo "log and artifacts kept in $WORK" | diag
}

mkdir -p "$WORK/artifacts"
for t in $TARGETS; do
    bin=$BIN/fuzz-$t
    corpus=$SRC/corpus/$t
    if [ ! -x "$bin" ]; then
        not_ok "fuzz-$t: $bin was not built"
        continue
    fi
    flags=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "-artifact_prefix=$WORK/artifacts/$t-")
    [ -f "$SRC/$t.dict" ] && flags+=("-dict=$SRC/$t.dict")

    # The seeds, each run once as a regression test.
    seeds=("$corpus"/*)
    if timeout -k 10 300 "$bin" "${flags[@]}" "${seeds[@]}" >"$WORK/$t-seeds.log" 2>&1; then
        ok "fuzz-$t: the ${#seeds[@]} seeds of corpus/$t pass"
    else
        not_ok "fuzz-$t: a seed of corpus/$t fails"
        failure "$WORK/$t-seeds.log"
        continue
    fi

    # A short run from the corpus; new entries go to the scratch dir.
    mkdir -p "$WORK/$t-corpus"
    if timeout -k 10 $((SECONDS_EACH + 120)) "$bin" "${flags[@]}" -max_total_time="$SECONDS_EACH" \
        "$WORK/$t-corpus" "$corpus" >"$WORK/$t-fuzz.log" 2>&1; then
        ok "fuzz-$t: ${SECONDS_EACH} s of fuzzing found nothing"
        summary "$WORK/$t-fuzz.log" | diag
    else
        not_ok "fuzz-$t: fuzzing found a problem within ${SECONDS_EACH} s"
        failure "$WORK/$t-fuzz.log"
    fi
done

# Known, still-open bugs (crashes/TARGET-*): expected failures (TAP TODO).
# A reproducer that stops failing is an unexpected pass: move it to the
# corpus (see crashes/README.md).
for f in "$SRC"/crashes/*; do
    [ -f "$f" ] || continue
    name=${f##*/}
    t=${name%%-*}
    [ "$name" = README.md ] && continue
    bin=$BIN/fuzz-$t
    if [ ! -x "$bin" ]; then
        not_ok "crashes/$name: no fuzz-$t to run it"
        continue
    fi
    if timeout -k 10 60 "$bin" -timeout=10 "$f" >"$WORK/known-$name.log" 2>&1; then
        todo ok "crashes/$name no longer fails: move it into corpus/$t" "known bug, see crashes/README.md"
    else
        todo "not ok" "crashes/$name still reproduces" "known bug, see crashes/README.md"
        grep -E 'INVARIANT VIOLATED|runtime error|ERROR:' "$WORK/known-$name.log" | head -n 2 | diag
    fi
done
finish
