#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/registry.h"
#include "lib/err.h"
#include "lib/run_dir.h"
#include "vmm/options.h"

int registry_sock(const char *run_dir, const char *name, char *sock, size_t len)
{
    return options_valid_name(name) && run_dir_sock(run_dir, name, sock, len) == 0 ? 0 : -EINVAL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct vm_entry *)a)->name, ((const struct vm_entry *)b)->name);
}

/* NAME of "NAME.sock", if it is a valid VM name. */
static bool entry_name(const char *file, char *name)
{
    size_t len = strlen(file);
    if (len <= 5 || len - 5 >= REGISTRY_NAME_MAX || strcmp(file + len - 5, ".sock"))
        return false;
    memcpy(name, file, len - 5);
    name[len - 5] = '\0';
    return options_valid_name(name);
}

int registry_scan(const char *run_dir, struct vm_entry **out, size_t *n, char *err, size_t errlen)
{
    char dir[4096];
    *out = NULL;
    *n = 0;
    snprintf(dir, sizeof dir, "%s/vms", run_dir);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(d));) {
        struct vm_entry e;
        if (!entry_name(de->d_name, e.name) || registry_sock(run_dir, e.name, e.sock, sizeof e.sock))
            continue;
        struct stat st;
        if (lstat(e.sock, &st) || !S_ISSOCK(st.st_mode))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            struct vm_entry *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                rc = errf(err, errlen, -ENOMEM, "out of memory");
                break;
            }
            *out = v;
        }
        (*out)[(*n)++] = e;
    }
    closedir(d);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(*out, *n, sizeof **out, by_name);     /* qsort(NULL, 0) is undefined */
    return 0;
}

bool registry_drop_stale(const char *sock, int rc)
{
    struct stat st;
    if (rc != -ECONNREFUSED || lstat(sock, &st) || !S_ISSOCK(st.st_mode) ||
        time(NULL) - st.st_mtime < REGISTRY_STALE_S)
        return false;
    return unlink(sock) == 0;
}
