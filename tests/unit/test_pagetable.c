#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/unit/suites.h"
#include "vmm/layout.h"
#include "vmm/pagetable.h"

static void *ram_of(uint64_t size)
{
    /* Page tables only touch the low MiB; calloc of the whole size is lazy. */
    return calloc(1, size);
}

static void check(void *ram, uint64_t size, uint64_t cr3, uint64_t va, int present, uint64_t rights)
{
    uint64_t pa = 0, r = 0;
    int rc = pagetable_translate(ram, size, cr3, va, &pa, &r);
    if (!present) {
        CU_ASSERT_EQUAL(rc, -EFAULT);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(pa, va);                /* identity mapping */
    CU_ASSERT_EQUAL(r, rights);
}

static void test_low_area_rights(void)
{
    uint64_t size = 64ull << 20, cr3 = 0;
    void *ram = ram_of(size);
    CU_ASSERT_EQUAL_FATAL(pagetable_build(ram, size, 2, &cr3), 0);
    CU_ASSERT_EQUAL(cr3, LAYOUT_PT_BASE);
    check(ram, size, cr3, 0, 0, 0);                                  /* NULL page */
    check(ram, size, cr3, 0xfff, 0, 0);
    check(ram, size, cr3, AROM_BOOT_INFO_GPA + 8, 1, PTE_P | PTE_U); /* read-only to the user */
    check(ram, size, cr3, LAYOUT_GDT, 1, PTE_P | PTE_W);             /* supervisor */
    check(ram, size, cr3, LAYOUT_PT_BASE, 1, PTE_P | PTE_W);
    free(ram);
}

static void test_stacks_and_guards(void)
{
    uint64_t size = 16ull << 20, cr3 = 0;
    void *ram = ram_of(size);
    const unsigned vcpus = 3;
    CU_ASSERT_EQUAL_FATAL(pagetable_build(ram, size, vcpus, &cr3), 0);
    for (unsigned i = 0; i < vcpus; i++) {
        uint64_t top = layout_stack_top(i);
        check(ram, size, cr3, top - 8, 1, PTE_P | PTE_W | PTE_U);
        check(ram, size, cr3, top - AROM_STACK_SIZE, 1, PTE_P | PTE_W | PTE_U);
        check(ram, size, cr3, top - AROM_STACK_SIZE - 8, 0, 0);      /* guard page */
    }
    check(ram, size, cr3, layout_stack_top(vcpus) - 8, 0, 0);        /* unused slot */
    check(ram, size, cr3, AROM_LOAD_MIN - 8, 0, 0);
    free(ram);
}

static void test_high_ram_2m_pages(void)
{
    uint64_t size = 3ull << 30, cr3 = 0;    /* spans several page directories */
    void *ram = ram_of(size);
    CU_ASSERT_EQUAL_FATAL(pagetable_build(ram, size, 1, &cr3), 0);
    check(ram, size, cr3, AROM_LOAD_MIN, 1, PTE_P | PTE_W | PTE_U);
    check(ram, size, cr3, (1ull << 30) + 0x12345, 1, PTE_P | PTE_W | PTE_U);
    check(ram, size, cr3, size - 1, 1, PTE_P | PTE_W | PTE_U);
    check(ram, size, cr3, size, 0, 0);                               /* past RAM */
    check(ram, size, cr3, 1ull << 47, 0, 0);
    free(ram);
}

static void test_bad_sizes(void)
{
    uint64_t cr3;
    void *ram = ram_of(LAYOUT_MIN_RAM);
    CU_ASSERT_EQUAL(pagetable_build(ram, LAYOUT_MIN_RAM - LAYOUT_RAM_ALIGN, 1, &cr3), -EINVAL);
    CU_ASSERT_EQUAL(pagetable_build(ram, LAYOUT_MIN_RAM + 4096, 1, &cr3), -EINVAL);
    CU_ASSERT_EQUAL(pagetable_build(ram, LAYOUT_MIN_RAM, 0, &cr3), -EINVAL);
    CU_ASSERT_EQUAL(pagetable_build(ram, LAYOUT_MIN_RAM, AROM_MAX_VCPUS + 1, &cr3), -EINVAL);
    CU_ASSERT_EQUAL(pagetable_build(ram, LAYOUT_MAX_RAM + LAYOUT_RAM_ALIGN, 1, &cr3), -EINVAL);
    CU_ASSERT_EQUAL(pagetable_build(ram, LAYOUT_MIN_RAM, AROM_MAX_VCPUS, &cr3), 0);
    free(ram);
}

static void test_largest_layout_fits(void)
{
    /* The biggest RAM and vCPU count must fit the page-table area. */
    uint64_t cr3;
    void *ram = ram_of(1ull << 20);         /* builder writes below 1 MiB only */
    int rc = pagetable_build(ram, LAYOUT_MAX_RAM, AROM_MAX_VCPUS, &cr3);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(layout_stack_top(AROM_MAX_VCPUS - 1) <= AROM_LOAD_MIN);
    free(ram);
}

int register_pagetable_tests(void)
{
    static const struct unit_test tests[] = {
        {"low area rights", test_low_area_rights},
        {"stacks and guard pages", test_stacks_and_guards},
        {"RAM above 4 MiB in 2 MiB pages", test_high_ram_2m_pages},
        {"bad sizes rejected", test_bad_sizes},
        {"largest layout fits", test_largest_layout_fits},
    };
    return ADD_SUITE("pagetable", tests);
}
