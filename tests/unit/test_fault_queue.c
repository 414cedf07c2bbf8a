#include <CUnit/CUnit.h>

#include "tests/unit/suites.h"
#include "tiering/fault_queue.h"

/* serve() stand-in: refuses every page in [refuse_lo, refuse_hi). */
static uint64_t refuse_lo, refuse_hi, served;
static bool fake_serve(void *ctx, uint64_t page, uint64_t since)
{
    (void)ctx;
    (void)since;
    if (page >= refuse_lo && page < refuse_hi)
        return false;
    served++;
    return true;
}

/* The old fixed list held 64 and dropped the 65th: a vCPU stayed blocked. */
static void test_holds_more_than_64(void)
{
    struct fault_queue q = {0};
    for (uint64_t p = 0; p < 1000; p++)
        CU_ASSERT_EQUAL(fault_queue_add(&q, p, 1 + p), 0);
    CU_ASSERT_EQUAL(q.n, 1000);
    CU_ASSERT_EQUAL(q.max_depth, 1000);
    refuse_lo = 0;
    refuse_hi = 1000;
    served = 0;
    CU_ASSERT_EQUAL(fault_queue_retry(&q, fake_serve, NULL), 1000);   /* none may be lost */
    refuse_hi = 500;
    CU_ASSERT_EQUAL(fault_queue_retry(&q, fake_serve, NULL), 500);
    CU_ASSERT_EQUAL(served, 500);
    for (size_t i = 0; i < q.n; i++)
        CU_ASSERT(q.v[i].page < 500);                  /* the refused ones, in order */
    refuse_hi = 0;
    CU_ASSERT_EQUAL(fault_queue_retry(&q, fake_serve, NULL), 0);
    CU_ASSERT_EQUAL(served, 1000);
    fault_queue_free(&q);
}

/* A spurious wake makes a vCPU fault again on the same page: held once. */
static void test_duplicates_held_once(void)
{
    struct fault_queue q = {0};
    CU_ASSERT_EQUAL(fault_queue_add(&q, 7, 100), 0);
    for (int i = 0; i < 10000; i++)
        CU_ASSERT_EQUAL(fault_queue_add(&q, 7, 200 + (uint64_t)i), 1);
    CU_ASSERT_EQUAL(fault_queue_add(&q, 7, 0), 0);     /* an access fault is another kind */
    CU_ASSERT_EQUAL(fault_queue_add(&q, 7, 0), 1);
    CU_ASSERT_EQUAL(q.n, 2);
    CU_ASSERT_EQUAL(q.duplicates, 10001);
    CU_ASSERT_EQUAL(q.added, 2);
    CU_ASSERT_EQUAL(q.v[0].since, 100);                /* the first receive time is kept */
    fault_queue_free(&q);
}

int register_fault_queue_tests(void)
{
    static const struct unit_test tests[] = {
        {"holds every fault: more than 64, none dropped", test_holds_more_than_64},
        {"duplicates from spurious wakes are held once", test_duplicates_held_once},
    };
    return ADD_SUITE("fault_queue", tests);
}
