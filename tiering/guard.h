/* The slowdown guard. The DRAM budget is what the operator would like; the
 * guest's speed is what they must keep. Each epoch the daemon measures what
 * tiering cost the guest, as a share of its vCPU time:
 *
 *   blocked   time the vCPU threads slept in faults the host served
 *             (promotions, access-sampling faults, stores waiting for a
 *             demotion): measured, from the threads' schedstat, less the
 *             time the hypervisor under a nested host stole from their
 *             CPUs (which schedstat cannot tell from a sleep);
 *   exits     the VM exits tiering caused, each costing exit_cost_ns of
 *             vCPU time (on PVM, ~23 us: measured by bench/probes): write
 *             faults on re-armed pages, userfaultfd faults, and the TLB
 *             flushes every remap of guest memory and every re-arm call
 *             (one KVM_CLEAR_DIRTY_LOG each) send to each vCPU;
 *
 *   slowdown  = (blocked + exits * exit_cost) / (vCPU time in use)
 *
 * or, when more, the blocked share of the one vCPU tiering blocked most
 * (its blocked time over its own time in use, plus the exits' even share):
 * the thread a server's connections wait on is its speed, whatever the
 * other threads do. The vCPU time in use is the epoch times the vCPUs,
 * less what the guest itself slept (a Linux program's threads waiting in epoll or a
 * futex, spare vCPUs): a server whose one busy thread pays a fault must not
 * see it diluted by five idle ones. At least one vCPU's epoch counts, so an
 * idle guest's few faults do not read as a slowdown either.
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
    uint64_t active_ns;         /* vCPU time the guest could use, summed (0: vcpus * wall_ns) */
    uint64_t blocked_ns;        /* summed over vCPUs */
    uint64_t steal_ns;          /* of it, the host's hypervisor's doing: not tiering's */
    /* The vCPU blocked most for its time (net of steal), if one was in use
     * for a quarter of the epoch: its blocked and in-use ns, else 0. */
    uint64_t worst_blocked_ns, worst_active_ns;
    uint64_t exits;             /* VM exits tiering caused */
};

struct guard {
    double max_pct;             /* the target, percent of vCPU time */
    double exit_cost_ns;
    double smoothed_pct;        /* exponentially weighted, half-life one epoch */
    double last_pct;
    uint64_t epochs, paused_epochs, slowed_epochs;
    double cost_ns_total, vcpu_ns_total, wall_ns_total, blocked_ns_total, steal_ns_total;   /* the whole run */
};

void guard_init(struct guard *g, double max_pct, double exit_cost_ns);
/* The vCPU time a sample's cost is a share of: the time in use, between one
 * vCPU's epoch and all of theirs; and that as a count of vCPUs (>= 1). */
double guard_vcpu_ns(const struct guard_sample *s);
unsigned guard_vcpus(const struct guard_sample *s);
/* One epoch's measurements in, the verdict for the next demotion out. */
enum guard_verdict guard_epoch(struct guard *g, const struct guard_sample *s);
/* Share of the whole run's vCPU time tiering cost, percent. */
double guard_run_pct(const struct guard *g);
/* vCPUs in use over the whole run, on average (what the share is of). */
double guard_run_vcpus(const struct guard *g);
/* Of the cost the guard allows one vCPU-epoch of wall_ns, how many events
 * of cost_ns fit into `share` (0..1) of it. For sizing the arm budgets. */
uint64_t guard_allowance(const struct guard *g, uint64_t wall_ns, unsigned vcpus, double share, double cost_ns);
const char *guard_verdict_name(enum guard_verdict v);

#endif
