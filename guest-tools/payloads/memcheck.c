/*
 * memcheck: guest memory integrity under tier churn, on every vCPU.
 *
 * The test area (heap, page aligned) is split into a shared region, whose
 * pages every vCPU writes concurrently (vCPU v owns the 64-byte lines with
 * line % nvcpus == v), followed by one private region per vCPU. Every owned
 * 8-byte word holds expected(page, word, version), where version is kept per
 * page and owner in the owner's own bookkeeping array (guest memory too, so
 * it is itself subject to migration). Each pass a vCPU verifies every word it
 * owns and, except on every third pass (read-only: demoted pages are read
 * while on LtRAM), rewrites it with version + 1 (a store to a demoted page is
 * a promotion). In mode=hint, every `hint_every` passes each vCPU hints its
 * region READ_MOSTLY (one hint per 2 MiB) and vCPU 0 hints the shared region,
 * then a few just-demoted pages are spot-checked before the next pass; the
 * next pass starts on the shared region on all vCPUs at once, so several
 * vCPUs store to the same LtRAM page together. In mode=host the guest only
 * writes and verifies, and the host demotes in the background.
 *
 * Args: size=64M seconds=10 hint_every=1 (0: never) mode=hint|host shared=1
 *       selftest_corrupt=0 (1: flip one word behind the checker's back, so
 *       a working checker reports mismatches >= 1 and exits 1).
 * Exit: 0 iff no mismatch, 1 on any mismatch, 2 on bad arguments / no memory.
 * Hint refusals (EAGAIN, ENOSPC) are counted; other hint errors are printed
 * and counted (memcheck.hint_errors) but do not fail the run; ENOSYS means
 * tiering is off: the run goes on without hints and reports 0 migrations.
 */
#include "arom.h"

AROM_WORKER_POOL()

#define PAGE_WORDS 512u
#define LINE_WORDS 8u
#define PAGE_LINES (PAGE_WORDS / LINE_WORDS)
#define HINT_CHUNK_PAGES 512u           /* one hint per 2 MiB */
#define SPOT_PAGES 4u                   /* spot-checked per region after a hint */
#define MAX_PRINTED 12u                 /* mismatch lines printed (all are counted) */
#define MAX_HINT_ERR_PRINTED 8u
#define NO_STOP UINT64_MAX

enum mode { MODE_HINT, MODE_HOST };

/* Per-vCPU state; written only by its vCPU until the run ends. Padded so
 * that vCPUs do not share cache lines. */
struct worker {
    uint64_t *priv;          /* first private page */
    uint64_t npriv;          /* private pages */
    uint64_t priv_index;     /* global page index of the first private page */
    uint32_t *ver_priv;      /* version of each private page */
    uint32_t *ver_shared;    /* version of this vCPU's slice of each shared page */
    uint64_t vsum;           /* sum of both version arrays, kept alongside them */
    struct arom_rand rng;

    uint64_t passes;
    uint64_t rewrites;       /* pages (or shared slices) rewritten */
    uint64_t verified_words;
    uint64_t mismatches;
    uint64_t spot_pages;
    uint64_t spot_ltram;     /* spot-checked pages that were on LtRAM */
    uint64_t hints, hinted_pages, hint_full, hint_errors;
} __attribute__((aligned(128)));

static struct {
    unsigned n;
    enum mode mode;
    uint64_t seconds, hint_every;
    bool selftest;
    uint64_t *area;          /* shared region first, then the private regions */
    uint64_t pages;          /* all test pages */
    uint64_t nshared;        /* shared pages (0 with shared=0) */
    uint64_t npriv;          /* private pages per vCPU */
    struct worker *w;        /* n entries */

    struct arom_barrier barrier;
    uint64_t stop_after;     /* the last pass; set by vCPU 0 only, once */
    uint32_t tiering_off;    /* a hint returned ENOSYS */
    uint32_t printed;        /* mismatch lines printed so far */
    uint32_t hint_err_printed;
    uint64_t t_start, t_end; /* ns, vCPU 0 */
} g;

/* ---- expected values ------------------------------------------------------ */

/* A bijection (arom_mix64), so distinct (page, version) pairs get distinct
 * seeds. */
static inline uint64_t page_seed(uint64_t page, uint32_t ver)
{
    return arom_mix64(((page << 32) ^ ver) + 0x6d656d636865636bull); /* "memcheck" */
}

/* One multiply per word; a bijection of w for a fixed seed, so the words of
 * one page are pairwise distinct and a moved word is caught. */
static inline uint64_t word_val(uint64_t seed, uint64_t w)
{
    uint64_t z = seed + (w + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 32)) * 0xd6e8feb86659fd93ull;
    return z ^ (z >> 32);
}

static inline uint64_t *page_ptr(uint64_t index)
{
    return g.area + index * PAGE_WORDS;
}

/* ---- verify and rewrite ---------------------------------------------------
 * A page's owned words are the lines first, first + step, ... (private pages:
 * first 0, step 1). The fast paths are branch-free word loops; a mismatch
 * drops into the cold path, which recounts and prints. */

static __attribute__((noinline, cold)) uint64_t
mismatch_slow(unsigned vcpu, const char *phase, uint64_t pass, const uint64_t *p, uint64_t index,
              uint32_t ver, unsigned first, unsigned step)
{
    uint64_t seed = page_seed(index, ver);
    uint64_t bad = 0;

    for (unsigned l = first; l < PAGE_LINES; l += step) {
        for (unsigned j = 0; j < LINE_WORDS; j++) {
            unsigned w = l * LINE_WORDS + j;
            uint64_t want = word_val(seed, w);
            uint64_t got = ((const volatile uint64_t *)p)[w];
            if (got == want)
                continue;
            bad++;
            if (arom_add_u32(&g.printed, 1) > MAX_PRINTED)
                continue;
            /* Name the likely cause: a lost store shows an older version. */
            const char *what = "";
            if (ver >= 1 && got == word_val(page_seed(index, ver - 1), w))
                what = " (= previous version: lost store?)";
            else if (ver >= 2 && got == word_val(page_seed(index, ver - 2), w))
                what = " (= version-2: stale copy?)";
            else if (got == word_val(page_seed(index, ver + 1), w))
                what = " (= next version: bookkeeping lost?)";
            else if (got == 0)
                what = " (zero)";
            uint64_t again = ((const volatile uint64_t *)p)[w];
            arom_printf("memcheck: MISMATCH vcpu=%u phase=%s pass=%llu page=%llu addr=%p "
                        "word=%u version=%u expected=0x%016llx got=0x%016llx reread=0x%016llx%s\n",
                        vcpu, phase, (unsigned long long)pass, (unsigned long long)index,
                        (const void *)(p + w), w, ver, (unsigned long long)want,
                        (unsigned long long)got, (unsigned long long)again, what);
        }
    }
    if (bad == 0) { /* changed under us between the two reads: still wrong */
        bad = 1;
        if (arom_add_u32(&g.printed, 1) <= MAX_PRINTED)
            arom_printf("memcheck: MISMATCH vcpu=%u phase=%s pass=%llu page=%llu: "
                        "transient (a second read matched)\n",
                        vcpu, phase, (unsigned long long)pass, (unsigned long long)index);
    }
    return bad;
}

static inline __attribute__((always_inline)) uint64_t
verify_lines(struct worker *w, unsigned vcpu, const char *phase, uint64_t pass, const uint64_t *p,
             uint64_t index, uint32_t ver, unsigned first, unsigned step)
{
    uint64_t seed = page_seed(index, ver);
    uint64_t diff = 0, words = 0;

    for (unsigned l = first; l < PAGE_LINES; l += step) {
        for (unsigned j = 0; j < LINE_WORDS; j++) {
            unsigned wi = l * LINE_WORDS + j;
            diff |= p[wi] ^ word_val(seed, wi);
        }
        words += LINE_WORDS;
    }
    w->verified_words += words;
    if (__builtin_expect(diff != 0, 0)) {
        uint64_t bad = mismatch_slow(vcpu, phase, pass, p, index, ver, first, step);
        w->mismatches += bad;
        return bad;
    }
    return 0;
}

static inline __attribute__((always_inline)) void
write_lines(uint64_t *p, uint64_t index, uint32_t ver, unsigned first, unsigned step)
{
    uint64_t seed = page_seed(index, ver);
    for (unsigned l = first; l < PAGE_LINES; l += step)
        for (unsigned j = 0; j < LINE_WORDS; j++) {
            unsigned wi = l * LINE_WORDS + j;
            p[wi] = word_val(seed, wi);
        }
}

static void verify_private(struct worker *w, unsigned vcpu, const char *phase, uint64_t pass,
                           uint64_t i)
{
    verify_lines(w, vcpu, phase, pass, w->priv + i * PAGE_WORDS, w->priv_index + i,
                 w->ver_priv[i], 0, 1);
}

static void verify_shared(struct worker *w, unsigned vcpu, const char *phase, uint64_t pass,
                          uint64_t i)
{
    verify_lines(w, vcpu, phase, pass, page_ptr(i), i, w->ver_shared[i], vcpu, g.n);
}

/* Rewrite most pages: from pass 1 on, about one in 16 is left alone, so the
 * versions in a region diverge and some pages stay on LtRAM across passes. */
static inline bool skip_rewrite(struct worker *w, uint64_t pass)
{
    return pass > 0 && (arom_rand_u64(&w->rng) & 15) == 0;
}

static void do_pass(struct worker *w, unsigned vcpu, uint64_t pass, bool rewrite)
{
    /* Shared pages first, in the same order on every vCPU: right after the
     * post-hint barrier all vCPUs store into the same LtRAM page together. */
    for (uint64_t i = 0; i < g.nshared; i++) {
        uint64_t *p = page_ptr(i);
        verify_lines(w, vcpu, "pass", pass, p, i, w->ver_shared[i], vcpu, g.n);
        if (rewrite && !skip_rewrite(w, pass)) {
            uint32_t v = w->ver_shared[i] + 1;
            write_lines(p, i, v, vcpu, g.n);
            w->ver_shared[i] = v;
            w->vsum++;
            w->rewrites++;
        }
    }
    for (uint64_t i = 0; i < w->npriv; i++) {
        uint64_t *p = w->priv + i * PAGE_WORDS;
        uint64_t index = w->priv_index + i;
        verify_lines(w, vcpu, "pass", pass, p, index, w->ver_priv[i], 0, 1);
        if (rewrite && !skip_rewrite(w, pass)) {
            uint32_t v = w->ver_priv[i] + 1;
            write_lines(p, index, v, 0, 1);
            w->ver_priv[i] = v;
            w->vsum++;
            w->rewrites++;
            if (g.selftest && vcpu == 0 && pass == 0 && i == 0) {
                /* The deliberate fault: one bit of one word, version unchanged. */
                p[5] ^= 1ull << 17;
                arom_printf("memcheck: selftest: flipped bit 17 of word 5 of page %llu (%p)\n",
                            (unsigned long long)index, (void *)p);
            }
        }
    }
    w->passes = pass + 1;
}

/* ---- hints ------------------------------------------------------------------ */

static void hint_range(struct worker *w, unsigned vcpu, uint64_t *base, uint64_t npages)
{
    for (uint64_t off = 0; off < npages; off += HINT_CHUNK_PAGES) {
        if (arom_load_u32(&g.tiering_off))
            return;
        uint64_t n = npages - off < HINT_CHUNK_PAGES ? npages - off : HINT_CHUNK_PAGES;
        void *addr = base + off * PAGE_WORDS;
        int64_t r = arom_hint(addr, n * AROM_PAGE_SIZE, AROM_HINT_READ_MOSTLY);
        w->hints++;
        if (r >= 0) {
            w->hinted_pages += (uint64_t)r;
        } else if (r == -AROM_ENOSYS) {
            uint32_t zero = 0;
            if (arom_cas_u32(&g.tiering_off, &zero, 1))
                arom_printf("memcheck: note: AROM_HC_HINT returned ENOSYS: tiering is off; "
                            "running without hints (0 migrations expected)\n");
            return;
        } else if (r == -AROM_EAGAIN || r == -AROM_ENOSPC) {
            w->hint_full++;     /* LtRAM full or out of tokens: allowed */
        } else {
            w->hint_errors++;
            if (arom_add_u32(&g.hint_err_printed, 1) <= MAX_HINT_ERR_PRINTED)
                arom_printf("memcheck: vcpu %u: hint READ_MOSTLY %p + %llu pages failed: %lld\n",
                            vcpu, addr, (unsigned long long)n, (long long)r);
        }
    }
}

/* Count a spot-checked page that the VMM says is on LtRAM (evidence that the
 * read really hit LtRAM; tier_query may be absent: then nothing is counted). */
static void spot_where(struct worker *w, uint64_t index)
{
    uint64_t lt = 0;
    if (arom_tier_query(page_ptr(index), AROM_PAGE_SIZE, &lt, NULL) == 0 && lt == 1)
        w->spot_ltram++;
}

/* Read a few pages that were just hinted (on LtRAM now, if tiering is on). */
static void spot_check(struct worker *w, unsigned vcpu, uint64_t pass)
{
    bool query = !arom_load_u32(&g.tiering_off);

    for (unsigned k = 0; k < SPOT_PAGES && w->npriv; k++) {
        uint64_t i = arom_rand_range(&w->rng, w->npriv);
        if (query)
            spot_where(w, w->priv_index + i);
        verify_private(w, vcpu, "spot", pass, i);
        w->spot_pages++;
    }
    for (unsigned k = 0; k < SPOT_PAGES && g.nshared; k++) {
        uint64_t i = arom_rand_range(&w->rng, g.nshared);
        if (query)
            spot_where(w, i);
        verify_shared(w, vcpu, "spot", pass, i);
        w->spot_pages++;
    }
}

/* ---- the run on every vCPU ------------------------------------------------ */

static void work(unsigned vcpu, void *arg)
{
    (void)arg;
    struct worker *w = &g.w[vcpu];
    const uint32_t ver0 = 1;

    arom_rand_seed(&w->rng, 0x6d656d63ull * (vcpu + 1));

    /* Initial contents: version 1 everywhere we own. */
    for (uint64_t i = 0; i < g.nshared; i++) {
        w->ver_shared[i] = ver0;
        write_lines(page_ptr(i), i, ver0, vcpu, g.n);
    }
    for (uint64_t i = 0; i < w->npriv; i++) {
        w->ver_priv[i] = ver0;
        write_lines(w->priv + i * PAGE_WORDS, w->priv_index + i, ver0, 0, 1);
    }
    w->vsum = (g.nshared + w->npriv) * ver0;
    arom_barrier_wait(&g.barrier, g.n);

    uint64_t deadline = 0;
    if (vcpu == 0) {
        g.t_start = arom_time_ns();
        deadline = g.t_start + g.seconds * 1000000000ull;
    }

    for (uint64_t pass = 0;; pass++) {
        do_pass(w, vcpu, pass, pass % 3 != 2);
        /* One clock read per pass, on vCPU 0; stop_after is written once, so
         * a vCPU that reads it late still sees a pass number >= its own. */
        if (vcpu == 0 && arom_time_ns() >= deadline)
            arom_store_u64(&g.stop_after, pass);
        arom_barrier_wait(&g.barrier, g.n);
        if (arom_load_u64(&g.stop_after) == pass)
            break;
        if (g.mode == MODE_HINT && g.hint_every && (pass + 1) % g.hint_every == 0) {
            hint_range(w, vcpu, w->priv, w->npriv);
            if (vcpu == 0 && g.nshared)
                hint_range(w, vcpu, g.area, g.nshared);
            arom_barrier_wait(&g.barrier, g.n);
            spot_check(w, vcpu, pass);
        }
    }

    /* Final full verify, after everyone finished writing. */
    arom_barrier_wait(&g.barrier, g.n);
    for (uint64_t i = 0; i < g.nshared; i++)
        verify_shared(w, vcpu, "final", w->passes, i);
    for (uint64_t i = 0; i < w->npriv; i++)
        verify_private(w, vcpu, "final", w->passes, i);
    /* The bookkeeping itself: a lost or stale version update shows here even
     * if it happened to agree with the page it describes. */
    uint64_t sum = 0;
    for (uint64_t i = 0; i < g.nshared; i++)
        sum += w->ver_shared[i];
    for (uint64_t i = 0; i < w->npriv; i++)
        sum += w->ver_priv[i];
    if (sum != w->vsum) {
        w->mismatches++;
        arom_printf("memcheck: MISMATCH vcpu=%u phase=final: version bookkeeping sums to %llu, "
                    "expected %llu\n", vcpu, (unsigned long long)sum, (unsigned long long)w->vsum);
    }
    arom_barrier_wait(&g.barrier, g.n);
    if (vcpu == 0)
        g.t_end = arom_time_ns();
}

/* ---- main ------------------------------------------------------------------- */

static void report_u64(const char *key, uint64_t v)
{
    arom_report(key, (double)v);
}

int main(int argc, char **argv)
{
    unsigned n = arom_vcpu_count();
    uint64_t size = arom_arg_u64(argc, argv, "size", 64 * AROM_MiB);
    const char *mode = arom_arg_str(argc, argv, "mode", "hint");
    uint64_t shared = arom_arg_u64(argc, argv, "shared", 1);

    g.n = n;
    g.seconds = arom_arg_u64(argc, argv, "seconds", 10);
    g.hint_every = arom_arg_u64(argc, argv, "hint_every", 1);
    g.selftest = arom_arg_u64(argc, argv, "selftest_corrupt", 0) != 0;
    g.stop_after = NO_STOP;
    if (strcmp(mode, "hint") == 0) {
        g.mode = MODE_HINT;
    } else if (strcmp(mode, "host") == 0) {
        g.mode = MODE_HOST;
    } else {
        arom_printf("memcheck: mode=%s: expected hint or host\n", mode);
        return 2;
    }
    if (shared > 1 || g.seconds > 1000000) {
        arom_printf("memcheck: shared must be 0 or 1, seconds at most 1000000\n");
        return 2;
    }

    g.pages = size / AROM_PAGE_SIZE;
    if (g.pages < (uint64_t)n + shared || g.pages >= (1ull << 32)) {
        arom_printf("memcheck: size=%llu: need %llu to 2^32 pages for %u vCPUs\n",
                    (unsigned long long)size, (unsigned long long)(n + shared), n);
        return 2;
    }
    /* Shared region = one vCPU's share; rounding leftovers go to it too. */
    g.npriv = shared ? g.pages / (n + 1) : g.pages / n;
    g.nshared = shared ? g.pages - g.npriv * n : 0;
    g.pages = g.nshared + g.npriv * n;

    g.area = arom_alloc_pages(g.pages * AROM_PAGE_SIZE);
    g.w = arom_alloc(n * sizeof(struct worker), AROM_PAGE_SIZE);
    if (!g.area || !g.w) {
        arom_printf("memcheck: size=%llu does not fit in the heap (%llu bytes free); "
                    "give the VM more --mem\n",
                    (unsigned long long)size, (unsigned long long)arom_heap_free());
        return 2;
    }
    for (unsigned v = 0; v < n; v++) {
        struct worker *w = &g.w[v];
        memset(w, 0, sizeof(*w));
        w->npriv = g.npriv;
        w->priv_index = g.nshared + (uint64_t)v * g.npriv;
        w->priv = page_ptr(w->priv_index);
        /* Bookkeeping in its own pages per vCPU (no false sharing). */
        w->ver_priv = arom_alloc_pages((g.npriv ? g.npriv : 1) * sizeof(uint32_t));
        w->ver_shared = arom_alloc_pages((g.nshared ? g.nshared : 1) * sizeof(uint32_t));
        if (!w->ver_priv || !w->ver_shared) {
            arom_printf("memcheck: no heap left for bookkeeping; give the VM more --mem\n");
            return 2;
        }
    }

    struct arom_hc_tier_stats ts0;
    int64_t tr0 = arom_tier_stats(&ts0);
    arom_printf("memcheck: start vcpus=%u area=%p pages=%llu (%llu MiB) shared_pages=%llu "
                "private_pages=%llu/vcpu mode=%s hint_every=%llu seconds=%llu selftest_corrupt=%d "
                "tier_stats=%s\n",
                n, (void *)g.area, (unsigned long long)g.pages,
                (unsigned long long)(g.pages * AROM_PAGE_SIZE >> 20),
                (unsigned long long)g.nshared, (unsigned long long)g.npriv, mode,
                (unsigned long long)g.hint_every, (unsigned long long)g.seconds, g.selftest,
                tr0 == 0 ? "ok" : tr0 == -AROM_ENOSYS ? "ENOSYS (tiering off)" : "error");

    arom_run_on_all(work, NULL);

    uint64_t passes = g.w[0].passes, words = 0, bad = 0, hint_errors = 0, hint_full = 0,
             hinted = 0, rewrites = 0, spot_lt = 0;
    for (unsigned v = 0; v < n; v++) {
        struct worker *w = &g.w[v];
        arom_printf("memcheck: vcpu=%u private_pages=%llu shared_lines=%u/%u passes=%llu "
                    "rewrites=%llu verified_words=%llu mismatches=%llu spot_pages=%llu spot_on_ltram=%llu "
                    "hints=%llu hinted_pages=%llu hint_full=%llu hint_errors=%llu\n",
                    v, (unsigned long long)w->npriv,
                    g.nshared ? (PAGE_LINES - v + n - 1) / n : 0, g.nshared ? PAGE_LINES : 0,
                    (unsigned long long)w->passes, (unsigned long long)w->rewrites,
                    (unsigned long long)w->verified_words, (unsigned long long)w->mismatches,
                    (unsigned long long)w->spot_pages, (unsigned long long)w->spot_ltram,
                    (unsigned long long)w->hints,
                    (unsigned long long)w->hinted_pages, (unsigned long long)w->hint_full,
                    (unsigned long long)w->hint_errors);
        words += w->verified_words;
        bad += w->mismatches;
        hint_errors += w->hint_errors;
        hint_full += w->hint_full;
        hinted += w->hinted_pages;
        rewrites += w->rewrites;
        spot_lt += w->spot_ltram;
        if (w->passes != passes) { /* cannot happen: every vCPU stops at the same pass */
            arom_printf("memcheck: vcpu %u ran %llu passes, vcpu 0 ran %llu\n", v,
                        (unsigned long long)w->passes, (unsigned long long)passes);
            bad++;
        }
    }
    if (g.printed > MAX_PRINTED)
        arom_printf("memcheck: (%u mismatch lines not printed)\n", g.printed - MAX_PRINTED);

    struct arom_hc_tier_stats ts = {0};
    int64_t tr = arom_tier_stats(&ts);
    if (tr < 0) {
        if (tr != -AROM_ENOSYS)
            arom_printf("memcheck: tier_stats failed: %lld\n", (long long)tr);
        memset(&ts, 0, sizeof(ts));
    }

    double secs = (double)(g.t_end - g.t_start) / 1e9;
    arom_printf("memcheck: %.2f s, %.2f passes/s, verified %.2f GiB/s, rewrote %llu pages, "
                "hinted %llu pages (%llu refused: LtRAM full / no tokens)%s\n",
                secs, secs > 0 ? (double)passes / secs : 0.0,
                secs > 0 ? (double)words * 8 / secs / (double)AROM_GiB : 0.0,
                (unsigned long long)rewrites, (unsigned long long)hinted,
                (unsigned long long)hint_full,
                g.mode == MODE_HOST ? " [mode=host: no hints]"
                : arom_load_u32(&g.tiering_off) || tr0 == -AROM_ENOSYS ? " [tiering off]" : "");
    arom_printf("memcheck: vcpus=%u pages=%llu passes=%llu verified_words=%llu mismatches=%llu "
                "promotions=%llu demotions=%llu dram_pages=%llu ltram_pages=%llu\n",
                n, (unsigned long long)g.pages, (unsigned long long)passes,
                (unsigned long long)words, (unsigned long long)bad,
                (unsigned long long)ts.promotions, (unsigned long long)ts.demotions,
                (unsigned long long)ts.dram_pages, (unsigned long long)ts.ltram_pages);

    report_u64("memcheck.mismatches", bad);
    report_u64("memcheck.passes", passes);
    report_u64("memcheck.pages", g.pages);
    report_u64("memcheck.verified_words", words);
    report_u64("memcheck.promotions", ts.promotions);
    report_u64("memcheck.demotions", ts.demotions);
    report_u64("memcheck.hint_errors", hint_errors);
    report_u64("memcheck.hint_refused", hint_full);
    report_u64("memcheck.hinted_pages", hinted);
    report_u64("memcheck.spot_on_ltram", spot_lt);

    arom_printf("memcheck: %s\n", bad == 0 ? "PASS" : "FAIL");
    return bad == 0 ? 0 : 1;
}
