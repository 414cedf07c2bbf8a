#include <CUnit/CUnit.h>
#include <errno.h>

#include "tests/unit/suites.h"
#include "lib/cpu_stat.h"
#include "tiering/guard.h"
#include "tiering/policy.h"

#define MS 1000000ull

/* One epoch of 200 ms on `vcpus` vCPUs with this much blocked time and exits. */
static enum guard_verdict epoch(struct guard *g, unsigned vcpus, double blocked_ms, uint64_t exits)
{
    struct guard_sample s = {.wall_ns = 200 * MS, .vcpus = vcpus, .blocked_ns = (uint64_t)(blocked_ms * MS),
                             .exits = exits};
    return guard_epoch(g, &s);
}

static void test_slowdown_arithmetic(void)
{
    struct guard g;
    guard_init(&g, 2.0, 20000);                     /* 2%, 20 us an exit */
    epoch(&g, 1, 2.0, 0);                           /* 2 ms of 200: 1% */
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 1.0, 1e-9);
    epoch(&g, 2, 0, 100);                           /* 100 x 20 us = 2 ms of 400 ms: 0.5% */
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 0.5, 1e-9);
    epoch(&g, 1, 1.0, 50);                          /* 1 + 1 ms of 200: 1% */
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 1.0, 1e-9);
    /* the run's share: (2 + 2 + 2) ms of (200 + 400 + 200) ms */
    CU_ASSERT_DOUBLE_EQUAL(guard_run_pct(&g), 0.75, 1e-9);
    epoch(&g, 0, 1.0, 0);                           /* no vCPU reported: counted as one */
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 0.5, 1e-9);
}

/* A Linux guest's idle threads and spare vCPUs do not dilute the cost: it is
 * a share of the vCPU time in use, at least one vCPU's epoch. */
static void test_active_time(void)
{
    struct guard g;
    guard_init(&g, 2.0, 20000);
    /* 6 vCPUs, one busy: 2 ms blocked of its 200 ms is 1%, not 1/6 of it */
    struct guard_sample s = {.wall_ns = 200 * MS, .vcpus = 6, .active_ns = 200 * MS, .blocked_ns = 2 * MS};
    guard_epoch(&g, &s);
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 1.0, 1e-9);
    CU_ASSERT_EQUAL(guard_vcpus(&s), 1);
    CU_ASSERT_DOUBLE_EQUAL(guard_run_vcpus(&g), 1.0, 1e-9);
    s.active_ns = 20 * MS;                          /* nearly idle: still one vCPU's epoch */
    CU_ASSERT_DOUBLE_EQUAL(guard_vcpu_ns(&s), 200.0 * MS, 1e-3);
    s.active_ns = 700 * MS;                         /* three and a half busy */
    CU_ASSERT_DOUBLE_EQUAL(guard_vcpu_ns(&s), 700.0 * MS, 1e-3);
    CU_ASSERT_EQUAL(guard_vcpus(&s), 4);
    s.active_ns = 5000 * MS;                        /* never more than all of them */
    CU_ASSERT_DOUBLE_EQUAL(guard_vcpu_ns(&s), 1200.0 * MS, 1e-3);
    s.active_ns = 0;                                /* not measured: all of them */
    CU_ASSERT_DOUBLE_EQUAL(guard_vcpu_ns(&s), 1200.0 * MS, 1e-3);
    CU_ASSERT_EQUAL(guard_vcpus(&s), 6);
}

/* Time the host's hypervisor stole from the vCPUs is not tiering's: it
 * comes off the blocked time (never below 0), and the share of the host's
 * steal that fell on the vCPUs follows their share of its busy time. */
static void test_steal(void)
{
    struct guard g;
    guard_init(&g, 2.0, 20000);
    struct guard_sample s = {.wall_ns = 200 * MS, .vcpus = 1, .blocked_ns = 10 * MS, .steal_ns = 8 * MS};
    guard_epoch(&g, &s);
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 1.0, 1e-9);             /* 2 ms of 200 */
    s.steal_ns = 30 * MS;
    guard_epoch(&g, &s);
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 0.0, 1e-9);

    struct cpu_stat a, b;
    CU_ASSERT_EQUAL(cpu_stat_parse("cpu  100 5 50 1000 3 2 1 40 0 0\n", 100, &a), 0);
    CU_ASSERT_EQUAL(a.busy_ns, 158ull * 10 * MS);              /* user+nice+system+irq+softirq */
    CU_ASSERT_EQUAL(a.steal_ns, 40ull * 10 * MS);
    CU_ASSERT_EQUAL(cpu_stat_parse("cpu  200 5 110 1100 3 2 1 60 0 0\n", 100, &b), 0);
    /* 1600 ms busy, 200 ms stolen; threads that ran 400 ms took a quarter */
    CU_ASSERT_EQUAL(cpu_stat_steal_share(&a, &b, 400 * MS), 50 * MS);
    CU_ASSERT_EQUAL(cpu_stat_steal_share(&a, &b, 5000 * MS), 200 * MS);    /* never more than all */
    CU_ASSERT_EQUAL(cpu_stat_steal_share(&b, &a, 400 * MS), 0);            /* counters going back */
    CU_ASSERT_EQUAL(cpu_stat_parse("cpu  1 2 3\n", 100, &a), -EINVAL);
    CU_ASSERT_EQUAL(cpu_stat_parse("intr 1 2 3 4 5 6 7 8\n", 100, &a), -EINVAL);
    CU_ASSERT_EQUAL(cpu_stat_parse("cpu  1 2 3 4 5 6 7 8\n", 0, &a), -EINVAL);
    CU_ASSERT_EQUAL(cpu_stat_read(&a), 0);                     /* this host's /proc/stat parses */
}

/* The vCPU tiering blocked most sets the share when it is the larger: four
 * in use, all 20 ms of blocking on one of them is 10%, not 2.5%. */
static void test_worst_vcpu(void)
{
    struct guard g;
    guard_init(&g, 2.0, 20000);
    struct guard_sample s = {.wall_ns = 200 * MS, .vcpus = 4, .active_ns = 800 * MS, .blocked_ns = 20 * MS,
                             .worst_blocked_ns = 20 * MS, .worst_active_ns = 200 * MS};
    guard_epoch(&g, &s);
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 10.0, 1e-9);
    s.exits = 400;                                  /* 8 ms of exits over 800: +1% to either */
    guard_epoch(&g, &s);
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 11.0, 1e-9);
    /* blocking spread evenly: the worst is no more than the aggregate */
    s = (struct guard_sample){.wall_ns = 200 * MS, .vcpus = 4, .active_ns = 800 * MS, .blocked_ns = 20 * MS,
                              .worst_blocked_ns = 5 * MS, .worst_active_ns = 200 * MS};
    guard_epoch(&g, &s);
    CU_ASSERT_DOUBLE_EQUAL(g.last_pct, 2.5, 1e-9);
}

/* A steady cost under 3/4 of the target demotes; between that and the
 * target slows; over it pauses. */
static void test_verdict_levels(void)
{
    struct guard g;
    guard_init(&g, 2.0, 20000);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(epoch(&g, 1, 0.5, 0), GUARD_DEMOTE);      /* 0.25% */
    guard_init(&g, 2.0, 20000);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(epoch(&g, 1, 3.6, 0), GUARD_SLOW);        /* 1.8% */
    guard_init(&g, 2.0, 20000);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(epoch(&g, 1, 2.8, 0), GUARD_DEMOTE);      /* 1.4% */
    guard_init(&g, 2.0, 20000);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(epoch(&g, 1, 5.0, 0), GUARD_PAUSE);       /* 2.5% */
    CU_ASSERT_EQUAL(g.paused_epochs, 10);
}

/* One noisy epoch neither pauses a quiet guest (unless it is a real burst,
 * over twice the target) nor releases a busy one at once. */
static void test_smoothing(void)
{
    struct guard g;
    guard_init(&g, 2.0, 20000);
    for (int i = 0; i < 5; i++)
        epoch(&g, 1, 0.2, 0);                                      /* 0.1% */
    CU_ASSERT_EQUAL(epoch(&g, 1, 6.6, 0), GUARD_SLOW);            /* 3.3%: smoothed ~1.7% */
    CU_ASSERT_EQUAL(epoch(&g, 1, 0.2, 0), GUARD_DEMOTE);
    /* a promotion storm: 60% pauses at once */
    CU_ASSERT_EQUAL(epoch(&g, 1, 80.0, 2000), GUARD_PAUSE);
    /* and the pause holds while the smoothed cost decays */
    CU_ASSERT_EQUAL(epoch(&g, 1, 0.2, 0), GUARD_PAUSE);
    CU_ASSERT_EQUAL(epoch(&g, 1, 0.2, 0), GUARD_PAUSE);
    enum guard_verdict v = GUARD_PAUSE;
    int n = 0;
    while (v != GUARD_DEMOTE && n++ < 20)
        v = epoch(&g, 1, 0.2, 0);
    CU_ASSERT_EQUAL(v, GUARD_DEMOTE);
    CU_ASSERT(n >= 3 && n <= 8);                                   /* halves each epoch */
}

static void test_allowance(void)
{
    struct guard g;
    guard_init(&g, 2.0, 23000);
    /* 2% of 1 s on 2 vCPUs = 40 ms; 40% of it = 16 ms; at 23 us: 695 */
    CU_ASSERT_EQUAL(guard_allowance(&g, 1000 * MS, 2, 0.4, 23000), 695);
    CU_ASSERT_EQUAL(guard_allowance(&g, 200 * MS, 1, 0.4, 23000), 69);
    CU_ASSERT_EQUAL(guard_allowance(&g, 200 * MS, 1, 0.4, 0), 0);
}

/* The arm-budget controller and the re-arm backoff (policy.h). */
static void test_arm_budget(void)
{
    CU_ASSERT_EQUAL(policy_arm_budget(100, 100, 0, 70, 1, 1000), 200);       /* all clean: double */
    CU_ASSERT_EQUAL(policy_arm_budget(800, 800, 0, 70, 1, 1000), 1000);      /* capped */
    CU_ASSERT_EQUAL(policy_arm_budget(100, 100, 10, 70, 1, 1000), 200);      /* 10% hit: 700 fit, grow 2x */
    CU_ASSERT_EQUAL(policy_arm_budget(400, 400, 50, 70, 1, 1000), 560);      /* 12.5% hit: 560 fit */
    CU_ASSERT_EQUAL(policy_arm_budget(100, 100, 140, 70, 1, 1000), 50);      /* over: scale to fit */
    CU_ASSERT_EQUAL(policy_arm_budget(100, 100, 100000, 70, 16, 1000), 16);  /* floor */
    CU_ASSERT_EQUAL(policy_arm_budget(0, 0, 0, 70, 16, 1000), 16);
    CU_ASSERT_EQUAL(policy_arm_budget(300, 0, 0, 70, 16, 1000), 300);        /* nothing armed: no news */
    /* A write-spread guest: every armed page gets written. The budget
     * settles at the allowance. */
    uint64_t k = 64;
    for (int i = 0; i < 20; i++)
        k = policy_arm_budget(k, k, k, 70, 1, 65536);
    CU_ASSERT_EQUAL(k, 70);
    /* A read-only guest: nothing written. It grows to everything. */
    for (int i = 0; i < 20; i++)
        k = policy_arm_budget(k, k, 0, 70, 1, 65536);
    CU_ASSERT_EQUAL(k, 65536);
}

static void test_rearm_backoff(void)
{
    struct policy_params p;
    policy_params_init(&p, 1000);                   /* clean window 2 */
    uint8_t rb = 0;
    for (int i = 0; i < 20; i++)
        rb = policy_rearm_backoff(&p, rb, 0);       /* written at once, every time */
    CU_ASSERT_EQUAL(rb, POLICY_REARM_MAX);
    CU_ASSERT(!policy_rearm_due(1000, 1000 - 1023, rb));
    CU_ASSERT(policy_rearm_due(1000, 1000 - 1024, rb));
    rb = policy_rearm_backoff(&p, rb, 10);          /* stayed clean a while: one step back */
    CU_ASSERT_EQUAL(rb, POLICY_REARM_MAX - 1);
    CU_ASSERT(policy_rearm_due(5, 4, 0));
    CU_ASSERT(!policy_rearm_due(5, 5, 0));
    CU_ASSERT(policy_rearm_due(3, 0xfffffffeu, 2)); /* epochs wrap */
}

static void test_write_period(void)
{
    struct policy_params p;
    policy_params_init(&p, 1000);
    uint8_t period = 0;
    CU_ASSERT(policy_clean_enough(&p, HIST_MAKE(2, 8), period));
    period = policy_learn_period(period, 4);        /* written after 4 clean epochs */
    CU_ASSERT_EQUAL(period, 5);
    CU_ASSERT(!policy_clean_enough(&p, HIST_MAKE(9, 8), period));
    CU_ASSERT(policy_clean_enough(&p, HIST_MAKE(10, 8), period));
    CU_ASSERT_EQUAL(policy_learn_period(period, 1), 5);            /* keeps the longest */
    CU_ASSERT_EQUAL(policy_learn_period(0, 40), 15);               /* saturates */
    CU_ASSERT(policy_clean_enough(&p, HIST_MAKE(15, 8), 15));      /* capped at what the age counts */
}

int register_guard_tests(void)
{
    static const struct unit_test tests[] = {
        {"slowdown = (blocked + exits x cost) / vCPU time", test_slowdown_arithmetic},
        {"vCPU time in use: idle threads do not dilute the cost", test_active_time},
        {"the host's steal is not tiering's cost", test_steal},
        {"the vCPU blocked most: a server's busy thread", test_worst_vcpu},
        {"verdicts: demote, slow, pause", test_verdict_levels},
        {"smoothing: noise vs bursts", test_smoothing},
        {"allowance for the arm budgets", test_allowance},
        {"arm budget settles where the faults fit", test_arm_budget},
        {"re-arm backoff of write-hot pages", test_rearm_backoff},
        {"learned write period", test_write_period},
    };
    return ADD_SUITE("guard", tests);
}
