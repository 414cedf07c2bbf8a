/*
 * kvcache: an in-memory key-value cache under a YCSB-style load, on every
 * vCPU. The read-heavy case of the tiering benchmark.
 *
 * Structure: an open-addressing hash table (linear probing, power-of-two
 * capacity >= 2 * nkeys, so the load factor is <= 0.5) of 16-byte entries
 * {key, value slot + 1 (0 = empty), version}, and one page-aligned value slab
 * of nkeys slots of value_size bytes. Key i (0 <= i < nkeys) is
 * mix64(i + salt), a bijection, and lives in slot i.
 *
 * Value of key k at version v (words of 8 bytes, vw = value_size / 8):
 *   w[0] = k, w[1] = v, w[2 .. vw-2] = fill(k, v, j), w[vw-1] = ~k.
 * Setup (not measured) inserts every key at version 0. A get hashes the key,
 * probes, sums every word of the value (touching every cache line, as a
 * copy to a socket buffer would) and checks w[0] and w[vw-1] against the key;
 * a set bumps the version in the table entry and rewrites the whole value in
 * place. Sets are done only by the key's owner (key i belongs to vCPU
 * i % nvcpus): a set draws a key like a get and then moves to the owned key
 * of its group of nvcpus neighbours, so the written values stay
 * deterministic and after the run every word of every value is checked
 * against its table entry. Gets see torn values under concurrent sets, but
 * w[0] and w[vw-1] never change, so the get check holds.
 *
 * Key choice: dist=zipf draws a rank with the YCSB / Gray et al. generator
 * (zeta(n, theta) precomputed: exactly up to 2^22 terms, Euler-Maclaurin
 * for the rest), scrambled over the keys with FNV-1a 64 (YCSB's
 * ScrambledZipfian, but scaled to [0, nkeys) from the hash's high bits instead
 * of taken mod nkeys); dist=uniform draws uniformly.
 *
 * Args: values=256M value_size=1024 mix=C|B|A (get share 100/95/50%)
 *       dist=zipf|uniform theta=0.99, plus workload.h's seconds= warmup=
 *       seed= report_every=; corrupt=1 flips a word of one value behind the
 *       checker's back before the final check (a self-test: must exit 1).
 * Reports: kvcache.throughput (ops/s) .ops .gets .sets .lat_p50_us
 *   .lat_p99_us .lat_p999_us .mismatches .nkeys .setup_s, and the rest of
 *   workload.h's common metrics.
 * Exit: 0, 1 on any mismatch (a get or the final check), 2 on bad args /
 * not enough memory.
 */
#include "arom.h"
#include "workload.h"

AROM_WORKER_POOL()

#define KV_BATCH 4096u              /* ops between wl_tick calls */
#define KV_ZETA_EXACT (1u << 22)    /* zeta terms summed exactly */
#define KV_KEY_SALT 0x6b76636163686500ull /* "kvcache" */
#define KV_MAX_PRINTED 12u
#define KV_MAX_VALUE (1u << 20)

enum kv_dist { DIST_ZIPF, DIST_UNIFORM };

struct kv_entry {
    uint64_t key;
    uint32_t slot1;                 /* value slot + 1; 0: empty */
    uint32_t ver;                   /* version of the value; written by the owner only */
};

struct kv_worker {
    struct arom_rand rng;
    uint64_t gets, sets;            /* of the last phase */
    uint64_t mismatches;            /* all phases */
    uint64_t checked;               /* values checked after the run */
    uint64_t sink;                  /* sum of everything read */
} __attribute__((aligned(64)));

struct kv_zipf {
    uint64_t n;
    double theta, alpha, zetan, eta, half_pow_theta;
};

static struct {
    uint64_t nkeys, value_size, vw;  /* vw: value words */
    uint64_t cap_bits, mask;
    struct kv_entry *table;
    uint64_t *slab;
    enum kv_dist dist;
    char mix;
    uint64_t set_thresh;            /* a set when (rand >> 11) < set_thresh */
    struct kv_zipf zipf;
    uint32_t printed;
    struct kv_worker wk[WL_MAX_VCPUS];
} kv;

static struct wl w;

/* ---- freestanding math (no libm): log, exp, pow for doubles ----------------- */

#define KV_LN2_HI 6.93147180369123816490e-01
#define KV_LN2_LO 1.90821492927058770002e-10
#define KV_LN2 0.69314718055994530942

/* Natural log, x > 0 and finite. atanh series on m in [sqrt(1/2), sqrt(2)):
 * |s| <= 0.1716, 11 terms: relative error < 1e-16. */
static inline double kv_log(double x)
{
    union { double d; uint64_t u; } v = {.d = x};
    int e = 0;
    if ((v.u >> 52) == 0) { /* subnormal */
        v.d *= 18014398509481984.0; /* 2^54 */
        e = -54;
    }
    e += (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m = v.d;
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        e++;
    }
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double p = 1.0 / 21;
    p = p * s2 + 1.0 / 19;
    p = p * s2 + 1.0 / 17;
    p = p * s2 + 1.0 / 15;
    p = p * s2 + 1.0 / 13;
    p = p * s2 + 1.0 / 11;
    p = p * s2 + 1.0 / 9;
    p = p * s2 + 1.0 / 7;
    p = p * s2 + 1.0 / 5;
    p = p * s2 + 1.0 / 3;
    p = p * s2 + 1.0;
    return (double)e * KV_LN2 + 2.0 * s * p;
}

/* e^x. x = k ln2 + r, |r| <= ln2/2, Taylor to r^13. Underflows to 0 below
 * 2^-1022. */
static inline double kv_exp(double x)
{
    if (x < -708.0)
        return 0.0;
    if (x > 709.0)
        x = 709.0;
    double kf = x * (1.0 / KV_LN2);
    int k = (int)(kf < 0 ? kf - 0.5 : kf + 0.5);
    double r = (x - (double)k * KV_LN2_HI) - (double)k * KV_LN2_LO;
    double p = 1.0 / 6227020800.0;            /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    if (k < -1022)
        return 0.0;
    union { double d; uint64_t u; } s = {.u = (uint64_t)(k + 1023) << 52};
    return p * s.d;
}

/* b^a for b >= 0 (setup only: the slow, table-free versions). */
static inline double kv_pow(double b, double a)
{
    return b <= 0.0 ? 0.0 : kv_exp(a * kv_log(b));
}

/* Fast versions for the op loop, table driven (tables built by
 * kv_math_init from the slow versions). log: m = c_i * (1 + r) with c_i the
 * centre of the 64th of [1, 2) holding m, |r| < 1/128, degree-7 series.
 * exp: x = (64 q + j) ln2/64 + r, |r| <= ln2/128, degree-5 series times
 * 2^(j/64) from the table. Both are good to a few ulp. */
#define KV_TBITS 6
#define KV_TSIZE (1 << KV_TBITS)

static struct {
    double log_inv[KV_TSIZE];   /* 1 / c_i */
    double log_c[KV_TSIZE];     /* log(c_i) */
    double exp2_j[KV_TSIZE];    /* 2^(j / 64) */
} kvm;

static void kv_math_init(void)
{
    for (int i = 0; i < KV_TSIZE; i++) {
        double c = 1.0 + (i + 0.5) / KV_TSIZE;
        kvm.log_inv[i] = 1.0 / c;
        kvm.log_c[i] = kv_log(c);
        kvm.exp2_j[i] = kv_exp(i * KV_LN2 / KV_TSIZE);
    }
}

static inline double kv_log_fast(double x)
{
    union { double d; uint64_t u; } v = {.d = x};
    uint64_t ex = v.u >> 52;
    if (__builtin_expect(ex == 0 || ex >= 0x7ff, 0))
        return kv_log(x);
    unsigned i = (unsigned)(v.u >> (52 - KV_TBITS)) & (KV_TSIZE - 1);
    v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double r = v.d * kvm.log_inv[i] - 1.0, r2 = r * r;
    double p = r + r2 * (-0.5 + r * (1.0 / 3)) +
               r2 * r2 * ((-0.25 + r * 0.2) + r2 * (-1.0 / 6 + r * (1.0 / 7)));
    return (double)((int)ex - 1023) * KV_LN2 + kvm.log_c[i] + p;
}

static inline double kv_exp_fast(double x)
{
    if (__builtin_expect(x < -708.0 || x > 709.0, 0))
        return kv_exp(x);
    double kf = x * (KV_TSIZE / KV_LN2);
    int k = (int)(kf < 0 ? kf - 0.5 : kf + 0.5);
    double r = (x - (double)k * (KV_LN2_HI / KV_TSIZE)) - (double)k * (KV_LN2_LO / KV_TSIZE);
    double r2 = r * r;
    double p = 1.0 + r + r2 * (0.5 + r * (1.0 / 6)) + r2 * r2 * (1.0 / 24 + r * (1.0 / 120));
    int q = k >> KV_TBITS; /* floor */
    if (q < -1022)
        return 0.0;
    union { double d; uint64_t u; } s = {.u = (uint64_t)(q + 1023) << 52};
    return p * kvm.exp2_j[k & (KV_TSIZE - 1)] * s.d;
}

/* ---- zipf -------------------------------------------------------------------- */

/* sum_{i=1}^{n} i^-theta */
static double kv_zeta(uint64_t n, double theta)
{
    uint64_t exact = n < KV_ZETA_EXACT ? n : KV_ZETA_EXACT;
    double sum = 0;
    for (uint64_t i = exact; i >= 1; i--) /* small terms first */
        sum += kv_exp(-theta * kv_log((double)i));
    if (n > exact) {
        /* Euler-Maclaurin for sum_{i=N+1}^{n} f(i), f(x) = x^-theta:
         * integral + (f(n) - f(N)) / 2 + (f'(n) - f'(N)) / 12. */
        double N = (double)exact, M = (double)n;
        double integral = (kv_pow(M, 1 - theta) - kv_pow(N, 1 - theta)) / (1 - theta);
        double fn = kv_pow(M, -theta), fN = kv_pow(N, -theta);
        double dfn = -theta * kv_pow(M, -theta - 1), dfN = -theta * kv_pow(N, -theta - 1);
        sum += integral + (fn - fN) / 2 + (dfn - dfN) / 12;
    }
    return sum;
}

static void kv_zipf_init(struct kv_zipf *z, uint64_t n, double theta)
{
    z->n = n;
    z->theta = theta;
    z->alpha = 1.0 / (1.0 - theta);
    z->zetan = kv_zeta(n, theta);
    double zeta2 = 1.0 + kv_pow(0.5, theta);
    z->half_pow_theta = zeta2;
    z->eta = (1.0 - kv_pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
}

/* A rank in [0, n): 0 is the most popular. */
static inline uint64_t kv_zipf_next(const struct kv_zipf *z, struct arom_rand *r)
{
    double u = arom_rand_double(r);
    double uz = u * z->zetan;
    if (uz < 1.0)
        return 0;
    if (uz < z->half_pow_theta)
        return 1;
    double b = z->eta * u - z->eta + 1.0;
    uint64_t v = (uint64_t)((double)z->n * kv_exp_fast(z->alpha * kv_log_fast(b)));
    return v < z->n ? v : z->n - 1;
}

/* FNV-1a 64 over the 8 bytes of v (YCSB's FNVhash64). */
static inline uint64_t kv_fnv64(uint64_t v)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 8; i++) {
        h ^= v & 0xff;
        h *= 0x100000001b3ull;
        v >>= 8;
    }
    return h;
}

/* ---- keys, values, table ---------------------------------------------------------- */

static inline uint64_t kv_key(uint64_t i)
{
    return arom_mix64(i + KV_KEY_SALT);
}

static inline uint64_t kv_fill_base(uint64_t key, uint64_t ver)
{
    return arom_mix64(key ^ (ver * 0x9e3779b97f4a7c15ull));
}

#define KV_FILL_STEP 0xd6e8feb86659fd93ull

static inline uint64_t *kv_value(uint64_t slot)
{
    return kv.slab + slot * kv.vw;
}

static inline void kv_write_value(uint64_t *v, uint64_t key, uint64_t ver)
{
    uint64_t vw = kv.vw, base = kv_fill_base(key, ver);
    v[0] = key;
    v[1] = ver;
    for (uint64_t j = 2; j < vw - 1; j++)
        v[j] = base + j * KV_FILL_STEP;
    v[vw - 1] = ~key;
}

static inline uint64_t kv_hash(uint64_t key)
{
    return (key * 0x9e3779b97f4a7c15ull) >> (64 - kv.cap_bits);
}

/* The entry of key, or NULL. */
static inline struct kv_entry *kv_lookup(uint64_t key)
{
    uint64_t h = kv_hash(key);
    for (;;) {
        struct kv_entry *e = &kv.table[h];
        if (e->key == key && e->slot1)
            return e;
        if (!e->slot1)
            return NULL;
        h = (h + 1) & kv.mask;
    }
}

static bool kv_insert(uint64_t key, uint32_t slot)
{
    uint64_t h = kv_hash(key);
    for (uint64_t probes = 0; probes <= kv.mask; probes++) {
        struct kv_entry *e = &kv.table[h];
        if (!e->slot1) {
            e->key = key;
            e->ver = 0;
            e->slot1 = slot + 1;
            return true;
        }
        if (e->key == key)
            return false;
        h = (h + 1) & kv.mask;
    }
    return false;
}

static __attribute__((noinline, cold)) void kv_mismatch(unsigned vcpu, const char *what,
                                                          uint64_t key, uint64_t a, uint64_t b)
{
    if (arom_add_u32(&kv.printed, 1) > KV_MAX_PRINTED)
        return;
    arom_printf("kvcache: MISMATCH vcpu=%u %s key=0x%016llx got=0x%016llx/0x%016llx\n", vcpu,
                what, (unsigned long long)key, (unsigned long long)a, (unsigned long long)b);
}

/* ---- setup (parallel value fill) ------------------------------------------------------ */

static void kv_fill_vcpu(unsigned vcpu, void *arg)
{
    (void)arg;
    uint64_t lo, hi;
    wl_share(&w, vcpu, kv.nkeys, &lo, &hi);
    for (uint64_t i = lo; i < hi; i++)
        kv_write_value(kv_value(i), kv_key(i), 0);
}

/* ---- the op loop ------------------------------------------------------------------------ */

static inline uint64_t kv_next_index(struct arom_rand *r)
{
    if (kv.dist == DIST_UNIFORM)
        return arom_rand_range(r, kv.nkeys);
    /* the high bits of the hash (FNV-1a's low bits are weak) scaled to [0, nkeys) */
    return (uint64_t)(((unsigned __int128)kv_fnv64(kv_zipf_next(&kv.zipf, r)) * kv.nkeys) >> 64);
}

/* Get: 0 or 1 mismatch; *sink accumulates the value. */
static inline uint64_t kv_get(unsigned vcpu, uint64_t key, uint64_t *sink)
{
    const struct kv_entry *e = kv_lookup(key);
    if (__builtin_expect(!e, 0)) {
        kv_mismatch(vcpu, "get: key not in table", key, 0, 0);
        return 1;
    }
    const uint64_t *v = kv_value(e->slot1 - 1);
    uint64_t vw = kv.vw, s = 0;
    for (uint64_t j = 0; j < vw; j++)
        s += v[j];
    *sink += s;
    uint64_t first = v[0], last = v[vw - 1];
    if (__builtin_expect(first != key || last != ~key, 0)) {
        kv_mismatch(vcpu, "get: embedded key", key, first, last);
        return 1;
    }
    return 0;
}

static inline uint64_t kv_set(unsigned vcpu, uint64_t key)
{
    struct kv_entry *e = kv_lookup(key);
    if (__builtin_expect(!e, 0)) {
        kv_mismatch(vcpu, "set: key not in table", key, 0, 0);
        return 1;
    }
    uint32_t ver = e->ver + 1;
    e->ver = ver;
    kv_write_value(kv_value(e->slot1 - 1), key, ver);
    return 0;
}

static uint64_t kv_body(struct wl *wp, struct wl_vcpu *me, void *arg)
{
    (void)arg;
    unsigned vcpu = me->vcpu, n = wp->n;
    struct kv_worker *k = &kv.wk[vcpu];
    struct arom_rand rng = k->rng;
    uint64_t set_thresh = kv.set_thresh, nkeys = kv.nkeys;
    uint64_t ops = 0, sets = 0, bad = 0, sink = 0;

    while (!wl_tick(wp, me, ops)) {
        for (unsigned i = 0; i < KV_BATCH; i++) {
            uint64_t idx = kv_next_index(&rng);
            bool set = set_thresh && (arom_rand_u64(&rng) >> 11) < set_thresh;
            if (set) {
                /* the owned key of idx's group of n neighbours */
                idx = idx - idx % n + vcpu;
                if (idx >= nkeys)
                    idx = vcpu;
            }
            uint64_t key = kv_key(idx);
            if (wl_lat_due(me)) {
                uint64_t t0 = arom_rdtsc();
                bad += set ? kv_set(vcpu, key) : kv_get(vcpu, key, &sink);
                wl_lat_add(me, arom_rdtsc() - t0);
            } else {
                bad += set ? kv_set(vcpu, key) : kv_get(vcpu, key, &sink);
            }
            sets += set;
        }
        ops += KV_BATCH;
    }
    k->rng = rng;
    k->sets = sets;
    k->gets = ops - sets;
    k->mismatches += bad;
    k->sink += sink;
    return ops;
}

/* ---- final check: every key in the table, every word of every value ----------------- */

static void kv_check_vcpu(unsigned vcpu, void *arg)
{
    (void)arg;
    struct kv_worker *k = &kv.wk[vcpu];
    uint64_t lo, hi, vw = kv.vw;
    wl_share(&w, vcpu, kv.nkeys, &lo, &hi);

    for (uint64_t i = lo; i < hi; i++) {
        uint64_t key = kv_key(i);
        const struct kv_entry *e = kv_lookup(key);
        if (!e || e->slot1 != i + 1) {
            k->mismatches++;
            kv_mismatch(vcpu, "final: table entry (slot+1 in got)", key, e ? e->slot1 : 0, i + 1);
            continue;
        }
        const uint64_t *v = kv_value(i);
        uint64_t ver = e->ver, base = kv_fill_base(key, ver);
        uint64_t diff = (v[0] ^ key) | (v[1] ^ ver) | (v[vw - 1] ^ ~key);
        for (uint64_t j = 2; j < vw - 1; j++)
            diff |= v[j] ^ (base + j * KV_FILL_STEP);
        if (__builtin_expect(diff != 0, 0)) {
            k->mismatches++;
            kv_mismatch(vcpu, "final: value (version in got, expected in 2nd)", key, v[1], ver);
        }
        k->checked++;
    }
}

/* ---- args --------------------------------------------------------------------------------- */

/* "0.99", "1", ".5": a non-negative decimal; -1 on junk. */
static double kv_parse_decimal(const char *s)
{
    double v = 0, scale = 1;
    bool dot = false, digit = false;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            digit = true;
            if (dot) {
                scale /= 10;
                v += (*s - '0') * scale;
            } else {
                v = v * 10 + (*s - '0');
            }
        } else if (*s == '.' && !dot) {
            dot = true;
        } else {
            return -1;
        }
    }
    return digit ? v : -1;
}

int main(int argc, char **argv)
{
    int r = wl_init(&w, "kvcache", argc, argv);
    if (r)
        return r;
    uint64_t values = arom_arg_u64(argc, argv, "values", 256 * AROM_MiB);
    kv.value_size = arom_arg_u64(argc, argv, "value_size", 1024);
    const char *mix = arom_arg_str(argc, argv, "mix", "C");
    const char *dist = arom_arg_str(argc, argv, "dist", "zipf");
    const char *theta_s = arom_arg_str(argc, argv, "theta", "0.99");
    bool corrupt = arom_arg_u64(argc, argv, "corrupt", 0) != 0;
    double theta = kv_parse_decimal(theta_s);

    if (kv.value_size < 24 || kv.value_size > KV_MAX_VALUE || kv.value_size % 8) {
        arom_printf("kvcache: value_size=%llu: need a multiple of 8 in 24..%u\n",
                    (unsigned long long)kv.value_size, KV_MAX_VALUE);
        return 2;
    }
    kv.vw = kv.value_size / 8;
    kv.nkeys = values / kv.value_size;
    if (kv.nkeys < 64 || kv.nkeys >= (1ull << 32) - 1) {
        arom_printf("kvcache: values=%llu / value_size=%llu = %llu keys: need 64 .. 2^32-2\n",
                    (unsigned long long)values, (unsigned long long)kv.value_size,
                    (unsigned long long)kv.nkeys);
        return 2;
    }
    if ((mix[0] == 'C' || mix[0] == 'c') && !mix[1])
        kv.mix = 'C';
    else if ((mix[0] == 'B' || mix[0] == 'b') && !mix[1])
        kv.mix = 'B';
    else if ((mix[0] == 'A' || mix[0] == 'a') && !mix[1])
        kv.mix = 'A';
    else {
        arom_printf("kvcache: mix=%s: need C (100%% get), B (95/5) or A (50/50)\n", mix);
        return 2;
    }
    kv.set_thresh = kv.mix == 'C' ? 0 : kv.mix == 'B' ? (1ull << 53) / 20 : (1ull << 53) / 2;
    if (strcmp(dist, "zipf") == 0) {
        kv.dist = DIST_ZIPF;
    } else if (strcmp(dist, "uniform") == 0) {
        kv.dist = DIST_UNIFORM;
    } else {
        arom_printf("kvcache: dist=%s: need zipf or uniform\n", dist);
        return 2;
    }
    if (!(theta > 0 && theta < 1)) {
        arom_printf("kvcache: theta=%s: need 0 < theta < 1\n", theta_s);
        return 2;
    }

    /* ---- setup ---- */
    uint64_t t_setup = arom_rdtsc();
    uint64_t cap = 1;
    kv.cap_bits = 0;
    while (cap < 2 * kv.nkeys) {
        cap <<= 1;
        kv.cap_bits++;
    }
    kv.mask = cap - 1;
    uint64_t table_bytes = cap * sizeof(struct kv_entry);
    uint64_t slab_bytes = kv.nkeys * kv.value_size;
    kv.table = wl_alloc(&w, "hash table", table_bytes);
    if (!kv.table)
        return 2;
    kv.slab = wl_alloc(&w, "value slab", slab_bytes);
    if (!kv.slab)
        return 2;
    arom_printf("kvcache: %llu keys x %llu B = %llu MiB of values, table %llu entries (%llu MiB), "
                "mix=%c dist=%s theta=%s, %u vCPU(s), seed=%llu, TSC %.3f GHz\n",
                (unsigned long long)kv.nkeys, (unsigned long long)kv.value_size,
                (unsigned long long)(slab_bytes >> 20), (unsigned long long)cap,
                (unsigned long long)(table_bytes >> 20), kv.mix, dist, theta_s, w.n,
                (unsigned long long)w.seed, (double)w.tsc_hz / 1e9);

    memset(kv.table, 0, table_bytes);
    for (uint64_t i = 0; i < kv.nkeys; i++) {
        if (!kv_insert(kv_key(i), (uint32_t)i)) {
            arom_printf("kvcache: insert of key %llu failed\n", (unsigned long long)i);
            return 2;
        }
    }
    arom_run_on_all(kv_fill_vcpu, NULL);
    kv_math_init();
    if (kv.dist == DIST_ZIPF)
        kv_zipf_init(&kv.zipf, kv.nkeys, theta);
    for (unsigned v = 0; v < w.n; v++)
        wl_seed(&w, &kv.wk[v].rng, v, 0);
    double setup_s = wl_ticks_to_s(&w, arom_rdtsc() - t_setup);
    if (kv.dist == DIST_ZIPF)
        arom_printf("kvcache: setup %.2f s; zipf zeta(n)=%.6f eta=%.6f\n", setup_s, kv.zipf.zetan,
                    kv.zipf.eta);
    else
        arom_printf("kvcache: setup %.2f s\n", setup_s);

    wl_track(&w, kv.slab, slab_bytes);
    wl_track(&w, kv.table, table_bytes);

    /* ---- run ---- */
    wl_run(&w, kv_body, NULL);

    uint64_t gets = 0, sets = 0, mism_run = 0, sink = 0;
    for (unsigned v = 0; v < w.n; v++) {
        gets += kv.wk[v].gets;
        sets += kv.wk[v].sets;
        mism_run += kv.wk[v].mismatches;
        sink += kv.wk[v].sink;
    }
    wl_finish(&w);

    /* ---- final check ---- */
    if (corrupt) {
        volatile uint64_t *victim = kv_value(kv.nkeys / 2) + kv.vw / 2;
        *victim ^= 1u << 7;
        arom_printf("kvcache: corrupt=1: flipped a bit at %p (value slot %llu)\n", (void *)victim,
                    (unsigned long long)(kv.nkeys / 2));
    }
    uint64_t t_check = arom_rdtsc();
    arom_run_on_all(kv_check_vcpu, NULL);
    uint64_t mism = 0, checked = 0;
    for (unsigned v = 0; v < w.n; v++) {
        mism += kv.wk[v].mismatches;
        checked += kv.wk[v].checked;
    }
    if (kv.printed > KV_MAX_PRINTED)
        arom_printf("kvcache: (%u mismatch lines not printed)\n", kv.printed - KV_MAX_PRINTED);
    arom_printf("kvcache: gets=%llu sets=%llu mismatches=%llu (ops %llu, final check %llu) "
                "checked %llu values in %.2f s, sink=%016llx\n",
                (unsigned long long)gets, (unsigned long long)sets, (unsigned long long)mism,
                (unsigned long long)mism_run, (unsigned long long)(mism - mism_run),
                (unsigned long long)checked, wl_ticks_to_s(&w, arom_rdtsc() - t_check),
                (unsigned long long)sink);

    wl_report(&w, "gets", (double)gets);
    wl_report(&w, "sets", (double)sets);
    wl_report(&w, "mismatches", (double)mism);
    wl_report(&w, "nkeys", (double)kv.nkeys);
    wl_report(&w, "setup_s", setup_s);
    arom_printf("kvcache: %s\n", mism == 0 ? "PASS" : "FAIL (data mismatch)");
    return mism == 0 ? 0 : 1;
}
