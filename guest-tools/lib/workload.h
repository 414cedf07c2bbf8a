/*
 * workload.h: the conventions shared by the benchmark workloads (kvcache,
 * writestorm, weights, graph), and the measuring helpers tierbench shares
 * with them (TSC calibration, sorting, percentiles). Implemented in
 * workload.c, which guest-tools/local.mk links into every payload that
 * includes this header. It uses nothing but the arom.h API, so it builds
 * both for the guest and, with the payloads, for the native host programs.
 * Only the per-op helpers (wl_lat_due, the fast path of wl_tick) are static
 * inline here; see the comment above them.
 *
 * Common args (wl_init parses them):
 *   seconds=10        measured duration
 *   warmup=0          seconds of unmeasured operation before measuring (lets
 *                     the tiering daemon demote after setup)
 *   seed=1            base of every per-vCPU PRNG (wl_seed)
 *   report_every=1    seconds between progress lines (0: none)
 *
 * Use:
 *   static struct wl w;                    // explicit global, one per payload
 *   AROM_WORKER_POOL()
 *   static uint64_t body(struct wl *wp, struct wl_vcpu *me, void *arg)
 *   {                                      // (wp, not w: -Wshadow)
 *       uint64_t ops = 0;
 *       while (!wl_tick(wp, me, ops)) {    // every N ops (N: the workload's choice)
 *           for (unsigned i = 0; i < 4096; i++, ops++) {
 *               if (wl_lat_due(me)) {      // 1 in w->lat_every ops (run phase only)
 *                   uint64_t t0 = arom_rdtsc();
 *                   op();
 *                   wl_lat_add(me, arom_rdtsc() - t0);
 *               } else {
 *                   op();
 *               }
 *           }
 *       }
 *       return ops;                        // ops done in this phase
 *   }
 *   main: wl_init(&w, "name", argc, argv) (returns 2 on bad args), setup,
 *         optionally wl_track(&w, base, len), wl_run(&w, body, arg),
 *         wl_finish(&w), wl_report(&w, "mismatches", x), ...
 * A body whose vCPUs move in lockstep (a barrier of their own after every
 * step) stops through wl_lockstep_* instead of wl_tick's return value; see
 * there.
 *
 * wl_run runs the warm-up phase (if warmup > 0) and then the measured phase,
 * each as one arom_run_on_all: body runs on every vCPU, vCPU 0 coordinates.
 * From its wl_tick calls vCPU 0 checks the TSC against the deadline (sets the
 * shared stop flag) and prints a progress line every report_every seconds:
 *   NAME: t=SECONDS phase=warmup|run ops_per_s=X ltram_pct=Y dram_mib=Z [data_ltram_pct=W]
 * t counts from the start of the first phase; ops_per_s covers the interval
 * since the previous line; ltram_pct = 100*ltram/(dram+ltram) guest pages and
 * dram_mib = DRAM-resident MiB from arom_tier_stats (both -1 when tiering is
 * off); data_ltram_pct (only after wl_track) is the share of the tracked
 * regions on LtRAM (arom_tier_query). Phases end when every vCPU has seen
 * the stop flag; the measured time runs from the start barrier to the end
 * barrier, and the ops are everything the bodies returned.
 *
 * wl_finish reports NAME.throughput (ops/s over the measured run),
 * NAME.ops, NAME.seconds, NAME.lat_p50_us, NAME.lat_p99_us, NAME.lat_p999_us
 * (-1 without samples), NAME.lat_samples, and from the tier stats at the end
 * of the run NAME.ltram_pct, NAME.dram_mib, NAME.data_ltram_pct (-1 without
 * wl_track / tiering) and NAME.promotions, NAME.demotions (during the
 * measured run; -1 when tiering is off).
 *
 * Time: wl_init takes the boot info's tsc_hz, or when the VMM gives none
 * (0) calibrates the TSC once against arom_time_ns (~20 ms, wl_tsc_hz);
 * after that only rdtsc is used, and the sole VM exits during a phase are
 * vCPU 0's few per progress line (tier stats, tier queries, the line
 * itself).
 *
 * Latency samples are rdtsc deltas, up to WL_LAT_CAP per vCPU; when a vCPU's
 * array fills, every other sample is dropped and its sampling interval
 * doubles, so samples stay spread over the whole run.
 */
#ifndef AROM_WORKLOAD_H
#define AROM_WORKLOAD_H

#include "arom.h"

#define WL_MAX_VCPUS AROM_MAX_VCPUS
#define WL_LAT_CAP 32768u            /* latency samples per vCPU */
#define WL_LAT_EVERY 64u             /* default: sample 1 in 64 ops */
#define WL_MAX_TRACK 4u              /* regions wl_track can follow */
#define WL_MAX_SECONDS 1000000ull    /* most seconds=, warmup=, report_every= */

enum wl_phase { WL_WARMUP, WL_RUN };

/* Per-vCPU state, one cache line; written by its vCPU only (vCPU 0 reads
 * `ops` for the progress lines). */
struct wl_vcpu {
    uint64_t ops;             /* published at every wl_tick */
    uint64_t *lat;            /* WL_LAT_CAP samples (rdtsc deltas) */
    uint32_t lat_n;           /* samples held */
    uint32_t lat_every;       /* sample 1 in lat_every ops */
    uint32_t lat_left;        /* ops until the next sample */
    uint32_t recording;       /* 1 in the measured phase */
    unsigned vcpu;
} __attribute__((aligned(64)));

struct wl;
typedef uint64_t (*wl_body_fn)(struct wl *w, struct wl_vcpu *me, void *arg);

struct wl {
    /* The stop flag has a cache line to itself: every vCPU polls it. */
    uint32_t stop __attribute__((aligned(64)));

    const char *name;
    unsigned n;                      /* vCPUs */
    uint64_t seconds, warmup, seed, report_every;
    uint32_t lat_every;              /* may be changed before wl_run */
    uint64_t tsc_hz;                 /* calibrated */

    /* Phase state, vCPU 0 only (set before or inside the phase). */
    enum wl_phase phase;
    uint64_t origin_tsc;             /* t = 0 of the progress lines */
    uint64_t phase_start, phase_end; /* TSC at the start and end barriers */
    uint64_t deadline, next_report, next_event;
    uint64_t last_tsc, last_ops;     /* at the previous progress line */
    struct arom_barrier barrier;
    wl_body_fn body;
    void *arg;
    /* Lockstep bodies: the phase's last step (UINT64_MAX: not decided yet);
     * written by vCPU 0, read by every vCPU after a barrier (wl_lockstep_*). */
    uint64_t stop_after;

    /* Regions followed by data_ltram_pct. */
    const void *track_base[WL_MAX_TRACK];
    uint64_t track_len[WL_MAX_TRACK];
    unsigned ntrack;

    /* Results of the measured phase. */
    uint64_t run_ops;
    double run_s;
    bool tier_ok;                    /* arom_tier_stats worked */
    struct arom_hc_tier_stats ts_run_start, ts_run_end;
    uint64_t *lat_all;               /* n * WL_LAT_CAP */

    struct wl_vcpu v[WL_MAX_VCPUS];
};

/* ---- set-up and results ------------------------------------------------------ */

/* Parses the common args, calibrates the TSC and allocates the latency
 * arrays. 0, or 2 (bad args / no memory: return it from main). */
int wl_init(struct wl *w, const char *name, int argc, char **argv);

/* Follow [base, base+len) (page aligned) in data_ltram_pct; at most
 * WL_MAX_TRACK regions (more are ignored). */
void wl_track(struct wl *w, const void *base, uint64_t len);

/* Warm-up (if any), then the measured phase. */
void wl_run(struct wl *w, wl_body_fn body, void *arg);

/* Reports the common metrics (see the top of the file) and prints them. */
void wl_finish(struct wl *w);

/* Reports NAME.metric (a failure is printed, not fatal). */
void wl_report(const struct wl *w, const char *metric, double value);

/* arom_alloc_pages with an error message; NULL when it does not fit. */
void *wl_alloc(const struct wl *w, const char *what, uint64_t bytes);

/* Deterministic PRNG for (seed, vcpu, stream): distinct streams per vCPU
 * and per purpose. */
void wl_seed(const struct wl *w, struct arom_rand *r, unsigned vcpu, uint64_t stream);

/* vCPU's share [*lo, *hi) of [0, total) split into w->n runs of
 * ceil(total / n) (the last ones shorter or empty: *lo == *hi). */
void wl_share(const struct wl *w, unsigned vcpu, uint64_t total, uint64_t *lo, uint64_t *hi);

double wl_ticks_to_s(const struct wl *w, uint64_t ticks);

/* ---- measuring helpers, also without a struct wl (tierbench) ------------------ */

/* TSC ticks per second measured against arom_time_ns (~20 ms, up to 2 s
 * when the host clock reads keep stalling). */
uint64_t wl_tsc_calibrate(void);
/* The boot info's tsc_hz, or wl_tsc_calibrate() when that is 0. */
uint64_t wl_tsc_hz(void);

/* Ascending, in place (quicksort; stack depth <= log2 n). */
void wl_sort_u64(uint64_t *a, uint64_t n);
/* Nearest rank: the ceil(n * permille / 1000)-th smallest of n > 0 sorted
 * values (the smallest for a rank of 0). */
uint64_t wl_percentile(const uint64_t *sorted, uint64_t n, unsigned permille);

/* ---- per-op helpers -------------------------------------------------------------
 * Static inline on purpose: the bodies call these once per op or every few
 * thousand ops in their innermost loops, where an out-of-line call (and the
 * register spills around it) would cost as much as the work they check. Only
 * their rare slow paths (vCPU 0's lead duties, storing a sample) are calls. */

/* Library internal (wl_tick's slow path): vCPU 0, once the TSC passes
 * next_event. */
void wl__lead(struct wl *w);

/* True when this op should be timed (never in the warm-up phase). */
static inline bool wl_lat_due(struct wl_vcpu *me)
{
    return __builtin_expect(--me->lat_left == 0, 0);
}

/* Store a sample of a timed op (after wl_lat_due said so). */
void wl_lat_add(struct wl_vcpu *me, uint64_t ticks);

/* Publish this vCPU's op count (this phase); true when the phase is over.
 * Call it every few thousand ops (more often if an op can be slow). */
static inline bool wl_tick(struct wl *w, struct wl_vcpu *me, uint64_t ops)
{
    __atomic_store_n(&me->ops, ops, __ATOMIC_RELAXED);
    if (me->vcpu == 0 && arom_rdtsc() >= w->next_event)
        wl__lead(w);
    return __atomic_load_n(&w->stop, __ATOMIC_RELAXED) != 0;
}

/* ---- lockstep bodies -----------------------------------------------------------
 * When every vCPU does step k together and the body has a barrier of its own
 * after each step, the vCPUs must all stop after the same step, not each at
 * whichever step it first sees the stop flag (the others would wait at the
 * next barrier for ever). vCPU 0 alone decides:
 *   wl_lockstep_tick(wp, me, ops, k)     on vCPU 0, before the barrier that
 *                                        ends step k (a wl_tick; others: no-op)
 *   if (wl_lockstep_over(wp, k)) break;  every vCPU, after that barrier
 * Steps are numbered by the body (e.g. from 0 across both phases); each k is
 * ended once. wl_run resets the decision before each phase. */
void wl_lockstep_tick(struct wl *w, struct wl_vcpu *me, uint64_t ops, uint64_t step);
bool wl_lockstep_over(const struct wl *w, uint64_t step);

#endif /* AROM_WORKLOAD_H */
