/* A Linux guest's break and mmap (vmm/linux_mm.c) over a fake guest RAM. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "tests/unit/suites.h"
#include "vmm/linux.h"

#define MiB (1ull << 20)
#define RAM (64 * MiB)

static struct guest_mem mem;

static void setup(struct linux_mm *mm)
{
    mem.size = RAM;
    mem.host = calloc(1, RAM);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem.host);
    CU_ASSERT_EQUAL_FATAL(linux_mm_init(mm, 0x400000 + 12345, RAM), 0);
}

static void test_layout(void)
{
    struct linux_mm mm;
    setup(&mm);
    CU_ASSERT_EQUAL(mm.brk_start, 0x404000);                    /* page above the image */
    CU_ASSERT_EQUAL(mm.stack_top, RAM);
    CU_ASSERT_EQUAL(mm.stack_lo, RAM - LINUX_STACK_SIZE);
    CU_ASSERT(mm.brk_start < mm.brk_end && mm.brk_end == mm.mmap_lo && mm.mmap_next == mm.stack_lo);
    CU_ASSERT_EQUAL(linux_mm_init(&mm, 0x400000, 16 * MiB), -ENOMEM);   /* no room for the stack and a heap */
    free(mem.host);
}

static void test_brk(void)
{
    struct linux_mm mm;
    setup(&mm);
    uint8_t *ram = mem.host;
    CU_ASSERT_EQUAL(linux_brk(&mm, &mem, 0), mm.brk_start);     /* query */
    ram[mm.brk_start] = 0x77;
    CU_ASSERT_EQUAL(linux_brk(&mm, &mem, mm.brk_start + 100000), mm.brk_start + 100000);
    CU_ASSERT_EQUAL(ram[mm.brk_start], 0);                       /* grown memory is zeroed */
    CU_ASSERT_EQUAL(linux_brk(&mm, &mem, mm.brk_start + 50), mm.brk_start + 50);
    CU_ASSERT_EQUAL(linux_brk(&mm, &mem, mm.brk_end + 1), mm.brk_start + 50);    /* refused: the old break */
    CU_ASSERT_EQUAL(linux_brk(&mm, &mem, mm.brk_start - 1), mm.brk_start + 50);
    free(mem.host);
}

static void test_mmap(void)
{
    struct linux_mm mm;
    setup(&mm);
    uint8_t *ram = mem.host;
    int64_t a = linux_mmap_anon(&mm, &mem, 0, 5000, MAP_PRIVATE | MAP_ANONYMOUS);
    CU_ASSERT_EQUAL(a, (int64_t)(mm.stack_lo - 8192));          /* rounded to pages, below the stack */
    int64_t b = linux_mmap_anon(&mm, &mem, 0, 4096, MAP_PRIVATE | MAP_ANONYMOUS);
    CU_ASSERT_EQUAL(b, a - 4096);
    ram[a] = 9;
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, (uint64_t)a, 4096, MAP_FIXED | MAP_ANONYMOUS), a);
    CU_ASSERT_EQUAL(ram[a], 0);                                  /* MAP_FIXED inside: zeroed again */
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, mm.brk_start, 4096, MAP_FIXED | MAP_ANONYMOUS), -ENOMEM);
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, 0, 0, MAP_ANONYMOUS), -EINVAL);
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, 0, RAM, MAP_ANONYMOUS), -ENOMEM);
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, (uint64_t)b, 4096), 0);  /* the lowest: given back */
    CU_ASSERT_EQUAL(mm.mmap_next, (uint64_t)a);
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, (uint64_t)a + 1, 4096), -EINVAL);
    free(mem.host);
}

int register_linux_mm_tests(void)
{
    static const struct unit_test tests[] = {
        {"layout: image, break, mmap, stack", test_layout},
        {"brk: grows zeroed, shrinks, refuses outside", test_brk},
        {"mmap: downwards, MAP_FIXED inside, exhaustion, munmap of the lowest", test_mmap},
    };
    return ADD_SUITE("linux mm", tests);
}
