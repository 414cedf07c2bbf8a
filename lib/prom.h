/* A writer of the Prometheus text exposition format (version 0.0.4): one
 * HELP and TYPE line per family, then its samples. Grows a heap buffer;
 * an allocation failure is sticky and reported by prom_finish. */
#ifndef AROM_LIB_PROM_H
#define AROM_LIB_PROM_H

#include <stdbool.h>
#include <stddef.h>

struct prom {
    char *buf;
    size_t len, cap;
    bool oom;
};

/* Start a family: name (arom_..._total for counters), "counter", "gauge"
 * or "histogram", and its help text (escaped here). */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. labels is already formatted
 * (prom_label), or "" for none. */
void prom_sample(struct prom *p, const char *name, const char *labels, double value);
/* Append `key="value"` (escaped) to a label set of cap bytes, comma
 * separated; false when it does not fit. */
bool prom_label(char *labels, size_t cap, const char *key, const char *value);
/* The text (NUL-terminated, the caller frees it), or NULL when out of memory. */
char *prom_finish(struct prom *p);

#endif
