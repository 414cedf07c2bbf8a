#include "tiering/guard.h"

void guard_init(struct guard *g, double max_pct, double exit_cost_ns)
{
    *g = (struct guard){.max_pct = max_pct, .exit_cost_ns = exit_cost_ns};
}

double guard_vcpu_ns(const struct guard_sample *s)
{
    double all = (double)s->wall_ns * (s->vcpus ? s->vcpus : 1), active = (double)s->active_ns;
    if (!s->active_ns)
        return all;
    if (active < (double)s->wall_ns)
        return (double)s->wall_ns;
    return active < all ? active : all;
}

unsigned guard_vcpus(const struct guard_sample *s)
{
    double n = s->wall_ns ? guard_vcpu_ns(s) / (double)s->wall_ns : 1;
    return n < 1.5 ? 1 : (unsigned)(n + 0.5);
}

enum guard_verdict guard_epoch(struct guard *g, const struct guard_sample *s)
{
    double vcpu_ns = guard_vcpu_ns(s);
    double blocked = s->blocked_ns > s->steal_ns ? (double)(s->blocked_ns - s->steal_ns) : 0;
    double exits_ns = (double)s->exits * g->exit_cost_ns;
    double share = vcpu_ns > 0 ? (blocked + exits_ns) / vcpu_ns : 0;
    if (s->worst_active_ns && vcpu_ns > 0) {
        double worst = (double)s->worst_blocked_ns / (double)s->worst_active_ns + exits_ns / vcpu_ns;
        share = worst > share ? worst : share;
    }
    double cost = share * vcpu_ns;
    g->last_pct = 100.0 * share;
    g->smoothed_pct = g->epochs ? (g->smoothed_pct + g->last_pct) / 2 : g->last_pct;
    g->cost_ns_total += cost;
    g->vcpu_ns_total += vcpu_ns;
    g->wall_ns_total += (double)s->wall_ns;
    g->blocked_ns_total += blocked;
    g->steal_ns_total += (double)s->steal_ns;
    g->epochs++;
    /* The smoothed value decides, so one noisy epoch neither pauses nor
     * releases demotion; a burst well over the target pauses at once. */
    double pct = g->last_pct > 2 * g->max_pct && g->last_pct > g->smoothed_pct ? g->last_pct : g->smoothed_pct;
    if (pct > g->max_pct) {
        g->paused_epochs++;
        return GUARD_PAUSE;
    }
    if (pct > g->max_pct * 3 / 4) {
        g->slowed_epochs++;
        return GUARD_SLOW;
    }
    return GUARD_DEMOTE;
}

double guard_run_pct(const struct guard *g)
{
    return g->vcpu_ns_total > 0 ? 100.0 * g->cost_ns_total / g->vcpu_ns_total : 0;
}

double guard_run_vcpus(const struct guard *g)
{
    return g->wall_ns_total > 0 ? g->vcpu_ns_total / g->wall_ns_total : 0;
}

uint64_t guard_allowance(const struct guard *g, uint64_t wall_ns, unsigned vcpus, double share, double cost_ns)
{
    double budget = g->max_pct / 100.0 * (double)wall_ns * (vcpus ? vcpus : 1) * share;
    return cost_ns > 0 ? (uint64_t)(budget / cost_ns) : 0;
}

const char *guard_verdict_name(enum guard_verdict v)
{
    switch (v) {
    case GUARD_SLOW: return "slow";
    case GUARD_PAUSE: return "pause";
    default: return "demote";
    }
}
