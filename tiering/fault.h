/* The fault path: the one thread that reads the userfaultfd. See fault.c. */
#ifndef AROM_TIERING_FAULT_H
#define AROM_TIERING_FAULT_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib/thread.h"
#include "tiering/core.h"
#include "tiering/fault_queue.h"
#include "tiering/latency.h"
#include "tiering/migrate.h"
#include "tiering/tracking.h"

struct fault_path {
    struct tier_core *core;
    struct migrate_engine *eng;
    struct monitor *mon;            /* NULL when the daemon is off */
    struct thread thread;
    int stop_efd;                   /* readable when asked to stop */
    atomic_bool stopping;
    struct fault_queue deferred;    /* the thread's own */
    /* counters (core lock) */
    uint64_t wp_faults, minor_faults, probe_faults, inflight_faults, stray_faults;
    struct latency_hist promote_lat;    /* fault received -> vCPU woken */
    atomic_uint_fast64_t remap_events;  /* counted without the lock */
};

/* Start the thread. 0 or -errno. */
int fault_start(struct fault_path *f, struct tier_core *core, struct migrate_engine *eng, struct monitor *mon);
/* Ask it to stop and join it: only once no demoter can still be waiting
 * for it to read a remap event. */
void fault_stop(struct fault_path *f);
void fault_fini(struct fault_path *f);
/* Add the "faults" and "promotion_latency" sections to o. */
void fault_json(struct fault_path *f, json_object *o);

#endif
