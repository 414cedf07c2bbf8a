/* The tiering daemon: the policy's thread. See daemon.c. */
#ifndef AROM_TIERING_DAEMON_H
#define AROM_TIERING_DAEMON_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib/thread.h"
#include "tiering/core.h"
#include "tiering/migrate.h"
#include "tiering/policy.h"
#include "tiering/tracking.h"

struct daemon {
    struct tier_core *core;
    struct migrate_engine *eng;
    struct monitor *mon;
    unsigned epoch_ms;
    bool enabled;
    struct policy_params params;        /* lock */
    uint32_t epoch;

    /* What the policy knows of each page (lock): history byte (policy.h),
     * epoch of its last tier change, backoff exponent after ping-pongs, and
     * whether it was on LtRAM at the last look (how tier changes are seen). */
    uint8_t *hist;
    uint32_t *last_change;
    uint16_t *backoff;
    uint64_t *was_ltram;
    unsigned char *resident;            /* this epoch's DRAM residency (daemon thread) */
    uint64_t *score_hist;               /* POLICY_SCORES buckets (daemon thread) */

    /* counters (lock) */
    uint64_t epochs, promotions_seen, pingpongs, over_budget_epochs;
    uint64_t scan_ns_last, scan_ns_max, scan_ns_total;
    uint64_t demoted_last, promoted_last;
    uint64_t dram_used_pages, dram_max_pages;

    struct thread thread;
    int stop_efd;
    atomic_bool stopping;
};

/* With enabled false only the budget is kept (for the stats). 0 or -errno. */
int daemon_init(struct daemon *d, struct tier_core *core, struct migrate_engine *eng, struct monitor *mon,
                const struct tiering_config *cfg, char *err, size_t errlen);
void daemon_fini(struct daemon *d);
int daemon_start(struct daemon *d, int stop_efd);
void daemon_stop(struct daemon *d);
uint64_t daemon_epochs(struct daemon *d);
uint64_t daemon_budget_pages(struct daemon *d);
/* The "daemon" stats section. */
json_object *daemon_json(struct daemon *d);

#endif
