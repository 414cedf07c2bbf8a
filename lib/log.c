#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"

/* Set once at start-up from the options, read-only afterwards. */
static bool log_quiet;

void log_set_quiet(bool quiet)
{
    log_quiet = quiet;
}

static void log_emit(const char *level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    /* One fprintf per message keeps lines whole across threads. */
    fprintf(stderr, "%s: %s%s\n", program_invocation_short_name, level, line);   /* arom-vmm, aromd, arom */
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("error: ", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit("warning: ", fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    if (log_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_emit("", fmt, ap);
    va_end(ap);
}
