/* A Linux guest's memory: guest RAM is identity mapped (VA == GPA) and
 * writable, so the break and mmap only hand out ranges of it, zeroed:
 *   [image end, brk_end)        the break (a quarter of what is free)
 *   [mmap_lo, stack_lo)         mmap, allocated downwards
 *   [stack_lo, stack_top)       the initial stack (8 MiB), top of RAM
 * munmap gives back only the lowest mapping (the common free-in-reverse);
 * other ranges stay allocated until exit. Protections are not enforced
 * (mprotect succeeds): the program's own memory, its own business. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/linux.h"

#define PAGE 4096ull
#define UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))

int linux_mm_init(struct linux_mm *mm, uint64_t image_end, uint64_t ram_size)
{
    uint64_t start = UP(image_end);
    if (ram_size < start + LINUX_STACK_SIZE + (8ull << 20))
        return -ENOMEM;
    *mm = (struct linux_mm){.stack_top = ram_size, .stack_lo = ram_size - LINUX_STACK_SIZE};
    uint64_t free_bytes = mm->stack_lo - start;
    mm->brk_start = mm->brk = start;
    mm->brk_end = start + (free_bytes / 4 & ~(PAGE - 1));
    mm->mmap_lo = mm->brk_end;
    mm->mmap_next = mm->stack_lo;
    return 0;
}

uint64_t linux_brk(struct linux_mm *mm, struct guest_mem *mem, uint64_t want)
{
    if (want < mm->brk_start || want > mm->brk_end)
        return mm->brk;                 /* Linux answers a refused brk with the current one */
    if (want > mm->brk)
        memset((uint8_t *)mem->host + mm->brk, 0, want - mm->brk);
    mm->brk = want;
    return mm->brk;
}

int64_t linux_mmap_anon(struct linux_mm *mm, struct guest_mem *mem, uint64_t addr, uint64_t len, int flags)
{
    if (!len)
        return -EINVAL;
    len = UP(len);
    if (flags & MAP_FIXED) {            /* only inside what is already mapped: re-zero it */
        if (addr & (PAGE - 1) || addr < mm->mmap_next || addr + len > mm->stack_lo || addr + len < addr)
            return -ENOMEM;
        memset((uint8_t *)mem->host + addr, 0, len);
        return (int64_t)addr;
    }
    if (len > mm->mmap_next - mm->mmap_lo)
        return -ENOMEM;
    mm->mmap_next -= len;
    memset((uint8_t *)mem->host + mm->mmap_next, 0, len);
    return (int64_t)mm->mmap_next;
}

int64_t linux_munmap(struct linux_mm *mm, struct guest_mem *mem, uint64_t addr, uint64_t len)
{
    (void)mem;
    if (addr & (PAGE - 1) || !len)
        return -EINVAL;
    if (addr == mm->mmap_next && addr + UP(len) <= mm->stack_lo)
        mm->mmap_next += UP(len);
    return 0;
}
