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

static void test_flags_and_daemon_fields(void)
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

    CU_ASSERT(placement_set_history(pm, 6, 0xa5) == 0);
    CU_ASSERT(placement_set_demote_epoch(pm, 6, 123456) == 0);
    CU_ASSERT(placement_set_backoff(pm, 6, 9) == 0);
    CU_ASSERT(placement_set_dram(pm, 6) == 0);
    CU_ASSERT(placement_history(pm, 6) == 0xa5);
    CU_ASSERT(placement_demote_epoch(pm, 6) == 123456);
    CU_ASSERT(placement_backoff(pm, 6) == 9);
    CU_ASSERT(placement_history(pm, 5) == 0);
    CU_ASSERT(placement_set_history(pm, 8, 1) == -EINVAL);
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

static void test_ltram_run(void)
{
    struct placement *pm = make(16);
    /* 2,3,4 -> frames 10,11,12 | 5 -> 20 | 6 -> 21 | 7 DRAM | 8 -> 22 */
    placement_set_ltram(pm, 2, 10);
    placement_set_ltram(pm, 3, 11);
    placement_set_ltram(pm, 4, 12);
    placement_set_ltram(pm, 5, 20);
    placement_set_ltram(pm, 6, 21);
    placement_set_ltram(pm, 8, 22);
    CU_ASSERT(placement_ltram_run(pm, 2, 64) == 3);
    CU_ASSERT(placement_ltram_run(pm, 3, 64) == 2);
    CU_ASSERT(placement_ltram_run(pm, 2, 2) == 2);
    CU_ASSERT(placement_ltram_run(pm, 5, 64) == 2);
    CU_ASSERT(placement_ltram_run(pm, 8, 64) == 1);
    CU_ASSERT(placement_ltram_run(pm, 7, 64) == 0);
    CU_ASSERT(placement_ltram_run(pm, 0, 64) == 0);
    CU_ASSERT(placement_ltram_run(pm, 2, 0) == 0);
    CU_ASSERT(placement_ltram_run(pm, 16, 64) == 0);
    /* Frames going down are not consecutive. */
    placement_set_ltram(pm, 10, 41);
    placement_set_ltram(pm, 11, 40);
    CU_ASSERT(placement_ltram_run(pm, 10, 64) == 1);
    /* A run ends at the last page. */
    placement_set_ltram(pm, 14, 100);
    placement_set_ltram(pm, 15, 101);
    CU_ASSERT(placement_ltram_run(pm, 14, 64) == 2);
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
        { "pinned, migrating and daemon fields", test_flags_and_daemon_fields },
        { "next demotable run skips and bounds", test_next_demotable_run },
        { "LtRAM runs of consecutive frames", test_ltram_run },
        { "host mapping runs for several layouts", test_mapping_runs },
    };
    return ADD_SUITE("placement", tests);
}
