/* Thin, checked wrappers around the userfaultfd ioctls the migration
 * engine uses. Each returns 0 or -errno; none logs (callers know context). */
#ifndef AROM_TIERING_UFFD_H
#define AROM_TIERING_UFFD_H

#include <stdbool.h>
#include <stdint.h>

/* A userfaultfd with write-protect faults on shmem and remap events, plus
 * minor faults on shmem when `minor` (access sampling). */
int uffd_open(int *fd, bool minor, char *err, size_t errlen);
/* Register for write-protect faults, and minor faults when `minor`. */
int uffd_register(int fd, void *addr, uint64_t len, bool minor);
/* Map the page-cache page behind a minor fault (wakes the thread). */
int uffd_continue(int fd, void *addr, uint64_t len);
/* Write-protect (wp=true) or release (wp=false, wakes waiters) a range.
 * -EAGAIN while a remap event is unread (the kernel's mmap_changing). */
int uffd_writeprotect(int fd, void *addr, uint64_t len, bool wp);
/* The same, retrying while a remap event is unread. Never call it on the
 * thread that reads the events: it would wait for itself. */
int uffd_writeprotect_retry(int fd, void *addr, uint64_t len, bool wp);
int uffd_wake(int fd, void *addr, uint64_t len);

#endif
