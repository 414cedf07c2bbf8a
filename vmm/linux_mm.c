/* A Linux guest's memory: guest RAM is identity mapped (VA == GPA) and
 * writable, so the break and mmap only hand out ranges of it, zeroed:
 *   [image end, brk_end)        the break (a quarter of what is free)
 *   [mmap_lo, stack_lo)         mmap: the free extents, taken from the top
 *   [stack_lo, stack_top)       the initial stack (8 MiB), top of RAM
 * munmap, mremap and MAP_FIXED work on any page range of the mmap area;
 * the free extents are a sorted array (a program has few mappings; each
 * call is O(extents)). Protections are not enforced (mprotect succeeds):
 * the program's own memory, its own business.
 *
 * Zeroing skips pages that already read as zero: a clean page the daemon
 * demoted to LtRAM stays there instead of being promoted by the VMM's
 * store (a read of LtRAM is cheap, a write is a promotion). */
#include <errno.h>
#include <stdlib.h>
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
    if (!(mm->free = malloc(16 * sizeof *mm->free)))
        return -ENOMEM;
    mm->free_cap = 16;
    mm->free[mm->nfree++] = (struct linux_extent){mm->mmap_lo, mm->stack_lo};
    mm->free_bytes = mm->stack_lo - mm->mmap_lo;
    return 0;
}

void linux_mm_fini(struct linux_mm *mm)
{
    free(mm->free);
    mm->free = NULL;
    mm->nfree = mm->free_cap = 0;
}

uint64_t linux_mm_mapped(const struct linux_mm *mm)
{
    return mm->stack_lo - mm->mmap_lo - mm->free_bytes;
}

static bool page_is_zero(const uint64_t *w)
{
    for (size_t i = 0; i < PAGE / 8; i++)
        if (w[i])
            return false;
    return true;
}

void linux_mm_zero(struct guest_mem *mem, uint64_t addr, uint64_t len)
{
    uint8_t *p = (uint8_t *)mem->host + addr;
    for (uint64_t off = 0; off < len; off += PAGE) {
        uint64_t n = len - off < PAGE ? len - off : PAGE;
        if (n < PAGE || !page_is_zero((const uint64_t *)(p + off)))
            memset(p + off, 0, n);
    }
}

uint64_t linux_brk(struct linux_mm *mm, struct guest_mem *mem, uint64_t want)
{
    if (want < mm->brk_start || want > mm->brk_end)
        return mm->brk;                 /* Linux answers a refused brk with the current one */
    if (want > mm->brk)
        linux_mm_zero(mem, mm->brk, want - mm->brk);
    mm->brk = want;
    return mm->brk;
}

static bool in_area(const struct linux_mm *mm, uint64_t addr, uint64_t len)
{
    return !(addr & (PAGE - 1)) && addr >= mm->mmap_lo && len <= mm->stack_lo - addr;
}

/* Whether [a, b) lies inside one free extent. */
static bool all_free(const struct linux_mm *mm, uint64_t a, uint64_t b)
{
    for (unsigned i = 0; i < mm->nfree; i++)
        if (mm->free[i].start <= a && b <= mm->free[i].end)
            return true;
    return false;
}

/* Whether no page of [a, b) is free. */
static bool none_free(const struct linux_mm *mm, uint64_t a, uint64_t b)
{
    for (unsigned i = 0; i < mm->nfree; i++)
        if (mm->free[i].start < b && a < mm->free[i].end)
            return false;
    return true;
}

static int reserve(struct linux_mm *mm, unsigned more)
{
    if (mm->nfree + more <= mm->free_cap)
        return 0;
    unsigned cap = mm->free_cap * 2 + more;
    struct linux_extent *f = realloc(mm->free, cap * sizeof *f);
    if (!f)
        return -ENOMEM;
    mm->free = f;
    mm->free_cap = cap;
    return 0;
}

/* Mark [a, b) allocated, whatever of it was free. 0 or -ENOMEM (nothing changed). */
static int take(struct linux_mm *mm, uint64_t a, uint64_t b)
{
    if (reserve(mm, 1) < 0)
        return -ENOMEM;
    for (unsigned i = 0; i < mm->nfree; i++) {
        struct linux_extent *e = &mm->free[i];
        if (e->end <= a || b <= e->start)
            continue;
        uint64_t lo = e->start > a ? e->start : a, hi = e->end < b ? e->end : b;
        mm->free_bytes -= hi - lo;
        if (e->start < a && b < e->end) {           /* a hole in the middle: split */
            memmove(e + 2, e + 1, (mm->nfree - i - 1) * sizeof *e);
            e[1] = (struct linux_extent){b, e->end};
            e->end = a;
            mm->nfree++;
            return 0;
        }
        if (e->start < a)
            e->end = a;
        else if (b < e->end)
            e->start = b;
        else {                                      /* all of it: drop the extent */
            memmove(e, e + 1, (mm->nfree - i - 1) * sizeof *e);
            mm->nfree--;
            i--;
        }
    }
    return 0;
}

/* Mark [a, b) free, merging with its neighbours. 0 or -ENOMEM (nothing changed). */
static int give(struct linux_mm *mm, uint64_t a, uint64_t b)
{
    if (a >= b)
        return 0;
    if (reserve(mm, 2) < 0 || take(mm, a, b) < 0)
        return -ENOMEM;
    unsigned i = 0;
    while (i < mm->nfree && mm->free[i].end < a)
        i++;
    struct linux_extent *e = &mm->free[i];
    mm->free_bytes += b - a;
    if (i < mm->nfree && e->end == a) {             /* joins the one below */
        e->end = b;
        if (i + 1 < mm->nfree && e[1].start == b) {
            e->end = e[1].end;
            memmove(e + 1, e + 2, (mm->nfree - i - 2) * sizeof *e);
            mm->nfree--;
        }
    } else if (i < mm->nfree && e->start == b) {    /* joins the one above */
        e->start = a;
    } else {
        memmove(e + 1, e, (mm->nfree - i) * sizeof *e);
        *e = (struct linux_extent){a, b};
        mm->nfree++;
    }
    return 0;
}

/* The highest free range of len bytes: its start, or 0. */
static uint64_t find_top(const struct linux_mm *mm, uint64_t len)
{
    for (unsigned i = mm->nfree; i-- > 0;)
        if (mm->free[i].end - mm->free[i].start >= len)
            return mm->free[i].end - len;
    return 0;
}

int64_t linux_mmap_anon(struct linux_mm *mm, struct guest_mem *mem, uint64_t addr, uint64_t len, int flags)
{
    if (!len)
        return -EINVAL;
    if (len > mm->stack_lo)
        return -ENOMEM;
    len = UP(len);
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr & (PAGE - 1))
            return -EINVAL;
        if (!in_area(mm, addr, len))
            return -ENOMEM;             /* the image, the break and the stack are not remapped */
        if (flags & MAP_FIXED_NOREPLACE && !all_free(mm, addr, addr + len))
            return -EEXIST;
    } else if (!(addr && !(addr & (PAGE - 1)) && in_area(mm, addr, len) && all_free(mm, addr, addr + len))) {
        if (!(addr = find_top(mm, len)))  /* a hint is taken only when that range is free, as Linux does */
            return -ENOMEM;
    }
    if (take(mm, addr, addr + len) < 0)
        return -ENOMEM;
    linux_mm_zero(mem, addr, len);      /* MAP_FIXED over a mapping: fresh zeros too */
    return (int64_t)addr;
}

int64_t linux_munmap(struct linux_mm *mm, struct guest_mem *mem, uint64_t addr, uint64_t len)
{
    (void)mem;
    if (addr & (PAGE - 1) || !len || addr + UP(len) < addr)
        return -EINVAL;
    uint64_t a = addr > mm->mmap_lo ? addr : mm->mmap_lo, b = addr + UP(len);
    if (b > mm->stack_lo)
        b = mm->stack_lo;
    return a < b ? give(mm, a, b) : 0;  /* outside the area (or unmapped): nothing to do, as Linux */
}

int64_t linux_mremap(struct linux_mm *mm, struct guest_mem *mem, uint64_t old, uint64_t old_len, uint64_t new_len,
                     int flags, uint64_t new_addr)
{
    if (old & (PAGE - 1) || !new_len || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) ||
        (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)))
        return -EINVAL;
    old_len = UP(old_len);
    new_len = UP(new_len);
    if (!old_len || !in_area(mm, old, old_len) || !none_free(mm, old, old + old_len))
        return -EFAULT;                 /* not one mapping of the area */
    if (!(flags & MREMAP_FIXED)) {
        if (new_len <= old_len)
            return give(mm, old + new_len, old + old_len) < 0 ? -ENOMEM : (int64_t)old;
        if (in_area(mm, old, new_len) && all_free(mm, old + old_len, old + new_len)) {
            if (take(mm, old + old_len, old + new_len) < 0)
                return -ENOMEM;
            linux_mm_zero(mem, old + old_len, new_len - old_len);
            return (int64_t)old;        /* grown in place */
        }
        if (!(flags & MREMAP_MAYMOVE) || !(new_addr = find_top(mm, new_len)))
            return -ENOMEM;
    } else if (new_addr & (PAGE - 1) || !in_area(mm, new_addr, new_len) ||
               (new_addr < old + old_len && old < new_addr + new_len)) {
        return -EINVAL;
    }
    if (take(mm, new_addr, new_addr + new_len) < 0)
        return -ENOMEM;
    uint64_t keep = old_len < new_len ? old_len : new_len;
    uint8_t *ram = mem->host;
    memmove(ram + new_addr, ram + old, keep);
    linux_mm_zero(mem, new_addr + keep, new_len - keep);
    if (give(mm, old, old + old_len) < 0)
        return -ENOMEM;
    return (int64_t)new_addr;
}
