/*
 * Bump allocator over the heap the VMM describes in boot info. Lock-free:
 * vCPUs race on one offset with compare-and-swap. Memory is never freed;
 * payloads allocate their working set once at start.
 */
#include "arom.h"

static uint64_t heap_used; /* bytes from heap_start already handed out */

void *arom_alloc(size_t size, size_t align)
{
    const struct arom_boot_info *bi = arom_boot_info();
    uint64_t start = bi->heap_start, end = bi->heap_end;

    if (align == 0)
        align = 16;
    if (align & (align - 1))
        return NULL;
    if (size == 0)
        size = 1; /* distinct non-NULL pointers, like malloc */

    uint64_t used = __atomic_load_n(&heap_used, __ATOMIC_RELAXED);
    for (;;) {
        uint64_t base = start + used;
        uint64_t p = (base + align - 1) & ~(uint64_t)(align - 1);
        if (p < base || p > end || size > end - p)
            return NULL; /* exhausted (or align/size overflowed) */
        if (__atomic_compare_exchange_n(&heap_used, &used, p + size - start, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return (void *)(uintptr_t)p;
        /* `used` now holds the winner's value; retry from there. */
    }
}

size_t arom_heap_free(void)
{
    const struct arom_boot_info *bi = arom_boot_info();
    uint64_t used = __atomic_load_n(&heap_used, __ATOMIC_RELAXED);
    uint64_t size = bi->heap_end - bi->heap_start;
    return used < size ? size - used : 0;
}
