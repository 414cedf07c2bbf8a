#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "lib/run_dir.h"

int run_dir_make(const char *run_dir, const char *sub, char *err, size_t errlen)
{
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s/%s", run_dir, sub);
    if (n < 0 || (size_t)n >= sizeof dir)
        return errf(err, errlen, -ENAMETOOLONG, "%s: path too long", run_dir);
    if (mkdir(run_dir, 0755) < 0 && errno != EEXIST)
        return errf(err, errlen, -errno, "%s: %s", run_dir, strerror(errno));
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
    return 0;
}

int run_dir_sock(const char *run_dir, const char *name, char *sock, size_t len)
{
    int n = snprintf(sock, len, "%s/vms/%s.sock", run_dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
