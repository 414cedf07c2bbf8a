/* Guest RAM: one shared memfd mapping registered as one KVM memslot, so
 * later stages can remap single 4 KiB pages of it (tiering). Every guest
 * address the host touches goes through guest_mem_ptr(). */
#ifndef AROM_GUEST_MEM_H
#define AROM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "arom/abi.h"
#include "tiering/tiering.h"


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

/* Host pointer for the guest-virtual range [va, va+len) if the page tables
 * at cr3 (in guest RAM) give CPL3 read access to every page of it, and
 * write access too when `write`, and the pages are one contiguous range of
 * guest RAM; NULL otherwise. The one checked translation for anything the
 * host does on the payload's behalf (as Solo5's HVT_CHECKED_GPA_P, plus the
 * guest's own rights). len 0 is valid for any va (returns a pointer that
 * must not be dereferenced). */
void *guest_mem_user_ptr(const struct guest_mem *gm, uint64_t cr3, uint64_t va, uint64_t len, bool write);

#endif
