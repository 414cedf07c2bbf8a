/* The one family of parsers for numbers operators type: sizes, counts,
 * durations, shares. All are strict: the whole string must match (no
 * signs, spaces or trailing junk), and every one returns 0, -EINVAL for
 * text that is not of its kind, or -ERANGE when the value overflows. *out
 * is only written on success. */
#ifndef AROM_LIB_PARSE_H
#define AROM_LIB_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* "4096": decimal digits. */
int parse_u64(const char *s, uint64_t *out);
/* "4096", "64K", "512M", "2g", "1GiB", "3MB", "1T", "12B": bytes. */
int parse_size(const char *s, uint64_t *out);
/* "100000" or "1e5" (mantissa e exponent, both decimal). */
int parse_count(const char *s, uint64_t *out);
/* A finite decimal or scientific number ("0.5", "2e3"); no inf or nan. */
int parse_double(const char *s, double *out);
/* "90", "90s", "15m", "12h", "30d", "5y": seconds (finite, >= 0). */
int parse_duration(const char *s, double *out);
/* "250", "250ns", "2us", "18ms", "1s": nanoseconds (whole). */
int parse_ns(const char *s, uint64_t *out);

/* A part of some total, given as a size or as a percentage. */
struct share {
    bool set;
    bool pct;           /* percent of the total, else bytes */
    double percent;     /* 0..100 */
    uint64_t bytes;
};
/* "512M" or "25%" (0..100, decimals allowed). */
int parse_share(const char *s, struct share *out);
/* Bytes of total the share stands for: -ERANGE if it exceeds total. */
int share_bytes(const struct share *sh, uint64_t total, uint64_t *out);

#endif
