/* Guest RAM: one shared memfd mapping registered as one KVM memslot, so
 * later stages can remap single 4 KiB pages of it (tiering). Every guest
 * address the host touches goes through guest_mem_ptr(). */
#ifndef AROM_GUEST_MEM_H
#define AROM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "arom/abi.h"

/* Flags of every host mapping that backs guest RAM. Tiering remaps pieces
 * of it; neighbouring mappings only merge into one VMA (and so stay within
 * vm.max_map_count) when their flags are identical. */
#define GUEST_MAP_FLAGS (MAP_SHARED | MAP_NORESERVE)

struct guest_mem {
    uint8_t *host;      /* guest-visible mapping (the memslot) */
    uint64_t size;      /* bytes */
    int fd;             /* memfd backing DRAM; -1 for anonymous test memory */
};

/* Create the memfd and map it shared. size must be page aligned. */
int guest_mem_create(struct guest_mem *gm, uint64_t size);
void guest_mem_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) or NULL if any byte lies outside guest
 * RAM (overflow-safe). len 0 is valid for any gpa <= size. */
static inline void *guest_mem_ptr(const struct guest_mem *gm, arom_gpa_t gpa, uint64_t len)
{
    uint64_t end;
    if (__builtin_add_overflow(gpa, len, &end) || end > gm->size)
        return NULL;
    return gm->host + gpa;
}

#endif
