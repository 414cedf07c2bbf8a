#include "tiering/latency.h"

static unsigned bucket_of(uint64_t v)
{
    if (v < 8)
        return (unsigned)v;
    unsigned log = 63u - (unsigned)__builtin_clzll(v);       /* >= 3 */
    unsigned sub = (unsigned)(v >> (log - 3)) & 7u;
    return (log - 2) * 8 + sub;
}

static uint64_t bucket_upper(unsigned b)
{
    if (b < 8)
        return b;
    unsigned log = b / 8 + 2, sub = b % 8;
    return ((8ull + sub + 1) << (log - 3)) - 1;
}

void latency_record(struct latency_hist *h, uint64_t ns)
{
    unsigned b = bucket_of(ns);
    if (b >= LATENCY_BUCKETS)
        b = LATENCY_BUCKETS - 1;
    h->buckets[b]++;
    h->count++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

uint64_t latency_quantile(const struct latency_hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen > rank) {
            uint64_t up = bucket_upper(b);
            return up < h->max_ns ? up : h->max_ns;
        }
    }
    return h->max_ns;
}

uint64_t latency_count_le(const struct latency_hist *h, uint64_t ns)
{
    uint64_t n = 0;
    for (unsigned b = 0; b < LATENCY_BUCKETS && bucket_upper(b) <= ns; b++)
        n += h->buckets[b];
    return ns >= h->max_ns ? h->count : n;
}
