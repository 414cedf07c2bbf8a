#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"

/* Leading decimal digits of s; *rest points past them. -EINVAL without a
 * digit, -ERANGE on overflow. */
static int digits(const char *s, uint64_t *v, const char **rest)
{
    uint64_t x = 0;
    const char *p = s;
    if (!s)
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++)
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, (uint64_t)(*p - '0'), &x))
            return -ERANGE;
    if (p == s)
        return -EINVAL;
    *v = x;
    *rest = p;
    return 0;
}

struct unit {
    const char *suffix;
    uint64_t mult;
};

/* Digits, then exactly one of the suffixes, scaled by its multiplier. */
static int scaled(const char *s, const struct unit *units, size_t n, uint64_t *out)
{
    uint64_t v;
    const char *rest;
    int rc = digits(s, &v, &rest);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(rest, units[i].suffix)) {
            if (__builtin_mul_overflow(v, units[i].mult, &v))
                return -ERANGE;
            *out = v;
            return 0;
        }
    }
    return -EINVAL;
}

int parse_u64(const char *s, uint64_t *out)
{
    static const struct unit none[] = {{"", 1}};
    return scaled(s, none, 1, out);
}

int parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *end;
    int rc = digits(s, &v, &end);
    if (rc < 0)
        return rc;
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: break;
    }
    if (shift)
        end++;
    if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
        end += strlen(end);
    else if (!shift && !strcmp(end, "B"))
        end++;
    if (*end)
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = v << shift;
    return 0;
}

int parse_count(const char *s, uint64_t *out)
{
    uint64_t v, e = 0;
    const char *rest;
    int rc = digits(s, &v, &rest);
    if (rc < 0)
        return rc;
    if (*rest == 'e' || *rest == 'E') {
        if ((rc = digits(rest + 1, &e, &rest)) < 0)
            return rc;
    }
    if (*rest)
        return -EINVAL;
    for (; e && v; e--)
        if (__builtin_mul_overflow(v, 10, &v))
            return -ERANGE;
    *out = v;
    return 0;
}

/* A non-negative number at the start of s (digits first: no sign, no
 * "inf"/"nan", no leading space); *rest points past it. */
static int number(const char *s, double *v, char **rest)
{
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    double x = strtod(s, rest);
    if (errno == ERANGE || !isfinite(x))
        return -ERANGE;
    *v = x;
    return 0;
}

int parse_double(const char *s, double *out)
{
    double v;
    char *rest;
    int rc = number(s, &v, &rest);
    if (rc < 0)
        return rc;
    if (*rest)
        return -EINVAL;
    *out = v;
    return 0;
}

int parse_duration(const char *s, double *out)
{
    static const struct { const char *suffix; double mult; } units[] = {
        {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"y", 365.25 * 86400},
    };
    double v;
    char *rest;
    int rc = number(s, &v, &rest);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (!strcmp(rest, units[i].suffix)) {
            if (!isfinite(v * units[i].mult))
                return -ERANGE;         /* "1e308y" must not become infinity */
            *out = v * units[i].mult;
            return 0;
        }
    }
    return -EINVAL;
}

int parse_ns(const char *s, uint64_t *out)
{
    static const struct unit units[] = {
        {"", 1}, {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000},
    };
    return scaled(s, units, sizeof units / sizeof units[0], out);
}

int parse_share(const char *s, struct share *out)
{
    size_t len = s ? strlen(s) : 0;
    struct share sh = {.set = true};
    if (len > 1 && s[len - 1] == '%') {
        char *rest;
        int rc = number(s, &sh.percent, &rest);
        if (rc < 0)
            return rc;
        if (rest != s + len - 1)
            return -EINVAL;
        if (sh.percent > 100)
            return -ERANGE;
        sh.pct = true;
    } else {
        int rc = parse_size(s, &sh.bytes);
        if (rc < 0)
            return rc;
    }
    *out = sh;
    return 0;
}

int share_bytes(const struct share *sh, uint64_t total, uint64_t *out)
{
    if (sh->pct) {
        /* In doubles a large total rounds up (2^64 - 1 becomes 2^64, which
         * does not convert back): never more than the total. */
        double v = (double)total * (sh->percent / 100.0);
        *out = v >= (double)total ? total : (uint64_t)v;
        return 0;
    }
    if (sh->bytes > total)
        return -ERANGE;
    *out = sh->bytes;
    return 0;
}
