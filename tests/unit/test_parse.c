#include <CUnit/CUnit.h>
#include <errno.h>

#include "lib/parse.h"
#include "tests/unit/suites.h"

static void test_u64_and_count(void)
{
    uint64_t v = 7;
    CU_ASSERT_EQUAL(parse_u64("0", &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(parse_u64("18446744073709551615", &v), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    CU_ASSERT_EQUAL(parse_u64("18446744073709551616", &v), -ERANGE);
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1e5", "1K", NULL};
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(parse_u64(bad[i], &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_u64(NULL, &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_count("100000", &v), 0);
    CU_ASSERT_EQUAL(v, 100000);
    CU_ASSERT_EQUAL(parse_count("1e5", &v), 0);
    CU_ASSERT_EQUAL(v, 100000);
    CU_ASSERT_EQUAL(parse_count("25E2", &v), 0);
    CU_ASSERT_EQUAL(v, 2500);
    CU_ASSERT_EQUAL(parse_count("0e99", &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(parse_count("1e20", &v), -ERANGE);
    CU_ASSERT_EQUAL(parse_count("1e", &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_count("e5", &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_count("1.5e3", &v), -EINVAL);
}

static void test_ns(void)
{
    uint64_t v = 0;
    static const struct { const char *s; uint64_t ns; } ok[] = {
        {"250", 250}, {"250ns", 250}, {"2us", 2000}, {"18ms", 18000000}, {"1s", 1000000000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CU_ASSERT_EQUAL(parse_ns(ok[i].s, &v), 0);
        CU_ASSERT_EQUAL(v, ok[i].ns);
    }
    CU_ASSERT_EQUAL(parse_ns("1.5us", &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_ns("5 ms", &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_ns("5m", &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_ns("99999999999999999999", &v), -ERANGE);
    CU_ASSERT_EQUAL(parse_ns("18446744073709551s", &v), -ERANGE);
}

static void test_double_and_duration(void)
{
    double v = 0;
    CU_ASSERT_EQUAL(parse_double("0.5", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 0.5, 1e-12);
    CU_ASSERT_EQUAL(parse_double("2e3", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 2000, 1e-9);
    const char *bad[] = {"", "-1", "inf", "nan", ".5", "1x", " 1", NULL};
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(parse_double(bad[i], &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_double("1e999", &v), -ERANGE);
    CU_ASSERT_EQUAL(parse_duration("90", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 90, 1e-9);
    CU_ASSERT_EQUAL(parse_duration("15m", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 900, 1e-9);
    CU_ASSERT_EQUAL(parse_duration("1.5h", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 5400, 1e-9);
    CU_ASSERT_EQUAL(parse_duration("2d", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 172800, 1e-9);
    CU_ASSERT_EQUAL(parse_duration("3w", &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_duration("1e308y", &v), -ERANGE);
}

static void test_share(void)
{
    struct share sh;
    uint64_t b = 0;
    CU_ASSERT_EQUAL(parse_share("25%", &sh), 0);
    CU_ASSERT(sh.set && sh.pct);
    CU_ASSERT_EQUAL(share_bytes(&sh, 1000, &b), 0);
    CU_ASSERT_EQUAL(b, 250);
    CU_ASSERT_EQUAL(parse_share("12.5%", &sh), 0);
    CU_ASSERT_EQUAL(share_bytes(&sh, 1 << 20, &b), 0);
    CU_ASSERT_EQUAL(b, 131072);
    CU_ASSERT_EQUAL(parse_share("0%", &sh), 0);
    CU_ASSERT_EQUAL(parse_share("100%", &sh), 0);
    CU_ASSERT_EQUAL(parse_share("100.5%", &sh), -ERANGE);
    /* Found by the fuzzer: 100% of a total near 2^64 rounded up past it. */
    CU_ASSERT_EQUAL(parse_share("100%", &sh), 0);
    CU_ASSERT_EQUAL(share_bytes(&sh, UINT64_MAX, &b), 0);
    CU_ASSERT_EQUAL(b, UINT64_MAX);
    CU_ASSERT_EQUAL(share_bytes(&sh, (1ull << 60) - 1, &b), 0);
    CU_ASSERT_EQUAL(b, (1ull << 60) - 1);
    CU_ASSERT_EQUAL(parse_share("99.999%", &sh), 0);
    CU_ASSERT_EQUAL(share_bytes(&sh, UINT64_MAX, &b), 0);
    CU_ASSERT(b < UINT64_MAX);
    CU_ASSERT_EQUAL(parse_share("512M", &sh), 0);
    CU_ASSERT(sh.set && !sh.pct && sh.bytes == 512ull << 20);
    CU_ASSERT_EQUAL(share_bytes(&sh, 1ull << 30, &b), 0);
    CU_ASSERT_EQUAL(b, 512ull << 20);
    CU_ASSERT_EQUAL(share_bytes(&sh, 256ull << 20, &b), -ERANGE);    /* more than the total */
    const char *bad[] = {"%", "x%", "25 %", "-5%", "25%%", "lots", "", NULL};
    for (int i = 0; bad[i]; i++)
        CU_ASSERT(parse_share(bad[i], &sh) < 0);
}

int register_parse_tests(void)
{
    static const struct unit_test tests[] = {
        {"u64 and counts (1e5): strict, overflow", test_u64_and_count},
        {"nanosecond durations", test_ns},
        {"doubles and durations: finite only", test_double_and_duration},
        {"shares: size or percentage of a total", test_share},
    };
    return ADD_SUITE("parse", tests);
}
