#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "vmm/hypercall.h"
#include "vmm/layout.h"
#include "vmm/pagetable.h"

#define RAM_SIZE (8u << 20)
#define REQ (AROM_LOAD_MIN + 0x1000u)    /* where tests put request structs (user RW) */
#define DATA (AROM_LOAD_MIN + 0x2000u)   /* where tests put strings */

static struct guest_mem gm;
static struct vmm_stats stats;
static struct hc_ctx ctx;
static int pipe_fds[2];

static int setup(void)
{
    gm.host = calloc(1, RAM_SIZE);
    gm.size = RAM_SIZE;
    gm.fd = -1;
    stats_init(&stats);
    uint64_t cr3;
    if (!gm.host || pipe2(pipe_fds, O_NONBLOCK) < 0 || pagetable_build(gm.host, RAM_SIZE, 2, &cr3) < 0)
        return -1;
    hypercall_init(&ctx, &gm, cr3, &stats, pipe_fds[1]);
    return 0;
}

static int teardown(void)
{
    free(gm.host);
    stats_destroy(&stats);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

static enum hc_action call(unsigned nr, uint64_t gpa, int *status)
{
    char err[160];
    int st = -1;
    enum hc_action a = hypercall_handle(&ctx, nr, gpa, status ? status : &st, err, sizeof err);
    if (a == HC_FATAL)
        CU_ASSERT(strlen(err) > 0);
    return a;
}

static void *at(uint64_t gpa)
{
    return gm.host + gpa;
}

static void test_puts(void)
{
    memcpy(at(DATA), "hello", 5);
    struct arom_hc_puts req = {.data = DATA, .len = 5};
    memcpy(at(REQ), &req, sizeof req);
    CU_ASSERT_EQUAL(call(AROM_HC_PUTS, REQ, NULL), HC_CONTINUE);
    memcpy(&req, at(REQ), sizeof req);
    CU_ASSERT_EQUAL(req.ret, 5);
    char out[16] = "";
    CU_ASSERT_EQUAL(read(pipe_fds[0], out, sizeof out), 5);
    CU_ASSERT_NSTRING_EQUAL(out, "hello", 5);
}

static void expect_puts_error(uint64_t data, uint64_t len, int64_t ret)
{
    struct arom_hc_puts req = {.data = data, .len = len};
    memcpy(at(REQ), &req, sizeof req);
    CU_ASSERT_EQUAL(call(AROM_HC_PUTS, REQ, NULL), HC_CONTINUE);
    memcpy(&req, at(REQ), sizeof req);
    CU_ASSERT_EQUAL(req.ret, ret);
    char out[16];
    CU_ASSERT_EQUAL(read(pipe_fds[0], out, sizeof out), -1);   /* nothing written */
}

static void test_puts_bad_pointers(void)
{
    uint64_t errors = stats.hypercall_errors;
    expect_puts_error(RAM_SIZE, 1, -AROM_EFAULT);               /* just past RAM */
    expect_puts_error(RAM_SIZE - 2, 3, -AROM_EFAULT);           /* straddles the end */
    expect_puts_error(~0ull - 1, 4, -AROM_EFAULT);              /* wraps around */
    expect_puts_error(DATA, AROM_PUTS_MAX + 1, -AROM_EINVAL);
    expect_puts_error(DATA, ~0ull, -AROM_EINVAL);
    CU_ASSERT_EQUAL(stats.hypercall_errors, errors + 5);
}

static void test_bad_request_address_is_fatal(void)
{
    CU_ASSERT_EQUAL(call(AROM_HC_PUTS, RAM_SIZE, NULL), HC_FATAL);
    CU_ASSERT_EQUAL(call(AROM_HC_PUTS, RAM_SIZE - 8, NULL), HC_FATAL);   /* struct straddles */
    CU_ASSERT_EQUAL(call(AROM_HC_PUTS, REQ + 4, NULL), HC_FATAL);        /* misaligned */
    CU_ASSERT_EQUAL(call(AROM_HC_MAX, REQ, NULL), HC_FATAL);
    CU_ASSERT_EQUAL(call(1000, REQ, NULL), HC_FATAL);
}

/* The host writes the answer into the request: a struct in memory the
 * payload may not write (boot info: read-only; system area: supervisor
 * only; NULL and guard pages: absent) must not be written by the host. */
static void test_request_in_protected_memory_is_fatal(void)
{
    static const uint64_t where[] = {
        0, AROM_BOOT_INFO_GPA, LAYOUT_GDT, LAYOUT_TSS, LAYOUT_IDT, LAYOUT_PT_BASE,
        AROM_STACK_AREA,                                   /* vCPU 0's guard page */
        AROM_STACK_AREA + 2 * AROM_STACK_STRIDE + 0x2000,  /* stack of a vCPU that does not exist */
        (1ull << 47) + REQ,                                /* non-canonical alias of REQ */
        (1ull << 48) + REQ,
    };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        uint8_t before[64], after[64];
        uint64_t off = where[i] < RAM_SIZE ? where[i] : REQ;
        memcpy(before, at(off), sizeof before);
        CU_ASSERT_EQUAL(call(AROM_HC_TIME, where[i], NULL), HC_FATAL);
        memcpy(after, at(off), sizeof after);
        CU_ASSERT_EQUAL(memcmp(before, after, sizeof before), 0);
    }
    /* A vCPU's own stack is fine. */
    CU_ASSERT_EQUAL(call(AROM_HC_TIME, AROM_STACK_AREA + AROM_PAGE_SIZE + 0x100, NULL), HC_CONTINUE);
}

/* Buffers are checked the same way: puts may read what the payload may read. */
static void test_buffers_checked_against_guest_rights(void)
{
    expect_puts_error(LAYOUT_GDT, 16, -AROM_EFAULT);                 /* supervisor only */
    expect_puts_error(LAYOUT_PT_BASE, 8, -AROM_EFAULT);
    expect_puts_error(0, 8, -AROM_EFAULT);                           /* NULL page */
    expect_puts_error(AROM_BOOT_INFO_GPA + 4090, 16, -AROM_EFAULT);  /* runs into the system area */
    expect_puts_error((1ull << 48) + DATA, 4, -AROM_EFAULT);         /* non-canonical alias */
    /* The boot info page is readable. */
    struct arom_hc_puts req = {.data = AROM_BOOT_INFO_GPA, .len = 4};
    memcpy(at(AROM_BOOT_INFO_GPA), "boot", 4);
    memcpy(at(REQ), &req, sizeof req);
    CU_ASSERT_EQUAL(call(AROM_HC_PUTS, REQ, NULL), HC_CONTINUE);
    memcpy(&req, at(REQ), sizeof req);
    CU_ASSERT_EQUAL(req.ret, 4);
    char out[8];
    CU_ASSERT_EQUAL(read(pipe_fds[0], out, sizeof out), 4);
}

static void test_exit_and_vcpu_done(void)
{
    struct arom_hc_exit req = {.status = 42};
    memcpy(at(REQ), &req, sizeof req);
    int status = 0;
    CU_ASSERT_EQUAL(call(AROM_HC_EXIT, REQ, &status), HC_VM_EXIT);
    CU_ASSERT_EQUAL(status, 42);
    req.status = -3;
    memcpy(at(REQ), &req, sizeof req);
    CU_ASSERT_EQUAL(call(AROM_HC_VCPU_DONE, REQ, &status), HC_VCPU_DONE);
    CU_ASSERT_EQUAL(status, -3);
}

static void test_time_monotonic(void)
{
    struct arom_hc_time t1 = {0}, t2 = {0};
    memcpy(at(REQ), &t1, sizeof t1);
    call(AROM_HC_TIME, REQ, NULL);
    memcpy(&t1, at(REQ), sizeof t1);
    call(AROM_HC_TIME, REQ, NULL);
    memcpy(&t2, at(REQ), sizeof t2);
    CU_ASSERT(t1.ns > 0);
    CU_ASSERT(t2.ns >= t1.ns);
    CU_ASSERT_EQUAL(t2.ret, 0);
}

static int64_t report(const char *key, uint64_t key_gpa, uint64_t key_len, double v)
{
    if (key)
        memcpy(at(key_gpa), key, strlen(key));
    struct arom_hc_report req = {.key = key_gpa, .key_len = key_len, .value = v};
    memcpy(at(REQ), &req, sizeof req);
    CU_ASSERT_EQUAL(call(AROM_HC_REPORT, REQ, NULL), HC_CONTINUE);
    memcpy(&req, at(REQ), sizeof req);
    return req.ret;
}

static void test_report(void)
{
    double v = 0;
    CU_ASSERT_EQUAL(report("ops.per_s", DATA, 9, 1234.5), 0);
    CU_ASSERT_EQUAL(stats_metric(&stats, "ops.per_s", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 1234.5, 1e-9);
    CU_ASSERT_EQUAL(report("ops.per_s", DATA, 9, 7), 0);           /* last value wins */
    CU_ASSERT_EQUAL(stats_metric(&stats, "ops.per_s", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 7, 1e-9);
    CU_ASSERT_EQUAL(report("bad key", DATA, 7, 1), -AROM_EINVAL);
    CU_ASSERT_EQUAL(report("q\"uote", DATA, 6, 1), -AROM_EINVAL);
    CU_ASSERT_EQUAL(report(NULL, DATA, 0, 1), -AROM_EINVAL);
    CU_ASSERT_EQUAL(report(NULL, DATA, AROM_REPORT_KEY_MAX + 1, 1), -AROM_EINVAL);
    CU_ASSERT_EQUAL(report(NULL, RAM_SIZE - 2, 4, 1), -AROM_EFAULT);
    CU_ASSERT_EQUAL(report(NULL, LAYOUT_GDT, 4, 1), -AROM_EFAULT);      /* supervisor only */
    CU_ASSERT_EQUAL(report("nan", DATA, 3, NAN), -AROM_EINVAL);
    CU_ASSERT_EQUAL(report("inf", DATA, 3, INFINITY), -AROM_EINVAL);
    CU_ASSERT_EQUAL(stats_metric(&stats, "nan", &v), -ENOENT);
}

static void test_report_table_full(void)
{
    char key[16];
    int64_t last = 0;
    for (int i = 0; i < STATS_MAX_METRICS + 5; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        last = report(key, DATA, (uint64_t)n, i);
        if (last < 0)
            break;
    }
    CU_ASSERT_EQUAL(last, -AROM_ENOSPC);
    CU_ASSERT_EQUAL(stats.nmetrics, STATS_MAX_METRICS);
}

static uint64_t hint_calls;
static int64_t fake_hint(struct hc_call *c, void *r)
{
    struct arom_hc_hint *req = r;
    int64_t rc = hc_check_page_range(c, req->addr, req->len);
    if (rc < 0)
        return rc;
    hint_calls++;
    return (int64_t)(req->len / AROM_PAGE_SIZE);
}

static int64_t hint(uint64_t addr, uint64_t len, uint32_t kind)
{
    struct arom_hc_hint req = {.addr = addr, .len = len, .kind = kind};
    memcpy(at(REQ), &req, sizeof req);
    CU_ASSERT_EQUAL(call(AROM_HC_HINT, REQ, NULL), HC_CONTINUE);
    memcpy(&req, at(REQ), sizeof req);
    return req.ret;
}

static void test_hint_validation(void)
{
    const uint64_t a = AROM_LOAD_MIN + 0x10000;
    CU_ASSERT_EQUAL(hint(a, 0x4000, AROM_HINT_READ_MOSTLY), -AROM_ENOSYS);
    CU_ASSERT_EQUAL(hypercall_register(&ctx, AROM_HC_HINT, fake_hint, NULL), 0);
    hint_calls = 0;
    CU_ASSERT_EQUAL(hint(a, 0x4000, AROM_HINT_READ_MOSTLY), 4);
    CU_ASSERT_EQUAL(hint(a + 1, 0x4000, AROM_HINT_READ_MOSTLY), -AROM_EINVAL);
    CU_ASSERT_EQUAL(hint(a, 0x4001, AROM_HINT_READ_MOSTLY), -AROM_EINVAL);
    CU_ASSERT_EQUAL(hint(a, 0, AROM_HINT_READ_MOSTLY), -AROM_EINVAL);
    CU_ASSERT_EQUAL(hint(RAM_SIZE - 0x1000, 0x2000, AROM_HINT_READ_MOSTLY), -AROM_EFAULT);
    CU_ASSERT_EQUAL(hint(0xfffffffffffff000ull, 0x2000, AROM_HINT_READ_MOSTLY), -AROM_EFAULT);
    CU_ASSERT_EQUAL(hint(LAYOUT_PT_BASE, 0x1000, AROM_HINT_READ_MOSTLY), -AROM_EFAULT);  /* supervisor */
    CU_ASSERT_EQUAL(hint_calls, 1);             /* invalid ranges never reach tiering */
    CU_ASSERT_EQUAL(hypercall_register(&ctx, AROM_HC_HINT, NULL, NULL), 0);
    CU_ASSERT_EQUAL(hypercall_register(&ctx, AROM_HC_MAX, fake_hint, NULL), -EINVAL);
}

static void test_tier_stats_without_tiering(void)
{
    struct arom_hc_tier_stats req = {0};
    memcpy(at(REQ), &req, sizeof req);
    CU_ASSERT_EQUAL(call(AROM_HC_TIER_STATS, REQ, NULL), HC_CONTINUE);
    memcpy(&req, at(REQ), sizeof req);
    CU_ASSERT_EQUAL(req.ret, -AROM_ENOSYS);
}

int register_hypercall_tests(void)
{
    CU_pSuite s = CU_add_suite("hypercall", setup, teardown);
    if (!s)
        return CU_get_error();
    if (!CU_add_test(s, "puts writes the console", test_puts) ||
        !CU_add_test(s, "puts rejects bad pointers and lengths", test_puts_bad_pointers) ||
        !CU_add_test(s, "bad request address is fatal", test_bad_request_address_is_fatal) ||
        !CU_add_test(s, "request in memory the payload may not write is fatal",
                     test_request_in_protected_memory_is_fatal) ||
        !CU_add_test(s, "buffers checked against the guest's page-table rights",
                     test_buffers_checked_against_guest_rights) ||
        !CU_add_test(s, "exit and vcpu_done", test_exit_and_vcpu_done) ||
        !CU_add_test(s, "time is monotonic", test_time_monotonic) ||
        !CU_add_test(s, "report records metrics and validates keys", test_report) ||
        !CU_add_test(s, "report table full", test_report_table_full) ||
        !CU_add_test(s, "hint validates ranges", test_hint_validation) ||
        !CU_add_test(s, "tier_stats without tiering", test_tier_stats_without_tiering))
        return CU_get_error();
    return CUE_SUCCESS;
}
