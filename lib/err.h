/* Error reporting for functions that return -errno and explain why in a
 * caller's buffer (the caller knows where to print it). */
#ifndef AROM_LIB_ERR_H
#define AROM_LIB_ERR_H

#include <stddef.h>

/* Format the reason into err (if err and errlen), return rc (a -errno). */
int errf(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
