/*
 * weights: an ML-inference-like workload. A large read-only weight matrix
 * ("model weights", the bulk of memory) is streamed once per token; the
 * activations are a few small buffers written at every layer. The weights
 * should end up on LtRAM under a tight DRAM budget, the activations stay on
 * DRAM.
 *
 * Model: L layers of D x D matrices, row-major, int8 (dtype=int8) or fp32
 * (dtype=fp32); L = weights / (D * D * element size), rounded down. Setup
 * (not measured) fills layer l from a PRNG stream of its own (seed, l), so
 * the weights depend on the seed only.
 *
 * A token is one forward pass. Its input x is derived from (seed, token
 * index). For every layer: y = W x, then leaky ReLU (y < 0: y / 8) and a
 * max-abs normalisation into the next x:
 *   int8  y in int32 (exact), x = round(127 * y / max|y|) in int8
 *   fp32  x = y / max|y|
 * split=rows (default): the rows of every layer are split among the vCPUs;
 * every vCPU writes its rows of y (shared, double-buffered by layer parity)
 * and its max|y|, then one barrier per layer, then every vCPU normalises the
 * whole (small) y into its private x. Lockstep: a barrier every D * D / n
 * weights, so a vCPU the host deschedules stalls all of them.
 * split=tokens: every vCPU runs whole tokens on its own (vCPU v takes token
 * indices v + 1, v + 1 + n, ...), private y, no barriers: batch-style
 * parallelism, immune to that.
 * Each row is summed in a fixed order, whoever computes it, so the output of
 * a token is the same for any number of vCPUs and either split (int8:
 * exactly; fp32: bit for bit, given the same build).
 *
 * Hot loop: the row dot product, written with GCC vector extensions so it
 * is SSE2 whatever the optimiser decides: int8 rows are sign-extended to
 * int16 in place (even bytes by shift left/right, odd bytes by shift right)
 * and multiplied with pmaddwd against x held as int16 in the matching
 * even/odd order per block of 16 (~9 instructions per 16 weights); fp32 uses
 * four 4-wide accumulators.
 *
 * Checks (not measured): the output of a reference token (index 0) is
 * computed after setup and again after the run, and a hash of all weights
 * likewise; a difference (e.g. a page corrupted by a migration) exits 1.
 *
 * Args: weights=256M dtype=int8|fp32 dim=1024 (a multiple of 16, at most
 *       65536) split=rows|tokens, plus workload.h's seconds= warmup= seed=
 *       report_every=.
 * Ops are tokens (split=rows: counted on vCPU 0); every token's latency is
 * sampled.
 * Reports: weights.throughput (tokens/s), weights.tokens, weights.gops
 *   (2 * D * D * L per token, /1e9 per s), weights.weight_gib_per_s,
 *   weights.checksum (FNV-1a 32 of the reference token's output: int8 values
 *   or fp32 bit patterns), weights.layers, weights.dim, weights.bytes,
 *   weights.verify_errors, weights.setup_s, and workload.h's common metrics
 *   (lat_* = per-token latency, data_ltram_pct = share of the weights on
 *   LtRAM).
 * Exit: 0, 1 on a verification mismatch, 2 on bad args / not enough memory.
 */
#include "arom.h"
#include "workload.h"

AROM_WORKER_POOL()

#define W_MAX_DIM 65536u            /* int8: keeps D * 128 * 128 below 2^31 */
#define W_BLOCK 16u                 /* dim is a multiple of this */
#define W_REF_TOKEN 0ull            /* input index of the reference token */
#define W_STREAM_WEIGHTS 0x77656967ull /* "weig" */
#define W_STREAM_INPUT 0x696e7075ull   /* "inpu" */

enum w_dtype { DT_INT8, DT_FP32 };

/* Vector types (GCC/clang extensions, SSE2 on x86-64). */
typedef int16_t v8hi __attribute__((vector_size(16), may_alias));
typedef uint16_t v8hu __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));
typedef float v4sf __attribute__((vector_size(16), may_alias));

/* Per-vCPU state; every vCPU steps through the same layers and tokens. */
struct w_lane {
    uint64_t step;                  /* layers done so far (all phases): buffer parity */
    uint64_t token;                 /* next token index (all phases) */
    int16_t *x16;                   /* int8 activations, even/odd per block of 16 */
    float *xf;                      /* fp32 activations */
    int32_t *yi;                    /* split=tokens: private layer output */
    float *yf;
    uint32_t r0, r1;                /* split=rows: this vCPU's rows of every layer */
} __attribute__((aligned(64)));

/* max|y| of one vCPU's rows, one cache line each. */
struct w_max {
    union {
        int32_t i;
        float f;
    };
} __attribute__((aligned(64)));

static struct wl w;

static struct {
    enum w_dtype dt;
    uint64_t dim, layers, esize;    /* esize: bytes per weight */
    uint64_t layer_bytes, bytes;
    void *weights;
    int32_t *yi[2];                 /* shared layer outputs, by layer parity */
    float *yf[2];
    struct w_max max[2][WL_MAX_VCPUS];
    bool solo;                      /* split=tokens */
    struct arom_barrier bar __attribute__((aligned(64)));
    struct w_lane lane[WL_MAX_VCPUS];
} g;

/* ---- kernels ------------------------------------------------------------------ */

/* sum w[i] * x[i] over one int8 row; x16 holds x as int16, per block of 16
 * first the 8 even-indexed then the 8 odd-indexed elements. */
static inline int32_t dot_i8(const int8_t *restrict row, const int16_t *restrict x16, uint64_t d)
{
    v4si a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};
    for (uint64_t i = 0; i < d; i += W_BLOCK) {
        v8hi wv = *(const v8hi *)(row + i);
        v8hi ev = (v8hi)((v8hu)wv << 8) >> 8; /* bytes 0, 2, .., 14 (little-endian) */
        v8hi od = wv >> 8;                    /* bytes 1, 3, .., 15 */
        a0 += __builtin_ia32_pmaddwd128(ev, *(const v8hi *)(x16 + i));
        a1 += __builtin_ia32_pmaddwd128(od, *(const v8hi *)(x16 + i + 8));
    }
    a0 += a1;
    return (a0[0] + a0[1]) + (a0[2] + a0[3]);
}

static inline float dot_f32(const float *restrict row, const float *restrict x, uint64_t d)
{
    v4sf a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
    for (uint64_t i = 0; i < d; i += W_BLOCK) {
        a0 += *(const v4sf *)(row + i) * *(const v4sf *)(x + i);
        a1 += *(const v4sf *)(row + i + 4) * *(const v4sf *)(x + i + 4);
        a2 += *(const v4sf *)(row + i + 8) * *(const v4sf *)(x + i + 8);
        a3 += *(const v4sf *)(row + i + 12) * *(const v4sf *)(x + i + 12);
    }
    a0 = (a0 + a1) + (a2 + a3);
    return (a0[0] + a0[1]) + (a0[2] + a0[3]);
}

/* Position of element i in the even/odd int16 layout. */
static inline uint64_t x16_pos(uint64_t i)
{
    return (i & ~(uint64_t)(W_BLOCK - 1)) + ((i & 1) ? W_BLOCK / 2 : 0) + ((i & (W_BLOCK - 1)) >> 1);
}

static inline float absf(float f)
{
    return f < 0 ? -f : f;
}

/* ---- one forward pass ------------------------------------------------------------ */

/* The input of token t, identical on every vCPU. */
static void load_input(struct w_lane *ln, uint64_t t)
{
    uint64_t base = arom_mix64(w.seed ^ W_STREAM_INPUT) + t * g.dim;
    for (uint64_t i = 0; i < g.dim; i++) {
        uint64_t h = arom_mix64(base + i);
        if (g.dt == DT_INT8)
            ln->x16[x16_pos(i)] = (int16_t)((int)(h % 255) - 127);
        else
            ln->xf[i] = (float)(int32_t)(uint32_t)h * 0x1.0p-31f; /* [-1, 1) */
    }
}

/* Rows [r0, r1) of y = leaky_relu(W x); returns their max |y|. */
static int32_t rows_i8(const int8_t *wl8, const int16_t *x16, int32_t *y, uint64_t r0, uint64_t r1)
{
    int32_t mx = 0;
    for (uint64_t r = r0; r < r1; r++) {
        int32_t s = dot_i8(wl8 + r * g.dim, x16, g.dim);
        s = s >= 0 ? s : s / 8;
        y[r] = s;
        int32_t a = s < 0 ? -s : s;
        mx = a > mx ? a : mx;
    }
    return mx;
}

/* x = round(127 * y / m), in the even/odd int16 layout. */
static void norm_i8(int16_t *x16, const int32_t *y, int32_t m)
{
    float sc = m ? 127.0f / (float)m : 0.0f;
    for (uint64_t b = 0; b < g.dim; b += W_BLOCK) {
        for (unsigned k = 0; k < W_BLOCK; k++) {
            float f = (float)y[b + k] * sc;
            int32_t q = (int32_t)(f + (f >= 0 ? 0.5f : -0.5f));
            x16[b + (k & 1) * (W_BLOCK / 2) + (k >> 1)] = (int16_t)q;
        }
    }
}

static float rows_f32(const float *wlf, const float *x, float *y, uint64_t r0, uint64_t r1)
{
    float mx = 0;
    for (uint64_t r = r0; r < r1; r++) {
        float s = dot_f32(wlf + r * g.dim, x, g.dim);
        s = s >= 0 ? s : 0.125f * s;
        y[r] = s;
        float a = absf(s);
        mx = a > mx ? a : mx;
    }
    return mx;
}

static void norm_f32(float *x, const float *y, float m)
{
    float sc = m > 0 ? 1.0f / m : 0.0f;
    for (uint64_t i = 0; i < g.dim; i++)
        x[i] = y[i] * sc;
}

static inline const void *layer(uint64_t l)
{
    return (const char *)g.weights + l * g.layer_bytes;
}

/* split=rows: token t on this vCPU's rows; every vCPU of the phase calls it
 * for the same t. With `me` (vCPU 0 in a phase), the stop decision for this
 * token is taken before the last barrier, so every vCPU sees it right after. */
static void forward_rows(struct w_lane *ln, unsigned vcpu, uint64_t t, struct wl_vcpu *me,
                         uint64_t ops)
{
    load_input(ln, t);
    for (uint64_t l = 0; l < g.layers; l++) {
        unsigned p = (unsigned)(ln->step++ & 1);
        if (g.dt == DT_INT8)
            g.max[p][vcpu].i = rows_i8(layer(l), ln->x16, g.yi[p], ln->r0, ln->r1);
        else
            g.max[p][vcpu].f = rows_f32(layer(l), ln->xf, g.yf[p], ln->r0, ln->r1);
        if (me && l == g.layers - 1)
            wl_lockstep_tick(&w, me, ops, t);
        arom_barrier_wait(&g.bar, w.n);
        if (g.dt == DT_INT8) {
            int32_t m = 0;
            for (unsigned v = 0; v < w.n; v++)
                m = g.max[p][v].i > m ? g.max[p][v].i : m;
            norm_i8(ln->x16, g.yi[p], m);
        } else {
            float m = 0;
            for (unsigned v = 0; v < w.n; v++)
                m = g.max[p][v].f > m ? g.max[p][v].f : m;
            norm_f32(ln->xf, g.yf[p], m);
        }
    }
}

/* split=tokens: all of token t on this vCPU alone, into its private y. */
static void forward_solo(struct w_lane *ln, uint64_t t)
{
    load_input(ln, t);
    for (uint64_t l = 0; l < g.layers; l++) {
        if (g.dt == DT_INT8)
            norm_i8(ln->x16, ln->yi, rows_i8(layer(l), ln->x16, ln->yi, 0, g.dim));
        else
            norm_f32(ln->xf, ln->yf, rows_f32(layer(l), ln->xf, ln->yf, 0, g.dim));
    }
}

static uint64_t body_rows(struct wl *wp, struct wl_vcpu *me, void *arg)
{
    (void)wp;
    (void)arg;
    unsigned vcpu = me->vcpu;
    struct w_lane *ln = &g.lane[vcpu];
    uint64_t tokens = 0;

    for (;;) {
        uint64_t t = ln->token++;
        if (vcpu == 0) {
            tokens++;
            if (wl_lat_due(me)) {
                uint64_t t0 = arom_rdtsc();
                forward_rows(ln, vcpu, t, me, tokens);
                wl_lat_add(me, arom_rdtsc() - t0);
            } else {
                forward_rows(ln, vcpu, t, me, tokens);
            }
        } else {
            forward_rows(ln, vcpu, t, NULL, 0);
        }
        if (wl_lockstep_over(&w, t))
            break;
    }
    return tokens; /* 0 on the other vCPUs: ops are tokens */
}

static uint64_t body_tokens(struct wl *wp, struct wl_vcpu *me, void *arg)
{
    (void)arg;
    struct w_lane *ln = &g.lane[me->vcpu];
    uint64_t tokens = 0;

    while (!wl_tick(wp, me, tokens)) {
        uint64_t t = ln->token;
        ln->token += w.n;                       /* vCPU v takes tokens v + 1, v + 1 + n, ... */
        if (wl_lat_due(me)) {
            uint64_t t0 = arom_rdtsc();
            forward_solo(ln, t);
            wl_lat_add(me, arom_rdtsc() - t0);
        } else {
            forward_solo(ln, t);
        }
        tokens++;
    }
    return tokens;
}

/* ---- setup and checks -------------------------------------------------------------- */

static void fill_vcpu(unsigned vcpu, void *arg)
{
    (void)arg;
    for (uint64_t l = vcpu; l < g.layers; l += w.n) {
        struct arom_rand r;
        wl_seed(&w, &r, 0, W_STREAM_WEIGHTS + l); /* vCPU-independent */
        uint64_t *p = (uint64_t *)((char *)g.weights + l * g.layer_bytes);
        uint64_t nw = g.layer_bytes / 8;
        if (g.dt == DT_INT8) {
            for (uint64_t i = 0; i < nw; i++)
                p[i] = arom_rand_u64(&r);
        } else {
            float *f = (float *)p;
            for (uint64_t i = 0; i < nw; i++) {
                uint64_t h = arom_rand_u64(&r);
                f[2 * i] = (float)((int32_t)(uint32_t)h >> 8) * 0x1.0p-23f;     /* [-1, 1) */
                f[2 * i + 1] = (float)((int32_t)(uint32_t)(h >> 32) >> 8) * 0x1.0p-23f;
            }
        }
    }
}

/* FNV-1a 32 of vCPU 0's activations in natural order: int8 values, or the
 * bytes of the fp32 bit patterns. */
static uint32_t output_hash(void)
{
    const struct w_lane *ln = &g.lane[0];
    uint32_t h = 2166136261u;
    for (uint64_t i = 0; i < g.dim; i++) {
        uint32_t v, nb = 1;
        if (g.dt == DT_INT8) {
            v = (uint8_t)ln->x16[x16_pos(i)];
        } else {
            memcpy(&v, &ln->xf[i], 4);
            nb = 4;
        }
        for (unsigned b = 0; b < nb; b++) {
            h ^= (v >> (8 * b)) & 0xff;
            h *= 16777619u;
        }
    }
    return h;
}

/* split=rows: the reference token on every vCPU (not counted). */
static void ref_vcpu(unsigned vcpu, void *arg)
{
    (void)arg;
    forward_rows(&g.lane[vcpu], vcpu, W_REF_TOKEN, NULL, 0);
}

/* The reference token's output (identical for both splits). */
static uint32_t reference(void)
{
    if (g.solo)
        forward_solo(&g.lane[0], W_REF_TOKEN);
    else
        arom_run_on_all(ref_vcpu, NULL);
    return output_hash();
}

/* Hash of n words (n a multiple of 4); any one changed word changes it. */
static uint64_t hash_words(const uint64_t *p, uint64_t n)
{
    uint64_t h0 = 1, h1 = 2, h2 = 3, h3 = 4;
    for (uint64_t i = 0; i < n; i += 4) {
        h0 = (h0 ^ p[i]) * 0x100000001b3ull;
        h1 = (h1 ^ p[i + 1]) * 0x100000001b3ull;
        h2 = (h2 ^ p[i + 2]) * 0x100000001b3ull;
        h3 = (h3 ^ p[i + 3]) * 0x100000001b3ull;
    }
    return arom_mix64(h0 ^ arom_mix64(h1 ^ arom_mix64(h2 ^ arom_mix64(h3))));
}

/* ---- main --------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int rc = wl_init(&w, "weights", argc, argv);
    if (rc)
        return rc;
    uint64_t want = arom_arg_u64(argc, argv, "weights", 256 * AROM_MiB);
    const char *dts = arom_arg_str(argc, argv, "dtype", "int8");
    g.dim = arom_arg_u64(argc, argv, "dim", 1024);
    const char *split = arom_arg_str(argc, argv, "split", "rows");

    if (strcmp(dts, "int8") == 0) {
        g.dt = DT_INT8;
        g.esize = 1;
    } else if (strcmp(dts, "fp32") == 0) {
        g.dt = DT_FP32;
        g.esize = 4;
    } else {
        arom_printf("weights: dtype=%s: expected int8 or fp32\n", dts);
        return 2;
    }
    if (strcmp(split, "rows") == 0 || strcmp(split, "tokens") == 0) {
        g.solo = split[0] == 't';
    } else {
        arom_printf("weights: split=%s: expected rows or tokens\n", split);
        return 2;
    }
    if (g.dim < W_BLOCK || g.dim > W_MAX_DIM || g.dim % W_BLOCK) {
        arom_printf("weights: dim=%llu: need a multiple of %u in %u..%u\n",
                    (unsigned long long)g.dim, W_BLOCK, W_BLOCK, W_MAX_DIM);
        return 2;
    }
    g.layer_bytes = g.dim * g.dim * g.esize;
    g.layers = want / g.layer_bytes;
    if (g.layers == 0) {
        arom_printf("weights: weights=%llu is less than one %llux%llu %s layer (%llu bytes)\n",
                    (unsigned long long)want, (unsigned long long)g.dim,
                    (unsigned long long)g.dim, dts, (unsigned long long)g.layer_bytes);
        return 2;
    }
    g.bytes = g.layers * g.layer_bytes;

    uint64_t t_setup = arom_rdtsc();
    g.weights = wl_alloc(&w, "weights", g.bytes);
    if (!g.weights)
        return 2;
    for (unsigned p = 0; p < 2; p++) {
        void *y = wl_alloc(&w, "layer output", g.dim * 4);
        if (!y)
            return 2;
        g.yi[p] = y;
        g.yf[p] = y;
    }
    for (unsigned v = 0; v < w.n; v++) {
        struct w_lane *ln = &g.lane[v];
        void *x = wl_alloc(&w, "activations", g.dim * 4);
        void *y = g.solo ? wl_alloc(&w, "layer output", g.dim * 4) : NULL;
        if (!x || (g.solo && !y))
            return 2;
        ln->x16 = x;
        ln->xf = x;
        ln->yi = y;
        ln->yf = y;
        ln->r0 = (uint32_t)(g.dim * v / w.n);
        ln->r1 = (uint32_t)(g.dim * (v + 1) / w.n);
        ln->token = W_REF_TOKEN + 1 + (g.solo ? v : 0);
    }
    arom_run_on_all(fill_vcpu, NULL);
    uint64_t whash = hash_words(g.weights, g.bytes / 8);
    uint32_t ref_hash = reference();
    double setup_s = wl_ticks_to_s(&w, arom_rdtsc() - t_setup);

    arom_printf("weights: %llu layers of %llux%llu %s = %llu MiB at %p, %u vCPU(s), split=%s "
                "(%llu rows per vCPU and layer), seed=%llu, setup %.2f s, reference output 0x%08x\n",
                (unsigned long long)g.layers, (unsigned long long)g.dim, (unsigned long long)g.dim,
                dts, (unsigned long long)(g.bytes >> 20), g.weights, w.n, split,
                (unsigned long long)(g.solo ? g.dim : g.dim / w.n), (unsigned long long)w.seed,
                setup_s, ref_hash);

    wl_track(&w, g.weights, g.bytes);
    w.lat_every = 1; /* every token */
    wl_run(&w, g.solo ? body_tokens : body_rows, NULL);

    /* Checks, after the measured run (the weights may sit on LtRAM now). */
    uint64_t t_check = arom_rdtsc();
    unsigned errors = 0;
    uint32_t ref_after = reference();
    if (ref_after != ref_hash) {
        arom_printf("weights: MISMATCH reference output 0x%08x after the run, 0x%08x before\n",
                    ref_after, ref_hash);
        errors++;
    }
    uint64_t whash2 = hash_words(g.weights, g.bytes / 8);
    if (whash2 != whash) {
        arom_printf("weights: MISMATCH weight hash 0x%016llx after the run, 0x%016llx before\n",
                    (unsigned long long)whash2, (unsigned long long)whash);
        errors++;
    }
    double check_s = wl_ticks_to_s(&w, arom_rdtsc() - t_check);

    wl_finish(&w);
    uint64_t tokens = w.run_ops;
    double s = w.run_s > 0 ? w.run_s : 1;
    double ops_per_token = 2.0 * (double)g.dim * (double)g.dim * (double)g.layers;
    double gops = (double)tokens * ops_per_token / s / 1e9;
    double gibs = (double)tokens * (double)g.bytes / s / (double)AROM_GiB;
    arom_printf("weights: %llu tokens in %.3f s: %.2f tokens/s, %.2f GOP/s, weights read at "
                "%.2f GiB/s; checks %.2f s: %s (reference output 0x%08x)\n",
                (unsigned long long)tokens, w.run_s, (double)tokens / s, gops, gibs, check_s,
                errors ? "FAIL" : "ok", ref_hash);
    wl_report(&w, "tokens", (double)tokens);
    wl_report(&w, "gops", gops);
    wl_report(&w, "weight_gib_per_s", gibs);
    wl_report(&w, "checksum", (double)ref_hash);
    wl_report(&w, "layers", (double)g.layers);
    wl_report(&w, "dim", (double)g.dim);
    wl_report(&w, "bytes", (double)g.bytes);
    wl_report(&w, "verify_errors", (double)errors);
    wl_report(&w, "setup_s", setup_s);
    return errors ? 1 : 0;
}
