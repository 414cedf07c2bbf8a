#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prom.h"

static void append(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(struct prom *p, const char *fmt, ...)
{
    if (p->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->buf ? p->buf + p->len : NULL, p->buf ? p->cap - p->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->oom = true;
            return;
        }
        if (p->buf && p->len + (size_t)n < p->cap) {
            p->len += (size_t)n;
            return;
        }
        size_t cap = p->cap ? p->cap * 2 : 4096;
        while (cap < p->len + (size_t)n + 1)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) {
            p->oom = true;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
}

/* HELP text escapes \ and newline; label values also escape ". */
static void escape(char *out, size_t cap, const char *in, bool quote)
{
    size_t o = 0;
    for (; *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '\n' || (quote && *in == '"')) {
            out[o++] = '\\';
            out[o++] = *in == '\n' ? 'n' : *in;
        } else {
            out[o++] = *in;
        }
    }
    if (((unsigned char)*in & 0xc0) == 0x80) {      /* cut inside a UTF-8 character: drop its start */
        while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
            o--;
        if (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
            o--;
    }
    out[o] = '\0';
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
    char h[512];
    escape(h, sizeof h, help, false);
    append(p, "# HELP %s %s\n# TYPE %s %s\n", name, h, name, type);
}

void prom_sample(struct prom *p, const char *name, const char *labels, double value)
{
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    if (isnan(value))
        append(p, "%s%s%s%s NaN\n", name, open, labels, close);
    else if (isinf(value))
        append(p, "%s%s%s%s %s\n", name, open, labels, close, value > 0 ? "+Inf" : "-Inf");
    else
        append(p, "%s%s%s%s %.15g\n", name, open, labels, close, value);
}

bool prom_label(char *labels, size_t cap, const char *key, const char *value)
{
    char v[512];
    escape(v, sizeof v, value, true);
    size_t len = strlen(labels);
    int n = snprintf(labels + len, cap - len, "%s%s=\"%s\"", len ? "," : "", key, v);
    if (n < 0 || (size_t)n >= cap - len) {
        labels[len] = '\0';
        return false;
    }
    return true;
}

char *prom_finish(struct prom *p)
{
    if (!p->oom && !p->buf)
        append(p, "%s", "");
    if (p->oom) {
        free(p->buf);
        *p = (struct prom){0};
        return NULL;
    }
    char *b = p->buf;
    *p = (struct prom){0};
    return b;
}
