#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tiering/uffd.h"
#include "lib/compat.h"

/* EVENT_REMAP keeps the registration (and the write-protect bits) attached
 * to a mapping moved with mremap: that is what makes a demotion's swap of a
 * pre-protected LtRAM mapping atomic. */
#define UFFD_FEATURES (UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_HUGETLBFS_SHMEM | \
                       UFFD_FEATURE_EVENT_REMAP)

int uffd_open(int *out, bool minor, char *err, size_t errlen)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "userfaultfd: %s (tiering needs userfaultfd; root, or "
                 "vm.unprivileged_userfaultfd=1; or run with --ltram off)", strerror(e));
        return -e;
    }
    struct uffdio_api api = {.api = UFFD_API,
                             .features = UFFD_FEATURES | (minor ? UFFD_FEATURE_MINOR_SHMEM : 0)};
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        int e = errno;
        snprintf(err, errlen, "userfaultfd: write-protect on shmem is not supported by this "
                 "kernel (%s; Linux >= 5.19 needed, or run with --ltram off)", strerror(e));
        close(fd);
        return -e;
    }
    *out = fd;
    return 0;
}

int uffd_register(int fd, void *addr, uint64_t len, bool minor)
{
    struct uffdio_register r = {
        .range = {.start = (uint64_t)(uintptr_t)addr, .len = len},
        .mode = UFFDIO_REGISTER_MODE_WP | (minor ? UFFDIO_REGISTER_MODE_MINOR : 0),
    };
    return ioctl(fd, UFFDIO_REGISTER, &r) < 0 ? -errno : 0;
}

int uffd_continue(int fd, void *addr, uint64_t len)
{
    struct uffdio_continue c = {.range = {.start = (uint64_t)(uintptr_t)addr, .len = len}};
    return ioctl(fd, UFFDIO_CONTINUE, &c) < 0 ? -errno : 0;
}

int uffd_writeprotect(int fd, void *addr, uint64_t len, bool wp)
{
    struct uffdio_writeprotect w = {
        .range = {.start = (uint64_t)(uintptr_t)addr, .len = len},
        .mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
    };
    return ioctl(fd, UFFDIO_WRITEPROTECT, &w) < 0 ? -errno : 0;
}

int uffd_writeprotect_retry(int fd, void *addr, uint64_t len, bool wp)
{
    int rc;
    while ((rc = uffd_writeprotect(fd, addr, len, wp)) == -EAGAIN)
        sched_yield();
    return rc;
}

int uffd_wake(int fd, void *addr, uint64_t len)
{
    struct uffdio_range r = {.start = (uint64_t)(uintptr_t)addr, .len = len};
    return ioctl(fd, UFFDIO_WAKE, &r) < 0 ? -errno : 0;
}
