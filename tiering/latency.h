/* A small log-linear latency histogram (8 sub-buckets per power of two,
 * ~9% resolution) for promotion latency percentiles without storing
 * samples. Not thread-safe: callers hold their lock. */
#ifndef AROM_TIERING_LATENCY_H
#define AROM_TIERING_LATENCY_H

#include <stdint.h>

#define LATENCY_BUCKETS (64 * 8)

struct latency_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    uint32_t buckets[LATENCY_BUCKETS];
};

void latency_record(struct latency_hist *h, uint64_t ns);
/* Value at quantile q (0..1): the upper edge of the bucket holding it
 * (never above max). 0 when empty. */
uint64_t latency_quantile(const struct latency_hist *h, double q);

/* Samples in the buckets whose upper edge is at most ns: the cumulative
 * count of a histogram bucket "le ns", exact to the ~9% resolution. */
uint64_t latency_count_le(const struct latency_hist *h, uint64_t ns);

#endif
