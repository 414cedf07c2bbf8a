/* Endurance pacing for LtRAM writes, after the AROM authors' token bucket:
 * tokens arrive at r = N * E / T (frames x endurance / target lifetime), each
 * page migrated into LtRAM spends one, and the bucket holds at most `cap`, so
 * a burst after idle time is bounded. Time is passed in (CLOCK_MONOTONIC ns)
 * so callers and tests control it. Not internally locked. */
#ifndef AROM_TIERING_TOKEN_BUCKET_H
#define AROM_TIERING_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
    double rate_per_s;
    double cap;
    double tokens;
    uint64_t last_ns;        /* time of the last refill; never moves backwards */
    bool enabled;            /* false: every request is granted in full */
    uint64_t granted;        /* tokens granted */
    uint64_t denied_calls;   /* calls granted less than they asked */
    uint64_t denied_tokens;  /* tokens asked for but not granted */
};

/* Starts full (tokens = cap). */
void token_bucket_init(struct token_bucket *tb, double rate_per_s, double cap, bool enabled,
                       uint64_t now_ns);

/* N * E / T tokens per second; 0 if endurance is unlimited (0) or the
 * lifetime is not positive: pacing makes no sense then, disable the bucket. */
double token_bucket_rate_for(uint64_t frames, uint64_t endurance, double lifetime_s);

/* Refill for the time elapsed since the last call, then grant
 * min(want, whole tokens). Returns the number granted. */
uint64_t token_bucket_take(struct token_bucket *tb, uint64_t want, uint64_t now_ns);

/* Tokens available at now_ns (refills first). */
double token_bucket_level(struct token_bucket *tb, uint64_t now_ns);

#endif
