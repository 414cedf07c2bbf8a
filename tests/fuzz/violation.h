/* The one way a fuzz target reports a broken invariant: one line naming
 * the target, then abort(), which libFuzzer records as a crash with its
 * input. Define FUZZ_TARGET ("fuzz_api") before including it. */
#ifndef AROM_FUZZ_VIOLATION_H
#define AROM_FUZZ_VIOLATION_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, FUZZ_TARGET ": INVARIANT VIOLATED: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

#endif
