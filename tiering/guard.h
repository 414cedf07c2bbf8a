/* The slowdown guard. The DRAM budget is what the operator would like; the
 * guest's speed is what they must keep. Each epoch the daemon measures what
 * tiering cost the guest, as a share of its vCPU time:
 *
 *   blocked   time the vCPU threads slept in faults the host served
 *             (promotions, access-sampling faults, stores waiting for a
 *             demotion): measured, from the threads' schedstat;
 *   exits     the VM exits tiering caused, each costing exit_cost_ns of
 *             vCPU time (on PVM, ~23 us: measured by bench/probes): write
 *             faults on re-armed pages, userfaultfd faults, and the TLB
 *             flushes every remap of guest memory and every re-arm call
 *             (one KVM_CLEAR_DIRTY_LOG each) send to each vCPU;
 *
 *   slowdown  = (blocked + exits * exit_cost) / (vcpus * epoch)
 *
 * smoothed over a few epochs, and held under max_pct: over it demotion
 * pauses (DRAM may exceed the budget; the stats say why), between 3/4 of
 * it and it demotion slows, and the write-tracking and access-sampling
 * budgets (policy_arm_budget) are sized from what is left. Pure: the daemon
 * feeds it the measurements, tests feed it synthetic traces. */
#ifndef AROM_TIERING_GUARD_H
#define AROM_TIERING_GUARD_H

#include <stdbool.h>
#include <stdint.h>

enum guard_verdict {
    GUARD_DEMOTE,       /* cost under 3/4 of the target: demote what the budget asks */
    GUARD_SLOW,         /* near the target: demote at half the pace */
    GUARD_PAUSE,        /* over it: no demotion this epoch */
};

struct guard_sample {
    uint64_t wall_ns;           /* the epoch's length */
    unsigned vcpus;             /* vCPUs running */
    uint64_t blocked_ns;        /* summed over vCPUs */
    uint64_t exits;             /* VM exits tiering caused */
};

struct guard {
    double max_pct;             /* the target, percent of vCPU time */
    double exit_cost_ns;
    double smoothed_pct;        /* exponentially weighted, half-life one epoch */
    double last_pct;
    uint64_t epochs, paused_epochs, slowed_epochs;
    double cost_ns_total, vcpu_ns_total;   /* for the whole-run share */
};

void guard_init(struct guard *g, double max_pct, double exit_cost_ns);
/* One epoch's measurements in, the verdict for the next demotion out. */
enum guard_verdict guard_epoch(struct guard *g, const struct guard_sample *s);
/* Share of the whole run's vCPU time tiering cost, percent. */
double guard_run_pct(const struct guard *g);
/* Of the cost the guard allows one vCPU-epoch of wall_ns, how many events
 * of cost_ns fit into `share` (0..1) of it. For sizing the arm budgets. */
uint64_t guard_allowance(const struct guard *g, uint64_t wall_ns, unsigned vcpus, double share, double cost_ns);
const char *guard_verdict_name(enum guard_verdict v);

#endif
