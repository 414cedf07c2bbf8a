/*
 * samepage: every vCPU stores to the same LtRAM page at the same moment.
 * Each round vCPU 0 writes the page, demotes it (AROM_HINT_DEMOTE), then
 * all vCPUs are released together and each stores its own word of the page.
 * Afterwards the page must hold every vCPU's word and the round's header,
 * and the VMM must have promoted it exactly once (one copy, every store
 * completed). Args: rounds=N (default 2000). Exit 0 only if all rounds pass.
 * Reports samepage.rounds, samepage.promotions, samepage.bad_rounds.
 */
#include "arom.h"

struct shared {
    uint64_t *page;
    unsigned n;
    uint64_t round;                /* released by vCPU 0: all store for this round */
    struct arom_barrier barrier;
};

AROM_WORKER_POOL()

static void store_rounds(unsigned vcpu, void *arg)
{
    struct shared *sh = arg;
    uint64_t rounds = arom_load_u64(&sh->round);    /* set before the run */
    for (uint64_t r = 1; r <= rounds; r++) {
        arom_barrier_wait(&sh->barrier, sh->n);     /* page written and demoted */
        sh->page[1 + vcpu] = (r << 8) | vcpu;        /* the concurrent stores */
        arom_barrier_wait(&sh->barrier, sh->n);     /* all stores done */
        arom_barrier_wait(&sh->barrier, sh->n);     /* vCPU 0 checked and rewrote */
    }
}

static void round_prepare(struct shared *sh, uint64_t r)
{
    for (unsigned i = 0; i < 512; i++)
        sh->page[i] = 0;
    sh->page[0] = r;
    sh->page[511] = ~r;
}

static int round_check(struct shared *sh, uint64_t r)
{
    if (sh->page[0] != r || sh->page[511] != ~r)
        return 0;
    for (unsigned v = 0; v < sh->n; v++)
        if (sh->page[1 + v] != ((r << 8) | v))
            return 0;
    return 1;
}

static void coordinator(unsigned vcpu, void *arg)
{
    struct shared *sh = arg;
    if (vcpu != 0) {
        store_rounds(vcpu, arg);
        return;
    }
    uint64_t rounds = arom_load_u64(&sh->round);
    uint64_t bad = 0, promotions = 0, demote_failed = 0;
    for (uint64_t r = 1; r <= rounds; r++) {
        round_prepare(sh, r);
        struct arom_hc_tier_stats before, after;
        if (arom_hint(sh->page, 4096, AROM_HINT_DEMOTE) != 1)
            demote_failed++;
        arom_tier_stats(&before);
        arom_barrier_wait(&sh->barrier, sh->n);
        sh->page[1] = (r << 8);                      /* vCPU 0's own store */
        arom_barrier_wait(&sh->barrier, sh->n);
        arom_tier_stats(&after);
        promotions += after.promotions - before.promotions;
        if (!round_check(sh, r)) {
            if (bad < 5)
                arom_printf("samepage: round %llu: page content wrong\n", (unsigned long long)r);
            bad++;
        }
        arom_barrier_wait(&sh->barrier, sh->n);
    }
    arom_printf("samepage: vcpus=%u rounds=%llu promotions=%llu demote_failed=%llu bad_rounds=%llu\n",
                sh->n, (unsigned long long)rounds, (unsigned long long)promotions,
                (unsigned long long)demote_failed, (unsigned long long)bad);
    arom_report("samepage.rounds", (double)rounds);
    arom_report("samepage.promotions", (double)promotions);
    arom_report("samepage.bad_rounds", (double)bad);
    arom_report("samepage.demote_failed", (double)demote_failed);
    sh->round = (bad == 0 && demote_failed == 0 && promotions == rounds) ? 0 : 1;
}

int main(int argc, char **argv)
{
    static struct shared sh;
    sh.page = arom_alloc_pages(4096);
    sh.n = arom_vcpu_count();
    if (!sh.page || sh.n > 511)
        arom_panic("samepage: no page");
    sh.round = arom_arg_u64(argc, argv, "rounds", 2000);
    arom_run_on_all(coordinator, &sh);
    return (int)sh.round;
}
