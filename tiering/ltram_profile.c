/* LtRAM device presets and their command-line overrides. */
#include "tiering/ltram_profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_MAX        10000000000ull   /* 10 s: bounds delay arithmetic */
#define SIZE_MAX_B    (1u << 30)       /* 1 GiB write unit / erase block */

/* Published figures are from shared/README.md (AROM authors' material and
 * Optane studies). The projected technologies publish only read latency and
 * "slow" writes from the OS's 4 KiB granularity, so their write cost and
 * endurance are assumptions, flagged in `source`. */
static const struct ltram_profile presets[] = {
    {
        .name = "nor-flash", .read_ns = 490, .write_ns = 16000, .write_unit = 256,
        .erase_ns = 18000000, .erase_block = 4096, .endurance = 100000,
        .cost_vs_dram = 1.0 / 3.0,
        .source = "published (AROM NOR-flash prototype); endurance: upper end of 1e4-1e5",
    },
    {
        .name = "optane", .read_ns = 340, .write_ns = 110, .write_unit = 256,
        .endurance = 1000000, .cost_vs_dram = 0,
        .source = "published: read (305-374 ns), 256 B XPLine; assumed: write 110 ns per "
                  "256 B from ~2.3 GB/s media bandwidth per DIMM, endurance 1e6, cost unknown",
    },
    {
        .name = "fefet", .read_ns = 252, .write_ns = 2000, .write_unit = 4096,
        .endurance = 1000000, .cost_vs_dram = 0,
        .source = "published: read 252 ns, 4 KiB unit (projected 3D FeFET); assumed: "
                  "write 2 us per 4 KiB, endurance 1e6; cost 'low', no number",
    },
    {
        .name = "vrram", .read_ns = 152, .write_ns = 2000, .write_unit = 4096,
        .endurance = 1000000, .cost_vs_dram = 0,
        .source = "published: read 152 ns, 4 KiB unit (projected 3D V-RRAM); assumed: "
                  "write 2 us per 4 KiB, endurance 1e6; cost 'low', no number",
    },
    {
        .name = "sttmram", .read_ns = 72, .write_ns = 2000, .write_unit = 4096,
        .endurance = 1000000, .cost_vs_dram = 1.0,
        .source = "published: read 72 ns, 4 KiB unit, cost ~DRAM (projected STT-MRAM); "
                  "assumed: write 2 us per 4 KiB, endurance 1e6",
    },
    {
        /* The backing store already is DRAM, so the host memcpy is the real
         * write; injecting the 80 ns line latency per 64 B serially would make
         * the reference ~10x slower than DRAM bandwidth. */
        .name = "dram", .read_ns = 80, .write_ns = 0, .write_unit = 64,
        .endurance = 0, .cost_vs_dram = 1.0,
        .source = "published: read ~80 ns, 64 B line, unlimited endurance; "
                  "write delay 0 (the copy itself is the DRAM write)",
    },
};

#define NPRESETS (sizeof presets / sizeof presets[0])

int ltram_profile_lookup(const char *name, struct ltram_profile *out)
{
    if (!name || !out)
        return -EINVAL;
    for (size_t i = 0; i < NPRESETS; i++) {
        if (strcmp(presets[i].name, name) == 0) {
            *out = presets[i];
            return 0;
        }
    }
    return -ENOENT;
}

const char *ltram_profile_names(void)
{
    return "nor-flash, optane, fefet, vrram, sttmram, dram";
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Leading decimal digits of s into *v; *rest points past them. Rejects empty
 * input, signs, whitespace and overflow. */
static bool parse_digits(const char *s, uint64_t *v, const char **rest)
{
    uint64_t x = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, (uint64_t)(*p - '0'), &x))
            return false;
    }
    if (p == s)
        return false;
    *v = x;
    *rest = p;
    return true;
}

static bool parse_ns(const char *s, uint64_t *out)
{
    static const struct { const char *suffix; uint64_t mul; } units[] = {
        { "", 1 }, { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
    };
    uint64_t v;
    const char *rest;
    if (!parse_digits(s, &v, &rest))
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(rest, units[i].suffix) == 0)
            return !__builtin_mul_overflow(v, units[i].mul, out) && *out <= NS_MAX;
    }
    return false;
}

static bool parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *rest;
    if (!parse_digits(s, &v, &rest))
        return false;
    if (*rest == '\0')
        *out = v;
    else if (strcmp(rest, "K") == 0 || strcmp(rest, "k") == 0 || strcmp(rest, "KiB") == 0) {
        if (__builtin_mul_overflow(v, 1024, out))
            return false;
    } else
        return false;
    return *out <= SIZE_MAX_B;
}

/* "100000" or "1e5": wear counters are 32-bit, so larger is meaningless. */
static bool parse_count(const char *s, uint64_t *out)
{
    uint64_t v, e = 0;
    const char *rest;
    if (!parse_digits(s, &v, &rest))
        return false;
    if (*rest == 'e' || *rest == 'E') {
        if (!parse_digits(rest + 1, &e, &rest) || e > 9)
            return false;
    }
    if (*rest != '\0')
        return false;
    while (e--) {
        if (__builtin_mul_overflow(v, 10, &v))
            return false;
    }
    *out = v;
    return v <= UINT32_MAX;
}

#define NS_HELP    "want e.g. 250, 2us, 18ms; at most 10s"
#define SIZE_HELP  "want e.g. 256 or 4K; at most 1G"

int ltram_profile_override(struct ltram_profile *p, const char *key, const char *value,
                           char *err, size_t errlen)
{
    uint64_t *ns_field = NULL;
    uint32_t *size_field = NULL;
    uint64_t v;

    if (!p || !key || !value)
        return fail(err, errlen, "LtRAM profile override: missing key or value");

    if (!strcmp(key, "read-ns"))
        ns_field = &p->read_ns;
    else if (!strcmp(key, "write-ns"))
        ns_field = &p->write_ns;
    else if (!strcmp(key, "erase-ns"))
        ns_field = &p->erase_ns;
    else if (!strcmp(key, "write-unit"))
        size_field = &p->write_unit;
    else if (!strcmp(key, "erase-block"))
        size_field = &p->erase_block;

    if (ns_field) {
        if (!parse_ns(value, &v))
            return fail(err, errlen, "%s: '%s' is not a duration (" NS_HELP ")", key, value);
        *ns_field = v;
        return 0;
    }
    if (size_field) {
        if (!parse_size(value, &v))
            return fail(err, errlen, "%s: '%s' is not a size (" SIZE_HELP ")", key, value);
        if (v == 0 && size_field == &p->write_unit)
            return fail(err, errlen, "%s: must be at least 1 byte", key);
        *size_field = (uint32_t)v;
        return 0;
    }
    if (!strcmp(key, "endurance")) {
        if (!parse_count(value, &v))
            return fail(err, errlen, "%s: '%s' is not a cycle count (want e.g. 100000 or 1e5, "
                        "at most 4294967295; 0 = unlimited)", key, value);
        p->endurance = v;
        return 0;
    }
    return fail(err, errlen, "unknown LtRAM profile key '%s' (keys: read-ns, write-ns, "
                "write-unit, erase-ns, erase-block, endurance)", key);
}
