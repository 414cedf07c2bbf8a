/*
 * The tiering daemon: once an epoch it learns what the guest wrote (KVM
 * dirty log) and touched (access sampling, tracking.h), ages every page's
 * history, and when DRAM use is over the budget demotes the pages the
 * policy (policy.h) ranks first — clean the longest, then coldest — in
 * contiguous runs, through the migration engine. It never stalls the guest:
 * when the guest writes faster than the budget allows, DRAM use exceeds the
 * budget for a while and the stats say so.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tiering/engine.h"
#include "tiering/uffd.h"
#include "vmm/log.h"
#include "vmm/stats.h"

#define PAGE 4096ull
#define SCAN_CHUNK 4096            /* pages scanned per lock hold */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool test_bit(const uint64_t *b, uint64_t i)
{
    return b[i / 64] >> (i % 64) & 1;
}

static void set_bit(uint64_t *b, uint64_t i, bool on)
{
    if (on)
        b[i / 64] |= 1ull << (i % 64);
    else
        b[i / 64] &= ~(1ull << (i % 64));
}

int daemon_init(struct tiering *t, char *err, size_t errlen)
{
    policy_params_init(&t->params, t->cfg.dram_budget / PAGE);
    for (uint64_t p = 0; p < t->npages; p++)
        placement_set_history(t->pm, p, HIST_INITIAL);
    if (!t->cfg.daemon)
        return 0;
    uint64_t words = (t->npages + 63) / 64;
    t->sampled = calloc(words, sizeof *t->sampled);
    t->touched = calloc(words, sizeof *t->touched);
    t->resident = calloc(t->npages, 1);
    t->score_hist = calloc(POLICY_SCORES, sizeof *t->score_hist);
    uint64_t gib = (t->npages * PAGE + (1ull << 30) - 1) >> 30;
    t->sample_cap = t->access == ACCESS_OFF ? 0 : t->cfg.samples_per_gib * gib;
    t->sample_list = calloc(t->sample_cap ? t->sample_cap : 1, sizeof *t->sample_list);
    if (!t->sampled || !t->touched || !t->resident || !t->score_hist || !t->sample_list) {
        snprintf(err, errlen, "tiering daemon: out of memory");
        return -ENOMEM;
    }
    if (t->access == ACCESS_PAGE_IDLE) {
        int rc = page_idle_open(&t->pidle);
        if (rc < 0) {
            snprintf(err, errlen, "page_idle: %s", strerror(-rc));
            return rc;
        }
    }
    int rc = dirty_log_enable(&t->dlog, t->cfg.vm_fd, t->cfg.slot, 0, t->guest, t->npages * PAGE);
    if (rc < 0) {
        snprintf(err, errlen, "enabling the KVM dirty log: %s", strerror(-rc));
        return rc;
    }
    return 0;
}

void daemon_fini(struct tiering *t)
{
    dirty_log_disable(&t->dlog);
    if (t->access == ACCESS_PAGE_IDLE && t->cfg.daemon)
        page_idle_close(&t->pidle);
    free(t->sampled);
    free(t->touched);
    free(t->resident);
    free(t->score_hist);
    free(t->sample_list);
}

void daemon_note_touch(struct tiering *t, uint64_t page)
{
    if (t->touched && test_bit(t->sampled, page))
        set_bit(t->touched, page, true);
}

/* Which pages of the DRAM memfd hold data: walk its extents with
 * SEEK_DATA/SEEK_HOLE (cheap: one step per extent, where mincore would
 * look up every page). */
static void scan_residency(struct tiering *t)
{
    off_t size = (off_t)(t->npages * PAGE), pos = 0;
    memset(t->resident, 0, t->npages);
    while (pos < size) {
        off_t data = lseek(t->dram_fd, pos, SEEK_DATA);
        if (data < 0)
            break;              /* ENXIO: no data past pos */
        off_t hole = lseek(t->dram_fd, data, SEEK_HOLE);
        if (hole < 0)
            hole = size;
        memset(t->resident + data / (off_t)PAGE, 1, (size_t)((hole - data + (off_t)PAGE - 1) / (off_t)PAGE));
        pos = hole;
    }
}

static uint64_t dram_resident_pages(struct tiering *t)
{
    struct stat st;
    return fstat(t->dram_fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 / PAGE : 0;
}

/* Pages each sample speaks for: the samples tile guest RAM every epoch
 * (a rotating offset inside each region picks a different page each
 * time), so every page's read age is refreshed each epoch, as DAMON does
 * with regions. */
static uint64_t region_pages(struct tiering *t)
{
    uint64_t span = t->npages - t->pinned_pages;
    return t->sample_cap && span / t->sample_cap ? span / t->sample_cap : 1;
}

/* Ask the backend which of last epoch's samples were touched, and carry
 * each result to its region. Lock held. */
static void harvest_samples(struct tiering *t)
{
    uint64_t region = region_pages(t);
    for (uint64_t i = 0; i < t->nsample; i++) {
        uint64_t p = t->sample_list[i];
        bool touched;
        if (t->access == ACCESS_PAGE_IDLE)
            touched = page_idle_accessed(&t->pidle, guest_page(t, p)) > 0;
        else
            touched = test_bit(t->touched, p);
        uint64_t first = t->pinned_pages + (p - t->pinned_pages) / region * region;
        for (uint64_t q = first; q < first + region && q < t->npages; q++)
            placement_set_history(t->pm, q, policy_note_access(placement_history(t->pm, q), touched));
        set_bit(t->sampled, p, false);
        set_bit(t->touched, p, false);
        t->samples_taken++;
        t->samples_touched += touched;
    }
    t->nsample = 0;
}

/* Spread this epoch's samples over guest RAM (a rotating stride), on
 * resident DRAM pages, and arm them: zap the PTE (uffd) or mark idle. */
static void arm_samples(struct tiering *t)
{
    uint64_t span = t->npages - t->pinned_pages;
    if (!t->sample_cap || !span)
        return;
    uint64_t stride = region_pages(t);
    t->sample_cursor = (t->sample_cursor + 1) % stride;
    for (uint64_t k = 0; k < t->sample_cap; k++) {
        uint64_t p = t->pinned_pages + (t->sample_cursor + k * stride) % span;
        pthread_mutex_lock(&t->lock);
        /* Under the lock no demotion can start on p, so zapping cannot race
         * with its write-protect-and-copy. */
        if (t->resident[p] & 1 && placement_tier(t->pm, p) == TIER_DRAM && !placement_migrating(t->pm, p) &&
            !test_bit(t->sampled, p)) {
            int rc = t->access == ACCESS_PAGE_IDLE ? page_idle_mark(&t->pidle, guest_page(t, p))
                                                   : madvise(guest_page(t, p), PAGE, MADV_DONTNEED);
            if (rc == 0) {
                set_bit(t->sampled, p, true);
                t->sample_list[t->nsample++] = p;
            }
        }
        pthread_mutex_unlock(&t->lock);
    }
}

/* Age histories and build the score histogram of demotable pages. */
static void scan(struct tiering *t, uint32_t epoch, bool want_scores)
{
    memset(t->score_hist, 0, POLICY_SCORES * sizeof *t->score_hist);
    for (uint64_t a = t->pinned_pages; a < t->npages; a += SCAN_CHUNK) {
        uint64_t b = a + SCAN_CHUNK < t->npages ? a + SCAN_CHUNK : t->npages;
        pthread_mutex_lock(&t->lock);
        for (uint64_t p = a; p < b; p++) {
            uint8_t h = policy_age_write(placement_history(t->pm, p), test_bit(t->dlog.bitmap, p));
            placement_set_history(t->pm, p, h);
            if (!want_scores || placement_tier(t->pm, p) != TIER_DRAM || placement_pinned(t->pm, p) ||
                placement_migrating(t->pm, p) || !(t->resident[p] & 1))
                continue;
            int s = policy_score(&t->params, h, epoch, placement_demote_epoch(t->pm, p), placement_backoff(t->pm, p));
            if (s >= 0)
                t->score_hist[s]++;
        }
        pthread_mutex_unlock(&t->lock);
    }
}

/* Demote runs of pages scoring >= threshold, in address order, until
 * `target` pages moved or the engine refuses (LtRAM full, tokens, maps). */
static uint64_t demote_victims(struct tiering *t, uint32_t epoch, int threshold, uint64_t target)
{
    uint64_t done = 0, p = t->pinned_pages;
    while (done < target && p < t->npages) {
        uint64_t start = p, len = 0;
        pthread_mutex_lock(&t->lock);
        for (; p < t->npages && len < MAX_DEMOTE_RUN && done + len < target; p++) {
            bool ok = placement_tier(t->pm, p) == TIER_DRAM && !placement_pinned(t->pm, p) &&
                      !placement_migrating(t->pm, p) && (t->resident[p] & 1) &&
                      policy_score(&t->params, placement_history(t->pm, p), epoch,
                                   placement_demote_epoch(t->pm, p), placement_backoff(t->pm, p)) >= threshold;
            if (!ok) {
                if (len)
                    break;
                start = p + 1;
                continue;
            }
            len++;
        }
        pthread_mutex_unlock(&t->lock);
        if (!len)
            continue;
        int64_t n = tiering_demote(t, start, len);
        if (n < 0)
            break;              /* LtRAM full, out of tokens or near the mapping ceiling */
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
static void adapt_clean_window(struct tiering *t)
{
    uint64_t promoted = t->promotions - t->promotions_at_epoch;
    uint64_t pingpongs = t->pingpongs - t->pingpongs_at_epoch;
    t->pingpongs_at_epoch = t->pingpongs;
    if (promoted >= 64 && pingpongs * 4 > promoted) {
        unsigned w = t->params.min_clean_epochs * 2;
        t->params.min_clean_epochs = w < 15 ? w : 15;
    } else if (pingpongs * 20 < promoted + 20 && t->params.min_clean_epochs > POLICY_MIN_CLEAN) {
        t->params.min_clean_epochs--;
    }
}

static void epoch_tick(struct tiering *t)
{
    uint64_t c0 = thread_cpu_ns();
    uint32_t epoch = atomic_fetch_add(&t->epoch, 1) + 1;
    if (dirty_log_fetch(&t->dlog) < 0)
        log_warn("tiering daemon: KVM_GET_DIRTY_LOG: %s", strerror(errno));
    scan_residency(t);
    uint64_t used = dram_resident_pages(t);
    if (t->runs + t->map_slack > t->map_limit / 2)
        tiering_recount_maps(t);

    pthread_mutex_lock(&t->lock);
    harvest_samples(t);
    uint64_t target = policy_demote_target(&t->params, used);
    pthread_mutex_unlock(&t->lock);

    scan(t, epoch, target > 0);
    arm_samples(t);
    int threshold = policy_threshold(t->score_hist, target);
    uint64_t scan_ns = thread_cpu_ns() - c0;

    /* Pages above the threshold all go (they number less than the target),
     * then threshold pages in address order fill the rest. */
    uint64_t demoted = 0;
    if (target && threshold + 1 < POLICY_SCORES)
        demoted = demote_victims(t, epoch, threshold + 1, target);
    if (target > demoted)
        demoted += demote_victims(t, epoch, threshold, target - demoted);
    uint64_t after = dram_resident_pages(t);

    pthread_mutex_lock(&t->lock);
    t->epochs++;
    t->scan_ns_last = scan_ns;
    t->scan_ns_total += scan_ns;
    if (scan_ns > t->scan_ns_max)
        t->scan_ns_max = scan_ns;
    t->epoch_demoted_last = demoted;
    adapt_clean_window(t);
    t->epoch_promoted_last = t->promotions - t->promotions_at_epoch;
    t->promotions_at_epoch = t->promotions;
    t->dram_used_pages = after;
    if (after > t->dram_max_pages)
        t->dram_max_pages = after;
    if (after > t->params.budget_pages)
        t->over_budget_epochs++;    /* a write burst: never stall the guest for it */
    pthread_mutex_unlock(&t->lock);
}

void *daemon_thread_main(void *arg)
{
    struct tiering *t = arg;
    struct pollfd p = {.fd = t->stop_efd, .events = POLLIN};
    while (!atomic_load(&t->stopping)) {
        poll(&p, 1, (int)t->cfg.epoch_ms);
        if (atomic_load(&t->stopping))
            break;
        epoch_tick(t);
    }
    return NULL;
}
