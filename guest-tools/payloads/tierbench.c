/*
 * tierbench: what a promotion costs next to the bare userfaultfd round trip
 * it is built on. On vCPU 0 only (other vCPUs stop at once):
 *   A (floor)      hint WP_PROBE: the VMM write-protects the DRAM pages in
 *                  place; one timed one-byte store per page = one bare
 *                  write-protect fault round trip;
 *   B (promotion)  hint DEMOTE: the pages go to LtRAM; the same timed store
 *                  per page = one promotion (copy back to DRAM).
 * The DEMOTE hint is timed with the host clock for the demotion throughput.
 * If DEMOTE leaves some pages on DRAM (LtRAM full, out of tokens), the pages
 * that made it are found with AROM_HC_TIER_QUERY and only their stores count
 * as promotions. `rounds` repetitions; p50/p99/max per phase, and
 * p50(B)/p50(A). Page contents are checked after every phase.
 *
 * Args: pages=4096 rounds=3.
 * Exit: 0 ok (also when tiering is off: hints return ENOSYS), 1 data
 * mismatch, 2 could not measure (allocation failed, a hint failed, or no
 * page reached LtRAM).
 * Reports tierbench.{wp,promote}_{p50,p99,max}_us, promote_over_wp_p50,
 * demote_gib_s, promote_samples, pages (only pages when tiering is off).
 */
#include "arom.h"
#include "workload.h"

#define PAGE_BYTES 4096u
#define PAGE_WORDS (PAGE_BYTES / 8u)

enum { PH_WP = 0, PH_PROMOTE = 1, NPHASES = 2 };
static const char *const phase_name[NPHASES] = {"A wp-fault", "B promotion"};

/* ---- timing ------------------------------------------------------------------ */

/* rdtsc is not ordered against the store it brackets: fence both sides. The
 * faulting store cannot complete (mfence) before the VMM resolved the fault. */
static inline uint64_t tsc_begin(void)
{
    __asm__ volatile("mfence\n\tlfence" ::: "memory");
    uint64_t t = arom_rdtsc();
    __asm__ volatile("lfence" ::: "memory");
    return t;
}

static inline uint64_t tsc_end(void)
{
    __asm__ volatile("mfence\n\tlfence" ::: "memory");
    return arom_rdtsc();
}

/* ---- page contents -----------------------------------------------------------
 * Each page starts with a per-page word pattern; the store of round r, phase
 * ph writes one byte in slot (2r + ph) % 64 (its own 64-byte line), at a
 * per-page offset within the line. The expected page is rebuilt from that. */

static inline uint64_t base_word(uint64_t page, uint64_t w)
{
    uint64_t z = (page << 32 | w) * 0x9e3779b97f4a7c15ull;
    return z ^ (z >> 29) ^ 0x7469657262656e63ull; /* "tierbenc" */
}

static inline uint64_t store_offset(uint64_t page, uint64_t r, unsigned ph)
{
    return ((2 * r + ph) % 64) * 64 + page % 64;
}

static inline uint8_t store_value(uint64_t page, uint64_t r, unsigned ph)
{
    return (uint8_t)(0xa5 ^ (2 * r + ph + 1) ^ (page * 7));
}

static void fill_pages(uint8_t *area, uint64_t pages)
{
    for (uint64_t p = 0; p < pages; p++) {
        uint64_t *w = (uint64_t *)(area + p * PAGE_BYTES);
        for (uint64_t i = 0; i < PAGE_WORDS; i++)
            w[i] = base_word(p, i);
    }
}

/* Check every page after `done` timed stores (rounds * 2 + phases). Returns
 * the number of bad pages; prints the first few. */
static uint64_t verify_pages(const uint8_t *area, uint64_t pages, uint64_t done, const char *when)
{
    static uint64_t expect[PAGE_WORDS];
    uint64_t bad = 0;

    for (uint64_t p = 0; p < pages; p++) {
        for (uint64_t i = 0; i < PAGE_WORDS; i++)
            expect[i] = base_word(p, i);
        /* Slots repeat every 64 stores; only the last 64 can still show. */
        for (uint64_t k = done > 64 ? done - 64 : 0; k < done; k++)
            ((uint8_t *)expect)[store_offset(p, k / 2, (unsigned)(k % 2))] =
                store_value(p, k / 2, (unsigned)(k % 2));
        const uint8_t *pg = area + p * PAGE_BYTES;
        if (memcmp(pg, expect, PAGE_BYTES) == 0)
            continue;
        if (bad++ < 8) {
            uint64_t off = 0;
            while (off < PAGE_BYTES && pg[off] == ((const uint8_t *)expect)[off])
                off++;
            arom_printf("tierbench: MISMATCH after %s: page %llu (%p) byte %llu: "
                        "expected 0x%02x got 0x%02x\n",
                        when, (unsigned long long)p, (const void *)pg, (unsigned long long)off,
                        off < PAGE_BYTES ? ((const uint8_t *)expect)[off] : 0,
                        off < PAGE_BYTES ? pg[off] : 0);
        }
    }
    if (bad)
        arom_printf("tierbench: %llu of %llu pages wrong after %s\n", (unsigned long long)bad,
                    (unsigned long long)pages, when);
    return bad;
}

/* One timed one-byte store per page; samples in TSC ticks. */
static void timed_stores(uint8_t *area, uint64_t pages, uint64_t r, unsigned ph, uint64_t *out)
{
    for (uint64_t p = 0; p < pages; p++) {
        volatile uint8_t *b = area + p * PAGE_BYTES + store_offset(p, r, ph);
        uint8_t v = store_value(p, r, ph);
        uint64_t t0 = tsc_begin();
        *b = v;
        uint64_t t1 = tsc_end();
        out[p] = t1 - t0;
    }
}

static const char *err_name(int64_t r)
{
    switch (-r) {
    case AROM_EINVAL: return "EINVAL";
    case AROM_EFAULT: return "EFAULT";
    case AROM_ENOSPC: return "ENOSPC (LtRAM full)";
    case AROM_ENOSYS: return "ENOSYS";
    case AROM_EAGAIN: return "EAGAIN (out of tokens / mapping limit)";
    default: return "unknown error";
    }
}

int main(int argc, char **argv)
{
    const uint64_t pages = arom_arg_u64(argc, argv, "pages", 4096);
    const uint64_t rounds = arom_arg_u64(argc, argv, "rounds", 3);
    const uint64_t len = pages * PAGE_BYTES;

    if (pages == 0 || rounds == 0 || pages > (64 * AROM_GiB) / PAGE_BYTES || rounds > 1000000) {
        arom_printf("tierbench: need 0 < pages <= 16M (64 GiB) and 0 < rounds <= 1000000\n");
        return 2;
    }
    uint64_t nsamples = pages * rounds;
    uint8_t *area = arom_alloc_pages(len);
    uint64_t *samples[NPHASES];
    samples[PH_WP] = arom_alloc_pages(nsamples * sizeof(uint64_t));
    samples[PH_PROMOTE] = arom_alloc_pages(nsamples * sizeof(uint64_t));
    bool *where = arom_alloc_pages(pages * sizeof(bool)); /* page on LtRAM after DEMOTE */
    if (!area || !samples[PH_WP] || !samples[PH_PROMOTE] || !where) {
        arom_printf("tierbench: pages=%llu rounds=%llu do not fit in the heap (%llu bytes free)\n",
                    (unsigned long long)pages, (unsigned long long)rounds,
                    (unsigned long long)arom_heap_free());
        return 2;
    }
    arom_report("tierbench.pages", (double)pages);

    uint64_t boot_hz = arom_boot_info()->tsc_hz;
    double cal_hz = (double)wl_tsc_calibrate();
    double hz = boot_hz ? (double)boot_hz : cal_hz;
    arom_printf("tierbench: pages=%llu (%llu MiB) rounds=%llu area=%p tsc=%.3f GHz "
                "(boot info %llu Hz, calibrated %.0f Hz, using %s)\n",
                (unsigned long long)pages, (unsigned long long)(len >> 20),
                (unsigned long long)rounds, (void *)area, hz / 1e9, (unsigned long long)boot_hz,
                cal_hz, boot_hz ? "boot info" : "calibrated");

    fill_pages(area, pages); /* populated DRAM from here on */

    uint64_t demote_ns = 0, demoted_pages = 0, probe_ns = 0;
    uint64_t done = 0; /* timed stores applied to every page */
    uint64_t nprom = 0; /* phase B samples kept: stores to pages that were on LtRAM */
    uint64_t bad = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        /* Phase A: write-protect in place, then one fault per page. */
        uint64_t t0 = arom_time_ns();
        int64_t ret = arom_hint(area, len, AROM_HINT_WP_PROBE);
        uint64_t t1 = arom_time_ns();
        if (ret == -AROM_ENOSYS) {
            arom_printf("tierbench: tiering is off (AROM_HC_HINT returned ENOSYS): "
                        "nothing to measure\n");
            bad += verify_pages(area, pages, done, "fill");
            return bad ? 1 : 0;
        }
        if (ret < 0) {
            arom_printf("tierbench: round %llu: hint WP_PROBE failed: %lld %s\n",
                        (unsigned long long)r, (long long)ret, err_name(ret));
            return 2;
        }
        if ((uint64_t)ret != pages)
            arom_printf("tierbench: round %llu: WP_PROBE acted on %lld of %llu pages; "
                        "the other stores of phase A do not fault\n",
                        (unsigned long long)r, (long long)ret, (unsigned long long)pages);
        probe_ns += t1 - t0;
        timed_stores(area, pages, r, PH_WP, samples[PH_WP] + r * pages);
        done++;
        bad += verify_pages(area, pages, done, "phase A");

        /* Phase B: demote to LtRAM, then one promotion per page. */
        t0 = arom_time_ns();
        ret = arom_hint(area, len, AROM_HINT_DEMOTE);
        t1 = arom_time_ns();
        if (ret < 0) {
            arom_printf("tierbench: round %llu: hint DEMOTE failed: %lld %s%s\n",
                        (unsigned long long)r, (long long)ret, err_name(ret),
                        ret == -AROM_ENOSPC || ret == -AROM_EAGAIN
                            ? "; give LtRAM more room / tokens, or use fewer pages" : "");
            return 2;
        }
        demote_ns += t1 - t0;
        demoted_pages += (uint64_t)ret;
        /* Which pages are on LtRAM now? Only their stores are promotions. */
        uint64_t on_lt = 0;
        int64_t q = arom_tier_query(area, len, &on_lt, NULL);
        bool all = q == 0 ? on_lt == pages : (uint64_t)ret == pages;
        if (!all) {
            if (q == 0)
                for (uint64_t p = 0; p < pages; p++) {
                    uint64_t lt = 0;
                    where[p] = arom_tier_query(area + p * PAGE_BYTES, PAGE_BYTES, &lt, NULL) == 0 &&
                               lt == 1;
                }
            arom_printf("tierbench: round %llu: DEMOTE acted on %lld of %llu pages (%s); %s\n",
                        (unsigned long long)r, (long long)ret, (unsigned long long)pages,
                        ret < (int64_t)pages ? "LtRAM full or out of tokens?" : "query disagrees",
                        q == 0 ? "only stores to pages on LtRAM count as promotions"
                               : "no tier_query: phase B mixes promotions with plain stores");
        }
        uint64_t *row = samples[PH_PROMOTE] + r * pages;
        timed_stores(area, pages, r, PH_PROMOTE, row);
        done++;
        for (uint64_t p = 0; p < pages; p++)
            if (all || q != 0 || where[p])
                samples[PH_PROMOTE][nprom++] = row[p];
        bad += verify_pages(area, pages, done, "phase B");
    }

    double p50[NPHASES] = {0}, p99[NPHASES] = {0}, pmax[NPHASES] = {0};
    uint64_t count[NPHASES] = {nsamples, nprom};
    arom_printf("tierbench: %-14s %8s %10s %10s %10s\n", "phase", "samples", "p50_us", "p99_us",
                "max_us");
    for (unsigned ph = 0; ph < NPHASES; ph++) {
        uint64_t c = count[ph];
        if (c == 0) {
            arom_printf("tierbench: %-14s %8d %10s %10s %10s\n", phase_name[ph], 0, "-", "-", "-");
            continue;
        }
        wl_sort_u64(samples[ph], c);
        p50[ph] = (double)wl_percentile(samples[ph], c, 500) * 1e6 / hz;
        p99[ph] = (double)wl_percentile(samples[ph], c, 990) * 1e6 / hz;
        pmax[ph] = (double)samples[ph][c - 1] * 1e6 / hz;
        arom_printf("tierbench: %-14s %8llu %10.2f %10.2f %10.2f\n", phase_name[ph],
                    (unsigned long long)c, p50[ph], p99[ph], pmax[ph]);
    }
    double ratio = p50[PH_WP] > 0 ? p50[PH_PROMOTE] / p50[PH_WP] : 0;
    double demote_s = (double)demote_ns / 1e9;
    double gib_s = demote_s > 0 ? (double)demoted_pages * PAGE_BYTES / demote_s / (double)AROM_GiB : 0;
    arom_printf("tierbench: promote/wp p50 ratio %.2f\n", ratio);
    arom_printf("tierbench: demotion: %llu pages in %.3f ms = %.3f GiB/s; "
                "wp-probe hints %.3f ms in all\n",
                (unsigned long long)demoted_pages, demote_s * 1e3, gib_s, (double)probe_ns / 1e6);

    arom_report("tierbench.wp_p50_us", p50[PH_WP]);
    arom_report("tierbench.wp_p99_us", p99[PH_WP]);
    arom_report("tierbench.wp_max_us", pmax[PH_WP]);
    arom_report("tierbench.demote_gib_s", gib_s);
    if (nprom) {
        arom_report("tierbench.promote_p50_us", p50[PH_PROMOTE]);
        arom_report("tierbench.promote_p99_us", p99[PH_PROMOTE]);
        arom_report("tierbench.promote_max_us", pmax[PH_PROMOTE]);
        arom_report("tierbench.promote_over_wp_p50", ratio);
    }
    arom_report("tierbench.promote_samples", (double)nprom);

    if (bad) {
        arom_printf("tierbench: FAIL: page contents wrong\n");
        return 1;
    }
    arom_printf("tierbench: contents verified after every phase\n");
    if (nprom == 0) {
        arom_printf("tierbench: no page reached LtRAM: no promotion measured "
                    "(LtRAM full or out of tokens: try --tokens=off or fewer pages)\n");
        return 2;
    }
    return 0;
}
