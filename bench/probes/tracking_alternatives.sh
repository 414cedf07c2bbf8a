#!/usr/bin/env bash
# Runs tracking_alternatives.c in every mode, store share and epoch length, back to back,
# and prints one table (ops/s relative to the no-tracking baseline of the same repetition
# and store share, KVM page faults/s, the implied µs lost per fault, harvest/re-arm cost).
#
#   bench/probes/tracking_alternatives.sh [--reps N] [--seconds S] [--quick] [--perf] [--out DIR]
#
# --quick: one repetition, 5% stores, 1000 ms epochs only.  --perf: also record
# `perf stat -e 'kvm:*,kvmmmu:*'`, a tracepoint timeline and `perf record -g` of the
# vCPU thread for the dirty-log mode at 5% stores (needs perf).  Run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
reps=2 secs=5 quick=0 doperf=0 out=""
while [ $# -gt 0 ]; do
    case $1 in
        --reps) reps=$2; shift 2 ;;
        --seconds) secs=$2; shift 2 ;;
        --quick) quick=1; reps=1; shift ;;
        --perf) doperf=1; shift ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--reps N] [--seconds S] [--quick] [--perf] [--out DIR]" >&2; exit 2 ;;
    esac
done
out=${out:-/tmp/tracking_alternatives.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
bin=$out/tracking_alternatives
gcc -O2 -pthread -Wall -Wextra -std=gnu11 -I"$here/../.." -o "$bin" "$here/tracking_alternatives.c"
res=$out/results.txt
: > "$res"
echo "results in $out" >&2

stores="0 5 50" epochs="1000 200"
[ $quick = 1 ] && stores="5" epochs="1000"
# mode and K pairs (K only matters for the *sub and uffdsync modes)
modes="dlget:0 dl:0 dlinit:0 dlsub:1024 dlsub:8192 dlsub:32768 uffd:0 uffdsub:1024 uffdsub:8192 uffdsub:32768 softdirty:0 uffdsync:256 uffdsync:1024"

runone() { # rep, then probe args
    local rep=$1; shift
    local line
    line=$("$bin" --seconds "$secs" "$@" 2>&1 | grep '^RESULT' || true)
    [ -n "$line" ] || line="RESULT error=\"no output\" args=\"$*\""
    echo "$line rep=$rep" | tee -a "$res" | cut -c1-160 >&2
}

t_start=$(date +%s)
for rep in $(seq 1 "$reps"); do
    for s in $stores; do
        runone "$rep" --mode none --store "$s"
        for e in $epochs; do
            for mk in $modes; do
                m=${mk%%:*} k=${mk##*:}
                [ "$k" = 0 ] && k=8192
                runone "$rep" --mode "$m" --store "$s" --epoch-ms "$e" --k "$k"
            done
        done
        runone "$rep" --mode none --store "$s"
    done
    # sequential stores vs random, the dirty log's per-fault cost; A/D bits clear as arom builds them
    runone "$rep" --mode none --store 5 --seq
    runone "$rep" --mode dl --store 5 --seq
    runone "$rep" --mode dl --store 5 --no-ad
    # a bare exit for reference: an I/O exit to user space every 1024 guest ops
    runone "$rep" --mode none --store 5 --io-every 1024
done
t_end=$(date +%s)
echo "benchmark time: $((t_end - t_start)) s" >&2

if [ $doperf = 1 ]; then
    pf=$out/perf
    mkdir -p "$pf"
    for what in stat timeline record; do
        rm -f "$pf/pid"
        "$bin" --mode dl --store 5 --seconds 5 --warm 2 --pidfile "$pf/pid" > "$pf/$what.result" 2>&1 &
        bg=$!
        while [ ! -s "$pf/pid" ]; do sleep 0.1; done
        read -r pid tid < "$pf/pid"
        case $what in
            stat) perf stat -e 'kvm:*,kvmmmu:*,irq_vectors:*,tlb:*' -t "$tid" -- sleep 3 2> "$pf/stat.txt" || true ;;
            timeline) perf record -q -e kvmmmu:kvm_mmu_pagetable_walk -e kvmmmu:kvm_mmu_set_spte -t "$tid" \
                          -o "$pf/timeline.data" -- sleep 0.5 > /dev/null 2>&1 || true ;;
            record) perf record -q -F 4999 -g -e cpu-clock -t "$tid" -o "$pf/record.data" -- sleep 3 \
                        > /dev/null 2>&1 || true ;;
        esac
        wait "$bg" || true
    done
    grep -v '^ *0 ' "$pf/stat.txt" | grep -E '^ *[0-9]' > "$pf/stat.nonzero.txt" || true
    echo "--- perf stat (dirty log, 5% stores, vCPU thread, 3 s; non-zero counters)"
    cat "$pf/stat.nonzero.txt"
    echo "--- per-fault timeline from kvmmmu tracepoints (walk = fault entry in KVM's MMU, set_spte = fixed)"
    perf script -i "$pf/timeline.data" -F time,event 2> /dev/null | awk '
        { t = $1; sub(":", "", t); t *= 1e6
          if ($2 ~ /walk/) { if (ls) { g = t - ls; sg += g; n++; G[g < 20 ? 0 : g < 25 ? 1 : g < 30 ? 2 : g < 50 ? 3 : 4]++ } lw = t }
          else { sh += t - lw; m++; ls = t } }
        END { if (m && n) {
                printf "faults %d; in the MMU handler (walk -> set_spte) %.2f us mean; set_spte -> next fault %.2f us mean\n", m, sh / m, sg / n
                printf "set_spte -> next fault: <20us %d, 20-25 %d, 25-30 %d, 30-50 %d, >50 %d\n", G[0], G[1], G[2], G[3], G[4] } }'
    echo "--- perf record -g, vCPU thread, cpu-clock (top symbols)"
    perf report -i "$pf/record.data" --no-children --stdio --sort sym -g none 2> /dev/null | grep '%' | head -15
fi

python3 - "$res" <<'EOF'
import sys, re, collections, statistics as st
rows = []
for line in open(sys.argv[1]):
    d = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
    rows.append(d)
def f(d, k): return float(d.get(k, 'nan'))
base = collections.defaultdict(list)  # (rep, store, seq, io) -> ops
for d in rows:
    if d.get('mode') == 'none' and 'ops_per_s' in d and d.get('io_exits_per_s', '0') == '0':
        base[(d['rep'], d['store'], d['seq'])].append(f(d, 'ops_per_s'))
groups = collections.OrderedDict()
for d in rows:
    if 'ops_per_s' not in d:
        key = (d.get('mode', '?'), d.get('k', ''), d.get('store', ''), d.get('epoch_ms', ''), 'error')
        groups.setdefault(key, []).append(d); continue
    var = ('seq' if d['seq'] == '1' else '') + ('noad' if d['ad'] == '0' else '') + ('io' if f(d, 'io_exits_per_s') > 0 else '')
    key = (d['mode'], d['k'] if d['mode'] in ('dlsub', 'uffdsub', 'uffdsync') else '', d['store'], d['epoch_ms'], var)
    groups.setdefault(key, []).append(d)
def rng(v, fmt):
    v = [x for x in v if x == x]
    if not v: return '-'
    if len(v) == 1: return fmt % v[0]
    return (fmt % min(v)) + '..' + (fmt % max(v))
print()
print('%-9s %6s %5s %5s %-5s | %-13s | %-11s | %-17s | %-9s %-9s | %-9s %-9s %-7s | %s' % (
    'mode', 'K', 'st%', 'ep', 'var', 'ops/s rel', 'Mops/s', 'KVM faults/s', 'us/fault', 'us/pg_rt',
    'harv ms', 'rearm ms', 'max ms', 'rearmed/ep  notes'))
for key, ds in groups.items():
    mode, k, store, ep, var = key
    if var == 'error':
        print('%-9s %6s %5s %5s  ERROR %s' % (mode, k, store, ep, ds[0].get('error', '') + ' errno=' + ds[0].get('errno', '')))
        continue
    rel, ops, pf, usf, usr = [], [], [], [], []
    for d in ds:
        b = base.get((d['rep'], d['store'], d['seq']))
        o = f(d, 'ops_per_s'); ops.append(o / 1e6)
        p = f(d, 'pf_taken_per_s'); pf.append(p)
        if b:
            bo = st.mean(b); r = o / bo; rel.append(r)
            lost = max(0.0, 1 - r)
            if p > 50 and mode != 'none': usf.append(lost * 1e6 / p)
            ex = f(d, 'uffd_rt_per_s') if mode == 'uffdsync' else f(d, 'io_exits_per_s')
            if ex > 50: usr.append(lost * 1e6 / ex)
    notes = []
    mf = st.mean([f(d, 'host_minflt_per_s') for d in ds]); mj = st.mean([f(d, 'host_majflt_per_s') for d in ds])
    if mf > 10: notes.append('host minflt %.0f/s' % mf)
    if mj > 10: notes.append('uffd faults %.0f/s' % mj)
    rt = st.mean([f(d, 'uffd_rt_per_s') for d in ds])
    if rt > 0: notes.append('uffd rt %.0f/s handler %.0fus' % (rt, st.mean([f(d, 'handler_us') for d in ds])))
    io = st.mean([f(d, 'io_exits_per_s') for d in ds])
    if io > 0: notes.append('io exits %.0f/s' % io)
    fl = st.mean([f(d, 'remote_tlb_flush_req_per_s') for d in ds])
    if fl > 10: notes.append('remote flush req %.0f/s' % fl)
    if mode in ('dlsub',) or mode.startswith('dl'):
        notes.append('dirty/ep %.0f' % st.mean([f(d, 'dirty_per_epoch') for d in ds]))
    if mode in ('uffd', 'uffdsub', 'softdirty', 'uffdsync'):
        notes.append('written/ep %.0f' % st.mean([f(d, 'dirty_per_epoch') for d in ds]))
    print('%-9s %6s %5s %5s %-5s | %-13s | %-11s | %-17s | %-9s %-9s | %-9s %-9s %-7s | %.0f  %s' % (
        mode, k, store, ep if mode != 'none' else '-', var, rng(rel, '%.3f'), rng(ops, '%.2f'), rng(pf, '%.0f'),
        rng(usf, '%.1f'), rng(usr, '%.0f'),
        rng([f(d, 'harvest_ms') for d in ds], '%.2f'), rng([f(d, 'rearm_ms') for d in ds], '%.2f'),
        '%.1f' % max(f(d, 'track_ms_max') for d in ds), st.mean([f(d, 'rearmed_per_epoch') for d in ds]), '; '.join(notes)))
print()
print('ops/s rel: guest ops/s / the no-tracking baseline of the same repetition and store share (min..max over reps).')
print('KVM faults/s: vCPU stat pf_taken (page-fault exits KVM handled). us/fault: (1 - rel) * 1e6 / faults/s.')
print('us/pg_rt: the same lost time per uffd round trip (uffdsync) or per I/O exit (io).')
print('harv/rearm ms: mean per epoch of the harvest call(s) and the re-arm call(s) (PAGEMAP_SCAN does both in one);')
print('max ms: the longest harvest+re-arm of any measured epoch.')
EOF
