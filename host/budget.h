/* The host-wide DRAM budget: aromd's division of a DRAM allowance among
 * VMs by their measured demand. Pure, so tests drive it with synthetic
 * VMs (tests/unit/test_budget.c); aromd (host/aromd.c) feeds it each
 * VM's figures from its API and sets the budgets it answers.
 *
 * Per VM:
 *   floor   pinned pages + the write-hot set (DRAM pages the VM's daemon
 *           could not demote last epoch): below it, demotions would only
 *           come back as promotions
 *   min     floor + 1/8 headroom + 8 MiB, at most guest RAM
 *   demand  min; while the VM's slowdown guard reports more than its
 *           target, its current budget grown in proportion to the excess
 *           (over by x times the target: + x/4, at most + 1/4): more
 *           DRAM, fewer promotions, so a suffering VM grows poll by poll
 * Division of what the allowance leaves after fixed VMs (no tiering
 * daemon: their resident DRAM; pinned by the operator: their budget):
 *   every demand fits    each its demand; the spare split in proportion
 *                        to what each could still use (RAM - demand)
 *   the mins fit         each its min; the rest in proportion to
 *                        (demand - min)
 *   not even the mins    in proportion to min ("oversubscribed")
 * The budgets never add up to more than the allowance (unless the fixed
 * VMs alone exceed it) and each is a multiple of 4 KiB within guest RAM. */
#ifndef AROM_HOST_BUDGET_H
#define AROM_HOST_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUDGET_PAGE 4096u
#define BUDGET_SLACK (8ull << 20)

enum budget_kind {
    BUDGET_STEERED,     /* tiering daemon on: aromd sets its budget */
    BUDGET_PINNED,      /* the operator fixed its budget through aromd */
    BUDGET_FIXED,       /* no tiering daemon: uses what it uses */
};

struct vm_demand {
    enum budget_kind kind;
    uint64_t mem;               /* guest RAM, bytes */
    uint64_t floor;             /* pinned + write-hot, bytes */
    uint64_t budget;            /* its budget now (PINNED: the pinned one) */
    uint64_t resident;          /* DRAM resident now (FIXED: what it takes) */
    double slowdown_pct, target_pct;
};

struct budget_result {
    uint64_t budget;            /* what to set (FIXED: resident) */
    uint64_t min, demand;       /* as computed (FIXED/PINNED: their take) */
};

enum budget_regime { BUDGET_SPARE, BUDGET_SHORT, BUDGET_OVERSUBSCRIBED };

/* Divide allowance bytes among the n VMs into out[n]. */
enum budget_regime budget_divide(uint64_t allowance, const struct vm_demand *v, size_t n,
                                 struct budget_result *out);
const char *budget_regime_name(enum budget_regime r);
/* Worth setting: new differs from old by more than 1% of RAM or 4 MiB,
 * so small wobbles of demand do not reach the VM every interval. */
bool budget_changed(uint64_t old, uint64_t new_budget, uint64_t mem);

#endif
