/* Unit tests for tiering/token_bucket.c: the AROM pacing rate, refill, cap,
 * partial grants, the disabled bucket, clock steps and denial counters. */
#include <CUnit/CUnit.h>
#include <math.h>

#include "tests/unit/suites.h"
#include "tiering/token_bucket.h"

#define SEC 1000000000ull

static void test_rate_formula(void)
{
    /* Published AROM figure: 65,536 frames x 1e5 erases over 5 years = "42/s".
     * The exact value is 41.5/s, 1.1% below 42, so check the formula to 1%
     * and the rounding to the published figure. */
    double five_years = 5 * 365.25 * 86400;
    double r = token_bucket_rate_for(65536, 100000, five_years);
    CU_ASSERT(fabs(r - 65536.0 * 1e5 / five_years) <= 0.01 * r);
    CU_ASSERT(lround(r) == 42);
    CU_ASSERT(fabs(token_bucket_rate_for(1000, 10, 100) - 100) < 1e-9);
}

static void test_rate_unlimited_is_zero(void)
{
    CU_ASSERT(token_bucket_rate_for(65536, 0, 1e8) == 0);
    CU_ASSERT(token_bucket_rate_for(65536, 100000, 0) == 0);
    CU_ASSERT(token_bucket_rate_for(65536, 100000, -1) == 0);
}

static void test_starts_full_and_caps(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 42, 512, true, 1000);
    CU_ASSERT(token_bucket_level(&tb, 1000) == 512);
    /* A long idle time does not overfill. */
    CU_ASSERT(token_bucket_level(&tb, 1000 + 3600 * SEC) == 512);
    CU_ASSERT(token_bucket_take(&tb, 10000, 1000 + 3600 * SEC) == 512);
}

static void test_refill_over_time(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 42, 512, true, 0);
    CU_ASSERT(token_bucket_take(&tb, 512, 0) == 512);
    CU_ASSERT(token_bucket_take(&tb, 1, 0) == 0);
    CU_ASSERT(token_bucket_take(&tb, 100, 1 * SEC) == 42);
    CU_ASSERT(token_bucket_take(&tb, 100, 1 * SEC + SEC / 2) == 21);
    /* Exactly one token's worth of time grants one token. */
    CU_ASSERT(token_bucket_take(&tb, 5, 1 * SEC + SEC / 2 + SEC / 42 + 1) == 1);
    /* Fractions accumulate across calls. */
    struct token_bucket t2;
    token_bucket_init(&t2, 10, 100, true, 0);
    CU_ASSERT(token_bucket_take(&t2, 100, 0) == 100);
    uint64_t got = 0;
    for (uint64_t ms = 1; ms <= 1000; ms++)
        got += token_bucket_take(&t2, 1, ms * 1000000ull);
    CU_ASSERT(got == 10);
}

static void test_partial_grant_and_denials(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 1, 5, true, 0);
    CU_ASSERT(token_bucket_take(&tb, 3, 0) == 3);
    CU_ASSERT(tb.denied_calls == 0);
    CU_ASSERT(token_bucket_take(&tb, 4, 0) == 2);
    CU_ASSERT(tb.denied_calls == 1);
    CU_ASSERT(tb.denied_tokens == 2);
    CU_ASSERT(token_bucket_take(&tb, 7, 0) == 0);
    CU_ASSERT(tb.denied_calls == 2);
    CU_ASSERT(tb.denied_tokens == 9);
    CU_ASSERT(tb.granted == 5);
    CU_ASSERT(token_bucket_take(&tb, 0, 0) == 0);
    CU_ASSERT(tb.denied_calls == 2);
    CU_ASSERT(token_bucket_level(&tb, 0) >= 0);
}

static void test_disabled_grants_all(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 0, 0, false, 0);
    CU_ASSERT(token_bucket_take(&tb, 1000000, 0) == 1000000);
    CU_ASSERT(token_bucket_take(&tb, 7, 0) == 7);
    CU_ASSERT(tb.granted == 1000007);
    CU_ASSERT(tb.denied_calls == 0);
    CU_ASSERT(tb.denied_tokens == 0);
}

static void test_time_backwards_ignored(void)
{
    struct token_bucket tb;
    token_bucket_init(&tb, 10, 100, true, 10 * SEC);
    CU_ASSERT(token_bucket_take(&tb, 100, 10 * SEC) == 100);
    /* A step back mints nothing and does not rewind the clock... */
    CU_ASSERT(token_bucket_take(&tb, 100, 5 * SEC) == 0);
    CU_ASSERT(tb.last_ns == 10 * SEC);
    /* ...so catching up to where we were does not mint the interval twice. */
    CU_ASSERT(token_bucket_take(&tb, 100, 10 * SEC) == 0);
    CU_ASSERT(token_bucket_take(&tb, 100, 11 * SEC) == 10);
}

int register_token_bucket_tests(void)
{
    static const struct unit_test tests[] = {
        { "rate N*E/T matches the published 42/s", test_rate_formula },
        { "rate is 0 for unlimited endurance", test_rate_unlimited_is_zero },
        { "starts full, never exceeds the cap", test_starts_full_and_caps },
        { "refills with elapsed time", test_refill_over_time },
        { "partial grants and denial counters", test_partial_grant_and_denials },
        { "disabled bucket grants everything", test_disabled_grants_all },
        { "time going backwards is ignored", test_time_backwards_ignored },
    };
    return ADD_SUITE("token_bucket", tests);
}
