#include "tiering/policy.h"

void policy_set_budget(struct policy_params *p, uint64_t budget_pages)
{
    uint64_t margin = budget_pages / 100 > 64 ? budget_pages / 100 : 64;
    p->budget_pages = budget_pages;
    p->low_pages = budget_pages > margin ? budget_pages - margin : 0;
}

void policy_params_init(struct policy_params *p, uint64_t budget_pages)
{
    policy_set_budget(p, budget_pages);
    p->min_clean_epochs = POLICY_MIN_CLEAN;
    p->pingpong_epochs = 8;
    p->backoff_max = 6;
}

uint8_t policy_age_write(uint8_t hist, bool dirty)
{
    unsigned w = HIST_WRITE_AGE(hist);
    w = dirty ? 0 : (w < 15 ? w + 1 : 15);
    return HIST_MAKE(w, HIST_READ_AGE(hist));
}

void policy_note_writes(uint8_t *hist, const uint64_t *dirty_bitmap, uint64_t npages)
{
    for (uint64_t i = 0; i < npages; i++)
        hist[i] = policy_age_write(hist[i], dirty_bitmap[i / 64] >> (i % 64) & 1);
}

uint8_t policy_note_access(uint8_t hist, bool accessed)
{
    unsigned r = HIST_READ_AGE(hist);
    r = accessed ? 0 : (r + 4 < 15 ? r + 4 : 15);
    return HIST_MAKE(HIST_WRITE_AGE(hist), r);
}

uint64_t policy_demote_target(const struct policy_params *p, uint64_t dram_used_pages)
{
    if (dram_used_pages <= p->budget_pages)
        return 0;
    return dram_used_pages - p->low_pages;
}

int policy_score(const struct policy_params *p, uint8_t hist, uint32_t epoch,
                 uint32_t last_change, uint16_t backoff)
{
    unsigned w = HIST_WRITE_AGE(hist);
    if (w < p->min_clean_epochs)
        return -1;
    /* After a ping-pong the page must sit out min_clean << backoff epochs
     * since its last tier change before it may go again. */
    uint64_t wait = (uint64_t)p->min_clean_epochs << backoff;
    if (backoff && (uint64_t)(epoch - last_change) < wait)
        return -1;
    return (int)(HIST_READ_AGE(hist) * 16 + w);
}

int policy_threshold(const uint64_t hist[POLICY_SCORES], uint64_t need)
{
    if (!need)
        return POLICY_SCORES;
    uint64_t sum = 0;
    for (int s = POLICY_SCORES - 1; s >= 0; s--) {
        sum += hist[s];
        if (sum >= need)
            return s;
    }
    return 0;
}

bool policy_on_promote(const struct policy_params *p, uint32_t epoch, uint32_t *last_change,
                       uint16_t *backoff)
{
    bool pingpong = (uint32_t)(epoch - *last_change) <= p->pingpong_epochs;
    if (pingpong && *backoff < p->backoff_max)
        (*backoff)++;
    else if (!pingpong && *backoff > 0)
        (*backoff)--;
    *last_change = epoch;
    return pingpong;
}

void policy_on_demote(uint32_t epoch, uint32_t *last_change)
{
    *last_change = epoch;
}

uint8_t policy_learn_period(uint8_t period, unsigned clean)
{
    unsigned p = clean + 1 < 15 ? clean + 1 : 15;
    return (uint8_t)(p > period ? p : period);
}

bool policy_clean_enough(const struct policy_params *p, uint8_t hist, uint8_t period)
{
    unsigned need = 2u * period;
    if (need > 15)
        need = 15;
    if (need < p->min_clean_epochs)
        need = p->min_clean_epochs;
    return HIST_WRITE_AGE(hist) >= need;
}

uint8_t policy_rearm_backoff(const struct policy_params *p, uint8_t rb, unsigned clean)
{
    if (clean < 2 * p->min_clean_epochs)
        return rb < POLICY_REARM_MAX ? rb + 1 : rb;
    return rb ? rb - 1 : 0;
}

bool policy_rearm_due(uint32_t epoch, uint32_t last_write, uint8_t rb)
{
    return (uint32_t)(epoch - last_write) >= (1u << rb);
}

uint64_t policy_arm_budget(uint64_t budget, uint64_t armed, uint64_t faults, uint64_t allowed, uint64_t min,
                           uint64_t max)
{
    uint64_t next = budget;
    if (faults > allowed) {
        next = (uint64_t)((double)budget * (double)allowed / (double)faults);
    } else if (armed) {
        uint64_t grow = 2 * (budget > armed ? budget : armed);
        double fit = faults ? (double)allowed * (double)armed / (double)faults : (double)grow;
        next = fit < (double)grow ? (uint64_t)fit : grow;
    }
    if (next < min)
        next = min;
    return next > max ? max : next;
}
