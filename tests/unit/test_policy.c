/* Unit tests for tiering/policy.c: watermarks, write and access ageing, the
 * demotion target, scores, the score threshold, ping-pong bookkeeping, and
 * synthetic-trace simulations of the daemon loop (write-hot / read-hot /
 * cold sets, a phase change, a ping-ponging page). */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/suites.h"
#include "tiering/policy.h"

/* ---- parameters, ageing, target ------------------------------------- */

static void test_params_defaults(void)
{
    struct policy_params p;
    policy_params_init(&p, 10000);
    CU_ASSERT_EQUAL(p.budget_pages, 10000);
    CU_ASSERT_EQUAL(p.low_pages, 9900);          /* 1% */
    CU_ASSERT_EQUAL(p.min_clean_epochs, 2);
    CU_ASSERT_EQUAL(p.pingpong_epochs, 8);
    CU_ASSERT_EQUAL(p.backoff_max, 6);
    policy_params_init(&p, 1000);
    CU_ASSERT_EQUAL(p.low_pages, 936);           /* margin at least 64 */
    policy_params_init(&p, 6400);
    CU_ASSERT_EQUAL(p.low_pages, 6336);          /* 1% == 64 exactly */
    policy_params_init(&p, 6500);
    CU_ASSERT_EQUAL(p.low_pages, 6435);
    policy_params_init(&p, 600);
    CU_ASSERT_EQUAL(p.low_pages, 536);
    policy_params_init(&p, 65);
    CU_ASSERT_EQUAL(p.low_pages, 1);
    policy_params_init(&p, 64);
    CU_ASSERT_EQUAL(p.low_pages, 0);
    policy_params_init(&p, 10);
    CU_ASSERT_EQUAL(p.budget_pages, 10);
    CU_ASSERT_EQUAL(p.low_pages, 0);
    policy_params_init(&p, 0);
    CU_ASSERT_EQUAL(p.low_pages, 0);
}

static void test_hist_macros(void)
{
    CU_ASSERT_EQUAL(HIST_INITIAL, 0x08);
    CU_ASSERT_EQUAL(HIST_MAKE(15, 15), 0xff);
    CU_ASSERT_EQUAL(HIST_MAKE(3, 9), 0x39);
    CU_ASSERT_EQUAL(HIST_WRITE_AGE(0x39), 3);
    CU_ASSERT_EQUAL(HIST_READ_AGE(0x39), 9);
}

static void set_bit(uint64_t *bm, uint64_t i)
{
    bm[i / 64] |= 1ull << (i % 64);
}

static void test_age_write(void)
{
    CU_ASSERT_EQUAL(policy_age_write(HIST_MAKE(9, 4), true), HIST_MAKE(0, 4));
    CU_ASSERT_EQUAL(policy_age_write(HIST_MAKE(0, 15), true), HIST_MAKE(0, 15));
    CU_ASSERT_EQUAL(policy_age_write(HIST_MAKE(0, 15), false), HIST_MAKE(1, 15));
    CU_ASSERT_EQUAL(policy_age_write(HIST_MAKE(9, 4), false), HIST_MAKE(10, 4));
    CU_ASSERT_EQUAL(policy_age_write(HIST_MAKE(14, 0), false), HIST_MAKE(15, 0));
    CU_ASSERT_EQUAL(policy_age_write(HIST_MAKE(15, 8), false), HIST_MAKE(15, 8));
    CU_ASSERT_EQUAL(policy_age_write(HIST_MAKE(15, 8), true), HIST_MAKE(0, 8));
}

static void test_note_writes_ages(void)
{
    uint8_t h[4] = { HIST_MAKE(5, 3), HIST_MAKE(5, 3), HIST_MAKE(14, 7), HIST_MAKE(15, 0) };
    uint64_t bm[1] = { 0 };
    set_bit(bm, 0);
    policy_note_writes(h, bm, 4);
    CU_ASSERT_EQUAL(h[0], HIST_MAKE(0, 3));      /* dirty: write age 0, read kept */
    CU_ASSERT_EQUAL(h[1], HIST_MAKE(6, 3));      /* clean: +1 */
    CU_ASSERT_EQUAL(h[2], HIST_MAKE(15, 7));     /* 14 -> 15 */
    CU_ASSERT_EQUAL(h[3], HIST_MAKE(15, 0));     /* saturates */
    bm[0] = 0;
    policy_note_writes(h, bm, 4);
    CU_ASSERT_EQUAL(h[0], HIST_MAKE(1, 3));
    CU_ASSERT_EQUAL(h[1], HIST_MAKE(7, 3));
    CU_ASSERT_EQUAL(h[2], HIST_MAKE(15, 7));
    CU_ASSERT_EQUAL(h[3], HIST_MAKE(15, 0));
    /* Dirty again from saturation. */
    bm[0] = 0xf;
    policy_note_writes(h, bm, 4);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(HIST_WRITE_AGE(h[i]), 0);
    CU_ASSERT_EQUAL(HIST_READ_AGE(h[2]), 7);
    /* 20 clean epochs: 0 -> 15, not beyond (no wrap into the read nibble). */
    bm[0] = 0;
    for (int e = 0; e < 20; e++)
        policy_note_writes(h, bm, 4);
    CU_ASSERT_EQUAL(h[0], HIST_MAKE(15, 3));
    CU_ASSERT_EQUAL(h[3], HIST_MAKE(15, 0));
}

static void test_note_writes_bitmap_order(void)
{
    enum { N = 200, WORDS = (N + 63) / 64 };
    uint8_t h[N + 8];
    uint64_t bm[WORDS];
    memset(bm, 0, sizeof bm);
    for (int i = 0; i < N; i++)
        h[i] = HIST_MAKE(4, i % 16);
    for (int i = N; i < N + 8; i++)
        h[i] = 0xa5;                             /* past npages: must stay */
    const int dirty[] = { 0, 1, 63, 64, 65, 127, 128, 191, 192, 199 };
    for (size_t k = 0; k < sizeof dirty / sizeof dirty[0]; k++)
        set_bit(bm, (uint64_t)dirty[k]);
    /* Bits past page 199 in the last word must be ignored. */
    bm[3] |= 1ull << (200 % 64) | 1ull << 63;
    policy_note_writes(h, bm, N);
    for (int i = 0; i < N; i++) {
        bool d = false;
        for (size_t k = 0; k < sizeof dirty / sizeof dirty[0]; k++)
            d |= dirty[k] == i;
        CU_ASSERT_EQUAL(h[i], HIST_MAKE(d ? 0 : 5, i % 16));
    }
    for (int i = N; i < N + 8; i++)
        CU_ASSERT_EQUAL(h[i], 0xa5);
    /* Word 1 bit 0 is page 64, not page 1 (bit order within a word). */
    memset(bm, 0, sizeof bm);
    bm[1] = 1;
    policy_note_writes(h, bm, N);
    CU_ASSERT_EQUAL(HIST_WRITE_AGE(h[64]), 0);
    CU_ASSERT_EQUAL(HIST_WRITE_AGE(h[1]), 1);
    CU_ASSERT_EQUAL(HIST_WRITE_AGE(h[63]), 1);
    CU_ASSERT_EQUAL(HIST_WRITE_AGE(h[2]), 6);
    /* npages 0 touches nothing. */
    uint8_t one = HIST_MAKE(3, 3);
    policy_note_writes(&one, bm, 0);
    CU_ASSERT_EQUAL(one, HIST_MAKE(3, 3));
}

static void test_note_access(void)
{
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(7, 8), true), HIST_MAKE(7, 0));
    /* idle samples age the read nibble by 4, saturating at 15 */
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(7, 8), false), HIST_MAKE(7, 12));
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(7, 12), false), HIST_MAKE(7, 15));
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(0, 15), true), HIST_MAKE(0, 0));
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(15, 0), false), HIST_MAKE(15, 4));
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(15, 11), false), HIST_MAKE(15, 15));
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(15, 15), false), HIST_MAKE(15, 15));
    CU_ASSERT_EQUAL(policy_note_access(HIST_MAKE(15, 15), true), HIST_MAKE(15, 0));
    CU_ASSERT_EQUAL(policy_note_access(HIST_INITIAL, false), HIST_MAKE(0, 12));
}

static void test_demote_target(void)
{
    struct policy_params p;
    policy_params_init(&p, 1000);                /* low 936 */
    CU_ASSERT_EQUAL(policy_demote_target(&p, 0), 0);
    CU_ASSERT_EQUAL(policy_demote_target(&p, 500), 0);
    CU_ASSERT_EQUAL(policy_demote_target(&p, 999), 0);
    CU_ASSERT_EQUAL(policy_demote_target(&p, 1000), 0);
    CU_ASSERT_EQUAL(policy_demote_target(&p, 1001), 65);
    CU_ASSERT_EQUAL(policy_demote_target(&p, 5000), 4064);
    policy_params_init(&p, 0);
    CU_ASSERT_EQUAL(policy_demote_target(&p, 0), 0);
    CU_ASSERT_EQUAL(policy_demote_target(&p, 1), 1);
}

/* ---- scores --------------------------------------------------------- */

static void test_score_recent_writes(void)
{
    struct policy_params p;
    policy_params_init(&p, 1000);
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(0, 15), 100, 0, 0), -1);
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(1, 15), 100, 0, 0), -1);
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(2, 0), 100, 0, 0), 2);
    p.min_clean_epochs = 5;
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(4, 15), 100, 0, 0), -1);
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(5, 15), 100, 0, 0), 245);
    p.min_clean_epochs = 0;
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(0, 0), 100, 0, 0), 0);
}

static void test_score_values_and_order(void)
{
    struct policy_params p;
    policy_params_init(&p, 1000);
    for (unsigned w = 2; w < 16; w++)
        for (unsigned r = 0; r < 16; r++)
            CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(w, r), 50, 0, 0), (int)(r * 16 + w));
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(15, 15), 50, 0, 0), 255);
    CU_ASSERT(policy_score(&p, HIST_MAKE(15, 15), 50, 0, 0) < POLICY_SCORES);
    /* Colder beats clean longer (once clean long enough to be eligible). */
    CU_ASSERT(policy_score(&p, HIST_MAKE(2, 15), 50, 0, 0) >
              policy_score(&p, HIST_MAKE(15, 0), 50, 0, 0));
    /* Same read age: clean longer first. */
    CU_ASSERT(policy_score(&p, HIST_MAKE(9, 4), 50, 0, 0) > policy_score(&p, HIST_MAKE(3, 4), 50, 0, 0));
    /* Same write age: idle-sampled > unknown > accessed. */
    int idle = policy_score(&p, HIST_MAKE(4, 15), 50, 0, 0);
    int unknown = policy_score(&p, HIST_MAKE(4, 8), 50, 0, 0);
    int hot = policy_score(&p, HIST_MAKE(4, 0), 50, 0, 0);
    CU_ASSERT(idle > unknown);
    CU_ASSERT(unknown > hot);
}

static void test_score_backoff(void)
{
    struct policy_params p;
    policy_params_init(&p, 1000);                /* min_clean 2 */
    uint8_t h = HIST_MAKE(15, 15);
    /* Backoff 0 ignores last_change entirely. */
    CU_ASSERT_EQUAL(policy_score(&p, h, 100, 100, 0), 255);
    CU_ASSERT_EQUAL(policy_score(&p, h, 100, 99, 0), 255);
    /* Backoff b: ineligible until epoch - last_change >= 2 << b. */
    for (uint16_t b = 1; b <= 6; b++) {
        uint32_t wait = 2u << b;
        CU_ASSERT_EQUAL(policy_score(&p, h, 1000 + wait - 1, 1000, b), -1);
        CU_ASSERT_EQUAL(policy_score(&p, h, 1000 + wait, 1000, b), 255);
        CU_ASSERT_EQUAL(policy_score(&p, h, 1000 + wait + 1, 1000, b), 255);
        CU_ASSERT_EQUAL(policy_score(&p, h, 1000, 1000, b), -1);
    }
    /* Concretely: backoff 3 means 16 epochs. */
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(5, 1), 115, 100, 3), -1);
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(5, 1), 116, 100, 3), 21);
    /* Backoff does not override a recent write. */
    CU_ASSERT_EQUAL(policy_score(&p, HIST_MAKE(1, 15), 1000, 0, 1), -1);
    /* Epoch counter wrap-around: 0xfffffffe -> 1 is 3 epochs, -> 2 is 4. */
    CU_ASSERT_EQUAL(policy_score(&p, h, 1, 0xfffffffeu, 1), -1);
    CU_ASSERT_EQUAL(policy_score(&p, h, 2, 0xfffffffeu, 1), 255);
}

/* ---- threshold ------------------------------------------------------ */

static void test_threshold(void)
{
    uint64_t hist[POLICY_SCORES];
    memset(hist, 0, sizeof hist);
    CU_ASSERT_EQUAL(policy_threshold(hist, 0), POLICY_SCORES);
    CU_ASSERT_EQUAL(policy_threshold(hist, 1), 0);       /* empty: not enough */
    hist[200] = 5;
    hist[100] = 10;
    CU_ASSERT_EQUAL(policy_threshold(hist, 0), POLICY_SCORES);
    CU_ASSERT_EQUAL(policy_threshold(hist, 1), 200);
    CU_ASSERT_EQUAL(policy_threshold(hist, 5), 200);
    CU_ASSERT_EQUAL(policy_threshold(hist, 6), 100);
    CU_ASSERT_EQUAL(policy_threshold(hist, 15), 100);
    CU_ASSERT_EQUAL(policy_threshold(hist, 16), 0);      /* not enough */
    CU_ASSERT_EQUAL(policy_threshold(hist, UINT64_MAX), 0);
    /* Top and bottom buckets. */
    memset(hist, 0, sizeof hist);
    hist[255] = 1;
    hist[0] = 3;
    CU_ASSERT_EQUAL(policy_threshold(hist, 1), 255);
    CU_ASSERT_EQUAL(policy_threshold(hist, 2), 0);
    CU_ASSERT_EQUAL(policy_threshold(hist, 4), 0);
    /* Sums across many buckets. */
    for (int s = 0; s < POLICY_SCORES; s++)
        hist[s] = 1;
    CU_ASSERT_EQUAL(policy_threshold(hist, 10), 246);
    CU_ASSERT_EQUAL(policy_threshold(hist, 256), 0);
}

/* ---- ping-pong bookkeeping ------------------------------------------ */

static void test_on_promote_demote(void)
{
    struct policy_params p;
    policy_params_init(&p, 1000);                /* window 8, max 6 */
    uint32_t lc = 0;
    uint16_t bo = 0;
    policy_on_demote(100, &lc);
    CU_ASSERT_EQUAL(lc, 100);
    /* Within the window (8 epochs inclusive): ping-pong. */
    CU_ASSERT_TRUE(policy_on_promote(&p, 108, &lc, &bo));
    CU_ASSERT_EQUAL(bo, 1);
    CU_ASSERT_EQUAL(lc, 108);
    policy_on_demote(110, &lc);
    CU_ASSERT_EQUAL(lc, 110);
    CU_ASSERT_TRUE(policy_on_promote(&p, 111, &lc, &bo));
    CU_ASSERT_EQUAL(bo, 2);
    CU_ASSERT_EQUAL(lc, 111);
    /* Just outside the window: not a ping-pong, backoff decays by one. */
    policy_on_demote(120, &lc);
    CU_ASSERT_FALSE(policy_on_promote(&p, 129, &lc, &bo));
    CU_ASSERT_EQUAL(bo, 1);
    CU_ASSERT_EQUAL(lc, 129);
    policy_on_demote(130, &lc);
    CU_ASSERT_FALSE(policy_on_promote(&p, 1000, &lc, &bo));
    CU_ASSERT_EQUAL(bo, 0);
    policy_on_demote(1001, &lc);
    CU_ASSERT_FALSE(policy_on_promote(&p, 2000, &lc, &bo));
    CU_ASSERT_EQUAL(bo, 0);                      /* not below 0 */
    CU_ASSERT_EQUAL(lc, 2000);
    /* Capped at backoff_max. */
    for (uint32_t e = 3000; e < 3020; e += 2) {
        policy_on_demote(e, &lc);
        CU_ASSERT_TRUE(policy_on_promote(&p, e + 1, &lc, &bo));
    }
    CU_ASSERT_EQUAL(bo, 6);
    p.backoff_max = 3;
    bo = 3;
    policy_on_demote(4000, &lc);
    CU_ASSERT_TRUE(policy_on_promote(&p, 4000, &lc, &bo));
    CU_ASSERT_EQUAL(bo, 3);
    /* Wrap-around of the uint32 epoch. */
    lc = 0xfffffffeu;
    bo = 0;
    CU_ASSERT_TRUE(policy_on_promote(&p, 3, &lc, &bo));  /* 5 epochs */
    CU_ASSERT_EQUAL(bo, 1);
    CU_ASSERT_EQUAL(lc, 3);
    lc = 0xfffffff0u;
    CU_ASSERT_FALSE(policy_on_promote(&p, 5, &lc, &bo)); /* 21 epochs */
    CU_ASSERT_EQUAL(bo, 0);
    policy_on_demote(0xffffffffu, &lc);
    CU_ASSERT_EQUAL(lc, 0xffffffffu);
}

/* ---- synthetic-trace simulation of the daemon loop ------------------ */

enum { SIM_PAGES = 4096, SIM_SAMPLE = 256, SIM_WORDS = SIM_PAGES / 64 };
enum page_set { SET_W, SET_R, SET_C };

struct sim {
    struct policy_params p;
    uint32_t epoch;
    uint8_t tier[SIM_PAGES];                     /* 0 DRAM, 1 LtRAM */
    uint8_t hist[SIM_PAGES];
    uint32_t last_change[SIM_PAGES];
    uint16_t backoff[SIM_PAGES];
    uint64_t cursor;                             /* round-robin sampler */
    /* Per-epoch trace, filled by sim_epoch. */
    int score[SIM_PAGES];
    bool demoted_now[SIM_PAGES];
    uint64_t target, eligible, demoted, promoted, dram_used;
    /* Totals. */
    uint64_t promotions, pingpongs, over_budget_epochs, order_violations;
    uint64_t rc_violations;                      /* R demoted, higher-scoring C kept */
};

static enum page_set set_of(uint64_t page)
{
    return page < 512 ? SET_W : page < 2048 ? SET_R : SET_C;
}

static void sim_init(struct sim *s, uint64_t budget)
{
    memset(s, 0, sizeof *s);
    policy_params_init(&s->p, budget);
    memset(s->hist, HIST_INITIAL, sizeof s->hist);
}

static uint64_t sim_count(const struct sim *s, enum page_set set, int tier)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < SIM_PAGES; i++)
        n += set_of(i) == set && s->tier[i] == tier;
    return n;
}

/* One daemon epoch. written(page) and accessed(page) describe the workload. */
static void sim_epoch(struct sim *s, bool (*written)(uint64_t), bool (*accessed)(uint64_t))
{
    uint64_t dirty[SIM_WORDS];
    memset(dirty, 0, sizeof dirty);
    s->epoch++;
    s->promoted = 0;
    for (uint64_t i = 0; i < SIM_PAGES; i++) {
        if (!written(i))
            continue;
        if (s->tier[i]) {                        /* write fault on LtRAM */
            s->tier[i] = 0;
            s->pingpongs += policy_on_promote(&s->p, s->epoch, &s->last_change[i],
                                              &s->backoff[i]);
            s->promoted++;
        }
        set_bit(dirty, i);
    }
    s->promotions += s->promoted;
    for (int k = 0; k < SIM_SAMPLE; k++) {
        uint64_t i = s->cursor;
        s->cursor = (s->cursor + 1) % SIM_PAGES;
        s->hist[i] = policy_note_access(s->hist[i], accessed(i));
    }
    policy_note_writes(s->hist, dirty, SIM_PAGES);

    s->dram_used = 0;
    for (uint64_t i = 0; i < SIM_PAGES; i++)
        s->dram_used += !s->tier[i];
    s->target = policy_demote_target(&s->p, s->dram_used);

    uint64_t h[POLICY_SCORES];
    memset(h, 0, sizeof h);
    s->eligible = 0;
    for (uint64_t i = 0; i < SIM_PAGES; i++) {
        s->demoted_now[i] = false;
        s->score[i] = s->tier[i] ? -1
                                 : policy_score(&s->p, s->hist[i], s->epoch, s->last_change[i],
                                                s->backoff[i]);
        if (s->score[i] >= 0) {
            CU_ASSERT_FATAL(s->score[i] < POLICY_SCORES);
            h[s->score[i]]++;
            s->eligible++;
        }
    }
    int thr = policy_threshold(h, s->target);

    /* Highest first: every page above the threshold (fewer than the target
     * by the threshold's definition), then threshold pages in address order
     * until the target is met. */
    s->demoted = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t i = 0; i < SIM_PAGES && s->demoted < s->target; i++) {
            if (s->score[i] < 0 || s->demoted_now[i])
                continue;
            if (pass == 0 ? s->score[i] <= thr : s->score[i] != thr)
                continue;
            s->tier[i] = 1;
            policy_on_demote(s->epoch, &s->last_change[i]);
            s->demoted_now[i] = true;
            s->demoted++;
        }
    }
    s->dram_used -= s->demoted;
    CU_ASSERT_EQUAL(s->demoted, s->target < s->eligible ? s->target : s->eligible);
    if (s->target && s->dram_used > s->p.budget_pages)
        s->over_budget_epochs++;

    /* No eligible page left on DRAM may outscore a demoted one. */
    int min_demoted = POLICY_SCORES, max_kept = -1, max_kept_c = -1, min_demoted_r = POLICY_SCORES;
    for (uint64_t i = 0; i < SIM_PAGES; i++) {
        if (s->demoted_now[i]) {
            min_demoted = s->score[i] < min_demoted ? s->score[i] : min_demoted;
            if (set_of(i) == SET_R && s->score[i] < min_demoted_r)
                min_demoted_r = s->score[i];
        } else if (s->score[i] >= 0) {
            max_kept = s->score[i] > max_kept ? s->score[i] : max_kept;
            if (set_of(i) == SET_C && s->score[i] > max_kept_c)
                max_kept_c = s->score[i];
        }
    }
    s->order_violations += max_kept > min_demoted;
    s->rc_violations += max_kept_c > min_demoted_r;
}

static bool phase1_written(uint64_t i) { return set_of(i) == SET_W; }
static bool phase1_accessed(uint64_t i) { return set_of(i) != SET_C; }
static bool phase2_written(uint64_t i) { return set_of(i) == SET_C; }
static bool phase2_accessed(uint64_t i) { return set_of(i) != SET_W; }
static bool all_written(uint64_t i) { (void)i; return true; }

static void test_sim_tiering(void)
{
    struct sim *s = calloc(1, sizeof *s);
    CU_ASSERT_FATAL(s != NULL);
    sim_init(s, 600);
    CU_ASSERT_EQUAL(s->p.low_pages, 536);

    /* Phase 1: W write-hot, R read-hot, C cold. */
    bool first_demotion_checked = false;
    for (int e = 0; e < 40; e++) {
        sim_epoch(s, phase1_written, phase1_accessed);
        if (s->demoted && !first_demotion_checked) {
            first_demotion_checked = true;
            uint64_t c_eligible = 0, demoted_c = 0, demoted_r = 0;
            for (uint64_t i = 0; i < SIM_PAGES; i++) {
                c_eligible += set_of(i) == SET_C && s->score[i] >= 0;
                demoted_c += s->demoted_now[i] && set_of(i) == SET_C;
                demoted_r += s->demoted_now[i] && set_of(i) == SET_R;
            }
            if (c_eligible >= s->target)
                CU_ASSERT_EQUAL(demoted_c, s->demoted);
            /* Here C (2048) cannot cover the target (4096 - 536): the rest
             * comes from R, never from W. */
            CU_ASSERT_EQUAL(s->epoch, 2);
            CU_ASSERT_EQUAL(s->target, 3560);
            CU_ASSERT_EQUAL(s->demoted, 3560);
            CU_ASSERT_EQUAL(demoted_c + demoted_r, 3560);
        }
        CU_ASSERT_EQUAL(s->promoted, 0);         /* nothing on LtRAM is written */
    }
    CU_ASSERT_TRUE(first_demotion_checked);
    CU_ASSERT_EQUAL(s->order_violations, 0);
    CU_ASSERT_EQUAL(s->rc_violations, 0);
    CU_ASSERT(sim_count(s, SET_C, 1) * 100 >= 2048 * 95);
    CU_ASSERT(sim_count(s, SET_R, 1) * 100 >= 1536 * 90);
    CU_ASSERT_EQUAL(sim_count(s, SET_W, 1), 0);
    CU_ASSERT(s->dram_used <= s->p.budget_pages);
    CU_ASSERT(s->dram_used >= s->p.low_pages);
    CU_ASSERT_EQUAL(s->dram_used, 536);          /* demoted exactly to low */
    CU_ASSERT_EQUAL(s->promotions, 0);
    /* Only epoch 1 (nothing clean yet) was over budget. */
    CU_ASSERT_EQUAL(s->over_budget_epochs, 1);

    /* Phase 2: C becomes write-hot, W cold. 2048 written pages cannot fit
     * in 600: recently written pages are never demoted, so DRAM stays over
     * budget (reported, no stall) while W goes to LtRAM. */
    uint64_t over_before = s->over_budget_epochs;
    uint64_t c_on_ltram = sim_count(s, SET_C, 1);
    uint64_t c_demoted_late = 0, w_demoted = 0;
    for (int e = 0; e < 40; e++) {
        sim_epoch(s, phase2_written, phase2_accessed);
        for (uint64_t i = 0; i < SIM_PAGES; i++) {
            if (!s->demoted_now[i])
                continue;
            w_demoted += set_of(i) == SET_W;
            if (e >= 30)
                c_demoted_late += set_of(i) == SET_C;
        }
        if (e == 0)
            CU_ASSERT_EQUAL(s->promoted, c_on_ltram);
        if (e >= 30) {
            CU_ASSERT(s->target > 0);
            CU_ASSERT_EQUAL(s->eligible, 0);
            CU_ASSERT_EQUAL(s->demoted, 0);
        }
    }
    CU_ASSERT_EQUAL(s->promotions, c_on_ltram);
    CU_ASSERT_EQUAL(sim_count(s, SET_C, 0), 2048);       /* all C back on DRAM */
    CU_ASSERT_EQUAL(c_demoted_late, 0);
    CU_ASSERT_EQUAL(w_demoted, 512);
    CU_ASSERT_EQUAL(sim_count(s, SET_W, 1), 512);
    CU_ASSERT(sim_count(s, SET_R, 1) * 100 >= 1536 * 90);
    CU_ASSERT_EQUAL(s->dram_used, 2048);
    CU_ASSERT(s->dram_used > s->p.budget_pages);
    CU_ASSERT_EQUAL(s->over_budget_epochs - over_before, 40);
    CU_ASSERT_EQUAL(s->order_violations, 0);
    /* C was demoted long ago (epoch 2): coming back is not a ping-pong. */
    CU_ASSERT_EQUAL(s->pingpongs, 0);
    free(s);
}

/* Cold before read-hot when the access samples have covered every page:
 * a boot phase writes everything for 16 epochs (one full sampling round),
 * then only W is written. With budget 3000 the target (4096 - 2936 = 1160)
 * fits in C, so the first demotion must take only C pages. */
static void test_sim_cold_before_read_hot(void)
{
    struct sim *s = calloc(1, sizeof *s);
    CU_ASSERT_FATAL(s != NULL);
    sim_init(s, 3000);
    for (int e = 0; e < 16; e++) {
        sim_epoch(s, all_written, phase1_accessed);
        CU_ASSERT_EQUAL(s->demoted, 0);
    }
    for (uint64_t i = 0; i < SIM_PAGES; i++)
        CU_ASSERT_EQUAL(HIST_READ_AGE(s->hist[i]), set_of(i) == SET_C ? 12 : 0);  /* 8 + one idle sample */
    sim_epoch(s, phase1_written, phase1_accessed);       /* write age 1 */
    CU_ASSERT_EQUAL(s->demoted, 0);
    CU_ASSERT_EQUAL(s->eligible, 0);
    sim_epoch(s, phase1_written, phase1_accessed);       /* write age 2 */
    CU_ASSERT_EQUAL(s->target, 1160);
    CU_ASSERT_EQUAL(s->eligible, 1536 + 2048);
    CU_ASSERT_EQUAL(s->demoted, 1160);
    for (uint64_t i = 0; i < SIM_PAGES; i++) {
        /* C scores 12*16+2, R 0*16+2; the lowest-address C pages go. */
        if (set_of(i) == SET_C)
            CU_ASSERT_EQUAL(s->score[i], 194);
        if (set_of(i) == SET_R)
            CU_ASSERT_EQUAL(s->score[i], 2);
        CU_ASSERT_EQUAL(s->demoted_now[i], i >= 2048 && i < 2048 + 1160);
    }
    CU_ASSERT_EQUAL(s->dram_used, 2936);
    CU_ASSERT_EQUAL(s->order_violations, 0);
    CU_ASSERT_EQUAL(s->rc_violations, 0);
    free(s);
}

/* One page written every 3rd epoch, budget 0 (always a candidate): each
 * demotion is answered by a write fault one epoch later, so every promotion
 * is a ping-pong and the backoff keeps it on DRAM for longer each time. */
static void test_sim_pingpong_backoff(void)
{
    struct policy_params p;
    policy_params_init(&p, 0);
    CU_ASSERT_EQUAL(p.low_pages, 0);
    uint8_t hist = HIST_INITIAL;
    uint32_t lc = 0;
    uint16_t bo = 0;
    bool ltram = false;
    unsigned demotions[2] = { 0, 0 }, pingpongs = 0, promotions = 0, ndem = 0;
    uint32_t dem_epoch[16];
    for (uint32_t epoch = 1; epoch <= 200; epoch++) {
        uint64_t dirty = epoch % 3 == 0;
        if (dirty && ltram) {
            ltram = false;
            promotions++;
            pingpongs += policy_on_promote(&p, epoch, &lc, &bo);
        }
        policy_note_writes(&hist, &dirty, 1);
        if (ltram)
            continue;
        uint64_t target = policy_demote_target(&p, 1);
        CU_ASSERT_EQUAL(target, 1);
        int sc = policy_score(&p, hist, epoch, lc, bo);
        uint64_t h[POLICY_SCORES] = { 0 };
        if (sc >= 0)
            h[sc]++;
        int thr = policy_threshold(h, target);
        if (sc >= 0 && sc >= thr) {
            ltram = true;
            policy_on_demote(epoch, &lc);
            demotions[epoch > 100]++;
            if (ndem < 16)
                dem_epoch[ndem] = epoch;
            ndem++;
        }
    }
    /* HIST_INITIAL has write age 0, so the page is first clean enough at
     * epoch 2. Then each promotion (one epoch after the demotion) raises the
     * backoff, and the page waits 2 << b epochs from that promotion, to the
     * next epoch with write age >= 2: demotions at 2, 8, 17, 35, 68, 134
     * (gaps 6, 9, 18, 33, 66); the 7th would be due after 135 + 128. */
    CU_ASSERT_EQUAL(ndem, 6);
    static const uint32_t expect[] = { 2, 8, 17, 35, 68, 134 };
    for (unsigned k = 0; k < 6 && k < ndem; k++)
        CU_ASSERT_EQUAL(dem_epoch[k], expect[k]);
    for (unsigned k = 2; k < ndem && k < 16; k++)
        CU_ASSERT(dem_epoch[k] - dem_epoch[k - 1] > dem_epoch[k - 1] - dem_epoch[k - 2]);
    CU_ASSERT(demotions[1] < demotions[0]);
    CU_ASSERT_EQUAL(demotions[0], 5);
    CU_ASSERT_EQUAL(demotions[1], 1);
    CU_ASSERT_EQUAL(promotions, 6);
    CU_ASSERT_EQUAL(pingpongs, 6);
    CU_ASSERT_EQUAL(bo, p.backoff_max);
    CU_ASSERT_FALSE(ltram);                      /* promoted at 135, backing off */
}

int register_policy_tests(void)
{
    static const struct unit_test tests[] = {
        { "params: 1% (>= 64 pages) low watermark", test_params_defaults },
        { "history byte layout", test_hist_macros },
        { "age_write: one page's write age", test_age_write },
        { "note_writes: reset, +1, saturate at 15", test_note_writes_ages },
        { "note_writes: bitmap bit order past word 0", test_note_writes_bitmap_order },
        { "note_access: touched -> 0, idle -> +4 (max 15), write kept", test_note_access },
        { "demote_target: 0 within budget, else to low", test_demote_target },
        { "score: recently written pages are -1", test_score_recent_writes },
        { "score: read_age*16 + write_age ordering", test_score_values_and_order },
        { "score: backoff waits min_clean << b", test_score_backoff },
        { "threshold: exact bucket boundaries", test_threshold },
        { "on_promote/on_demote: ping-pong backoff", test_on_promote_demote },
        { "sim: W on DRAM, R and C on LtRAM, phase change", test_sim_tiering },
        { "sim: cold demoted before read-hot", test_sim_cold_before_read_hot },
        { "sim: ping-pong backoff grows", test_sim_pingpong_backoff },
    };
    return ADD_SUITE("policy", tests);
}
