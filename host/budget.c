#include "host/budget.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t pages_down(uint64_t bytes)
{
    return bytes / BUDGET_PAGE * BUDGET_PAGE;
}

/* a * num / den without overflow for byte counts (< 2^53 each). */
static uint64_t scale(uint64_t a, uint64_t num, uint64_t den)
{
    return den ? (uint64_t)((long double)a * num / den) : 0;
}

static void demand_of(const struct vm_demand *v, struct budget_result *r)
{
    if (v->kind != BUDGET_STEERED) {
        uint64_t take = v->kind == BUDGET_PINNED ? v->budget : v->resident;
        *r = (struct budget_result){.budget = take, .min = take, .demand = take};
        return;
    }
    r->min = min_u64(v->mem, v->floor + v->floor / 8 + BUDGET_SLACK);
    uint64_t want = r->min;
    if (v->target_pct > 0 && v->slowdown_pct > v->target_pct) {
        /* over the target by x: grow by x/4 of the budget, at most 1/4 (twice the target) */
        double grow = (v->slowdown_pct / v->target_pct - 1) / 4;
        uint64_t w = v->budget + (uint64_t)((double)v->budget * (grow < 0.25 ? grow : 0.25));
        if (w > want)
            want = w;
    }
    r->demand = min_u64(v->mem, want);
}

enum budget_regime budget_divide(uint64_t allowance, const struct vm_demand *v, size_t n,
                                 struct budget_result *out)
{
    uint64_t fixed = 0, sum_min = 0, sum_demand = 0, sum_room = 0;
    for (size_t i = 0; i < n; i++) {
        demand_of(&v[i], &out[i]);
        if (v[i].kind != BUDGET_STEERED) {
            fixed += out[i].demand;
            continue;
        }
        sum_min += out[i].min;
        sum_demand += out[i].demand;
        sum_room += v[i].mem - out[i].demand;
    }
    uint64_t avail = allowance > fixed ? allowance - fixed : 0;
    enum budget_regime regime = sum_demand <= avail ? BUDGET_SPARE
                              : sum_min <= avail    ? BUDGET_SHORT : BUDGET_OVERSUBSCRIBED;
    for (size_t i = 0; i < n; i++) {
        struct budget_result *r = &out[i];
        if (v[i].kind != BUDGET_STEERED)
            continue;
        uint64_t b;
        if (regime == BUDGET_SPARE)
            b = r->demand + min_u64(v[i].mem - r->demand, scale(avail - sum_demand, v[i].mem - r->demand, sum_room));
        else if (regime == BUDGET_SHORT)
            b = r->min + scale(avail - sum_min, r->demand - r->min, sum_demand - sum_min);
        else
            b = scale(avail, r->min, sum_min);
        r->budget = pages_down(min_u64(b, v[i].mem));
    }
    return regime;
}

const char *budget_regime_name(enum budget_regime r)
{
    static const char *const names[] = {"spare", "short", "oversubscribed"};
    return names[r];
}

bool budget_changed(uint64_t old, uint64_t new_budget, uint64_t mem)
{
    uint64_t d = old > new_budget ? old - new_budget : new_budget - old;
    uint64_t tol = mem / 100 > (4ull << 20) ? mem / 100 : 4ull << 20;
    return d > tol;
}
