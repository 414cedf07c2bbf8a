/*
 * writestorm: the adversarial case for tiering. Every vCPU stores 8-byte
 * words at random places all over size= bytes, so every page is written
 * again and again and none stays clean for long.
 *
 * Ownership: word i (global index over the area) belongs to vCPU i % nvcpus;
 * vCPU v's owned words are j = 0 .. m-1 with i = j * nvcpus + v.
 * Order: a vCPU works in passes. Pass p visits every owned word exactly once
 * in the order of a keyed pseudo-random permutation of [0, M), M the power
 * of two >= m (positions that map to j >= m are skipped): three rounds of
 * add/xor key, xor-shift and odd multiply, all bijective mod M. Position
 * pos stores val(i, p) = mix64(i ^ base(p)) into word i, so consecutive
 * stores land on unrelated pages, uniformly over the area.
 * Check: setup fills every word with val(i, 0) and the run starts at pass 1.
 * When the run stops at (pass P, position t), word j holds val(i, P) if
 * perm_P^-1(j) < t, else val(i, P - 1): after the run every vCPU verifies
 * every word it owns, in address order, by inverting the permutation. A
 * lost store shows up as the previous pass's value.
 *
 * Args: size=256M, plus workload.h's seconds= warmup= seed= report_every=;
 *       corrupt=1 flips a bit of one word behind the checker's back before
 *       the final check (a self-test: must exit 1).
 * Reports: writestorm.throughput (stores/s), writestorm.ops, writestorm.passes
 *   (fewest full passes of any vCPU), writestorm.checked, writestorm.mismatches,
 *   and the rest of workload.h's common metrics.
 * Exit: 0, 1 on any mismatch, 2 on bad args / not enough memory.
 */
#include "arom.h"
#include "workload.h"

AROM_WORKER_POOL()

#define WS_BATCH 256u                /* stores between wl_tick calls: a store may cost a promotion */
#define WS_SALT 0x7772697465737472ull /* "writestr" */
#define WS_MAX_PRINTED 12u
#define WS_C1 0xbf58476d1ce4e5b9ull
#define WS_C2 0x94d049bb133111ebull
#define WS_C3 0xd6e8feb86659fd93ull

/* A keyed bijection of [0, 2^bits). */
struct ws_perm {
    uint64_t mask, ka, kb, kc;
    unsigned shift;
};

struct ws_worker {
    uint64_t m;                      /* owned words */
    uint64_t pass, pos;              /* the next store: position pos of pass `pass` */
    struct ws_perm perm;             /* of the current pass */
    uint64_t base;                   /* val base of the current pass */
    uint64_t checked, mismatches;
} __attribute__((aligned(64)));

static struct {
    uint64_t *area;
    uint64_t words;
    unsigned bits;                   /* M = 2^bits >= every m */
    uint64_t inv1, inv2, inv3;       /* inverses of WS_C1..3 mod 2^64 */
    uint32_t printed;
    struct ws_worker wk[WL_MAX_VCPUS];
} ws;

static struct wl w;

/* ---- permutation and values ------------------------------------------------------- */

static inline uint64_t ws_inverse(uint64_t c) /* c odd: c * x == 1 mod 2^64 */
{
    uint64_t x = c; /* right to 3 bits; each step doubles */
    for (int i = 0; i < 5; i++)
        x *= 2 - c * x;
    return x;
}

static void ws_perm_key(struct ws_perm *p, unsigned vcpu, uint64_t pass)
{
    uint64_t k = arom_mix64(w.seed ^ WS_SALT) ^ arom_mix64(((uint64_t)vcpu << 40) ^ pass);
    p->mask = ws.bits == 64 ? ~0ull : (1ull << ws.bits) - 1;
    p->shift = (ws.bits + 1) / 2;
    p->ka = arom_mix64(k + 1) & p->mask;
    p->kb = arom_mix64(k + 2) & p->mask;
    p->kc = arom_mix64(k + 3) & p->mask;
}

static inline uint64_t ws_perm(const struct ws_perm *p, uint64_t x)
{
    uint64_t m = p->mask;
    unsigned s = p->shift;
    x = (x + p->ka) & m;
    x ^= x >> s;
    x = (x * WS_C1) & m;
    x ^= p->kb;
    x ^= x >> s;
    x = (x * WS_C2) & m;
    x ^= p->kc;
    x ^= x >> s;
    x = (x * WS_C3) & m;
    return x;
}

/* Inverse of x ^= x >> s on values below 2^bits. */
static inline uint64_t ws_unshift(uint64_t y, unsigned s, unsigned bits)
{
    uint64_t x = y;
    for (unsigned done = s; done < bits; done += s)
        x = y ^ (x >> s);
    return x;
}

static inline uint64_t ws_perm_inv(const struct ws_perm *p, uint64_t x)
{
    uint64_t m = p->mask;
    unsigned s = p->shift, b = ws.bits;
    x = (x * ws.inv3) & m;
    x = ws_unshift(x, s, b);
    x ^= p->kc;
    x = (x * ws.inv2) & m;
    x = ws_unshift(x, s, b);
    x ^= p->kb;
    x = (x * ws.inv1) & m;
    x = ws_unshift(x, s, b);
    return (x - p->ka) & m;
}

static inline uint64_t ws_base(uint64_t pass)
{
    return arom_mix64((w.seed * WS_C3) ^ (pass * 0x9e3779b97f4a7c15ull) ^ WS_SALT);
}

static inline uint64_t ws_val(uint64_t i, uint64_t base)
{
    return arom_mix64(i ^ base);
}

static void ws_start_pass(struct ws_worker *k, unsigned vcpu, uint64_t pass)
{
    k->pass = pass;
    k->pos = 0;
    ws_perm_key(&k->perm, vcpu, pass);
    k->base = ws_base(pass);
}

/* ---- setup ----------------------------------------------------------------------------- */

static void ws_fill_vcpu(unsigned vcpu, void *arg)
{
    (void)arg;
    uint64_t lo, hi, base = ws_base(0);
    wl_share(&w, vcpu, ws.words, &lo, &hi);
    for (uint64_t i = lo; i < hi; i++)
        ws.area[i] = ws_val(i, base);
}

/* ---- the store loop --------------------------------------------------------------------- */

static uint64_t ws_body(struct wl *wp, struct wl_vcpu *me, void *arg)
{
    (void)arg;
    unsigned vcpu = me->vcpu;
    uint64_t n = wp->n;
    struct ws_worker *k = &ws.wk[vcpu];
    uint64_t *area = ws.area;
    uint64_t m = k->m, pass = k->pass, pos = k->pos, base = k->base;
    struct ws_perm perm = k->perm;
    uint64_t ops = 0;

    while (!wl_tick(wp, me, ops)) {
        for (unsigned b = 0; b < WS_BATCH; b++) {
            uint64_t j;
            do {
                if (__builtin_expect(pos > perm.mask, 0)) { /* pass complete */
                    pass++;
                    pos = 0;
                    ws_perm_key(&perm, vcpu, pass);
                    base = ws_base(pass);
                }
                j = ws_perm(&perm, pos++);
            } while (j >= m);
            uint64_t i = j * n + vcpu, v = ws_val(i, base);
            if (wl_lat_due(me)) {
                uint64_t t0 = arom_rdtsc();
                arom_compiler_barrier();
                area[i] = v;
                arom_compiler_barrier();
                wl_lat_add(me, arom_rdtsc() - t0);
            } else {
                area[i] = v;
            }
        }
        ops += WS_BATCH;
    }
    k->pass = pass;
    k->pos = pos;
    k->perm = perm;
    k->base = base;
    return ops;
}

/* ---- final check -------------------------------------------------------------------------- */

static __attribute__((noinline, cold)) void ws_mismatch(unsigned vcpu, uint64_t i, uint64_t want,
                                                          uint64_t got, uint64_t prev)
{
    if (arom_add_u32(&ws.printed, 1) > WS_MAX_PRINTED)
        return;
    arom_printf("writestorm: MISMATCH vcpu=%u word=%llu addr=%p expected=0x%016llx got=0x%016llx%s\n",
                vcpu, (unsigned long long)i, (void *)(ws.area + i), (unsigned long long)want,
                (unsigned long long)got,
                got == prev ? " (= the pass before: lost store?)" : got == 0 ? " (zero)" : "");
}

static void ws_check_vcpu(unsigned vcpu, void *arg)
{
    (void)arg;
    struct ws_worker *k = &ws.wk[vcpu];
    uint64_t n = w.n, t = k->pos;
    uint64_t cur = k->base, prev = ws_base(k->pass - 1);
    const volatile uint64_t *area = ws.area;

    for (uint64_t j = 0; j < k->m; j++) {
        uint64_t i = j * n + vcpu;
        bool stored = ws_perm_inv(&k->perm, j) < t;
        uint64_t want = ws_val(i, stored ? cur : prev), got = area[i];
        if (__builtin_expect(got != want, 0)) {
            k->mismatches++;
            ws_mismatch(vcpu, i, want, got, stored ? ws_val(i, prev) : 0);
        }
    }
    k->checked = k->m;
}

/* ---- main ----------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int r = wl_init(&w, "writestorm", argc, argv);
    if (r)
        return r;
    bool corrupt = arom_arg_u64(argc, argv, "corrupt", 0) != 0;
    uint64_t size = AROM_ALIGN_UP(arom_arg_u64(argc, argv, "size", 256 * AROM_MiB), AROM_PAGE_SIZE);
    ws.words = size / 8;
    if (ws.words < 64ull * w.n || ws.words > (1ull << 44)) {
        arom_printf("writestorm: size=%llu: need 512 B per vCPU .. 128 TiB\n",
                    (unsigned long long)size);
        return 2;
    }
    ws.area = wl_alloc(&w, "store area", size);
    if (!ws.area)
        return 2;

    uint64_t t_setup = arom_rdtsc();
    uint64_t m0 = (ws.words + w.n - 1) / w.n; /* vCPU 0 owns the most words */
    ws.bits = 1;
    while ((1ull << ws.bits) < m0)
        ws.bits++;
    ws.inv1 = ws_inverse(WS_C1);
    ws.inv2 = ws_inverse(WS_C2);
    ws.inv3 = ws_inverse(WS_C3);
    for (unsigned v = 0; v < w.n; v++) {
        struct ws_worker *k = &ws.wk[v];
        k->m = (ws.words - v + w.n - 1) / w.n;
        ws_start_pass(k, v, 1);
        /* self-test: the permutation stays in range and inverts */
        struct arom_rand rng;
        wl_seed(&w, &rng, v, 1);
        for (int s = 0; s < 1000; s++) {
            uint64_t x = arom_rand_u64(&rng) & k->perm.mask, y = ws_perm(&k->perm, x);
            if (y > k->perm.mask || ws_perm_inv(&k->perm, y) != x)
                arom_panic("writestorm: permutation self-test failed: bits=%u x=%llu y=%llu",
                           ws.bits, (unsigned long long)x, (unsigned long long)y);
        }
    }
    arom_run_on_all(ws_fill_vcpu, NULL);
    double setup_s = wl_ticks_to_s(&w, arom_rdtsc() - t_setup);
    arom_printf("writestorm: %llu MiB (%llu words) at %p, %u vCPU(s), permutation 2^%u, seed=%llu, "
                "TSC %.3f GHz, setup %.2f s\n",
                (unsigned long long)(size >> 20), (unsigned long long)ws.words, (void *)ws.area,
                w.n, ws.bits, (unsigned long long)w.seed, (double)w.tsc_hz / 1e9, setup_s);
    wl_track(&w, ws.area, size);

    wl_run(&w, ws_body, NULL);
    wl_finish(&w);

    if (corrupt) {
        volatile uint64_t *victim = ws.area + ws.words / 2;
        *victim ^= 1u << 7;
        arom_printf("writestorm: corrupt=1: flipped a bit at %p (word %llu)\n", (void *)victim,
                    (unsigned long long)(ws.words / 2));
    }
    uint64_t t_check = arom_rdtsc();
    arom_run_on_all(ws_check_vcpu, NULL);
    uint64_t mism = 0, checked = 0, passes = UINT64_MAX;
    for (unsigned v = 0; v < w.n; v++) {
        const struct ws_worker *k = &ws.wk[v];
        mism += k->mismatches;
        checked += k->checked;
        uint64_t full = k->pass - 1 + (k->pos > k->perm.mask ? 1 : 0);
        if (full < passes)
            passes = full;
    }
    if (ws.printed > WS_MAX_PRINTED)
        arom_printf("writestorm: (%u mismatch lines not printed)\n", ws.printed - WS_MAX_PRINTED);
    arom_printf("writestorm: full passes (fewest of any vCPU, warm-up included) %llu, "
                "checked %llu words in %.2f s, mismatches=%llu\n",
                (unsigned long long)passes, (unsigned long long)checked,
                wl_ticks_to_s(&w, arom_rdtsc() - t_check), (unsigned long long)mism);
    wl_report(&w, "passes", (double)passes);
    wl_report(&w, "checked", (double)checked);
    wl_report(&w, "mismatches", (double)mism);
    arom_printf("writestorm: %s\n", mism == 0 ? "PASS" : "FAIL (data mismatch)");
    return mism == 0 ? 0 : 1;
}
