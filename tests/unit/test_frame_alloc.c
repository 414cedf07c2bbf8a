/* Unit tests for tiering/frame_alloc.c: runs, reuse, exhaustion, least-worn
 * preference, retirement, and long churn simulations of wear levelling. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/suites.h"
#include "tiering/frame_alloc.h"

/* A fresh allocator over a zeroed wear array the test owns. */
static struct frame_alloc *make(uint32_t n, uint32_t **wear, uint64_t endurance)
{
    struct frame_alloc *fa = NULL;
    *wear = calloc(n, sizeof **wear);
    CU_ASSERT_FATAL(*wear != NULL);
    CU_ASSERT_FATAL(frame_alloc_init(&fa, n, *wear, endurance) == 0);
    return fa;
}

/* What ltram_write_frames does to the wear array, then the allocator hook. */
static void write_run(struct frame_alloc *fa, uint32_t *wear, uint32_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        wear[first + i]++;
    CU_ASSERT(frame_alloc_note_written(fa, first, n) == 0);
}

static void test_init_rejects_bad_args(void)
{
    struct frame_alloc *fa = NULL;
    uint32_t wear[4] = { 0 };
    CU_ASSERT(frame_alloc_init(&fa, 0, wear, 0) == -EINVAL);
    CU_ASSERT(frame_alloc_init(&fa, 4, NULL, 0) == -EINVAL);
    CU_ASSERT(frame_alloc_init(NULL, 4, wear, 0) == -EINVAL);
    CU_ASSERT(fa == NULL);
}

static void test_runs_contiguous_as_asked(void)
{
    uint32_t *wear, first = 99;
    struct frame_alloc *fa = make(1024, &wear, 0);

    CU_ASSERT(frame_alloc_free_count(fa) == 1024);
    CU_ASSERT(frame_alloc_run(fa, 100, &first) == 100);
    CU_ASSERT(first == 0);
    CU_ASSERT(frame_alloc_run(fa, 1, &first) == 1);
    CU_ASSERT(first == 100);
    CU_ASSERT(frame_alloc_run(fa, 500, &first) == 500);
    CU_ASSERT(first == 101);
    CU_ASSERT(frame_alloc_used_count(fa) == 601);
    CU_ASSERT(frame_alloc_free_count(fa) == 423);
    /* A run never wraps past the last frame. */
    CU_ASSERT(frame_alloc_run(fa, 1000, &first) == 423);
    CU_ASSERT(first == 601);
    CU_ASSERT(frame_alloc_run(fa, 0, &first) == 0);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_run_shorter_when_fragmented(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = make(256, &wear, 0);

    CU_ASSERT(frame_alloc_run(fa, 256, &first) == 256);
    CU_ASSERT(frame_alloc_free(fa, 10, 5) == 0);
    CU_ASSERT(frame_alloc_free(fa, 100, 3) == 0);
    CU_ASSERT(frame_alloc_run(fa, 10, &first) == 5);
    CU_ASSERT(first == 10);
    CU_ASSERT(frame_alloc_run(fa, 10, &first) == 3);
    CU_ASSERT(first == 100);
    CU_ASSERT(frame_alloc_free_count(fa) == 0);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_frees_are_reusable(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = make(64, &wear, 0);

    CU_ASSERT(frame_alloc_run(fa, 64, &first) == 64);
    CU_ASSERT(frame_alloc_free(fa, 20, 8) == 0);
    CU_ASSERT(frame_alloc_is_used(fa, 19));
    CU_ASSERT(!frame_alloc_is_used(fa, 20));
    CU_ASSERT(frame_alloc_free_count(fa) == 8);
    CU_ASSERT(frame_alloc_run(fa, 8, &first) == 8);
    CU_ASSERT(first == 20);
    CU_ASSERT(frame_alloc_is_used(fa, 27));
    CU_ASSERT(frame_alloc_used_count(fa) == 64);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_cursor_rotates(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = make(64, &wear, 0);

    /* Next-fit: a frame freed behind the cursor waits for the wrap. */
    CU_ASSERT(frame_alloc_run(fa, 4, &first) == 4);
    CU_ASSERT(frame_alloc_free(fa, 0, 4) == 0);
    CU_ASSERT(frame_alloc_run(fa, 4, &first) == 4);
    CU_ASSERT(first == 4);
    CU_ASSERT(frame_alloc_run(fa, 56, &first) == 56);
    CU_ASSERT(first == 8);
    CU_ASSERT(frame_alloc_run(fa, 4, &first) == 4);
    CU_ASSERT(first == 0);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_exhaustion(void)
{
    uint32_t *wear, first = 7;
    struct frame_alloc *fa = make(100, &wear, 0);

    CU_ASSERT(frame_alloc_run(fa, 64, &first) == 64);
    CU_ASSERT(frame_alloc_run(fa, 64, &first) == 36);
    CU_ASSERT(frame_alloc_run(fa, 1, &first) == 0);
    CU_ASSERT(frame_alloc_run(fa, 64, &first) == 0);
    CU_ASSERT(frame_alloc_free_count(fa) == 0);
    CU_ASSERT(frame_alloc_used_count(fa) == 100);
    CU_ASSERT(frame_alloc_free(fa, 50, 1) == 0);
    CU_ASSERT(frame_alloc_run(fa, 64, &first) == 1);
    CU_ASSERT(first == 50);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_bad_free_and_ranges(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = make(32, &wear, 0);

    CU_ASSERT(frame_alloc_run(fa, 4, &first) == 4);
    CU_ASSERT(frame_alloc_free(fa, 32, 1) == -EINVAL);
    CU_ASSERT(frame_alloc_free(fa, 30, 3) == -EINVAL);
    CU_ASSERT(frame_alloc_free(fa, 1, UINT32_MAX) == -EINVAL);
    CU_ASSERT(frame_alloc_used_count(fa) == 4);
    /* Double free: reported, the used frames in the range still freed. */
    CU_ASSERT(frame_alloc_free(fa, 3, 1) == 0);
    CU_ASSERT(frame_alloc_free(fa, 2, 2) == -EINVAL);
    CU_ASSERT(frame_alloc_used_count(fa) == 2);
    CU_ASSERT(frame_alloc_free_count(fa) == 30);
    CU_ASSERT(frame_alloc_note_written(fa, 31, 2) == -EINVAL);
    CU_ASSERT(frame_alloc_retire(fa, 32) == -EINVAL);
    CU_ASSERT(!frame_alloc_is_used(fa, 32));
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_used_bitmap(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = make(200, &wear, 0);

    CU_ASSERT(frame_alloc_run(fa, 130, &first) == 130);
    CU_ASSERT(frame_alloc_free(fa, 64, 2) == 0);
    const uint64_t *bm = frame_alloc_used_bitmap(fa);
    for (uint32_t f = 0; f < 200; f++)
        CU_ASSERT(((bm[f / 64] >> (f % 64)) & 1) == frame_alloc_is_used(fa, f));
    CU_ASSERT(bm[3] == 0);   /* no bits past the end */
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_least_worn_preferred(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = NULL;

    wear = calloc(256, sizeof *wear);
    CU_ASSERT_FATAL(wear != NULL);
    for (uint32_t f = 0; f < 256; f += 4)
        wear[f] = 100;                      /* every 4th frame is worn */
    CU_ASSERT_FATAL(frame_alloc_init(&fa, 256, wear, 0) == 0);

    /* While fresh frames remain, worn ones are skipped. */
    for (uint32_t taken = 0; taken < 192;) {
        uint32_t n = frame_alloc_run(fa, 8, &first);
        CU_ASSERT_FATAL(n >= 1);
        for (uint32_t j = 0; j < n; j++)
            CU_ASSERT(wear[first + j] == 0);
        taken += n;
    }
    CU_ASSERT(frame_alloc_free_count(fa) == 64);
    /* Then the worn ones are used rather than failing. */
    uint32_t got = 0;
    while ((got = frame_alloc_run(fa, 1, &first)) != 0)
        CU_ASSERT(wear[first] == 100);
    CU_ASSERT(frame_alloc_free_count(fa) == 0);
    CU_ASSERT(frame_alloc_used_count(fa) == 256);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_worn_block_skipped_keeps_runs(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = NULL;

    wear = calloc(128, sizeof *wear);
    CU_ASSERT_FATAL(wear != NULL);
    for (uint32_t f = 0; f < 32; f++)
        wear[f] = 50;
    CU_ASSERT_FATAL(frame_alloc_init(&fa, 128, wear, 0) == 0);
    CU_ASSERT(frame_alloc_run(fa, 64, &first) == 64);
    CU_ASSERT(first == 32);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_retire_at_endurance(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = make(16, &wear, 3);

    CU_ASSERT(frame_alloc_run(fa, 1, &first) == 1);
    CU_ASSERT(first == 0);
    for (int i = 0; i < 3; i++)
        write_run(fa, wear, 0, 1);
    /* Due but still holding data: used until freed. */
    CU_ASSERT(frame_alloc_is_used(fa, 0));
    CU_ASSERT(frame_alloc_retired_count(fa) == 0);
    CU_ASSERT(frame_alloc_free(fa, 0, 1) == 0);
    CU_ASSERT(frame_alloc_retired_count(fa) == 1);
    CU_ASSERT(frame_alloc_free_count(fa) == 15);
    CU_ASSERT(frame_alloc_used_count(fa) == 0);
    /* Never handed out again, even when everything else is taken. */
    uint32_t n;
    while ((n = frame_alloc_run(fa, 4, &first)) != 0)
        CU_ASSERT(first > 0);
    CU_ASSERT(frame_alloc_used_count(fa) == 15);
    CU_ASSERT(frame_alloc_free(fa, 0, 1) == -EINVAL);
    CU_ASSERT(frame_alloc_retired_count(fa) == 1);
    frame_alloc_destroy(fa);
    free(wear);
}

static void test_worn_frames_start_retired(void)
{
    uint32_t wear[8] = { 0, 5, 0, 9, 0, 0, 0, 4 }, first;
    struct frame_alloc *fa = NULL;

    CU_ASSERT_FATAL(frame_alloc_init(&fa, 8, wear, 5) == 0);
    CU_ASSERT(frame_alloc_retired_count(fa) == 2);
    CU_ASSERT(frame_alloc_free_count(fa) == 6);
    CU_ASSERT(frame_alloc_run(fa, 8, &first) == 1);
    CU_ASSERT(first == 0);
    CU_ASSERT(frame_alloc_run(fa, 8, &first) == 1);
    CU_ASSERT(first == 2);
    frame_alloc_destroy(fa);
}

static void test_force_retire(void)
{
    uint32_t *wear, first;
    struct frame_alloc *fa = make(8, &wear, 0);

    CU_ASSERT(frame_alloc_run(fa, 4, &first) == 4);
    /* Used frame retired mid-run: keeps its data until freed. */
    CU_ASSERT(frame_alloc_retire(fa, 2) == 0);
    CU_ASSERT(frame_alloc_is_used(fa, 2));
    CU_ASSERT(frame_alloc_retired_count(fa) == 0);
    /* Free frame retired: gone at once. */
    CU_ASSERT(frame_alloc_retire(fa, 6) == 0);
    CU_ASSERT(frame_alloc_retired_count(fa) == 1);
    CU_ASSERT(frame_alloc_free_count(fa) == 3);
    CU_ASSERT(frame_alloc_free(fa, 0, 4) == 0);
    CU_ASSERT(frame_alloc_retired_count(fa) == 2);
    CU_ASSERT(frame_alloc_free_count(fa) == 6);
    CU_ASSERT(frame_alloc_retire(fa, 6) == 0);   /* already retired: no-op */
    CU_ASSERT(frame_alloc_retired_count(fa) == 2);
    uint32_t n;
    while ((n = frame_alloc_run(fa, 8, &first)) != 0)
        for (uint32_t i = 0; i < n; i++)
            CU_ASSERT(first + i != 2 && first + i != 6);
    CU_ASSERT(frame_alloc_used_count(fa) == 6);
    CU_ASSERT(frame_alloc_free_count(fa) + frame_alloc_used_count(fa) +
              frame_alloc_retired_count(fa) == 8);
    frame_alloc_destroy(fa);
    free(wear);
}

/* ---- churn simulation ---------------------------------------------------- */

struct churn {
    struct frame_alloc *fa;
    uint32_t *wear;
    uint32_t n;
    uint32_t *list, *pos, nlist;   /* frames the churn may free, O(1) removal */
    uint64_t rng, writes, calls, frames;
};

static uint64_t churn_rand(struct churn *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

/* Demote: place `want` pages, in as many runs as it takes. */
static void churn_demote(struct churn *c, uint32_t want, bool resident)
{
    uint32_t first;
    while (want) {
        uint32_t n = frame_alloc_run(c->fa, want, &first);
        c->calls++;
        if (!n)
            return;
        write_run(c->fa, c->wear, first, n);
        for (uint32_t i = 0; !resident && i < n; i++) {
            c->pos[first + i] = c->nlist;
            c->list[c->nlist++] = first + i;
        }
        c->frames += n;
        c->writes += n;
        want -= n;
    }
}

/* Promote: a guest store hits a random LtRAM page, maybe its neighbours too. */
static void churn_promote(struct churn *c)
{
    uint32_t f = c->list[churn_rand(c) % c->nlist], k = 1 + (uint32_t)(churn_rand(c) % 8);
    for (uint32_t g = f; g < f + k && g < c->n; g++) {
        uint32_t p = c->pos[g];
        if (!frame_alloc_is_used(c->fa, g) || p >= c->nlist || c->list[p] != g)
            break;
        c->list[p] = c->list[--c->nlist];
        c->pos[c->list[p]] = p;
        CU_ASSERT(frame_alloc_free(c->fa, g, 1) == 0);
    }
}

/* Random demote/promote keeping 50-90% of the non-resident frames in use,
 * until `writes` frame writes; `resident` frames are written once first and
 * never freed (a cold set). Prints the skew; returns max/mean over ALL. */
static double churn_run(const char *label, uint32_t n, uint32_t resident, uint64_t writes)
{
    struct churn c = { .n = n, .rng = 0x9E3779B97F4A7C15ull };
    c.fa = make(n, &c.wear, 0);
    c.list = malloc(n * sizeof *c.list);
    c.pos = malloc(n * sizeof *c.pos);
    CU_ASSERT_FATAL(c.list && c.pos);

    churn_demote(&c, resident, true);
    CU_ASSERT_FATAL(c.writes == resident);
    uint32_t pool = n - resident;
    while (c.writes < writes) {
        bool demote = c.nlist < pool / 2 ? true : c.nlist > pool / 10 * 9 ? false : churn_rand(&c) & 1;
        if (demote)
            churn_demote(&c, 1 + (uint32_t)(churn_rand(&c) % 64), false);
        else
            churn_promote(&c);
    }

    uint64_t sum = 0, max = 0, min = UINT64_MAX, touched = 0;
    for (uint32_t f = 0; f < n; f++) {
        sum += c.wear[f];
        max = c.wear[f] > max ? c.wear[f] : max;
        min = c.wear[f] < min ? c.wear[f] : min;
        touched += c.wear[f] != 0;
    }
    double mean = (double)sum / n;
    printf("# churn %s: %u frames, %u resident, %llu writes: wear min %llu mean %.1f max %llu, "
           "max/mean %.3f over all frames, %llu touched, %.2f frames per run\n",
           label, n, resident, (unsigned long long)c.writes, (unsigned long long)min, mean,
           (unsigned long long)max, (double)max / mean, (unsigned long long)touched,
           (double)c.frames / (double)c.calls);
    CU_ASSERT(frame_alloc_free_count(c.fa) + frame_alloc_used_count(c.fa) +
              frame_alloc_retired_count(c.fa) == n);
    CU_ASSERT(frame_alloc_used_count(c.fa) == c.nlist + resident);
    frame_alloc_destroy(c.fa);
    free(c.wear);
    free(c.list);
    free(c.pos);
    return (double)max / mean;
}

static void test_churn_levels_wear(void)
{
    double skew = churn_run("levelled", 4096, 0, 1000000);
    CU_ASSERT(skew <= 1.1);
}

/* Not asserted: a resident cold set needs static wear levelling (moving cold
 * data), which this allocator does not do. */
static void test_churn_cold_set(void)
{
    double skew = churn_run("cold-third", 4096, 4096 / 3, 1000000);
    CU_ASSERT(skew >= 1.0);
}

/* The AROM prototype's yardstick: 1M program cycles over 65,536 frames
 * (theirs: 2,045 frames touched, max/mean 2.91 over those). */
static void test_churn_arom_yardstick(void)
{
    double skew = churn_run("arom-yardstick", 65536, 0, 1000000);
    CU_ASSERT(skew >= 1.0);
}

int register_frame_alloc_tests(void)
{
    static const struct unit_test tests[] = {
        { "init rejects bad arguments", test_init_rejects_bad_args },
        { "runs are contiguous and as long as asked", test_runs_contiguous_as_asked },
        { "runs are shorter when space is fragmented", test_run_shorter_when_fragmented },
        { "freed frames are reusable", test_frees_are_reusable },
        { "cursor rotates over the ring", test_cursor_rotates },
        { "exhaustion returns 0 and recovers", test_exhaustion },
        { "bad frees and ranges are rejected", test_bad_free_and_ranges },
        { "used bitmap matches is_used", test_used_bitmap },
        { "least-worn frames are preferred", test_least_worn_preferred },
        { "a worn block is skipped, runs stay long", test_worn_block_skipped_keeps_runs },
        { "frames retire at endurance", test_retire_at_endurance },
        { "frames already worn out start retired", test_worn_frames_start_retired },
        { "forced retirement, used frame retires on free", test_force_retire },
        { "churn keeps max/mean wear <= 1.1", test_churn_levels_wear },
        { "churn with a resident cold set (skew reported)", test_churn_cold_set },
        { "churn at the AROM yardstick (skew reported)", test_churn_arom_yardstick },
    };
    return ADD_SUITE("frame_alloc", tests);
}
