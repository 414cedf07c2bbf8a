/* The tiering daemon: the policy's thread. See daemon.c. */
#ifndef AROM_TIERING_DAEMON_H
#define AROM_TIERING_DAEMON_H

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/cpu_stat.h"
#include "lib/thread.h"
#include "tiering/core.h"
#include "tiering/fault.h"
#include "tiering/guard.h"
#include "tiering/migrate.h"
#include "tiering/policy.h"
#include "tiering/tracking.h"

/* What the policy knows of one page (lock). */
struct page_policy {
    uint32_t last_change;       /* epoch of its last tier change */
    uint32_t last_write;        /* epoch it was last seen (or assumed) written */
    uint8_t hist;               /* write and read age (policy.h) */
    uint8_t backoff;            /* ping-pong backoff exponent */
    uint8_t rearm;              /* re-arm backoff exponent (write tracking) */
    uint8_t period;             /* learned write period, epochs */
};

/* Why DRAM use is over the budget this epoch, if it is. */
enum over_reason {
    OVER_NONE, OVER_WRITES, OVER_GUARD, OVER_LTRAM_FULL, OVER_TOKENS, OVER_MAPPINGS, OVER_SETUP,
};

struct daemon {
    struct tier_core *core;
    struct migrate_engine *eng;
    struct monitor *mon;
    struct fault_path *fault;
    const struct tiering_vm_ops *vm;
    _Atomic unsigned epoch_ms;          /* changed at run time (daemon_update) */
    bool enabled;
    struct policy_params params;        /* lock */
    struct guard guard;                 /* lock */
    uint32_t epoch;

    struct page_policy *pages;          /* lock */
    uint64_t *was_ltram;                /* lock: on LtRAM at the last look */
    uint64_t *armed;                    /* lock: write tracking re-armed, not seen written since */
    uint64_t *rearm;                    /* daemon thread: pages to re-arm this epoch */
    uint8_t *region_rearm;              /* lock: re-arm backoff of each 2 MiB region */
    uint64_t *tainted;                  /* lock: sampled, not yet mapped again (tracking.h) */
    uint32_t *region_remap;             /* lock: epoch + 1 of the last remap in each 2 MiB region */
    unsigned char *resident;            /* daemon thread: this epoch's DRAM residency */
    uint64_t score_hist[POLICY_SCORES]; /* daemon thread */
    uint64_t arm_cursor;                /* daemon thread */
    uint64_t arm_budget, sample_budget; /* daemon thread: pages per epoch */
    uint64_t arm_allowance;             /* daemon thread: write faults the guard grants tracking an epoch */

    /* last epoch's raw figures, for the guard's deltas (daemon thread) */
    struct vcpu_sample {                    /* the vCPUs' times at the last epoch */
        struct tiering_vcpu_times sum, per[TIERING_MAX_VCPUS];
        unsigned n;
    } last_vcpus;
    struct cpu_stat last_cpu;               /* the host's, at the last epoch (busy_ns 0: none yet) */
    uint64_t last_uffd_faults, last_invalidations, last_tick_ns;
    uint64_t armed_written_last;
    uint64_t candidates;                /* daemon thread: demotable and clean long enough, this scan */
    uint64_t write_hot;                 /* daemon thread: DRAM pages kept by recent writes or backoff, this scan */

    /* counters (lock) */
    uint64_t epochs, promotions_seen, pingpongs, over_budget_epochs;
    uint64_t scan_ns_last, scan_ns_max, scan_ns_total;
    uint64_t demoted_last, promoted_last, armed_last;
    uint64_t dram_used_pages, dram_max_pages;
    uint64_t tracking_faults, armed_pages;
    enum over_reason over_reason;
    enum guard_verdict verdict;

    FILE *trace;                        /* --daemon-trace: one JSON line per epoch */
    struct guard_sample last_sample;    /* daemon thread, for the trace */

    struct thread thread;
    int stop_efd;
    atomic_bool stopping;
};

/* With cfg->daemon false only the budget is kept (for the stats). 0 or -errno. */
int daemon_init(struct daemon *d, struct tier_core *core, struct migrate_engine *eng, struct monitor *mon,
                struct fault_path *fault, const struct tiering_config *cfg, char *err, size_t errlen);
void daemon_fini(struct daemon *d);
int daemon_start(struct daemon *d, int stop_efd);
void daemon_stop(struct daemon *d);
uint64_t daemon_epochs(struct daemon *d);
uint64_t daemon_budget_pages(struct daemon *d);
/* Apply the run-time settings s names (validated by the caller). */
void daemon_update(struct daemon *d, const struct tiering_settings *s);
/* The "daemon" stats section. */
json_object *daemon_json(struct daemon *d);

#endif
