/*
 * The tiering daemon: once an epoch it learns what the guest wrote and
 * touched (the monitor, tracking.h), ages every page's history, notes the
 * tier changes since the last look (ping-pongs: a page promoted soon after
 * its demotion), and when DRAM use is over the budget demotes the pages
 * the policy (policy.h) ranks first — coldest, then clean the longest — in
 * contiguous runs, through the migration engine. It never stalls the
 * guest: when the guest writes faster than the budget allows, DRAM use
 * exceeds the budget for a while and the stats say so.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bitmap.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "tiering/daemon.h"

#define SCAN_CHUNK 4096            /* pages scanned per lock hold */

int daemon_init(struct daemon *d, struct tier_core *core, struct migrate_engine *eng, struct monitor *mon,
                const struct tiering_config *cfg, char *err, size_t errlen)
{
    *d = (struct daemon){.core = core, .eng = eng, .mon = mon, .epoch_ms = cfg->epoch_ms, .enabled = cfg->daemon};
    policy_params_init(&d->params, cfg->dram_budget / PAGE_SIZE_4K);
    if (!d->enabled)
        return 0;
    uint64_t n = core->npages;
    d->hist = malloc(n);
    d->last_change = calloc(n, sizeof *d->last_change);
    d->backoff = calloc(n, sizeof *d->backoff);
    d->was_ltram = calloc(BITMAP_WORDS(n), sizeof *d->was_ltram);
    d->resident = calloc(n, 1);
    d->score_hist = calloc(POLICY_SCORES, sizeof *d->score_hist);
    if (!d->hist || !d->last_change || !d->backoff || !d->was_ltram || !d->resident || !d->score_hist) {
        snprintf(err, errlen, "tiering daemon: out of memory");
        return -ENOMEM;
    }
    memset(d->hist, HIST_INITIAL, n);
    return 0;
}

void daemon_fini(struct daemon *d)
{
    free(d->hist);
    free(d->last_change);
    free(d->backoff);
    free(d->was_ltram);
    free(d->resident);
    free(d->score_hist);
    d->hist = d->resident = NULL;
}

/* Which pages of the DRAM memfd hold data: walk its extents with
 * SEEK_DATA/SEEK_HOLE (cheap: one step per extent, where mincore would
 * look up every page). */
static void scan_residency(struct daemon *d)
{
    struct tier_core *c = d->core;
    off_t size = (off_t)(c->npages * PAGE_SIZE_4K), pos = 0;
    memset(d->resident, 0, c->npages);
    while (pos < size) {
        off_t data = lseek(c->dram_fd, pos, SEEK_DATA);
        if (data < 0)
            break;              /* ENXIO: no data past pos */
        off_t hole = lseek(c->dram_fd, data, SEEK_HOLE);
        if (hole < 0)
            hole = size;
        memset(d->resident + data / (off_t)PAGE_SIZE_4K, 1,
               (size_t)((hole - data + (off_t)PAGE_SIZE_4K - 1) / (off_t)PAGE_SIZE_4K));
        pos = hole;
    }
}

/* Carry each access sample's result to the pages of its region. */
static void apply_samples(struct daemon *d, const struct sample_result *r, size_t n)
{
    pthread_mutex_lock(&d->core->lock);
    for (size_t i = 0; i < n; i++)
        for (uint64_t q = r[i].first; q < r[i].first + r[i].n; q++)
            d->hist[q] = policy_note_access(d->hist[q], r[i].touched);
    pthread_mutex_unlock(&d->core->lock);
}

/* A tier change the daemon sees now (lock held): record it; a promotion
 * soon after the demotion is a ping-pong and backs the page off. Returns
 * true when the page was promoted (a store wrote it). */
static bool note_tier_change(struct daemon *d, uint64_t p, uint64_t *pingpongs)
{
    bool on_ltram = placement_tier(d->core->pm, p) == TIER_LTRAM;
    if (on_ltram == bitmap_test(d->was_ltram, p))
        return false;
    bitmap_set(d->was_ltram, p, on_ltram);
    if (on_ltram) {
        policy_on_demote(d->epoch, &d->last_change[p]);
        return false;
    }
    *pingpongs += policy_on_promote(&d->params, d->epoch, &d->last_change[p], &d->backoff[p]);
    d->promotions_seen++;
    return true;
}

static int score(struct daemon *d, uint64_t p)
{
    return policy_score(&d->params, d->hist[p], d->epoch, d->last_change[p], d->backoff[p]);
}

/* Age histories, note tier changes, and build the score histogram of
 * demotable pages. Returns promotions seen. */
static uint64_t scan(struct daemon *d, bool want_scores, uint64_t *pingpongs)
{
    struct tier_core *c = d->core;
    uint64_t promoted = d->promotions_seen;
    memset(d->score_hist, 0, POLICY_SCORES * sizeof *d->score_hist);
    for (uint64_t a = c->pinned_pages; a < c->npages; a += SCAN_CHUNK) {
        uint64_t b = a + SCAN_CHUNK < c->npages ? a + SCAN_CHUNK : c->npages;
        pthread_mutex_lock(&c->lock);
        for (uint64_t p = a; p < b; p++) {
            bool written = note_tier_change(d, p, pingpongs) | monitor_written(d->mon, p);
            d->hist[p] = policy_age_write(d->hist[p], written);
            if (!want_scores || !core_demotable(c, p, d->resident))
                continue;
            int s = score(d, p);
            if (s >= 0)
                d->score_hist[s]++;
        }
        pthread_mutex_unlock(&c->lock);
    }
    return d->promotions_seen - promoted;
}

/* Demote runs of pages scoring >= threshold, in address order, until
 * `target` pages moved or the engine refuses (LtRAM full, tokens, maps). */
static uint64_t demote_victims(struct daemon *d, int threshold, uint64_t target)
{
    struct tier_core *c = d->core;
    uint64_t done = 0, p = c->pinned_pages;
    while (done < target && p < c->npages) {
        uint64_t start = p, len = 0;
        pthread_mutex_lock(&c->lock);
        for (; p < c->npages && len < MAX_DEMOTE_RUN && done + len < target; p++) {
            if (!core_demotable(c, p, d->resident) || score(d, p) < threshold) {
                if (len)
                    break;
                start = p + 1;
                continue;
            }
            len++;
        }
        pthread_mutex_unlock(&c->lock);
        if (!len)
            continue;
        int64_t n = migrate_demote(d->eng, start, len);
        if (n < 0)
            break;              /* LtRAM full, out of tokens or near the mapping ceiling */
        pthread_mutex_lock(&c->lock);
        for (uint64_t q = start; q < start + len; q++)
            note_tier_change(d, q, &d->pingpongs);
        pthread_mutex_unlock(&c->lock);
        done += (uint64_t)n;
    }
    return done;
}

/* Global anti-thrash: when many promotions are ping-pongs (pages demoted
 * and written again within a few epochs), the clean window is too short
 * for this guest's write pattern: double it (up to the 15 epochs the write
 * age can count); when ping-pongs are rare, shrink it back one step.
 * Per-page backoff handles single pages; this handles a guest whose writes
 * touch most of its memory every few seconds. Lock held. */
static void adapt_clean_window(struct daemon *d, uint64_t promoted, uint64_t pingpongs)
{
    if (promoted >= 64 && pingpongs * 4 > promoted) {
        unsigned w = d->params.min_clean_epochs * 2;
        d->params.min_clean_epochs = w < 15 ? w : 15;
    } else if (pingpongs * 20 < promoted + 20 && d->params.min_clean_epochs > POLICY_MIN_CLEAN) {
        d->params.min_clean_epochs--;
    }
}

static void epoch_tick(struct daemon *d)
{
    uint64_t c0 = clock_thread_cpu_ns();
    d->epoch++;
    const struct sample_result *samples;
    size_t nsamples = monitor_harvest(d->mon, &samples);
    scan_residency(d);
    uint64_t used = core_dram_resident_pages(d->core);
    apply_samples(d, samples, nsamples);

    pthread_mutex_lock(&d->core->lock);
    uint64_t target = policy_demote_target(&d->params, used);
    pthread_mutex_unlock(&d->core->lock);

    uint64_t pingpongs = 0;
    uint64_t promoted = scan(d, target > 0, &pingpongs);
    /* Re-arm write tracking on every page found written. */
    monitor_arm(d->mon, d->mon->written, d->resident);
    int threshold = policy_threshold(d->score_hist, target);
    uint64_t scan_ns = clock_thread_cpu_ns() - c0;

    /* Pages above the threshold all go (they number less than the target),
     * then threshold pages in address order fill the rest. */
    uint64_t demoted = 0;
    if (target && threshold + 1 < POLICY_SCORES)
        demoted = demote_victims(d, threshold + 1, target);
    if (target > demoted)
        demoted += demote_victims(d, threshold, target - demoted);
    uint64_t after = core_dram_resident_pages(d->core);

    pthread_mutex_lock(&d->core->lock);
    d->epochs++;
    d->pingpongs += pingpongs;
    d->scan_ns_last = scan_ns;
    d->scan_ns_total += scan_ns;
    if (scan_ns > d->scan_ns_max)
        d->scan_ns_max = scan_ns;
    d->demoted_last = demoted;
    d->promoted_last = promoted;
    adapt_clean_window(d, promoted, pingpongs);
    d->dram_used_pages = after;
    if (after > d->dram_max_pages)
        d->dram_max_pages = after;
    if (after > d->params.budget_pages)
        d->over_budget_epochs++;    /* a write burst: never stall the guest for it */
    pthread_mutex_unlock(&d->core->lock);
}

static void *daemon_thread(void *arg)
{
    struct daemon *d = arg;
    struct pollfd p = {.fd = d->stop_efd, .events = POLLIN};
    while (!atomic_load(&d->stopping)) {
        poll(&p, 1, (int)d->epoch_ms);
        if (atomic_load(&d->stopping))
            break;
        epoch_tick(d);
    }
    return NULL;
}

int daemon_start(struct daemon *d, int stop_efd)
{
    if (!d->enabled)
        return 0;
    d->stop_efd = stop_efd;
    return thread_start(&d->thread, daemon_thread, d);
}

void daemon_stop(struct daemon *d)
{
    atomic_store(&d->stopping, true);
    thread_join(&d->thread);
}

uint64_t daemon_epochs(struct daemon *d)
{
    pthread_mutex_lock(&d->core->lock);
    uint64_t n = d->epochs;
    pthread_mutex_unlock(&d->core->lock);
    return n;
}

uint64_t daemon_budget_pages(struct daemon *d)
{
    pthread_mutex_lock(&d->core->lock);
    uint64_t n = d->params.budget_pages;
    pthread_mutex_unlock(&d->core->lock);
    return n;
}

json_object *daemon_json(struct daemon *d)
{
    json_object *o = json_object_new_object();
    pthread_mutex_lock(&d->core->lock);
    const struct monitor *m = d->mon;
    json_add_bool(o, "enabled", d->enabled);
    json_add_str(o, "access_tracking", d->enabled ? monitor_access_name(m) : "off");
    json_add_str(o, "dirty_tracking", d->enabled ? monitor_writes_name(m) : "off");
    JSON_U64S(o, {"epoch_ms", d->epoch_ms}, {"epochs", d->epochs}, {"demoted_last_epoch", d->demoted_last},
              {"promoted_last_epoch", d->promoted_last}, {"pingpongs", d->pingpongs},
              {"clean_window_epochs", d->params.min_clean_epochs}, {"budget_pages", d->params.budget_pages},
              {"low_watermark_pages", d->params.low_pages}, {"dram_used_pages", d->dram_used_pages},
              {"dram_max_pages", d->dram_max_pages}, {"over_budget_epochs", d->over_budget_epochs},
              {"samples", d->enabled ? m->samples_taken : 0},
              {"samples_touched", d->enabled ? m->samples_touched : 0},
              {"access_faults", d->enabled ? m->access_faults : 0});
    json_add_double(o, "scan_us_last", d->scan_ns_last / 1e3);
    json_add_double(o, "scan_us_mean", d->epochs ? d->scan_ns_total / 1e3 / d->epochs : 0);
    json_add_double(o, "scan_us_max", d->scan_ns_max / 1e3);
    json_add_double(o, "pingpong_rate", d->promotions_seen ? (double)d->pingpongs / (double)d->promotions_seen : 0);
    json_add_double(o, "over_budget_s", d->over_budget_epochs * d->epoch_ms / 1e3);
    pthread_mutex_unlock(&d->core->lock);
    return o;
}
