/* Unit tests for tiering/placement.c: per-page tier and flags, counters,
 * demotion batching, LtRAM runs and host mapping counts. */
#include <CUnit/CUnit.h>
#include <errno.h>

#include "tests/unit/suites.h"
#include "tiering/placement.h"

static struct placement *make(uint64_t npages)
{
    struct placement *pm = NULL;
    CU_ASSERT_FATAL(placement_init(&pm, npages) == 0);
    return pm;
}

static void test_init(void)
{
    struct placement *pm = NULL;
    CU_ASSERT(placement_init(&pm, 0) == -EINVAL);
    CU_ASSERT(pm == NULL);
    pm = make(100);
    CU_ASSERT(placement_pages(pm) == 100);
    CU_ASSERT(placement_count(pm, TIER_DRAM) == 100);
    CU_ASSERT(placement_count(pm, TIER_LTRAM) == 0);
    for (uint64_t p = 0; p < 100; p++) {
        CU_ASSERT(placement_tier(pm, p) == TIER_DRAM);
        CU_ASSERT(placement_frame(pm, p) == PLACEMENT_NO_FRAME);
        CU_ASSERT(!placement_pinned(pm, p));
        CU_ASSERT(!placement_migrating(pm, p));
    }
    placement_destroy(pm);
}

static void test_set_get_and_counters(void)
{
    struct placement *pm = make(16);
    CU_ASSERT(placement_set_ltram(pm, 3, 77) == 0);
    CU_ASSERT(placement_tier(pm, 3) == TIER_LTRAM);
    CU_ASSERT(placement_frame(pm, 3) == 77);
    CU_ASSERT(placement_count(pm, TIER_LTRAM) == 1);
    CU_ASSERT(placement_count(pm, TIER_DRAM) == 15);
    /* Re-pointing an LtRAM page does not count twice. */
    CU_ASSERT(placement_set_ltram(pm, 3, 78) == 0);
    CU_ASSERT(placement_frame(pm, 3) == 78);
    CU_ASSERT(placement_count(pm, TIER_LTRAM) == 1);
    CU_ASSERT(placement_set_dram(pm, 3) == 0);
    CU_ASSERT(placement_tier(pm, 3) == TIER_DRAM);
    CU_ASSERT(placement_frame(pm, 3) == PLACEMENT_NO_FRAME);
    CU_ASSERT(placement_set_dram(pm, 3) == 0);
    CU_ASSERT(placement_count(pm, TIER_LTRAM) == 0);
    CU_ASSERT(placement_count(pm, TIER_DRAM) == 16);
    placement_destroy(pm);
}

static void test_out_of_range(void)
{
    struct placement *pm = make(4);
    CU_ASSERT(placement_set_ltram(pm, 4, 1) == -EINVAL);
    CU_ASSERT(placement_set_ltram(pm, 0, PLACEMENT_NO_FRAME) == -EINVAL);
    CU_ASSERT(placement_set_dram(pm, 4) == -EINVAL);
    CU_ASSERT(placement_set_pinned(pm, 4, true) == -EINVAL);
    CU_ASSERT(placement_set_migrating(pm, UINT64_MAX, true) == -EINVAL);
    CU_ASSERT(placement_tier(pm, 4) == TIER_DRAM);
    CU_ASSERT(placement_frame(pm, 4) == PLACEMENT_NO_FRAME);
    CU_ASSERT(!placement_pinned(pm, 4));
    CU_ASSERT(placement_count(pm, TIER_DRAM) == 4);
    placement_destroy(pm);
}

static void test_flags_and_demotable(void)
{
    struct placement *pm = make(8);
    CU_ASSERT(placement_set_pinned(pm, 2, true) == 0);
    CU_ASSERT(placement_set_migrating(pm, 2, true) == 0);
    CU_ASSERT(placement_set_ltram(pm, 2, 5) == 0);
    CU_ASSERT(placement_pinned(pm, 2) && placement_migrating(pm, 2));
    CU_ASSERT(placement_set_migrating(pm, 2, false) == 0);
    CU_ASSERT(placement_pinned(pm, 2) && !placement_migrating(pm, 2));
    CU_ASSERT(placement_tier(pm, 2) == TIER_LTRAM);
    CU_ASSERT(placement_set_pinned(pm, 2, false) == 0);
    CU_ASSERT(!placement_pinned(pm, 2));
    CU_ASSERT(placement_frame(pm, 2) == 5);
    CU_ASSERT(!placement_pinned(pm, 1) && !placement_pinned(pm, 3));

    /* demotable: DRAM, not pinned, not migrating */
    CU_ASSERT(placement_demotable(pm, 6));
    CU_ASSERT(!placement_demotable(pm, 2));             /* LtRAM */
    CU_ASSERT(placement_set_pinned(pm, 6, true) == 0);
    CU_ASSERT(!placement_demotable(pm, 6));
    CU_ASSERT(placement_set_pinned(pm, 6, false) == 0 && placement_set_migrating(pm, 6, true) == 0);
    CU_ASSERT(!placement_demotable(pm, 6));
    CU_ASSERT(!placement_demotable(pm, 8));             /* out of range */
    placement_destroy(pm);
}

static void test_next_demotable_run(void)
{
    struct placement *pm = make(32);
    uint64_t start = 999;
    /* 0-3 DRAM | 4 pinned | 5-6 DRAM | 7 LtRAM | 8 migrating | 9-31 DRAM */
    placement_set_pinned(pm, 4, true);
    placement_set_ltram(pm, 7, 0);
    placement_set_migrating(pm, 8, true);

    CU_ASSERT(placement_next_demotable_run(pm, 0, 32, 64, &start) == 4);
    CU_ASSERT(start == 0);
    CU_ASSERT(placement_next_demotable_run(pm, 4, 32, 64, &start) == 2);
    CU_ASSERT(start == 5);
    CU_ASSERT(placement_next_demotable_run(pm, 7, 32, 64, &start) == 23);
    CU_ASSERT(start == 9);
    /* max_run and the upper bound cut the run. */
    CU_ASSERT(placement_next_demotable_run(pm, 9, 32, 10, &start) == 10);
    CU_ASSERT(start == 9);
    CU_ASSERT(placement_next_demotable_run(pm, 1, 3, 64, &start) == 2);
    CU_ASSERT(start == 1);
    CU_ASSERT(placement_next_demotable_run(pm, 20, 1000, 64, &start) == 12);
    CU_ASSERT(start == 20);
    /* Nothing demotable in range, empty ranges, max_run 0. */
    start = 999;
    CU_ASSERT(placement_next_demotable_run(pm, 4, 5, 64, &start) == 0);
    CU_ASSERT(placement_next_demotable_run(pm, 7, 9, 64, &start) == 0);
    CU_ASSERT(placement_next_demotable_run(pm, 10, 10, 64, &start) == 0);
    CU_ASSERT(placement_next_demotable_run(pm, 40, 50, 64, &start) == 0);
    CU_ASSERT(placement_next_demotable_run(pm, 0, 32, 0, &start) == 0);
    CU_ASSERT(start == 999);
    placement_destroy(pm);
}

static void test_merges(void)
{
    struct placement *pm = make(16);
    /* 0-1 DRAM | 2-4 LtRAM frames 10,11,12 | 5-6 LtRAM frames 20, 22 | 7.. DRAM */
    placement_set_ltram(pm, 2, 10);
    placement_set_ltram(pm, 3, 11);
    placement_set_ltram(pm, 4, 12);
    placement_set_ltram(pm, 5, 20);
    placement_set_ltram(pm, 6, 22);
    CU_ASSERT(placement_merges(pm, 1));                 /* DRAM | DRAM */
    CU_ASSERT(!placement_merges(pm, 2));                /* DRAM | LtRAM */
    CU_ASSERT(placement_merges(pm, 3) && placement_merges(pm, 4));
    CU_ASSERT(!placement_merges(pm, 5));                /* frame 12 -> 20 */
    CU_ASSERT(!placement_merges(pm, 6));                /* frame 20 -> 22 */
    CU_ASSERT(!placement_merges(pm, 7));                /* LtRAM | DRAM */
    CU_ASSERT(placement_merges(pm, 8));
    CU_ASSERT(!placement_merges(pm, 0) && !placement_merges(pm, 16));   /* no left neighbour; out of range */
    placement_destroy(pm);
}

static void test_mapping_runs(void)
{
    struct placement *pm = make(10);
    CU_ASSERT(placement_mapping_runs(pm) == 1);                /* all DRAM */
    placement_set_ltram(pm, 0, 5);
    CU_ASSERT(placement_mapping_runs(pm) == 2);                /* L | D... */
    placement_set_ltram(pm, 1, 6);
    placement_set_ltram(pm, 2, 7);
    CU_ASSERT(placement_mapping_runs(pm) == 2);                /* LLL | D... */
    placement_set_ltram(pm, 3, 9);
    CU_ASSERT(placement_mapping_runs(pm) == 3);                /* LLL | L | D... */
    placement_set_ltram(pm, 9, 10);
    CU_ASSERT(placement_mapping_runs(pm) == 4);                /* ... | D x5 | L */
    placement_set_ltram(pm, 5, 1);
    CU_ASSERT(placement_mapping_runs(pm) == 6);                /* D splits around it */
    for (uint64_t p = 0; p < 10; p++)
        placement_set_ltram(pm, p, (uint32_t)(100 + p));
    CU_ASSERT(placement_mapping_runs(pm) == 1);                /* one LtRAM run */
    for (uint64_t p = 0; p < 10; p++)
        placement_set_ltram(pm, p, (uint32_t)(p % 2 ? 200 + p : 300 + p));
    CU_ASSERT(placement_mapping_runs(pm) == 10);               /* interleaved frames */
    for (uint64_t p = 0; p < 10; p += 2)
        placement_set_dram(pm, p);
    CU_ASSERT(placement_mapping_runs(pm) == 10);               /* D L D L ... */
    placement_destroy(pm);
    pm = make(1);
    CU_ASSERT(placement_mapping_runs(pm) == 1);
    placement_destroy(pm);
}

int register_placement_tests(void)
{
    static const struct unit_test tests[] = {
        { "init: all DRAM, no frames", test_init },
        { "set/get tier and frame, counters", test_set_get_and_counters },
        { "out-of-range pages", test_out_of_range },
        { "pinned, migrating, demotable", test_flags_and_demotable },
        { "next demotable run skips and bounds", test_next_demotable_run },
        { "the run-merge rule", test_merges },
        { "host mapping runs for several layouts", test_mapping_runs },
    };
    return ADD_SUITE("placement", tests);
}
