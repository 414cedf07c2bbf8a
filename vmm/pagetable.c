#include <errno.h>
#include <string.h>

#include "vmm/layout.h"
#include "vmm/pagetable.h"

#define ENTRIES 512ull
#define LOW_TABLES (AROM_LOAD_MIN / (2ull << 20))   /* 4 KiB page tables covering 0..4 MiB */

/* Rights of one 4 KiB page of the low 4 MiB; 0 = not present. */
static uint64_t low_page_rights(uint64_t addr, unsigned vcpus)
{
    if (addr < AROM_BOOT_INFO_GPA)
        return 0;                                   /* NULL page */
    if (addr < AROM_BOOT_INFO_GPA + AROM_PAGE_SIZE)
        return PTE_P | PTE_U;                       /* boot info: read-only */
    if (addr < AROM_STACK_AREA)
        return PTE_P | PTE_W;                       /* system area: supervisor */
    uint64_t off = addr - AROM_STACK_AREA;
    uint64_t slot = off / AROM_STACK_STRIDE;
    if (slot >= vcpus)
        return 0;                                   /* unused stack slots */
    if (off % AROM_STACK_STRIDE < AROM_PAGE_SIZE)
        return 0;                                   /* guard page below each stack */
    return PTE_P | PTE_W | PTE_U;
}

int pagetable_build(void *ram, uint64_t ram_size, unsigned vcpus, uint64_t *cr3)
{
    if (ram_size < LAYOUT_MIN_RAM || ram_size > LAYOUT_MAX_RAM || ram_size % LAYOUT_RAM_ALIGN)
        return -EINVAL;
    if (vcpus == 0 || vcpus > AROM_MAX_VCPUS)
        return -EINVAL;

    uint64_t gib = (ram_size + (1ull << 30) - 1) >> 30;       /* page directories */
    uint64_t pdpts = (gib + ENTRIES - 1) / ENTRIES;
    uint64_t pages = 1 + pdpts + gib + LOW_TABLES;
    if (LAYOUT_PT_BASE + pages * AROM_PAGE_SIZE > LAYOUT_PT_END)
        return -ENOSPC;

    uint8_t *base = ram;
    uint64_t pml4 = LAYOUT_PT_BASE;
    uint64_t pdpt0 = pml4 + AROM_PAGE_SIZE;
    uint64_t pd0 = pdpt0 + pdpts * AROM_PAGE_SIZE;
    uint64_t pt0 = pd0 + gib * AROM_PAGE_SIZE;
    memset(base + pml4, 0, pages * AROM_PAGE_SIZE);

    /* Intermediate levels grant everything; leaves decide. */
    const uint64_t dir = PTE_P | PTE_W | PTE_U;
    uint64_t *l4 = (uint64_t *)(base + pml4);
    for (uint64_t i = 0; i < pdpts; i++)
        l4[i] = (pdpt0 + i * AROM_PAGE_SIZE) | dir;
    for (uint64_t g = 0; g < gib; g++) {
        uint64_t *l3 = (uint64_t *)(base + pdpt0);
        l3[g] = (pd0 + g * AROM_PAGE_SIZE) | dir;
    }

    uint64_t *l2 = (uint64_t *)(base + pd0);   /* the PDs are contiguous */
    for (uint64_t i = 0; i < LOW_TABLES; i++)
        l2[i] = (pt0 + i * AROM_PAGE_SIZE) | dir;
    for (uint64_t i = LOW_TABLES; i < ram_size / LAYOUT_RAM_ALIGN; i++)
        l2[i] = (i * LAYOUT_RAM_ALIGN) | PTE_P | PTE_W | PTE_U | PTE_PS;

    uint64_t *l1 = (uint64_t *)(base + pt0);   /* the low PTs are contiguous */
    for (uint64_t addr = 0; addr < AROM_LOAD_MIN; addr += AROM_PAGE_SIZE) {
        uint64_t r = low_page_rights(addr, vcpus);
        l1[addr / AROM_PAGE_SIZE] = r ? (addr | r) : 0;
    }
    *cr3 = pml4;
    return 0;
}

static int read_entry(const void *ram, uint64_t ram_size, uint64_t table, unsigned idx, uint64_t *e)
{
    uint64_t off = (table & PTE_ADDR) + idx * 8ull;
    if (off + 8 > ram_size)
        return -EFAULT;
    memcpy(e, (const uint8_t *)ram + off, 8);
    return 0;
}

int pagetable_translate(const void *ram, uint64_t ram_size, uint64_t cr3, uint64_t va,
                        uint64_t *pa, uint64_t *rights)
{
    uint64_t table = cr3, e = 0, r = PTE_P | PTE_W | PTE_U;
    for (int level = 3; level >= 0; level--) {
        unsigned idx = (va >> (12 + 9 * level)) & 511;
        if (read_entry(ram, ram_size, table, idx, &e) < 0 || !(e & PTE_P))
            return -EFAULT;
        r &= e & (PTE_P | PTE_W | PTE_U);
        if (level == 1 && (e & PTE_PS)) {
            *pa = (e & PTE_ADDR & ~((1ull << 21) - 1)) | (va & ((1ull << 21) - 1));
            *rights = r;
            return 0;
        }
        table = e;
    }
    *pa = (e & PTE_ADDR) | (va & 0xfff);
    *rights = r;
    return 0;
}
