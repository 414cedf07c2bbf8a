/*
 * phases: the working-set workload behind the tiering daemon's acceptance
 * test. On vCPU 0 only (other vCPUs stop at once). Three page sets from the
 * heap, all written once at start:
 *   W  write-hot (hot=16M)    R  read-hot (read=48M)    C  cold (cold=48M)
 * Phase 1 (p1=20 s): every pass stores to one word of every W page, loads one
 *   word of every R page and leaves C alone. The daemon should demote C and R
 *   to LtRAM and never W.
 * Phase 2 (p2=20 s): C becomes write-hot, W goes cold, R stays read-hot. C
 *   should come back to DRAM (stores promote) and stay there; W may go to
 *   LtRAM if the DRAM budget needs the room.
 * Every ~0.5 s (host clock, read once per pass) and at the end of each phase
 * a sample: AROM_HC_TIER_QUERY per set and AROM_HC_TIER_STATS, one progress
 * line each.
 *
 * Phase 1 converges at the first sample with >= 95% of C and >= 90% of R on
 * LtRAM; from then on the samples with any W page on LtRAM are tracked, and
 * from 4 s later (the slowdown guard paces the last demotions) the min/max
 * of dram_resident_pages. Phase 2 converges at the first
 * sample with <= 5% of C on LtRAM; from then on the demotions are counted,
 * and from 2 s later the largest share of C on LtRAM is kept.
 *
 * Data: word 0 of every page is fill(set, page, 0) ^ version (the set's last
 * writing pass + 1; 0 = the initial fill), every other word fill(set, page,
 * word). Each touch checks word 0 and one word that moves with the pass;
 * after phase 2 every word of every page is checked.
 *
 * Args: hot=16M read=48M cold=48M p1=20 p2=20 (sizes round up to pages).
 * Exit: 0 (also when tiering is off: ENOSYS, the phases run unsampled),
 * 1 data mismatch, 2 bad arguments / not enough memory.
 * Reports (percentages 0..100, times in s, -1 = never / not measured):
 *   phases.p1.{cold,read,hot}_ltram_pct, phases.p1.converge_s,
 *   phases.p1.hot_on_ltram_samples, phases.p1.dram_{max,min}_pages,
 *   phases.budget_pages, phases.p2.{cold,hot,read}_ltram_pct,
 *   phases.p2.converge_s, phases.p2.cold_ltram_max_pct_after,
 *   phases.p2.demotions_after, phases.epochs, phases.passes,
 *   phases.samples, phases.sample_errors, phases.tiering_off,
 *   phases.mismatches.
 */
#include "arom.h"

#define PAGE_WORDS 512u
#define SAMPLE_NS 500000000ull       /* a sample every 0.5 s */
#define NS_PER_S 1000000000ull
#define P1_SETTLE_S 4.0              /* after convergence 1, before DRAM is judged */
#define P2_SETTLE_S 2.0              /* after convergence 2, before C is judged */
#define MAX_PRINTED 12u              /* mismatch lines printed (all are counted) */
#define MAX_ERR_PRINTED 4u

enum { SET_W, SET_R, SET_C, NSETS };

struct set {
    const char *name;
    uint64_t *base;
    uint64_t pages;
    uint64_t ver;                /* version in word 0 of every page of the set */
};

struct sample {
    double t;                    /* s since the phase started */
    double pct[NSETS];           /* % of each set on LtRAM */
    uint64_t ltram[NSETS];       /* pages of each set on LtRAM */
    struct arom_hc_tier_stats ts;
};

struct p1_result {
    double pct[NSETS];           /* at the end of phase 1 */
    double converge_s;
    uint64_t hot_on_ltram_samples;
    double dram_max, dram_min;   /* pages, after convergence */
};

struct p2_result {
    double pct[NSETS];           /* at the end of phase 2 */
    double converge_s;
    uint64_t demotions_base;     /* tier_stats.demotions at convergence 2 */
    uint64_t demotions_after;
    double cold_max_after;       /* % of C on LtRAM, from convergence 2 + 2 s */
};

static struct {
    struct set set[NSETS];
    uint64_t passes;
    uint64_t mismatches;
    uint32_t printed;
    bool tiering_off;
    uint64_t samples, sample_errors;
    struct arom_hc_tier_stats last; /* the latest sample's tier stats */
} g;

/* ---- page contents -------------------------------------------------------- */

/* Multiplying by an odd constant is a bijection, so every (set, page, word)
 * gets its own value (pages < 2^31). */
static inline uint64_t fill(unsigned set, uint64_t page, unsigned word)
{
    return ((((uint64_t)set << 40) | (page << 9) | word) * 0x9e3779b97f4a7c15ull) ^
           0x7068617365730000ull; /* "phases" */
}

/* The word that moves with the pass: 1 .. PAGE_WORDS - 1. */
static inline unsigned moving_word(uint64_t pass)
{
    return 1u + (unsigned)(pass % (PAGE_WORDS - 1));
}

static __attribute__((noinline, cold)) void
mismatch(const char *what, unsigned s, uint64_t page, unsigned word, uint64_t want, uint64_t got)
{
    g.mismatches++;
    if (++g.printed > MAX_PRINTED)
        return;
    const struct set *st = &g.set[s];
    arom_printf("phases: MISMATCH %s set=%s page=%llu addr=%p word=%u version=%llu pass=%llu "
                "expected=0x%016llx got=0x%016llx\n",
                what, st->name, (unsigned long long)page,
                (const void *)(st->base + page * PAGE_WORDS + word), word,
                (unsigned long long)st->ver, (unsigned long long)g.passes,
                (unsigned long long)want, (unsigned long long)got);
}

static void fill_set(unsigned s)
{
    struct set *st = &g.set[s];
    for (uint64_t i = 0; i < st->pages; i++) {
        uint64_t *p = st->base + i * PAGE_WORDS;
        for (unsigned w = 0; w < PAGE_WORDS; w++)
            p[w] = fill(s, i, w);
    }
    st->ver = 0;
}

/* One pass over a set: check word 0 and the moving word of every page; with
 * `write`, then store the next version into word 0. */
static void touch_set(unsigned s, bool write)
{
    struct set *st = &g.set[s];
    unsigned mw = moving_word(g.passes);
    uint64_t ver = st->ver, next = g.passes + 1;

    for (uint64_t i = 0; i < st->pages; i++) {
        uint64_t *p = st->base + i * PAGE_WORDS;
        uint64_t w0 = fill(s, i, 0) ^ ver, wm = fill(s, i, mw);
        uint64_t got0 = p[0], gotm = p[mw];
        if (__builtin_expect(got0 != w0, 0))
            mismatch("pass", s, i, 0, w0, got0);
        if (__builtin_expect(gotm != wm, 0))
            mismatch("pass", s, i, mw, wm, gotm);
        if (write)
            p[0] = fill(s, i, 0) ^ next;
    }
    if (write)
        st->ver = next;
}

/* Every word of every page (after the run). */
static void check_set(unsigned s)
{
    const struct set *st = &g.set[s];
    for (uint64_t i = 0; i < st->pages; i++) {
        const uint64_t *p = st->base + i * PAGE_WORDS;
        uint64_t diff = p[0] ^ fill(s, i, 0) ^ st->ver;
        for (unsigned w = 1; w < PAGE_WORDS; w++)
            diff |= p[w] ^ fill(s, i, w);
        if (__builtin_expect(diff != 0, 0)) {
            for (unsigned w = 0; w < PAGE_WORDS; w++) {
                uint64_t want = fill(s, i, w) ^ (w == 0 ? st->ver : 0);
                if (p[w] != want)
                    mismatch("final", s, i, w, want, p[w]);
            }
        }
    }
}

/* ---- sampling ---------------------------------------------------------------- */

static void sample_error(const char *what, int64_t r)
{
    g.sample_errors++;
    if (g.sample_errors <= MAX_ERR_PRINTED)
        arom_printf("phases: %s failed: %lld\n", what, (long long)r);
}

/* True if *out holds a full sample. ENOSYS turns sampling off for good. */
static bool take_sample(struct sample *out, const char *phase, uint64_t t_ns)
{
    if (g.tiering_off)
        return false;
    memset(out, 0, sizeof(*out));
    out->t = (double)t_ns / 1e9;
    for (unsigned s = 0; s < NSETS; s++) {
        const struct set *st = &g.set[s];
        uint64_t dram;
        int64_t r = arom_tier_query(st->base, st->pages * AROM_PAGE_SIZE, &out->ltram[s], &dram);
        if (r < 0) {
            sample_error("tier_query", r);
            return false;
        }
        out->pct[s] = 100.0 * (double)out->ltram[s] / (double)st->pages;
    }
    int64_t r = arom_tier_stats(&out->ts);
    if (r < 0) {
        sample_error("tier_stats", r);
        return false;
    }
    g.samples++;
    g.last = out->ts;
    arom_printf("phases: %s t=%6.2f LtRAM W %5.1f%% R %5.1f%% C %5.1f%%  DRAM %7.1f / %7.1f MiB  "
                "epochs %llu passes %llu\n",
                phase, out->t, out->pct[SET_W], out->pct[SET_R], out->pct[SET_C],
                (double)out->ts.dram_resident_pages * AROM_PAGE_SIZE / (double)AROM_MiB,
                (double)out->ts.dram_budget_pages * AROM_PAGE_SIZE / (double)AROM_MiB,
                (unsigned long long)out->ts.epochs, (unsigned long long)g.passes);
    return true;
}

/* ---- the phases ---------------------------------------------------------------
 * Both run passes until the deadline, reading the host clock once per pass;
 * a sample every SAMPLE_NS and one at the end. `fn` folds a sample into the
 * phase's result. False on a data mismatch. */

typedef void (*sample_fn)(void *res, const struct sample *s);

static bool run_phase(const char *name, uint64_t seconds, unsigned write_set, sample_fn fn, void *res)
{
    uint64_t t0 = arom_time_ns(), end = t0 + seconds * NS_PER_S, next = t0 + SAMPLE_NS;

    arom_printf("phases: %s: %llu s, writing %s, reading R\n", name, (unsigned long long)seconds,
                g.set[write_set].name);
    for (;;) {
        touch_set(write_set, true);
        touch_set(SET_R, false);
        g.passes++;
        if (g.mismatches)
            return false;
        uint64_t now = arom_time_ns();
        bool last = now >= end;
        if (now >= next || last) {
            struct sample s;
            if (take_sample(&s, name, now - t0))
                fn(res, &s);
            next = now + SAMPLE_NS;
        }
        if (last)
            return true;
    }
}

static void p1_sample(void *res, const struct sample *s)
{
    struct p1_result *r = res;
    memcpy(r->pct, s->pct, sizeof(r->pct));
    if (r->converge_s < 0 && s->pct[SET_C] >= 95.0 && s->pct[SET_R] >= 90.0) {
        r->converge_s = s->t;
        arom_printf("phases: p1 converged at t=%.2f s\n", s->t);
    }
    if (r->converge_s < 0)
        return;
    if (s->ltram[SET_W] > 0)
        r->hot_on_ltram_samples++;
    if (s->t < r->converge_s + P1_SETTLE_S)
        return;
    double d = (double)s->ts.dram_resident_pages;
    if (r->dram_max < 0 || d > r->dram_max)
        r->dram_max = d;
    if (r->dram_min < 0 || d < r->dram_min)
        r->dram_min = d;
}

static void p2_sample(void *res, const struct sample *s)
{
    struct p2_result *r = res;
    memcpy(r->pct, s->pct, sizeof(r->pct));
    if (r->converge_s < 0 && s->pct[SET_C] <= 5.0) {
        r->converge_s = s->t;
        r->demotions_base = s->ts.demotions;
        arom_printf("phases: p2 converged at t=%.2f s (C back on DRAM)\n", s->t);
    }
    if (r->converge_s < 0)
        return;
    r->demotions_after = s->ts.demotions - r->demotions_base;
    if (s->t >= r->converge_s + P2_SETTLE_S && s->pct[SET_C] > r->cold_max_after)
        r->cold_max_after = s->pct[SET_C];
}

/* W is write-hot, C untouched. */
static bool phase1(uint64_t seconds, struct p1_result *r)
{
    *r = (struct p1_result){.converge_s = -1, .dram_max = -1, .dram_min = -1};
    return run_phase("p1", seconds, SET_W, p1_sample, r);
}

/* C is write-hot, W untouched. */
static bool phase2(uint64_t seconds, struct p2_result *r)
{
    *r = (struct p2_result){.converge_s = -1, .cold_max_after = -1};
    return run_phase("p2", seconds, SET_C, p2_sample, r);
}

/* ---- main --------------------------------------------------------------------- */

static void report(const char *key, double v)
{
    int64_t r = arom_report(key, v);
    if (r < 0)
        arom_printf("phases: report %s failed: %lld\n", key, (long long)r);
}

static void report_all(const struct p1_result *r1, const struct p2_result *r2)
{
    report("phases.p1.cold_ltram_pct", r1->pct[SET_C]);
    report("phases.p1.read_ltram_pct", r1->pct[SET_R]);
    report("phases.p1.hot_ltram_pct", r1->pct[SET_W]);
    report("phases.p1.converge_s", r1->converge_s);
    report("phases.p1.hot_on_ltram_samples", (double)r1->hot_on_ltram_samples);
    report("phases.p1.dram_max_pages", r1->dram_max);
    report("phases.p1.dram_min_pages", r1->dram_min);
    report("phases.budget_pages", (double)g.last.dram_budget_pages);
    report("phases.p2.cold_ltram_pct", r2->pct[SET_C]);
    report("phases.p2.hot_ltram_pct", r2->pct[SET_W]);
    report("phases.p2.read_ltram_pct", r2->pct[SET_R]);
    report("phases.p2.converge_s", r2->converge_s);
    report("phases.p2.cold_ltram_max_pct_after", r2->cold_max_after);
    report("phases.p2.demotions_after", (double)r2->demotions_after);
    report("phases.epochs", (double)g.last.epochs);
    report("phases.passes", (double)g.passes);
    report("phases.samples", (double)g.samples);
    report("phases.sample_errors", (double)g.sample_errors);
    report("phases.tiering_off", g.tiering_off ? 1.0 : 0.0);
    report("phases.mismatches", (double)g.mismatches);
}

int main(int argc, char **argv)
{
    static const char *const names[NSETS] = {"W", "R", "C"};
    const uint64_t size[NSETS] = {
        arom_arg_u64(argc, argv, "hot", 16 * AROM_MiB),
        arom_arg_u64(argc, argv, "read", 48 * AROM_MiB),
        arom_arg_u64(argc, argv, "cold", 48 * AROM_MiB),
    };
    uint64_t p1 = arom_arg_u64(argc, argv, "p1", 20);
    uint64_t p2 = arom_arg_u64(argc, argv, "p2", 20);

    if (p1 > 1000000 || p2 > 1000000) {
        arom_printf("phases: p1 and p2 are at most 1000000 s\n");
        return 2;
    }
    for (unsigned s = 0; s < NSETS; s++) {
        struct set *st = &g.set[s];
        st->name = names[s];
        st->pages = AROM_ALIGN_UP(size[s], AROM_PAGE_SIZE) / AROM_PAGE_SIZE;
        if (st->pages == 0 || st->pages >= (1ull << 31)) {
            arom_printf("phases: set %s: size=%llu: need 1 to 2^31 pages\n", st->name,
                        (unsigned long long)size[s]);
            return 2;
        }
        st->base = arom_alloc_pages(st->pages * AROM_PAGE_SIZE);
        if (!st->base) {
            arom_printf("phases: set %s (%llu MiB) does not fit in the heap (%llu bytes free); "
                        "give the VM more --mem\n", st->name,
                        (unsigned long long)(st->pages * AROM_PAGE_SIZE >> 20),
                        (unsigned long long)arom_heap_free());
            return 2;
        }
        fill_set(s);
    }

    struct arom_hc_tier_stats ts;
    int64_t tr = arom_tier_stats(&ts);
    if (tr == -AROM_ENOSYS) {
        g.tiering_off = true;
        arom_printf("phases: note: AROM_HC_TIER_STATS returned ENOSYS: tiering is off; "
                    "running the phases unsampled\n");
    } else if (tr < 0) {
        sample_error("tier_stats", tr);
    } else {
        g.last = ts;
    }
    arom_printf("phases: start W=%p %llu MiB, R=%p %llu MiB, C=%p %llu MiB, p1=%llu s p2=%llu s, "
                "DRAM budget %.1f MiB, resident %.1f MiB, epochs %llu\n",
                (void *)g.set[SET_W].base, (unsigned long long)(g.set[SET_W].pages >> 8),
                (void *)g.set[SET_R].base, (unsigned long long)(g.set[SET_R].pages >> 8),
                (void *)g.set[SET_C].base, (unsigned long long)(g.set[SET_C].pages >> 8),
                (unsigned long long)p1, (unsigned long long)p2,
                (double)ts.dram_budget_pages * AROM_PAGE_SIZE / (double)AROM_MiB,
                (double)ts.dram_resident_pages * AROM_PAGE_SIZE / (double)AROM_MiB,
                (unsigned long long)ts.epochs);

    struct p1_result r1;
    struct p2_result r2 = {.converge_s = -1, .cold_max_after = -1};
    bool ok = phase1(p1, &r1) && phase2(p2, &r2);
    if (ok)
        for (unsigned s = 0; s < NSETS; s++)
            check_set(s);
    if (g.printed > MAX_PRINTED)
        arom_printf("phases: (%u mismatch lines not printed)\n", g.printed - MAX_PRINTED);

    arom_printf("phases: p1: converge %.2f s, at end LtRAM W %.1f%% R %.1f%% C %.1f%%, "
                "from convergence + %.0f s DRAM resident %.0f..%.0f pages (budget %llu), "
                "W on LtRAM in %llu samples\n",
                r1.converge_s, r1.pct[SET_W], r1.pct[SET_R], r1.pct[SET_C], P1_SETTLE_S, r1.dram_min,
                r1.dram_max, (unsigned long long)g.last.dram_budget_pages,
                (unsigned long long)r1.hot_on_ltram_samples);
    arom_printf("phases: p2: converge %.2f s, at end LtRAM W %.1f%% R %.1f%% C %.1f%%, "
                "C max after converge+%.0fs %.1f%%, demotions after convergence %llu\n",
                r2.converge_s, r2.pct[SET_W], r2.pct[SET_R], r2.pct[SET_C], P2_SETTLE_S,
                r2.cold_max_after, (unsigned long long)r2.demotions_after);
    arom_printf("phases: passes=%llu samples=%llu sample_errors=%llu epochs=%llu mismatches=%llu%s\n",
                (unsigned long long)g.passes, (unsigned long long)g.samples,
                (unsigned long long)g.sample_errors, (unsigned long long)g.last.epochs,
                (unsigned long long)g.mismatches, g.tiering_off ? " [tiering off]" : "");

    report_all(&r1, &r2);
    arom_printf("phases: %s\n", g.mismatches == 0 ? "PASS" : "FAIL (data mismatch)");
    return g.mismatches == 0 ? 0 : 1;
}
