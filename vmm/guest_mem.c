#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/guest_mem.h"
#include "lib/log.h"
#include "vmm/pagetable.h"

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
    /* Tiering's flags (MAP_NORESERVE among them: RAM is populated lazily,
     * tiering punches holes later), so the mappings it swaps in merge. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, TIERING_MAP_FLAGS, gm->fd, 0);
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

#define USER_VA_LIMIT (1ull << 47)     /* canonical lower half: the tables index 48 bits */

void *guest_mem_user_ptr(const struct guest_mem *gm, uint64_t cr3, uint64_t va, uint64_t len, bool write)
{
    uint64_t end, pa0 = 0, want = PTE_P | PTE_U | (write ? PTE_W : 0);
    if (len == 0)
        return gm->host;
    if (__builtin_add_overflow(va, len, &end) || end > USER_VA_LIMIT)
        return NULL;
    for (uint64_t page = va & ~(AROM_PAGE_SIZE - 1); page < end; page += AROM_PAGE_SIZE) {
        uint64_t pa, rights;
        if (pagetable_translate(gm->host, gm->size, cr3, page, &pa, &rights) < 0 || (rights & want) != want)
            return NULL;
        if (page == (va & ~(AROM_PAGE_SIZE - 1)))
            pa0 = pa + (va & (AROM_PAGE_SIZE - 1));
        else if (pa != pa0 + (page - va))
            return NULL;                /* not contiguous in guest RAM */
    }
    return guest_mem_ptr(gm, pa0, len);
}
