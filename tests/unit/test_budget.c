#include <CUnit/CUnit.h>
#include <stdlib.h>

#include "host/budget.h"
#include "tests/unit/suites.h"

#define MiB (1ull << 20)

static struct vm_demand steered(uint64_t mem, uint64_t floor, uint64_t budget)
{
    return (struct vm_demand){.kind = BUDGET_STEERED, .mem = mem, .floor = floor, .budget = budget,
                              .resident = floor, .target_pct = 2};
}

static uint64_t sum_budgets(const struct budget_result *r, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += r[i].budget;
    return s;
}

static void test_spare_is_shared_by_room(void)
{
    /* mins 8M+1/8: 100M floor -> 120.5M; spare split by RAM - demand */
    struct vm_demand v[2] = {steered(1024 * MiB, 100 * MiB, 0), steered(512 * MiB, 100 * MiB, 0)};
    struct budget_result r[2];
    CU_ASSERT_EQUAL(budget_divide(1024 * MiB, v, 2, r), BUDGET_SPARE);
    CU_ASSERT_EQUAL(r[0].min, 100 * MiB + 100 * MiB / 8 + BUDGET_SLACK);
    CU_ASSERT(r[0].budget > r[1].budget);                  /* more room, more spare */
    CU_ASSERT(r[1].budget >= r[1].demand);
    CU_ASSERT(sum_budgets(r, 2) <= 1024 * MiB);
    CU_ASSERT(sum_budgets(r, 2) > 1024 * MiB - 2 * BUDGET_PAGE);   /* nothing left unused but rounding */
    CU_ASSERT_EQUAL(r[0].budget % BUDGET_PAGE, 0);
}

static void test_plenty_gives_everyone_all_ram(void)
{
    struct vm_demand v[2] = {steered(256 * MiB, 10 * MiB, 0), steered(512 * MiB, 10 * MiB, 0)};
    struct budget_result r[2];
    CU_ASSERT_EQUAL(budget_divide(8192 * MiB, v, 2, r), BUDGET_SPARE);
    CU_ASSERT_EQUAL(r[0].budget, 256 * MiB);
    CU_ASSERT_EQUAL(r[1].budget, 512 * MiB);
}

static void test_short_goes_to_the_suffering(void)
{
    /* b is over its slowdown target: its demand grows; a stays at its min */
    struct vm_demand v[2] = {steered(1024 * MiB, 100 * MiB, 300 * MiB), steered(1024 * MiB, 100 * MiB, 300 * MiB)};
    v[1].slowdown_pct = 4;      /* twice the target: +1/4 of its budget */
    struct budget_result r[2];
    CU_ASSERT_EQUAL(budget_divide(300 * MiB, v, 2, r), BUDGET_SHORT);
    CU_ASSERT_EQUAL(r[1].demand, 375 * MiB);
    CU_ASSERT_EQUAL(r[0].budget, r[0].min / BUDGET_PAGE * BUDGET_PAGE);
    CU_ASSERT(r[1].budget > r[1].min);
    CU_ASSERT(sum_budgets(r, 2) <= 300 * MiB);
}

static void test_growth_is_proportional_to_the_excess(void)
{
    struct vm_demand v = steered(4096 * MiB, 0, 400 * MiB);
    struct budget_result r;
    v.slowdown_pct = 2.2;       /* 10% over the target: +2.5% */
    budget_divide(100 * MiB, &v, 1, &r);
    CU_ASSERT_EQUAL(r.demand, 410 * MiB);
    v.slowdown_pct = 20;        /* far over: capped at +1/4 */
    budget_divide(100 * MiB, &v, 1, &r);
    CU_ASSERT_EQUAL(r.demand, 500 * MiB);
    v.slowdown_pct = 1.9;       /* under: its min */
    budget_divide(100 * MiB, &v, 1, &r);
    CU_ASSERT_EQUAL(r.demand, r.min);
}

static void test_oversubscribed_is_proportional_to_min(void)
{
    struct vm_demand v[2] = {steered(1024 * MiB, 200 * MiB, 0), steered(1024 * MiB, 400 * MiB, 0)};
    struct budget_result r[2];
    CU_ASSERT_EQUAL(budget_divide(300 * MiB, v, 2, r), BUDGET_OVERSUBSCRIBED);
    CU_ASSERT(r[0].budget < r[0].min && r[1].budget < r[1].min);
    CU_ASSERT(r[1].budget > r[0].budget);
    CU_ASSERT(sum_budgets(r, 2) <= 300 * MiB);
}

static void test_fixed_and_pinned_take_their_share_first(void)
{
    struct vm_demand v[3] = {
        steered(1024 * MiB, 50 * MiB, 0),
        {.kind = BUDGET_FIXED, .mem = 512 * MiB, .resident = 400 * MiB},
        {.kind = BUDGET_PINNED, .mem = 512 * MiB, .budget = 200 * MiB},
    };
    struct budget_result r[3];
    CU_ASSERT_EQUAL(budget_divide(1000 * MiB, v, 3, r), BUDGET_SPARE);
    CU_ASSERT_EQUAL(r[1].budget, 400 * MiB);
    CU_ASSERT_EQUAL(r[2].budget, 200 * MiB);
    CU_ASSERT(r[0].budget <= 400 * MiB && r[0].budget > 399 * MiB);
    /* fixed VMs alone over the allowance: the steered ones get nothing to share */
    CU_ASSERT_EQUAL(budget_divide(500 * MiB, v, 3, r), BUDGET_OVERSUBSCRIBED);
    CU_ASSERT_EQUAL(r[0].budget, 0);
}

static void test_min_is_capped_at_ram(void)
{
    struct vm_demand v = steered(64 * MiB, 64 * MiB, 64 * MiB);
    struct budget_result r;
    v.slowdown_pct = 50;
    budget_divide(1024 * MiB, &v, 1, &r);
    CU_ASSERT_EQUAL(r.min, 64 * MiB);
    CU_ASSERT_EQUAL(r.demand, 64 * MiB);
    CU_ASSERT_EQUAL(r.budget, 64 * MiB);
    CU_ASSERT_EQUAL(budget_divide(0, NULL, 0, NULL), BUDGET_SPARE);    /* no VMs */
}

/* Random VMs and allowances: never over the allowance (without fixed
 * VMs), never over a VM's RAM, always page multiples. */
static void test_random_plans_hold_the_invariants(void)
{
    srand(12345);
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + (size_t)(rand() % 8);
        struct vm_demand v[8];
        struct budget_result r[8];
        for (size_t i = 0; i < n; i++) {
            uint64_t mem = (uint64_t)(1 + rand() % 64) * 64 * MiB;
            v[i] = steered(mem, (uint64_t)rand() % (mem + 1), (uint64_t)rand() % (mem + 1));
            v[i].slowdown_pct = (rand() % 100) / 10.0;
        }
        uint64_t allowance = (uint64_t)(rand() % 8192) * MiB;
        budget_divide(allowance, v, n, r);
        CU_ASSERT(sum_budgets(r, n) <= allowance);
        for (size_t i = 0; i < n; i++) {
            CU_ASSERT(r[i].budget <= v[i].mem);
            CU_ASSERT_EQUAL(r[i].budget % BUDGET_PAGE, 0);
            CU_ASSERT(r[i].min <= r[i].demand && r[i].demand <= v[i].mem);
        }
    }
}

static void test_small_changes_are_not_sent(void)
{
    CU_ASSERT_FALSE(budget_changed(100 * MiB, 103 * MiB, 256 * MiB));   /* 4 MiB floor */
    CU_ASSERT_TRUE(budget_changed(100 * MiB, 105 * MiB, 256 * MiB));
    CU_ASSERT_FALSE(budget_changed(1000 * MiB, 1050 * MiB, 8192 * MiB)); /* 1% of 8 GiB */
    CU_ASSERT_TRUE(budget_changed(1000 * MiB, 900 * MiB, 8192 * MiB));
}

int register_budget_tests(void)
{
    static const struct unit_test tests[] = {
        {"spare DRAM is shared by room", test_spare_is_shared_by_room},
        {"plenty gives every VM all its RAM", test_plenty_gives_everyone_all_ram},
        {"a shortage goes to the VM over its slowdown target", test_short_goes_to_the_suffering},
        {"growth is proportional to the excess slowdown", test_growth_is_proportional_to_the_excess},
        {"oversubscribed: proportional to the mins", test_oversubscribed_is_proportional_to_min},
        {"fixed and pinned VMs take their share first", test_fixed_and_pinned_take_their_share_first},
        {"a VM's min is capped at its RAM", test_min_is_capped_at_ram},
        {"random plans hold the invariants", test_random_plans_hold_the_invariants},
        {"small changes are not sent", test_small_changes_are_not_sent},
    };
    return ADD_SUITE("budget", tests);
}
