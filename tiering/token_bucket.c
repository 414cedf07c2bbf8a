/* Token bucket pacing LtRAM writes to the device's endurance budget. */
#include "tiering/token_bucket.h"

#include <math.h>

/* Absorbs rounding in rate * dt, so exactly k tokens' worth of time grants k. */
#define TOKEN_EPSILON 1e-9

void token_bucket_init(struct token_bucket *tb, double rate_per_s, double cap, bool enabled,
                       uint64_t now_ns)
{
    *tb = (struct token_bucket){
        .rate_per_s = rate_per_s > 0 ? rate_per_s : 0,
        .cap = cap > 0 ? cap : 0,
        .tokens = cap > 0 ? cap : 0,
        .last_ns = now_ns,
        .enabled = enabled,
    };
}

double token_bucket_rate_for(uint64_t frames, uint64_t endurance, double lifetime_s)
{
    if (endurance == 0 || !(lifetime_s > 0))
        return 0;
    return (double)frames * (double)endurance / lifetime_s;
}

/* A clock step backwards is ignored: last_ns stays, so no tokens are minted
 * twice for the same interval once time catches up. */
static void refill(struct token_bucket *tb, uint64_t now_ns)
{
    if (now_ns <= tb->last_ns)
        return;
    tb->tokens = fmin(tb->cap, tb->tokens + tb->rate_per_s * (double)(now_ns - tb->last_ns) * 1e-9);
    tb->last_ns = now_ns;
}

uint64_t token_bucket_take(struct token_bucket *tb, uint64_t want, uint64_t now_ns)
{
    if (!tb->enabled) {
        tb->granted += want;
        return want;
    }
    refill(tb, now_ns);
    double whole = floor(tb->tokens + TOKEN_EPSILON);
    uint64_t grant = whole < (double)want ? (uint64_t)whole : want;
    tb->tokens = fmax(0, tb->tokens - (double)grant);
    tb->granted += grant;
    if (grant < want) {
        tb->denied_calls++;
        tb->denied_tokens += want - grant;
    }
    return grant;
}

double token_bucket_level(struct token_bucket *tb, uint64_t now_ns)
{
    refill(tb, now_ns);
    return tb->tokens;
}
