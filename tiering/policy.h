/* The tiering daemon's policy as pure functions over per-page state, so it
 * can be tested with synthetic traces (tests/unit/test_policy.c). The
 * daemon (daemon.c) feeds it the tracking data and acts on its answers.
 *
 * Per-page history is one byte (placement_history):
 *   high nibble  epochs since the page was last written (saturates at 15)
 *   low nibble   read age from access sampling: 0 when a touch is seen,
 *                +4 (saturating at 15) for each idle sample; 8 = unknown
 * Anti-thrash state is the page's last tier change epoch and a backoff
 * exponent (placement_demote_epoch / placement_backoff). */
#ifndef AROM_TIERING_POLICY_H
#define AROM_TIERING_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_WRITE_AGE(h) ((unsigned)(h) >> 4)
#define HIST_READ_AGE(h) ((unsigned)(h) & 15u)
#define HIST_MAKE(w, r) ((uint8_t)(((w) << 4) | (r)))
#define HIST_INITIAL HIST_MAKE(0, 8)     /* just written, access unknown */
#define POLICY_SCORES 256
#define POLICY_MIN_CLEAN 2           /* default clean window, epochs */

struct policy_params {
    uint64_t budget_pages;       /* DRAM the VM may use, in pages */
    uint64_t low_pages;          /* when over budget, demote down to this */
    unsigned min_clean_epochs;   /* never demote a page written in the last N epochs */
    unsigned pingpong_epochs;    /* promoted within N epochs of its demotion = ping-pong */
    unsigned backoff_max;        /* cap of the backoff exponent */
};

/* Defaults: low watermark 1% (at least 64 pages) under the budget, pages
 * must be clean for 2 epochs, ping-pong window 8 epochs, backoff <= 2^6. */
void policy_params_init(struct policy_params *p, uint64_t budget_pages);
/* A new budget (and its low watermark); the learned knobs stay. */
void policy_set_budget(struct policy_params *p, uint64_t budget_pages);

/* One epoch passed for one page: its write age restarts at 0 if it was
 * written (dirty), else grows by one (saturating at 15). */
uint8_t policy_age_write(uint8_t hist, bool dirty);

/* One epoch passed: each page's write age restarts at 0 if its dirty bit
 * is set, else grows by one (saturating). */
void policy_note_writes(uint8_t *hist, const uint64_t *dirty_bitmap, uint64_t npages);

/* A sampled page (or its region) was touched during the epoch: read age
 * 0; or was idle: read age + 4, saturating at 15. Gradual, so one idle
 * sample in a mixed region does not make it look cold at once. */
uint8_t policy_note_access(uint8_t hist, bool accessed);

/* Pages to demote now: 0 while DRAM use is within the budget, else down to
 * the low watermark. */
uint64_t policy_demote_target(const struct policy_params *p, uint64_t dram_used_pages);

/* Demotion priority of a DRAM page, or -1 if it must not be demoted now
 * (written in the last min_clean_epochs, or backing off after a ping-pong).
 * Higher first: the coldest (read age) first, and among equally cold pages
 * the one clean the longest. Read-coldness leads because on LtRAM a page
 * costs only its extra read latency: unread pages cost nothing there. */
int policy_score(const struct policy_params *p, uint8_t hist, uint32_t epoch,
                 uint32_t last_change, uint16_t backoff);

/* The lowest score s such that pages scoring >= s number at least need
 * (so demoting them, highest first, meets the target); 0 when all
 * eligible pages together are not enough; POLICY_SCORES when need is 0. */
int policy_threshold(const uint64_t hist[POLICY_SCORES], uint64_t need);

/* Bookkeeping at a tier change. A promotion within pingpong_epochs of the
 * page's demotion doubles its backoff (returns true: a ping-pong); a
 * promotion after a long stay on LtRAM halves it. */
bool policy_on_promote(const struct policy_params *p, uint32_t epoch, uint32_t *last_change,
                       uint16_t *backoff);
void policy_on_demote(uint32_t epoch, uint32_t *last_change);

/* A page's write period, learned: a page that had been clean for `clean`
 * epochs when a write was seen (while it was watched) writes at least that
 * often, so it must stay clean twice as long before it may go. The period
 * saturates at 15; returns the new one. */
uint8_t policy_learn_period(uint8_t period, unsigned clean);
/* Clean long enough to be demoted: the clean window, or twice the learned
 * write period if longer (at most the 15 epochs the write age counts). */
bool policy_clean_enough(const struct policy_params *p, uint8_t hist, uint8_t period);

/* Re-arming write tracking on a page costs one VM exit if the page is
 * written again: a page found written soon after it was armed (within
 * twice the clean window) waits 2^rb epochs before the next re-arm, rb
 * growing by one each time (to at most 10: a write-hot page costs one exit
 * per 1024 epochs); one that stayed clean longer earns a step back. */
#define POLICY_REARM_MAX 10
uint8_t policy_rearm_backoff(const struct policy_params *p, uint8_t rb, unsigned clean);
/* May a page last seen written at last_write be re-armed now? */
bool policy_rearm_due(uint32_t epoch, uint32_t last_write, uint8_t rb);

/* Next epoch's budget of pages to arm (write tracking) or to sample
 * (access tracking), from last epoch's: `armed` pages armed, `faults` of
 * them written (touched), each fault costing the guest an exit, and the
 * `allowed` faults an epoch the guard grants. Over the allowance the
 * budget shrinks to fit; under it, it moves to what the hit rate says
 * would fit (allowed / (faults / armed)), growing at most twofold an epoch
 * (arms of pages the guest is about to write come back at once); within
 * [min, max]. */
uint64_t policy_arm_budget(uint64_t budget, uint64_t armed, uint64_t faults, uint64_t allowed, uint64_t min,
                           uint64_t max);

#endif
