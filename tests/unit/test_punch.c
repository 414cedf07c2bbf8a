#include <CUnit/CUnit.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "tiering/punch.h"

#define NPAGES 64

/* A memfd of NPAGES written pages; resident pages after the queue acts. */
static int make_fd(void)
{
    int fd = memfd_create("punch-test", 0);
    static char page[4096];
    memset(page, 0x5a, sizeof page);
    for (int i = 0; i < NPAGES; i++)
        CU_ASSERT_EQUAL(write(fd, page, sizeof page), (ssize_t)sizeof page);
    return fd;
}

static uint64_t resident(int fd)
{
    struct stat st;
    fstat(fd, &st);
    return (uint64_t)st.st_blocks * 512 / 4096;
}

static void test_keeps_the_most_recent(void)
{
    int fd = make_fd();
    struct punch_queue q;
    CU_ASSERT_EQUAL_FATAL(punch_init(&q, fd, NPAGES, 8), 0);
    punch_defer(&q, 0, 4);
    punch_defer(&q, 10, 4);
    CU_ASSERT_EQUAL(q.pages, 8);
    CU_ASSERT_EQUAL(resident(fd), NPAGES);          /* nothing punched yet */
    punch_defer(&q, 20, 2);                         /* over 8: the oldest run goes */
    CU_ASSERT_EQUAL(q.pages, 6);
    CU_ASSERT_EQUAL(resident(fd), NPAGES - 4);
    CU_ASSERT(!punch_take(&q, 0));                  /* punched: must be copied back */
    CU_ASSERT(punch_take(&q, 11));                  /* kept: no copy */
    CU_ASSERT(!punch_take(&q, 11));                 /* once */
    CU_ASSERT_EQUAL(q.pages, 5);
    CU_ASSERT_EQUAL(q.hits, 1);
    /* The page taken back is in use again: punching its run spares it. */
    punch_defer(&q, 30, 8);
    CU_ASSERT_EQUAL(resident(fd), NPAGES - 4 - 3 - 2);     /* 10,12,13 and 20,21 punched; 11 kept */
    CU_ASSERT_EQUAL(q.pages, 8);
    punch_forget(&q, 31);                           /* its frame changed: punched now */
    CU_ASSERT(!punch_take(&q, 31));
    CU_ASSERT_EQUAL(q.pages, 7);
    punch_fini(&q);
    close(fd);
}

static void test_no_reserve_punches_at_once(void)
{
    int fd = make_fd();
    struct punch_queue q;
    CU_ASSERT_EQUAL_FATAL(punch_init(&q, fd, NPAGES, 0), 0);
    punch_defer(&q, 0, 16);
    CU_ASSERT_EQUAL(resident(fd), NPAGES - 16);
    CU_ASSERT(!punch_take(&q, 3));
    punch_fini(&q);
    CU_ASSERT_EQUAL_FATAL(punch_init(&q, fd, NPAGES, 8), 0);
    punch_defer(&q, 32, 16);                        /* larger than the reserve */
    CU_ASSERT_EQUAL(resident(fd), NPAGES - 32);
    CU_ASSERT_EQUAL(q.pages, 0);
    punch_fini(&q);
    close(fd);
}

int register_punch_tests(void)
{
    static const struct unit_test tests[] = {
        {"keeps the most recent demoted pages, punches the oldest", test_keeps_the_most_recent},
        {"no reserve, or a run larger than it: punched at once", test_no_reserve_punches_at_once},
    };
    return ADD_SUITE("punch", tests);
}
