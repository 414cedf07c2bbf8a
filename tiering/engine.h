/* Internal state shared by the tiering files: tiering.c (lifecycle, hints,
 * stats), migrate.c (demotion and promotion), fault.c (the fault thread).
 *
 * Locking: `lock` guards placement, frames, tokens and the counters. It is never held across mremap (an mremap waits for the fault
 * thread to read its UFFD_EVENT_REMAP, and the fault thread takes `lock`)
 * nor across LtRAM writes (they carry the device's modeled latency).
 * Nothing that may wait for the fault thread (mremap, or a write-protect
 * retried while a remap event is unread) runs with `lock` held.
 * `lt_lock` serialises LtRAM writes and their accounting, as a device's
 * write port would. Lock order: lock, then lt_lock. */
#ifndef AROM_TIERING_ENGINE_H
#define AROM_TIERING_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>

#include "tiering/fault_queue.h"
#include "tiering/frame_alloc.h"
#include "tiering/latency.h"
#include "tiering/ltram.h"
#include "tiering/placement.h"
#include "tiering/policy.h"
#include "tiering/tracking.h"
#include "tiering/tiering.h"
#include "tiering/token_bucket.h"

#define PAGE_SHIFT_4K 12
#define MAX_DEMOTE_RUN 512          /* pages per demotion batch (2 MiB) */

struct tiering {
    struct tiering_config cfg;
    struct guest_mem *gm;
    uint8_t *guest;                 /* the guest's view: the KVM memslot */
    uint8_t *dram;                  /* the VMM's view of the DRAM memfd (never write-protected) */
    int dram_fd;
    uint64_t npages;
    uint64_t pinned_pages;          /* pages [0, pinned_pages) never leave DRAM */

    struct ltram *lt;
    struct frame_alloc *fa;
    struct placement *pm;
    struct token_bucket tb;
    int uffd;

    pthread_mutex_t lock;
    pthread_mutex_t lt_lock;

    /* host mappings: runs of guest pages that need one mapping each */
    uint64_t runs;
    uint64_t map_limit;             /* demotion stops when `runs` would pass this */
    uint64_t map_hard;              /* beyond this, promotions take whole runs */
    uint64_t max_map_count;
    uint64_t base_maps;             /* process mappings before tiering started */

    /* counters (under lock) */
    uint64_t promotions, demotions, demote_batches;
    uint64_t wp_faults, probe_faults, inflight_faults, stray_faults;
    struct fault_queue deferred;    /* the fault thread's own (see fault_queue.h) */
    atomic_uint_fast64_t remap_events;  /* counted without the lock: see fault.c */
    uint64_t ltram_full, token_limited, map_limited;
    uint64_t block_promotions;      /* 2 MiB blocks promoted to relieve the mapping limit */
    int64_t map_slack;              /* process mappings not counted in runs (recalibrated) */
    uint64_t map_recounts;
    uint64_t violations;            /* last-resort in-place releases (see migrate.c) */
    uint64_t audits, audit_failures;
    struct latency_hist promote_lat;   /* fault received -> vCPU woken */

    /* the tiering daemon (daemon.c); the bitmaps and counters under lock */
    struct policy_params params;
    atomic_uint epoch;
    struct dirty_log dlog;
    enum access_backend access;
    struct page_idle pidle;
    uint64_t *sampled, *touched;        /* bitmaps: pages in the current sample, touched since */
    uint64_t *sample_list;
    uint64_t nsample, sample_cap, sample_cursor;
    unsigned char *resident;            /* mincore of the DRAM view */
    uint64_t *score_hist;               /* POLICY_SCORES buckets */
    uint64_t epochs, pingpongs, over_budget_epochs, minor_faults;
    uint64_t samples_taken, samples_touched;
    uint64_t scan_ns_last, scan_ns_max, scan_ns_total;
    uint64_t epoch_demoted_last, epoch_promoted_last, promotions_at_epoch, pingpongs_at_epoch;
    uint64_t dram_used_pages, dram_max_pages;

    pthread_t fault_thread, worker_thread, daemon_thread;
    bool fault_started, worker_started, daemon_started;
    int stop_efd;
    atomic_bool stopping;           /* background threads: finish */
    atomic_bool fault_stopping;     /* fault thread: finish (set after they are joined) */
    uint64_t churn_cursor;
};

static inline uint8_t *guest_page(struct tiering *t, uint64_t page)
{
    return t->guest + (page << PAGE_SHIFT_4K);
}

/* migrate.c */
/* Demote the next demotable run in [*cursor, end): pages demoted (> 0), 0
 * when none is left (*cursor = end), or -AROM_ENOSPC / -AROM_EAGAIN. */
int64_t migrate_demote_next(struct tiering *t, uint64_t *cursor, uint64_t end);
/* Promote an LtRAM page (lock held): copy to DRAM, map it writable, wake. */
int migrate_promote_locked(struct tiering *t, uint64_t page);

/* tiering.c: set map_slack from the kernel's count of our mappings. */
void tiering_recount_maps(struct tiering *t);

/* fault.c */
void *fault_thread_main(void *arg);

/* daemon.c */
int daemon_init(struct tiering *t, char *err, size_t errlen);
void daemon_fini(struct tiering *t);
void *daemon_thread_main(void *arg);
/* Lock held: a sampled page was touched (uffd backend). */
void daemon_note_touch(struct tiering *t, uint64_t page);

#endif
