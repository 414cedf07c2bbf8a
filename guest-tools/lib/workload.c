/*
 * workload.c: the workload conventions and measuring helpers declared (and
 * documented) in workload.h. No global state: everything lives in the
 * payload's struct wl.
 */
#include "workload.h"

#define WL_CALIBRATE_NS 20000000ull  /* TSC calibration span against arom_time_ns */
#define WL_NO_STOP UINT64_MAX        /* stop_after before vCPU 0 decided */

/* ---- small helpers ---------------------------------------------------------- */

void wl_seed(const struct wl *w, struct arom_rand *r, unsigned vcpu, uint64_t stream)
{
    arom_rand_seed(r, arom_mix64(w->seed) ^ arom_mix64(((uint64_t)(vcpu + 1) << 32) ^ stream));
}

void wl_share(const struct wl *w, unsigned vcpu, uint64_t total, uint64_t *lo, uint64_t *hi)
{
    uint64_t per = (total + w->n - 1) / w->n;
    uint64_t a = (uint64_t)vcpu * per;
    *hi = a + per < total ? a + per : total;
    *lo = a < *hi ? a : *hi;
}

double wl_ticks_to_s(const struct wl *w, uint64_t ticks)
{
    return (double)ticks / (double)w->tsc_hz;
}

static double wl_ticks_to_us(const struct wl *w, uint64_t ticks)
{
    return (double)ticks * 1e6 / (double)w->tsc_hz;
}

static uint64_t wl_s_to_ticks(const struct wl *w, double s)
{
    return (uint64_t)(s * (double)w->tsc_hz);
}

void wl_report(const struct wl *w, const char *metric, double value)
{
    char key[AROM_REPORT_KEY_MAX + 1];
    arom_snprintf(key, sizeof(key), "%s.%s", w->name, metric);
    int64_t r = arom_report(key, value);
    if (r < 0)
        arom_printf("%s: report %s failed: %lld\n", w->name, key, (long long)r);
}

void *wl_alloc(const struct wl *w, const char *what, uint64_t bytes)
{
    void *p = arom_alloc_pages(bytes);
    if (!p)
        arom_printf("%s: %s (%llu MiB) does not fit in the heap (%llu MiB free); "
                    "give the VM more --mem\n", w->name, what,
                    (unsigned long long)(bytes >> 20), (unsigned long long)(arom_heap_free() >> 20));
    return p;
}

void wl_track(struct wl *w, const void *base, uint64_t len)
{
    if (w->ntrack < WL_MAX_TRACK) {
        w->track_base[w->ntrack] = base;
        w->track_len[w->ntrack] = AROM_ALIGN_UP(len, AROM_PAGE_SIZE);
        w->ntrack++;
    }
}

/* ---- TSC calibration ----------------------------------------------------------
 * Each host clock read is bracketed by two TSC reads and paired with their
 * midpoint, so the ~30 us cost of arom_time_ns largely cancels out. A clock
 * read can stall for milliseconds (the host deschedules the vCPU), which
 * would skew the midpoint: the start is the tightest of 8 reads, and the end
 * is the first read at least WL_CALIBRATE_NS later whose bracket is under
 * 1/2000 of the span (after 2 s, the tightest seen). */
struct wl__clk {
    uint64_t a, t, b; /* rdtsc, arom_time_ns, rdtsc */
};

static struct wl__clk wl__clk_read(void)
{
    struct wl__clk c;
    c.a = arom_rdtsc();
    c.t = arom_time_ns();
    c.b = arom_rdtsc();
    return c;
}

uint64_t wl_tsc_calibrate(void)
{
    struct wl__clk s = wl__clk_read(), e, best = {0, 0, 0};
    for (int i = 0; i < 7; i++) {
        struct wl__clk c = wl__clk_read();
        if (c.b - c.a < s.b - s.a)
            s = c;
    }
    double best_rel = 1e300;
    for (;;) {
        e = wl__clk_read();
        if (e.t - s.t < WL_CALIBRATE_NS)
            continue;
        double rel = (double)(e.b - e.a) / (double)(e.a - s.b);
        if (rel < best_rel) {
            best_rel = rel;
            best = e;
        }
        if (rel < 1.0 / 2000 || e.t - s.t > 100 * WL_CALIBRATE_NS)
            break;
    }
    double ticks = ((double)best.a + (double)best.b - (double)s.a - (double)s.b) / 2.0;
    double hz = ticks * 1e9 / (double)(best.t - s.t);
    return hz < 1e6 ? 1000000u : (uint64_t)hz;
}

uint64_t wl_tsc_hz(void)
{
    uint64_t hz = arom_boot_info()->tsc_hz;
    return hz ? hz : wl_tsc_calibrate();
}

/* ---- sorting and percentiles ---------------------------------------------------- */

/* Median of three, insertion sort below 16, recursion only into the smaller
 * half. */
void wl_sort_u64(uint64_t *a, uint64_t n)
{
    while (n > 16) {
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        uint64_t i = 0, j = n - 1;
        for (;;) { /* Hoare partition */
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j+1, n) */
        uint64_t left = j + 1;
        if (left < n - left) {
            wl_sort_u64(a, left);
            a += left;
            n -= left;
        } else {
            wl_sort_u64(a + left, n - left);
            n = left;
        }
    }
    for (uint64_t i = 1; i < n; i++) {
        uint64_t v = a[i], k = i;
        while (k > 0 && a[k - 1] > v) {
            a[k] = a[k - 1];
            k--;
        }
        a[k] = v;
    }
}

uint64_t wl_percentile(const uint64_t *sorted, uint64_t n, unsigned permille)
{
    uint64_t rank = (n * permille + 999) / 1000; /* 1-based */
    return sorted[rank ? rank - 1 : 0];
}

/* ---- tier stats ------------------------------------------------------------------ */

static double wl__ltram_pct(const struct arom_hc_tier_stats *ts)
{
    uint64_t all = ts->dram_pages + ts->ltram_pages;
    return all ? 100.0 * (double)ts->ltram_pages / (double)all : 0.0;
}

static double wl__dram_mib(const struct arom_hc_tier_stats *ts)
{
    return (double)ts->dram_resident_pages * (double)AROM_PAGE_SIZE / (double)AROM_MiB;
}

/* Share of the tracked regions on LtRAM, or -1. */
static double wl__data_ltram_pct(const struct wl *w)
{
    uint64_t lt = 0, all = 0;
    if (w->ntrack == 0)
        return -1;
    for (unsigned i = 0; i < w->ntrack; i++) {
        uint64_t l, d;
        if (arom_tier_query(w->track_base[i], w->track_len[i], &l, &d) < 0)
            return -1;
        lt += l;
        all += l + d;
    }
    return all ? 100.0 * (double)lt / (double)all : -1;
}

/* ---- latency samples ----------------------------------------------------------------- */

static __attribute__((noinline, cold)) void wl__lat_decimate(struct wl_vcpu *me)
{
    for (uint32_t i = 0; i < WL_LAT_CAP / 2; i++)
        me->lat[i] = me->lat[2 * i + 1];
    me->lat_n = WL_LAT_CAP / 2;
    if (me->lat_every < (1u << 30))
        me->lat_every *= 2;
}

void wl_lat_add(struct wl_vcpu *me, uint64_t ticks)
{
    if (me->recording) {
        if (__builtin_expect(me->lat_n == WL_LAT_CAP, 0))
            wl__lat_decimate(me);
        me->lat[me->lat_n++] = ticks;
        me->lat_left = me->lat_every;
    } else {
        me->lat_left = UINT32_MAX;
    }
}

/* ---- init -------------------------------------------------------------------------- */

int wl_init(struct wl *w, const char *name, int argc, char **argv)
{
    memset(w, 0, sizeof(*w));
    w->name = name;
    w->n = arom_vcpu_count();
    w->seconds = arom_arg_u64(argc, argv, "seconds", 10);
    w->warmup = arom_arg_u64(argc, argv, "warmup", 0);
    w->seed = arom_arg_u64(argc, argv, "seed", 1);
    w->report_every = arom_arg_u64(argc, argv, "report_every", 1);
    w->lat_every = WL_LAT_EVERY;
    if (w->n == 0 || w->n > WL_MAX_VCPUS) {
        arom_printf("%s: %u vCPUs: need 1 to %u\n", name, w->n, (unsigned)WL_MAX_VCPUS);
        return 2;
    }
    if (w->seconds == 0 || w->seconds > WL_MAX_SECONDS || w->warmup > WL_MAX_SECONDS ||
        w->report_every > WL_MAX_SECONDS) {
        arom_printf("%s: seconds must be 1..%llu, warmup and report_every 0..%llu\n", name,
                    WL_MAX_SECONDS, WL_MAX_SECONDS);
        return 2;
    }
    w->tsc_hz = wl_tsc_hz();
    w->lat_all = wl_alloc(w, "latency samples", (uint64_t)w->n * WL_LAT_CAP * sizeof(uint64_t));
    if (!w->lat_all)
        return 2;
    for (unsigned i = 0; i < w->n; i++) {
        w->v[i].vcpu = i;
        w->v[i].lat = w->lat_all + (uint64_t)i * WL_LAT_CAP;
    }
    return 0;
}

/* ---- phases -------------------------------------------------------------------------- */

static __attribute__((noinline, cold)) void wl__progress(struct wl *w, uint64_t now)
{
    uint64_t ops = 0;
    for (unsigned i = 0; i < w->n; i++)
        ops += __atomic_load_n(&w->v[i].ops, __ATOMIC_RELAXED);
    double dt = wl_ticks_to_s(w, now - w->last_tsc);
    double rate = dt > 0 ? (double)(ops - w->last_ops) / dt : 0;
    w->last_tsc = now;
    w->last_ops = ops;

    struct arom_hc_tier_stats ts;
    double lt = -1, mib = -1, data = -1;
    if (arom_tier_stats(&ts) == 0) {
        lt = wl__ltram_pct(&ts);
        mib = wl__dram_mib(&ts);
        data = wl__data_ltram_pct(w);
    }
    char extra[48] = "";
    if (w->ntrack)
        arom_snprintf(extra, sizeof(extra), " data_ltram_pct=%.1f", data);
    arom_printf("%s: t=%.2f phase=%s ops_per_s=%.0f ltram_pct=%.1f dram_mib=%.1f%s\n", w->name,
                wl_ticks_to_s(w, now - w->origin_tsc), w->phase == WL_RUN ? "run" : "warmup",
                rate, lt, mib, extra);
}

void wl__lead(struct wl *w)
{
    uint64_t now = arom_rdtsc();
    if (now >= w->deadline) {
        __atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
        w->next_event = UINT64_MAX;
        return;
    }
    if (w->report_every && now >= w->next_report) {
        wl__progress(w, now);
        uint64_t step = wl_s_to_ticks(w, (double)w->report_every);
        while (w->next_report <= now)
            w->next_report += step;
    }
    w->next_event = w->report_every && w->next_report < w->deadline ? w->next_report : w->deadline;
}

void wl_lockstep_tick(struct wl *w, struct wl_vcpu *me, uint64_t ops, uint64_t step)
{
    if (me->vcpu == 0 && wl_tick(w, me, ops))
        arom_store_u64(&w->stop_after, step);
}

bool wl_lockstep_over(const struct wl *w, uint64_t step)
{
    return arom_load_u64(&w->stop_after) == step;
}

static void wl__phase_vcpu(unsigned vcpu, void *arg)
{
    struct wl *w = arg;
    struct wl_vcpu *me = &w->v[vcpu];

    me->ops = 0;
    me->recording = w->phase == WL_RUN;
    me->lat_every = w->lat_every ? w->lat_every : 1;
    me->lat_left = me->recording ? me->lat_every : UINT32_MAX;
    arom_barrier_wait(&w->barrier, w->n);
    if (vcpu == 0) {
        uint64_t now = arom_rdtsc();
        double len = (double)(w->phase == WL_RUN ? w->seconds : w->warmup);
        w->phase_start = now;
        if (w->origin_tsc == 0)
            w->origin_tsc = now;
        w->deadline = now + wl_s_to_ticks(w, len);
        w->last_tsc = now;
        w->last_ops = 0;
        w->next_report = now + wl_s_to_ticks(w, (double)w->report_every);
        w->next_event = w->report_every && w->next_report < w->deadline ? w->next_report : w->deadline;
    }
    uint64_t ops = w->body(w, me, w->arg);
    __atomic_store_n(&me->ops, ops, __ATOMIC_RELAXED);
    me->recording = 0;
    arom_barrier_wait(&w->barrier, w->n);
    if (vcpu == 0)
        w->phase_end = arom_rdtsc();
}

static void wl__phase(struct wl *w, enum wl_phase phase)
{
    w->phase = phase;
    __atomic_store_n(&w->stop, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&w->stop_after, WL_NO_STOP, __ATOMIC_RELAXED);
    arom_run_on_all(wl__phase_vcpu, w);
}

void wl_run(struct wl *w, wl_body_fn body, void *arg)
{
    struct arom_hc_tier_stats ts;

    w->body = body;
    w->arg = arg;
    if (w->warmup) {
        arom_printf("%s: warm-up %llu s on %u vCPU(s)\n", w->name, (unsigned long long)w->warmup, w->n);
        wl__phase(w, WL_WARMUP);
    }
    w->tier_ok = arom_tier_stats(&ts) == 0;
    if (w->tier_ok)
        w->ts_run_start = ts;
    arom_printf("%s: measuring %llu s on %u vCPU(s)\n", w->name, (unsigned long long)w->seconds, w->n);
    wl__phase(w, WL_RUN);
    w->run_s = wl_ticks_to_s(w, w->phase_end - w->phase_start);
    w->run_ops = 0;
    for (unsigned i = 0; i < w->n; i++)
        w->run_ops += w->v[i].ops;
    if (w->tier_ok && arom_tier_stats(&ts) == 0)
        w->ts_run_end = ts;
    else
        w->tier_ok = false;
}

/* ---- results -------------------------------------------------------------------------- */

void wl_finish(struct wl *w)
{
    /* Compact the per-vCPU sample arrays, then sort them together. */
    uint64_t ns = 0;
    for (unsigned i = 0; i < w->n; i++) {
        const struct wl_vcpu *v = &w->v[i];
        memmove(w->lat_all + ns, v->lat, v->lat_n * sizeof(uint64_t));
        ns += v->lat_n;
    }
    double p50 = -1, p99 = -1, p999 = -1;
    if (ns) {
        wl_sort_u64(w->lat_all, ns);
        p50 = wl_ticks_to_us(w, wl_percentile(w->lat_all, ns, 500));
        p99 = wl_ticks_to_us(w, wl_percentile(w->lat_all, ns, 990));
        p999 = wl_ticks_to_us(w, wl_percentile(w->lat_all, ns, 999));
    }
    double tput = w->run_s > 0 ? (double)w->run_ops / w->run_s : 0;
    double lt = -1, mib = -1, data = -1, prom = -1, dem = -1;
    if (w->tier_ok) {
        lt = wl__ltram_pct(&w->ts_run_end);
        mib = wl__dram_mib(&w->ts_run_end);
        data = wl__data_ltram_pct(w);
        prom = (double)(w->ts_run_end.promotions - w->ts_run_start.promotions);
        dem = (double)(w->ts_run_end.demotions - w->ts_run_start.demotions);
    }
    arom_printf("%s: result: throughput=%.0f ops/s ops=%llu seconds=%.3f vcpus=%u "
                "lat_us p50=%.3f p99=%.3f p999=%.3f (%llu samples) ltram_pct=%.1f "
                "data_ltram_pct=%.1f dram_mib=%.1f promotions=%.0f demotions=%.0f\n",
                w->name, tput, (unsigned long long)w->run_ops, w->run_s, w->n, p50, p99, p999,
                (unsigned long long)ns, lt, data, mib, prom, dem);
    wl_report(w, "throughput", tput);
    wl_report(w, "ops", (double)w->run_ops);
    wl_report(w, "seconds", w->run_s);
    wl_report(w, "lat_p50_us", p50);
    wl_report(w, "lat_p99_us", p99);
    wl_report(w, "lat_p999_us", p999);
    wl_report(w, "lat_samples", (double)ns);
    wl_report(w, "ltram_pct", lt);
    wl_report(w, "data_ltram_pct", data);
    wl_report(w, "dram_mib", mib);
    wl_report(w, "promotions", prom);
    wl_report(w, "demotions", dem);
}
