# bench/linux-common.sh: helpers the --linux benchmarks share (sourced).

# median: the median of the numbers on stdin (the mean of the middle two
# for an even count).
median() {
    sort -n | awk '{v[NR] = $1} END {
        if (NR == 0) exit 1
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# kv_options NAME ARGS...: the options bench/linux-redis.sh and
# bench/linux-memcached.sh share, over the defaults the caller has set;
# builds bench/kvload.c into $out.
kv_options() {
    local name=$1; shift
    local usage="usage: bench/$name [--keys N] [--size B] [--ops N] [--set PCT] [--pipe N] [--reps N] [--budget PCT] [--mem SIZE] [--settle S] [--calls exit|ring] [--out DIR]"
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
        case $1 in
        --keys) keys=$2 ;;
        --size) size=$2 ;;
        --ops) ops=$2 ;;
        --set) setpct=$2 ;;
        --pipe) pipe=$2 ;;
        --reps) reps=$2 ;;
        --budget) budget=$2 ;;
        --mem) mem=$2 ;;
        --settle) settle=$2 ;;
        --calls) calls=$2 ;;
        --out) out=$2 ;;
        *) echo "$usage" >&2; exit 2 ;;
        esac
        shift 2
    done
    mkdir -p "$out"
    gcc -O2 -o "$out/kvload" "$top/bench/kvload.c"
}

# free_port: a TCP port on loopback nothing listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_way WAY REP PROGRAM [ARGS...]: start PROGRAM natively (native), or
# in the VM "${vm[@]}" all-DRAM (dram) or with the DRAM budget $budget
# (budget, stats in $out/budget.REP.json), logging to $out/WAY.REP.log;
# sets pid.
start_way() {
    local way=$1 rep=$2; shift 2
    local cmd=("$@")
    case $way in
    dram) cmd=("${vm[@]}" --ltram off --stats-json "$out/dram.$rep.json" "$@") ;;
    budget) cmd=("${vm[@]}" --dram-budget "$budget" --stats-json "$out/budget.$rep.json" "$@") ;;
    esac
    "${cmd[@]}" >"$out/$way.$rep.log" 2>&1 &
    pid=$!
}

# kv_figures FILE: "ops/s gets sets hits" of a bench/kvload.c report
kv_figures() { awk '/^ops /{o = $2 + 0} /^gets /{g = $2; s = $4; h = $6} END {print o, g, s, h}' "$1"; }

# tier_summary JSON: one line on where a tiered VM's memory was at exit.
tier_summary() {
    jq -r '"\(.tiering.pages.ltram * 4096 / 1048576 | floor) MiB on LtRAM of \(.tiering.pages.total * 4096 / 1048576 | floor) MiB guest RAM"
        + " (\(.tiering.pages.ltram * 100 / .tiering.pages.total | floor)%), DRAM resident \(.tiering.dram_resident_bytes / 1048576 | floor) MiB"
        + " (budget \(.tiering.dram_budget_bytes / 1048576 | floor) MiB); \(.tiering.demotions) demotions, \(.tiering.promotions) promotions;"
        + " \(.linux.syscalls) system calls"' "$1"
}

# bar_plot DAT PNG YLABEL TITLE: bars of DAT, a header line ("way series...")
# then "label value..." lines, one cluster per label, when gnuplot is installed.
bar_plot() {
    command -v gnuplot >/dev/null || return 0
    local cols; cols=$(head -1 "$1" | wc -w)
    gnuplot -e "set terminal pngcairo size 760,440 noenhanced; set output '$2'; set style data histograms;
        set style histogram clustered gap 1; set style fill solid border -1; set key top right;
        set ylabel '$3'; set title '$4'; set yrange [0:*];
        plot for [i=2:$cols] '$1' using i:xtic(1) title columnheader(i)" 2>/dev/null && echo "plot: $2"
}
