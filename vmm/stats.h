/* VMM counters (atomics, bumped on vCPU threads) and the metrics payloads
 * report; turned into the JSON summary written at exit. */
#ifndef AROM_STATS_H
#define AROM_STATS_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>

#include "arom/abi.h"

#define STATS_EXIT_REASONS 64
#define STATS_MAX_METRICS 256

struct metric {
    char key[AROM_REPORT_KEY_MAX + 1];
    double value;             /* last reported */
    uint64_t count;           /* times reported */
};

struct vmm_stats {
    uint64_t t_start_ns;                      /* arom-vmm start (CLOCK_MONOTONIC) */
    uint64_t t_guest_start_ns;                /* first vCPU entered the guest */
    uint64_t t_end_ns;
    _Atomic uint64_t t_first_hypercall_ns;
    _Atomic uint64_t exits[STATS_EXIT_REASONS + 1];   /* last slot: other reasons */
    _Atomic uint64_t hypercalls[AROM_HC_MAX];
    _Atomic uint64_t hypercall_errors;
    pthread_mutex_t metrics_lock;
    unsigned nmetrics;
    struct metric metrics[STATS_MAX_METRICS];
};

void stats_init(struct vmm_stats *s);
void stats_destroy(struct vmm_stats *s);
void stats_count_exit(struct vmm_stats *s, uint32_t reason);
void stats_count_hypercall(struct vmm_stats *s, unsigned nr);
/* Record key (validated by the caller) = value. -ENOSPC when the table is full. */
int stats_report(struct vmm_stats *s, const char *key, size_t key_len, double value);
/* Value of a reported metric, for tests and benches; -ENOENT if absent. */
int stats_metric(struct vmm_stats *s, const char *key, double *value);
/* The VMM part of the summary; the caller adds sections and owns the result. */
json_object *stats_to_json(struct vmm_stats *s);
/* Write obj to path ("-" = stdout), pretty-printed. 0 or -errno (logged). */
int stats_write_json(json_object *obj, const char *path);

#endif
