/* One place that formats diagnostics, so every message names the program. */
#ifndef AROM_LOG_H
#define AROM_LOG_H

#include <stdbool.h>

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Quiet mode silences log_info only (errors and warnings always print).
 * Process-wide by nature: there is one stderr. */
void log_set_quiet(bool quiet);

#endif
