/* What every part of the engine shares: the two views of guest RAM, the
 * userfaultfd, and the page lock with the placement map it guards. Set up
 * once by tiering.c and read-only afterwards, except the placement map,
 * which only the migration engine (migrate.c) writes.
 *
 * Locking. `lock` guards the placement map and each part's fields marked
 * "lock" in its header. It is never held across mremap (an mremap waits
 * for the fault thread to read its UFFD_EVENT_REMAP, and the fault thread
 * takes `lock`), nor across LtRAM writes (they carry the device's modeled
 * latency), nor while reading /proc/self/maps (mmap_lock). The migration
 * engine's device lock comes after it: lock, then lt_lock. */
#ifndef AROM_TIERING_CORE_H
#define AROM_TIERING_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tiering/placement.h"

#define PAGE_SIZE_4K 4096ull
#define PAGE_SHIFT_4K 12

struct tier_core {
    uint8_t *guest;             /* the guest's view: the KVM memslot */
    uint8_t *dram;              /* the VMM's view of the DRAM memfd (never write-protected) */
    int dram_fd;
    uint64_t npages;
    uint64_t pinned_pages;      /* pages [0, pinned_pages) never leave DRAM */
    int uffd;
    bool uffd_minor;            /* mappings also register for minor faults (access sampling) */
    pthread_mutex_t lock;
    struct placement *pm;
};

static inline uint8_t *core_guest_page(const struct tier_core *c, uint64_t page)
{
    return c->guest + (page << PAGE_SHIFT_4K);
}

/* DRAM pages backed by host memory now (the memfd's blocks). */
uint64_t core_dram_resident_pages(const struct tier_core *c);

/* A DRAM page the policy may pick: not pinned, not being migrated, and
 * holding data (resident: an untouched page is not worth demoting).
 * resident may be NULL (every page counts). Lock held. */
bool core_demotable(const struct tier_core *c, uint64_t page, const unsigned char *resident);

#endif
