/* A Linux guest's file descriptors: 0 is /dev/null, 1 and 2 the VMM's
 * stdout and stderr; files open only under the --linux-root directory,
 * resolved by the kernel inside it (openat2 RESOLVE_IN_ROOT: "..",
 * absolute paths and symlinks cannot leave it), read-only unless
 * --linux-root-rw. Guest fds are indexes into a table of host fds. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/linux.h"

void linux_files_init(struct linux_proc *p)
{
    for (int i = 0; i < LINUX_FD_MAX; i++)
        p->fds[i] = (struct linux_fd){.host = -1};
    p->fds[0].host = open("/dev/null", O_RDONLY | O_CLOEXEC);
    p->fds[1].host = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    p->fds[2].host = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    snprintf(p->fds[0].path, sizeof p->fds[0].path, "/dev/null");
    snprintf(p->fds[1].path, sizeof p->fds[1].path, "stdout");
    snprintf(p->fds[2].path, sizeof p->fds[2].path, "stderr");
}

void linux_files_close_all(struct linux_proc *p)
{
    for (int i = 0; i < LINUX_FD_MAX; i++) {
        if (p->fds[i].host >= 0)
            close(p->fds[i].host);
        p->fds[i].host = -1;
    }
}

int linux_fd_host(struct linux_proc *p, int64_t fd)
{
    return fd >= 0 && fd < LINUX_FD_MAX ? p->fds[fd].host : -1;
}

/* Resolve path (guest's) to a host fd with how.flags, inside the root. */
static int64_t resolve(struct linux_proc *p, int64_t dirfd, const char *path, struct open_how *how)
{
    if (p->root_fd < 0)
        return -ENOENT;             /* no --linux-root: the guest has no files */
    int base = p->root_fd;
    how->resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    if (dirfd != AT_FDCWD && path[0] != '/') {
        base = linux_fd_host(p, dirfd);
        if (base < 0)
            return -EBADF;
        how->resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;  /* the dir is under the root already */
    }
    long fd = syscall(SYS_openat2, base, path, how, sizeof *how);
    return fd < 0 ? -errno : fd;
}

int64_t linux_openat(struct linux_proc *p, int64_t dirfd, const char *path, int64_t flags, int64_t mode)
{
    bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;       /* O_TMPFILE includes O_DIRECTORY's bit */
    bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) || tmpfile;
    if (writes && !p->root_rw)
        return -EROFS;
    struct open_how how = {.flags = (uint64_t)(flags & ~O_CLOEXEC) | O_CLOEXEC | O_NOCTTY,
                           .mode = (flags & O_CREAT) || tmpfile ? (uint64_t)mode & 07777 : 0};
    int64_t fd = resolve(p, dirfd, path, &how);
    return fd < 0 ? fd : linux_fd_install(p, (int)fd, path);
}

int64_t linux_fd_install(struct linux_proc *p, int host, const char *what)
{
    pthread_mutex_lock(&p->lock);
    int slot = 3;
    while (slot < LINUX_FD_MAX && p->fds[slot].host >= 0)
        slot++;
    if (slot < LINUX_FD_MAX) {
        struct stat st;
        p->fds[slot] = (struct linux_fd){.host = host, .dir = fstat(host, &st) == 0 && S_ISDIR(st.st_mode)};
        snprintf(p->fds[slot].path, sizeof p->fds[slot].path, "%s", what);
    }
    pthread_mutex_unlock(&p->lock);
    if (slot == LINUX_FD_MAX) {
        close(host);
        return -EMFILE;
    }
    return slot;
}

int64_t linux_close(struct linux_proc *p, int64_t fd)
{
    int h = linux_fd_host(p, fd);
    if (h < 0)
        return -EBADF;
    close(h);
    p->fds[fd].host = -1;
    return 0;
}

int64_t linux_newfstatat(struct linux_proc *p, int64_t dirfd, const char *path, void *statbuf, int64_t flags)
{
    struct stat st;
    if (!path[0] && (flags & AT_EMPTY_PATH)) {
        int h = linux_fd_host(p, dirfd);
        if (h < 0)
            return -EBADF;
        if (fstat(h, &st) < 0)
            return -errno;
    } else {
        struct open_how how = {.flags = O_PATH | O_CLOEXEC | (flags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0)};
        int64_t fd = resolve(p, dirfd, path, &how);
        if (fd < 0)
            return fd;
        int rc = fstat((int)fd, &st);
        close((int)fd);
        if (rc < 0)
            return -errno;
    }
    memcpy(statbuf, &st, sizeof st);       /* the host is x86-64 Linux too: the same struct stat */
    return 0;
}

int64_t linux_faccessat(struct linux_proc *p, int64_t dirfd, const char *path, int64_t mode)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC};
    int64_t fd = resolve(p, dirfd, path, &how);
    if (fd < 0)
        return fd;
    char self[32];
    snprintf(self, sizeof self, "/proc/self/fd/%d", (int)fd);
    int rc = access(self, (int)mode & (R_OK | W_OK | X_OK)) < 0 ? -errno : 0;
    close((int)fd);
    if (rc == 0 && (mode & W_OK) && !p->root_rw)
        rc = -EROFS;
    return rc;
}

int64_t linux_unix_path(struct linux_proc *p, const char *path, char *out, size_t cap, int *dirfd)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[4096];
    if (!*base || strlen(path) >= sizeof dir)
        return -EINVAL;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC};
    int64_t fd = resolve(p, AT_FDCWD, dir, &how);
    if (fd < 0)
        return fd;
    int n = snprintf(out, cap, "/proc/self/fd/%d/%s", (int)fd, base);
    if (n < 0 || (size_t)n >= cap) {
        close((int)fd);
        return -ENAMETOOLONG;
    }
    *dirfd = (int)fd;
    return 0;
}
