/* Host-side layout of the guest's system area (below AROM_STACK_AREA), the
 * part of the memory map the payload never touches. See include/arom/abi.h. */
#ifndef AROM_LAYOUT_H
#define AROM_LAYOUT_H

#include "arom/abi.h"

#define LAYOUT_GDT          0x2000ull   /* 5 fixed descriptors + one TSS each vCPU */
#define LAYOUT_TSS          0x3000ull   /* one 128-byte TSS slot each vCPU */
#define LAYOUT_TSS_SLOT     128ull
#define LAYOUT_IDT          0x4000ull   /* 256 x 16-byte gates */
#define LAYOUT_STUBS        0x5000ull   /* 32 exception stubs x 16 bytes */
#define LAYOUT_STUB_SIZE    16ull
#define LAYOUT_IOBITMAP     0x6000ull   /* 8 KiB of zeros + 0xff: all ports allowed */
#define LAYOUT_IOBITMAP_LEN 0x2001ull
#define LAYOUT_EXC_STACKS   0xc000ull   /* one 512-byte CPL0 stack each vCPU */
#define LAYOUT_EXC_STACK    0x200ull
#define LAYOUT_PT_BASE      0x10000ull  /* page tables, up to AROM_STACK_AREA */
#define LAYOUT_PT_END       AROM_STACK_AREA
#define LAYOUT_SYSTEM_END   AROM_LOAD_MIN /* everything below is pinned to DRAM */

#define LAYOUT_MIN_RAM      (8ull << 20)
#define LAYOUT_MAX_RAM      (64ull << 30)
#define LAYOUT_RAM_ALIGN    (2ull << 20) /* RAM above 4 MiB is mapped with 2 MiB pages */

/* GDT selectors */
#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UCODE   0x18
#define SEL_UDATA   0x20
#define SEL_TSS(i)  (0x28 + 16 * (i))

static inline unsigned long long layout_stack_top(unsigned vcpu)
{
    return AROM_STACK_AREA + vcpu * AROM_STACK_STRIDE + AROM_PAGE_SIZE + AROM_STACK_SIZE;
}

#endif
