/*
 * graph: PageRank over a CSR graph generated in the guest. The read-only
 * graph structure (offsets and edges: the bulk of memory) should end up on
 * LtRAM under a tight DRAM budget; the per-vertex rank arrays, written at
 * every iteration, stay on DRAM.
 *
 * Graph: n = vertices, m = n * degree directed edges from an R-MAT generator
 * (a, b, c, d = 0.57, 0.19, 0.19, 0.05, 8 bits per level, Graph500's
 * parameters) over 2^scale >= n ids, folded into [0, n) (id - n when >= n)
 * and scattered by a seed-keyed permutation of [0, n) (cycle walking over a
 * bijection of [0, 2^scale)), so hubs are spread over the id space.
 * Duplicate edges and self loops are kept. Edge e comes from the PRNG
 * stream of its block of 2^16 edges (seed, block), so setup (not measured)
 * generates the edges twice instead of storing them: once to count
 * in-degrees and out-degrees, once to place each edge in the CSR over
 * in-edges: off[v] .. off[v+1] index the sources u of the edges u -> v.
 *
 * PageRank (pull, d = 0.85): every iteration computes, for every v,
 *   rank'[v] = (1 - d) / n + d * dangling / n + d * sum(rank[u] / outdeg[u])
 * over the in-edges u -> v, where dangling is the rank of the vertices
 * without out-edges (spread evenly, so the ranks keep summing to 1). The
 * state is contrib[v] = rank[v] / outdeg[v] (rank[v] when outdeg[v] = 0),
 * double-buffered by iteration parity, so the edge loop reads one array.
 * Vertices are split in chunks of 4096; each vCPU owns a run of chunks with
 * about the same number of edges + vertices, and writes per chunk the sums
 * of its new ranks, of its dangling ranks and of |rank' - rank|. One barrier
 * per iteration; after it every vCPU adds up the chunk sums in chunk order.
 * Each vertex's in-edges are summed in CSR order whoever owns it, so the
 * ranks after k iterations are the same for any number of vCPUs.
 *
 * Checks (not measured): after the run, the rank sum must be within 1e-3 of
 * 1 (no renormalisation is ever applied) and a hash of the graph structure
 * must match the one taken after setup; otherwise exit 1.
 *
 * Args: vertices=2M degree=16 (average out-degree), plus workload.h's
 *       seconds= warmup= seed= report_every=.
 * Ops are edges processed (m per iteration); every iteration's latency is
 * sampled (on vCPU 0).
 * Reports: graph.throughput (edges/s), graph.iterations (measured),
 *   graph.edges, graph.vertices, graph.rank_sum, graph.delta (L1 change of
 *   the last iteration), graph.dangling (vertices without out-edges),
 *   graph.max_indegree, graph.verify_errors, graph.setup_s, and workload.h's
 *   common metrics (lat_* = per-iteration latency, data_ltram_pct = share of
 *   the graph structure on LtRAM).
 * Exit: 0, 1 on a check failure, 2 on bad args / not enough memory.
 */
#include "arom.h"
#include "workload.h"

AROM_WORKER_POOL()

#define G_DAMPING 0.85
#define G_CHUNK 4096u                  /* vertices per chunk */
#define G_BLOCK_EDGES (1ull << 16)     /* edges per generator PRNG stream */
#define G_MAX_VERTICES (1ull << 31)
#define G_MAX_DEGREE 1024u
#define G_STREAM_EDGES 0x65646765ull   /* "edge" */
#define G_STREAM_PERM 0x7065726dull    /* "perm" */
#define G_RANK_TOLERANCE 1e-3

/* R-MAT quadrant thresholds on 8 random bits: a = 146/256, a + b = 195/256,
 * a + b + c = 243/256. */
#define G_RMAT_A 146u
#define G_RMAT_AB 195u
#define G_RMAT_ABC 243u

/* Sums over one chunk of the rank vector held in the contrib buffer of the
 * same parity. */
struct g_chunk_sum {
    double rank, dangling, delta;
    double pad;
};

struct g_lane {
    uint64_t iter;                     /* iterations done (all phases): buffer parity */
    uint64_t c0, c1;                   /* this vCPU's chunks */
} __attribute__((aligned(64)));

static struct wl w;

static struct {
    uint64_t n, m, nchunks;
    unsigned scale;
    uint64_t *off;                     /* n + 1 */
    uint32_t *edges;                   /* m: the sources of the in-edges */
    uint32_t *outdeg;                  /* n */
    double *contrib[2];                /* n each */
    struct g_chunk_sum *sums[2];       /* nchunks each */
    uint64_t perm_key[3];
    uint64_t phase_iters;              /* iterations of the last phase (vCPU 0) */
    struct arom_barrier bar __attribute__((aligned(64)));
    struct g_lane lane[WL_MAX_VCPUS];
} g;

static inline double absd(double x)
{
    return x < 0 ? -x : x;
}

/* First vertex of chunk c (n for c = nchunks). */
static inline uint64_t chunk_start(uint64_t c)
{
    return c * G_CHUNK < g.n ? c * G_CHUNK : g.n;
}

/* ---- generator ---------------------------------------------------------------- */

/* A bijection of [0, 2^scale). */
static inline uint64_t perm_step(uint64_t x)
{
    uint64_t mask = (1ull << g.scale) - 1;
    unsigned half = (g.scale + 1) / 2;
    x = (x ^ g.perm_key[0]) & mask;
    x = (x * 0x9e3779b97f4a7c15ull) & mask;    /* odd multiplier */
    x ^= x >> half;
    x = ((x + g.perm_key[1]) * (g.perm_key[2] | 1)) & mask;
    x ^= x >> half;
    return x;
}

/* A permutation of [0, n): cycle walking stays below n. */
static inline uint32_t vertex_id(uint64_t x)
{
    if (x >= g.n)
        x -= g.n;                              /* fold [n, 2^scale) into [0, n) */
    do
        x = perm_step(x);
    while (x >= g.n);
    return (uint32_t)x;
}

/* The next edge (src, dst) from the block's PRNG r. */
static inline void rmat_edge(struct arom_rand *r, uint32_t *src, uint32_t *dst)
{
    uint64_t s = 0, d = 0, bits = 0;
    unsigned left = 0;
    for (unsigned l = 0; l < g.scale; l++) {
        if (left == 0) {
            bits = arom_rand_u64(r);
            left = 8;
        }
        unsigned q = (unsigned)(bits & 0xff);
        bits >>= 8;
        left--;
        /* branch-free: the outcome is random, a branch would mispredict */
        unsigned quad = (unsigned)(q >= G_RMAT_A) + (q >= G_RMAT_AB) + (q >= G_RMAT_ABC);
        s = (s << 1) | (quad >> 1);
        d = (d << 1) | (quad & 1);
    }
    *src = vertex_id(s);
    *dst = vertex_id(d);
}

/* Every edge, in order: pass 0 counts, pass 1 places. A block is generated
 * into buf first (compute only), then scattered in a tight loop, so the
 * cache misses of many edges overlap. */
static void generate(int pass, uint32_t *buf)
{
    for (uint64_t e0 = 0; e0 < g.m; e0 += G_BLOCK_EDGES) {
        struct arom_rand r;
        wl_seed(&w, &r, 0, G_STREAM_EDGES + e0 / G_BLOCK_EDGES);
        uint64_t ne = g.m - e0 < G_BLOCK_EDGES ? g.m - e0 : G_BLOCK_EDGES;
        for (uint64_t i = 0; i < ne; i++)
            rmat_edge(&r, &buf[2 * i], &buf[2 * i + 1]);
        if (pass == 0) {
            for (uint64_t i = 0; i < ne; i++) {
                g.outdeg[buf[2 * i]]++;
                g.off[buf[2 * i + 1]]++;
            }
        } else {
            for (uint64_t i = 0; i < ne; i++)
                g.edges[--g.off[buf[2 * i + 1]]] = buf[2 * i];
        }
    }
}

/* ---- PageRank ------------------------------------------------------------------ */

/* One iteration over this vCPU's chunks. */
static uint64_t iterate(struct g_lane *ln, struct wl_vcpu *me, uint64_t ops)
{
    unsigned p = (unsigned)(ln->iter & 1);
    const double *cur = g.contrib[p];
    double *next = g.contrib[p ^ 1];
    const struct g_chunk_sum *cs = g.sums[p];
    struct g_chunk_sum *ns = g.sums[p ^ 1];
    const uint64_t *off = g.off;
    const uint32_t *edges = g.edges, *outdeg = g.outdeg;

    double dangling = 0;
    for (uint64_t c = 0; c < g.nchunks; c++)
        dangling += cs[c].dangling;
    const double nd = (double)g.n;
    const double base = (1.0 - G_DAMPING) / nd + G_DAMPING * dangling / nd;

    for (uint64_t c = ln->c0; c < ln->c1; c++) {
        uint64_t v0 = chunk_start(c), v1 = chunk_start(c + 1);
        double rs = 0, ds = 0, delta = 0;
        for (uint64_t v = v0; v < v1; v++) {
            double s = 0;
            for (uint64_t e = off[v], end = off[v + 1]; e < end; e++)
                s += cur[edges[e]];
            double r = base + G_DAMPING * s;
            uint32_t od = outdeg[v];
            double prev = od ? cur[v] * (double)od : cur[v];
            delta += absd(r - prev);
            rs += r;
            if (od) {
                next[v] = r / (double)od;
            } else {
                next[v] = r;
                ds += r;
            }
        }
        ns[c] = (struct g_chunk_sum){.rank = rs, .dangling = ds, .delta = delta};
        ops += off[v1] - off[v0];
        wl_tick(&w, me, ops);                  /* publish; the stop waits for the iteration's end */
    }
    return ops;
}

static uint64_t g_body(struct wl *wp, struct wl_vcpu *me, void *arg)
{
    (void)wp;
    (void)arg;
    unsigned vcpu = me->vcpu;
    struct g_lane *ln = &g.lane[vcpu];
    uint64_t ops = 0, iters = 0;

    for (;;) {
        uint64_t k = ln->iter;
        uint64_t t0 = 0;
        bool timed = vcpu == 0 && wl_lat_due(me);
        if (timed)
            t0 = arom_rdtsc();
        ops = iterate(ln, me, ops);
        wl_lockstep_tick(&w, me, ops, k);
        arom_barrier_wait(&g.bar, w.n);
        if (timed)
            wl_lat_add(me, arom_rdtsc() - t0);
        ln->iter = k + 1;
        iters++;
        if (wl_lockstep_over(&w, k))
            break;
    }
    if (vcpu == 0)
        g.phase_iters = iters;
    return ops;
}

/* ---- setup and checks ------------------------------------------------------------- */

/* Hash of n words; any one changed word changes it. */
static uint64_t hash_words(const uint64_t *p, uint64_t n)
{
    uint64_t h0 = 1, h1 = 2, i = 0;
    for (; i + 2 <= n; i += 2) {
        h0 = (h0 ^ p[i]) * 0x100000001b3ull;
        h1 = (h1 ^ p[i + 1]) * 0x100000001b3ull;
    }
    if (i < n)
        h0 = (h0 ^ p[i]) * 0x100000001b3ull;
    return arom_mix64(h0 ^ arom_mix64(h1 ^ n));
}

static uint64_t structure_hash(void)
{
    /* Whole pages: the arrays are page-aligned allocations, zero beyond their ends. */
    uint64_t h = hash_words(g.off, AROM_ALIGN_UP((g.n + 1) * 8, AROM_PAGE_SIZE) / 8);
    h ^= arom_mix64(hash_words((const uint64_t *)g.edges,
                               AROM_ALIGN_UP(g.m * 4, AROM_PAGE_SIZE) / 8));
    h ^= arom_mix64(arom_mix64(hash_words((const uint64_t *)g.outdeg,
                                          AROM_ALIGN_UP(g.n * 4, AROM_PAGE_SIZE) / 8)));
    return h;
}

/* Chunks for every vCPU, about the same edges + vertices each. */
static void partition(void)
{
    uint64_t total = g.m + g.n, c = 0;
    for (unsigned v = 0; v < w.n; v++) {
        uint64_t target = total * (v + 1) / w.n;
        g.lane[v].c0 = c;
        if (v == w.n - 1) {
            c = g.nchunks;
        } else {
            while (c < g.nchunks && g.off[chunk_start(c + 1)] + chunk_start(c + 1) <= target)
                c++;
        }
        g.lane[v].c1 = c;
    }
}

int main(int argc, char **argv)
{
    int rc = wl_init(&w, "graph", argc, argv);
    if (rc)
        return rc;
    g.n = arom_arg_u64(argc, argv, "vertices", 2 * AROM_MiB);
    uint64_t degree = arom_arg_u64(argc, argv, "degree", 16);
    if (g.n < 2 || g.n > G_MAX_VERTICES || degree < 1 || degree > G_MAX_DEGREE) {
        arom_printf("graph: need vertices=2..%llu and degree=1..%u\n",
                    (unsigned long long)G_MAX_VERTICES, G_MAX_DEGREE);
        return 2;
    }
    g.m = g.n * degree;
    g.nchunks = (g.n + G_CHUNK - 1) / G_CHUNK;
    g.scale = 1;
    while ((1ull << g.scale) < g.n)
        g.scale++;
    struct arom_rand pr;
    wl_seed(&w, &pr, 0, G_STREAM_PERM);
    for (unsigned i = 0; i < 3; i++)
        g.perm_key[i] = arom_rand_u64(&pr);

    uint64_t t_setup = arom_rdtsc();
    g.off = wl_alloc(&w, "offsets", (g.n + 1) * 8);
    g.edges = wl_alloc(&w, "edges", g.m * 4);
    g.outdeg = wl_alloc(&w, "out-degrees", g.n * 4);
    g.contrib[0] = wl_alloc(&w, "ranks", g.n * 8);
    g.contrib[1] = wl_alloc(&w, "ranks", g.n * 8);
    g.sums[0] = wl_alloc(&w, "chunk sums", g.nchunks * sizeof(struct g_chunk_sum));
    g.sums[1] = wl_alloc(&w, "chunk sums", g.nchunks * sizeof(struct g_chunk_sum));
    uint32_t *buf = wl_alloc(&w, "edge buffer", G_BLOCK_EDGES * 8);
    if (!g.off || !g.edges || !g.outdeg || !g.contrib[0] || !g.contrib[1] || !g.sums[0] ||
        !g.sums[1] || !buf)
        return 2;

    /* CSR over in-edges: count, prefix sums (off[v] = end of v), place
     * (decrementing off[d], which leaves off[v] = start of v). */
    memset(g.off, 0, (g.n + 1) * 8);
    memset(g.outdeg, 0, g.n * 4);
    generate(0, buf);
    uint64_t sum = 0, max_in = 0, dangling = 0;
    for (uint64_t v = 0; v < g.n; v++) {
        max_in = g.off[v] > max_in ? g.off[v] : max_in;
        sum += g.off[v];
        g.off[v] = sum;
        dangling += g.outdeg[v] == 0;
    }
    g.off[g.n] = g.m;
    AROM_CHECK(sum == g.m);
    generate(1, buf);
    AROM_CHECK(g.off[0] == 0);

    /* Rank 1/n everywhere: the state of "iteration 0". */
    double r0 = 1.0 / (double)g.n;
    for (uint64_t c = 0; c < g.nchunks; c++) {
        uint64_t v0 = chunk_start(c), v1 = chunk_start(c + 1);
        double rs = 0, ds = 0;
        for (uint64_t v = v0; v < v1; v++) {
            uint32_t od = g.outdeg[v];
            g.contrib[0][v] = od ? r0 / (double)od : r0;
            rs += r0;
            ds += od ? 0 : r0;
        }
        g.sums[0][c] = (struct g_chunk_sum){.rank = rs, .dangling = ds};
    }
    partition();
    uint64_t shash = structure_hash();
    double setup_s = wl_ticks_to_s(&w, arom_rdtsc() - t_setup);

    uint64_t sbytes = (g.n + 1) * 8 + g.m * 4 + g.n * 4;
    arom_printf("graph: %llu vertices, %llu edges (R-MAT scale %u), %llu dangling, max in-degree %llu; "
                "structure %llu MiB, ranks %llu MiB; %u vCPU(s), seed=%llu, setup %.2f s\n",
                (unsigned long long)g.n, (unsigned long long)g.m, g.scale,
                (unsigned long long)dangling, (unsigned long long)max_in,
                (unsigned long long)(sbytes >> 20), (unsigned long long)((g.n * 16) >> 20), w.n,
                (unsigned long long)w.seed, setup_s);
    for (unsigned v = 0; v < w.n; v++) {
        uint64_t v0 = chunk_start(g.lane[v].c0), v1 = chunk_start(g.lane[v].c1);
        arom_printf("graph: vcpu %u: vertices %llu..%llu, %llu in-edges\n", v,
                    (unsigned long long)v0, (unsigned long long)v1,
                    (unsigned long long)(g.off[v1] - g.off[v0]));
    }

    wl_track(&w, g.edges, g.m * 4);
    wl_track(&w, g.off, (g.n + 1) * 8);
    wl_track(&w, g.outdeg, g.n * 4);
    w.lat_every = 1; /* every iteration */
    wl_run(&w, g_body, NULL);

    /* Checks (not measured). */
    unsigned errors = 0;
    uint64_t total_iters = g.lane[0].iter;
    const struct g_chunk_sum *fs = g.sums[total_iters & 1];
    double rank_sum = 0, delta = 0;
    for (uint64_t c = 0; c < g.nchunks; c++) {
        rank_sum += fs[c].rank;
        delta += fs[c].delta;
    }
    if (!(absd(rank_sum - 1.0) <= G_RANK_TOLERANCE)) { /* also catches NaN */
        arom_printf("graph: FAIL rank sum %.9f after %llu iterations: off by more than %g\n",
                    rank_sum, (unsigned long long)total_iters, G_RANK_TOLERANCE);
        errors++;
    }
    uint64_t shash2 = structure_hash();
    if (shash2 != shash) {
        arom_printf("graph: MISMATCH structure hash 0x%016llx after the run, 0x%016llx before\n",
                    (unsigned long long)shash2, (unsigned long long)shash);
        errors++;
    }

    wl_finish(&w);
    double s = w.run_s > 0 ? w.run_s : 1;
    arom_printf("graph: %llu iterations (%llu in all) in %.3f s: %.3f iterations/s, %.1f M edges/s; "
                "rank sum %.9f, last delta %.9f: %s\n",
                (unsigned long long)g.phase_iters, (unsigned long long)total_iters, w.run_s,
                (double)g.phase_iters / s, (double)w.run_ops / s / 1e6, rank_sum, delta,
                errors ? "FAIL" : "ok");
    wl_report(&w, "iterations", (double)g.phase_iters);
    wl_report(&w, "edges", (double)g.m);
    wl_report(&w, "vertices", (double)g.n);
    wl_report(&w, "rank_sum", rank_sum);
    wl_report(&w, "delta", delta);
    wl_report(&w, "dangling", (double)dangling);
    wl_report(&w, "max_indegree", (double)max_in);
    wl_report(&w, "verify_errors", (double)errors);
    wl_report(&w, "setup_s", setup_s);
    return errors ? 1 : 0;
}
