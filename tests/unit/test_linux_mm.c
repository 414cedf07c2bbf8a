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

static void teardown(struct linux_mm *mm)
{
    linux_mm_fini(mm);
    free(mem.host);
}

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
    CU_ASSERT(mm.brk_start < mm.brk_end && mm.brk_end == mm.mmap_lo);
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), 0);
    CU_ASSERT_EQUAL(mm.free_bytes, mm.stack_lo - mm.mmap_lo);
    struct linux_mm small;
    CU_ASSERT_EQUAL(linux_mm_init(&small, 0x400000, 16 * MiB), -ENOMEM);   /* no room for the stack and a heap */
    teardown(&mm);
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
    teardown(&mm);
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
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, (uint64_t)a + 1, 4096), -EINVAL);
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), 3 * 4096);
    teardown(&mm);
}

/* Unmapping in any order gives every byte back; the extents merge. */
static void test_munmap_any(void)
{
    struct linux_mm mm;
    setup(&mm);
    uint64_t m[8];
    for (int i = 0; i < 8; i++)
        m[i] = (uint64_t)linux_mmap_anon(&mm, &mem, 0, (i + 1) * 65536, MAP_ANONYMOUS);
    uint64_t all = linux_mm_mapped(&mm);
    CU_ASSERT_EQUAL(all, 36 * 65536);
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, m[3], 4 * 65536), 0);    /* a middle one */
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), all - 4 * 65536);
    CU_ASSERT_EQUAL(mm.nfree, 2);
    int64_t again = linux_mmap_anon(&mm, &mem, 0, 4 * 65536, MAP_ANONYMOUS);
    CU_ASSERT_EQUAL(again, (int64_t)m[3]);                           /* its hole is reused */
    CU_ASSERT_EQUAL(mm.nfree, 1);
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, m[5] + 4096, 4096), 0);  /* one page inside a mapping */
    CU_ASSERT_EQUAL(mm.nfree, 2);
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, m[5] + 4096, 4096), 0);  /* twice: nothing more */
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), all - 4096);
    int order[8] = {6, 0, 4, 2, 7, 1, 5, 3};
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, m[order[i]], (order[i] + 1) * 65536), 0);
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), 0);
    CU_ASSERT_EQUAL(mm.nfree, 1);                                    /* merged into one again */
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, mm.stack_lo, 4096), 0);  /* the stack: not the area's */
    CU_ASSERT_EQUAL(linux_munmap(&mm, &mem, ~0ull & ~4095ull, 8192), -EINVAL);
    teardown(&mm);
}

/* Many mappings (thread stacks, a library's segments) come and go: nothing leaks. */
static void test_churn(void)
{
    struct linux_mm mm;
    setup(&mm);
    uint64_t live[64] = {0}, len[64] = {0};
    srand(7);
    for (int round = 0; round < 20000; round++) {
        int i = rand() % 64;
        if (live[i]) {
            CU_ASSERT_EQUAL_FATAL(linux_munmap(&mm, &mem, live[i], len[i]), 0);
            live[i] = 0;
        } else {
            len[i] = (uint64_t)(rand() % 64 + 1) * 4096;
            int64_t a = linux_mmap_anon(&mm, &mem, 0, len[i], MAP_ANONYMOUS);
            CU_ASSERT_FATAL(a > 0);
            for (int j = 0; j < 64; j++)            /* never overlapping a live one */
                CU_ASSERT_FATAL(!live[j] || live[j] + len[j] <= (uint64_t)a || (uint64_t)a + len[i] <= live[j]);
            live[i] = (uint64_t)a;
        }
    }
    for (int i = 0; i < 64; i++)
        if (live[i])
            linux_munmap(&mm, &mem, live[i], len[i]);
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), 0);
    CU_ASSERT_EQUAL(mm.nfree, 1);
    teardown(&mm);
}

static void test_fixed_and_hints(void)
{
    struct linux_mm mm;
    setup(&mm);
    uint64_t at = mm.mmap_lo + 64 * 4096;
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, at, 8192, MAP_ANONYMOUS), (int64_t)at);    /* a free hint is taken */
    CU_ASSERT_NOT_EQUAL(linux_mmap_anon(&mm, &mem, at, 8192, MAP_ANONYMOUS), (int64_t)at); /* a used one is not */
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, at + 4096, 8192, MAP_FIXED_NOREPLACE | MAP_ANONYMOUS), -EEXIST);
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, at + 4096, 8192, MAP_FIXED | MAP_ANONYMOUS), (int64_t)at + 4096);
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), 3 * 4096 + 8192);           /* overlapping: counted once */
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, at + 1, 4096, MAP_FIXED | MAP_ANONYMOUS), -EINVAL);
    CU_ASSERT_EQUAL(linux_mmap_anon(&mm, &mem, mm.stack_lo - 4096, 8192, MAP_FIXED | MAP_ANONYMOUS), -ENOMEM);
    teardown(&mm);
}

static void test_mremap(void)
{
    struct linux_mm mm;
    setup(&mm);
    uint8_t *ram = mem.host;
    int64_t a = linux_mmap_anon(&mm, &mem, 0, 8192, MAP_ANONYMOUS);
    memset(ram + a, 0x5a, 8192);
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, (uint64_t)a, 8192, 4096, 0, 0), a);          /* shrink in place */
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), 4096);
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, (uint64_t)a, 4096, 12288, 0, 0), -ENOMEM);   /* past the area's top */
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, (uint64_t)a, 4096, 8192, 0, 0), a);          /* grow into the free top */
    CU_ASSERT_EQUAL(ram[a + 4095], 0x5a);
    CU_ASSERT_EQUAL(ram[a + 4096], 0);                                                  /* grown part zeroed */
    int64_t b = linux_mmap_anon(&mm, &mem, 0, 4096, MAP_ANONYMOUS);                      /* below a: a cannot grow down */
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, (uint64_t)b, 4096, 8192, 0, 0), -ENOMEM);    /* blocked, no MAYMOVE */
    ram[b] = 0x33;
    int64_t c = linux_mremap(&mm, &mem, (uint64_t)b, 4096, 1 << 20, MREMAP_MAYMOVE, 0);
    CU_ASSERT(c > 0 && c != b);
    CU_ASSERT_EQUAL(ram[c], 0x33);                                                      /* moved with its data */
    CU_ASSERT_EQUAL(linux_mm_mapped(&mm), 8192 + (1 << 20));                          /* the old range given back */
    uint64_t d = mm.mmap_lo;
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, (uint64_t)c, 1 << 20, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, d), (int64_t)d);
    CU_ASSERT_EQUAL(ram[d], 0x33);
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, d + 4096, 4096, 8192, MREMAP_MAYMOVE, 0), -EFAULT);  /* not mapped */
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, d, 4096, 8192, MREMAP_FIXED, d + 8192), -EINVAL);
    CU_ASSERT_EQUAL(linux_mremap(&mm, &mem, d, 4096, 0, 0, 0), -EINVAL);
    teardown(&mm);
}

/* Zeroing stores only into pages that are not zero already: the zero
 * pages are made read-only, so a store there would crash the test. */
static void test_zero_skips_zero_pages(void)
{
    struct guest_mem m = {.size = 4 * 4096};
    m.host = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(m.host != MAP_FAILED);
    uint8_t *ram = m.host;
    ram[4096 + 17] = 1;
    ram[3 * 4096] = 2;
    CU_ASSERT_EQUAL_FATAL(mprotect(ram, 4096, PROT_READ), 0);
    CU_ASSERT_EQUAL_FATAL(mprotect(ram + 2 * 4096, 4096, PROT_READ), 0);
    linux_mm_zero(&m, 0, 3 * 4096 + 100);       /* the last page only in part */
    CU_ASSERT_EQUAL(ram[4096 + 17], 0);
    CU_ASSERT_EQUAL(ram[3 * 4096], 0);
    munmap(m.host, m.size);
}

int register_linux_mm_tests(void)
{
    static const struct unit_test tests[] = {
        {"layout: image, break, mmap, stack", test_layout},
        {"brk: grows zeroed, shrinks, refuses outside", test_brk},
        {"mmap: downwards, MAP_FIXED inside, exhaustion", test_mmap},
        {"munmap: any range, in any order, merges back to one extent", test_munmap_any},
        {"mmap/munmap churn: no overlap, nothing leaks", test_churn},
        {"mmap: hints, MAP_FIXED over a mapping, MAP_FIXED_NOREPLACE", test_fixed_and_hints},
        {"mremap: shrink, grow in place, move, fixed, refusals", test_mremap},
        {"zeroing skips zero pages", test_zero_skips_zero_pages},
    };
    return ADD_SUITE("linux mm", tests);
}
