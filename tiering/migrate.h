/* The migration engine: the mechanism that moves guest pages between DRAM
 * and LtRAM while vCPUs run, and everything it needs to do so — the LtRAM
 * device, its frame allocator, the endurance token bucket and the host
 * mapping budget (maps.h). It decides nothing: callers say which pages to
 * demote (the daemon, hints, the test churn) and a store decides which
 * page to promote (the fault path); it reports what happened in its
 * counters, and the policy learns about tier changes from the placement
 * map. See docs/TIERING.md for the recipe and the invariant. */
#ifndef AROM_TIERING_MIGRATE_H
#define AROM_TIERING_MIGRATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "tiering/core.h"
#include "tiering/frame_alloc.h"
#include "tiering/ltram.h"
#include "tiering/maps.h"
#include "tiering/punch.h"
#include "tiering/tiering.h"
#include "tiering/token_bucket.h"

#define MAX_DEMOTE_RUN 512          /* pages per demotion batch (2 MiB) */

struct migrate_engine {
    struct tier_core *core;
    struct ltram *lt;
    struct frame_alloc *fa;
    struct token_bucket tb;         /* lock */
    struct maps maps;               /* lock */
    struct punch_queue punch;       /* lock */
    pthread_mutex_t lt_lock;        /* serialises LtRAM writes, as a device's write port would */
    const char *ltram_spec;
    /* counters (lock) */
    uint64_t promotions, demotions, demote_batches;
    uint64_t ltram_full, token_limited;
    uint64_t violations;            /* last-resort in-place releases */
    uint64_t populate_failures;
};

/* Open the LtRAM device described by cfg and set up frames, tokens and the
 * mapping budget. 0, -EINVAL (the configuration cannot work: err says
 * why), or another -errno. */
int migrate_init(struct migrate_engine *e, struct tier_core *core, const struct tiering_config *cfg,
                 char *err, size_t errlen);
void migrate_fini(struct migrate_engine *e);

/* Demote the demotable pages of [first, first + n) (see
 * placement_demotable) in runs: pages demoted (> 0), 0 if none was
 * demotable, or when nothing moved -ENOSPC (LtRAM full), -EAGAIN (out of
 * tokens, mapping ceiling), -EINVAL (range). Call without the lock. */
int64_t migrate_demote(struct migrate_engine *e, uint64_t first, uint64_t n);

/* Promote an LtRAM page a store faulted on (lock held): copy it to DRAM,
 * map it writable, wake the waiters. 0, or -EAGAIN when the fault thread
 * must retry (a remap event is unread), or -errno. */
int migrate_promote_locked(struct migrate_engine *e, uint64_t page);

/* Pin (keep on DRAM, promoting LtRAM pages) or unpin [first, first + n);
 * the system area stays pinned. Pages changed. */
int64_t migrate_pin(struct migrate_engine *e, uint64_t first, uint64_t n, bool pin);

/* Benchmarks: write-protect the DRAM pages of the range in place, so the
 * next store measures the bare userfaultfd round trip. Pages protected. */
int64_t migrate_wp_probe(struct migrate_engine *e, uint64_t first, uint64_t n);

/* Give back up to n pages of DRAM held by kept copies of demoted pages
 * (punch.h): pages released. */
uint64_t migrate_release_kept(struct migrate_engine *e, uint64_t n);

/* Hash every written frame against its checksum: mismatches. */
uint64_t migrate_audit(struct migrate_engine *e);

/* Add the engine's stats sections to o: ltram, tokens, mappings and its
 * counters. Call without the lock. */
/* live: for a running VM's status, without counting /proc/self/maps. */
void migrate_json(struct migrate_engine *e, json_object *o, bool live);

#endif
