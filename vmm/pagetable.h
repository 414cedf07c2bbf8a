/* The identity page tables the VMM builds for a payload (x86-64, 4-level).
 * Low 4 MiB in 4 KiB pages with per-page rights (NULL page absent, system
 * area supervisor-only, boot info read-only, stack guard pages absent);
 * the rest of RAM in 2 MiB user pages. */
#ifndef AROM_PAGETABLE_H
#define AROM_PAGETABLE_H

#include <stdint.h>

#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_U    (1ull << 2)
#define PTE_PS   (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

/* Build tables into ram (guest RAM of ram_size bytes) at LAYOUT_PT_BASE.
 * ram_size must be a multiple of 2 MiB within layout limits; vcpus within
 * 1..AROM_MAX_VCPUS. Returns 0 and the CR3 value, or -EINVAL/-ENOSPC. */
int pagetable_build(void *ram, uint64_t ram_size, unsigned vcpus, uint64_t *cr3);

/* Walk the tables like the MMU: 0 and the physical address plus the
 * effective rights (PTE_P|PTE_W|PTE_U of all levels ANDed), or -EFAULT if
 * not present. Used by tests and to read guest stacks in fault reports. */
int pagetable_translate(const void *ram, uint64_t ram_size, uint64_t cr3, uint64_t va,
                        uint64_t *pa, uint64_t *rights);

#endif
