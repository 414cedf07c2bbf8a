#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/guest_mem.h"
#include "vmm/log.h"

int guest_mem_create(struct guest_mem *gm, uint64_t size)
{
    gm->host = NULL;
    gm->size = size;
    gm->fd = memfd_create("arom-guest-ram", MFD_CLOEXEC);
    if (gm->fd < 0) {
        int e = errno;
        log_error("memfd_create for %llu bytes of guest RAM: %s",
                  (unsigned long long)size, strerror(e));
        return -e;
    }
    if (ftruncate(gm->fd, (off_t)size) < 0) {
        int e = errno;
        log_error("sizing guest RAM memfd to %llu bytes: %s", (unsigned long long)size, strerror(e));
        close(gm->fd);
        gm->fd = -1;
        return -e;
    }
    /* MAP_NORESERVE: RAM is populated lazily; tiering punches holes later. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, GUEST_MAP_FLAGS, gm->fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        log_error("mapping %llu bytes of guest RAM: %s", (unsigned long long)size, strerror(e));
        close(gm->fd);
        gm->fd = -1;
        return -e;
    }
    gm->host = p;
    return 0;
}

void guest_mem_destroy(struct guest_mem *gm)
{
    if (gm->host)
        munmap(gm->host, gm->size);
    if (gm->fd >= 0)
        close(gm->fd);
    gm->host = NULL;
    gm->fd = -1;
}
