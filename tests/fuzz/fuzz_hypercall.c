/* libFuzzer target: the hypercall dispatcher (vmm/hypercall.c) over a fake
 * guest RAM, with the page tables the VMM really builds (vmm/pagetable.c)
 * and the checked translation it really uses (vmm/guest_mem.c).
 *
 * The input is a program for a pretend guest: write bytes, addresses or
 * 64-bit values into memory the payload may write (its vCPU stacks and the
 * RAM from AROM_LOAD_MIN up), build request structs anywhere (pointing into
 * the boot info page, the supervisor-only system area, guard pages, past the
 * end of RAM, non-canonical addresses...), make hypercalls with any number
 * and request address, and probe hc_guest_ptr() directly. Operations,
 * each led by a byte (mod 6; bytes past the end of the input read as 0;
 * at most MAX_OPS):
 *   0 write bytes     [place][len:1][bytes]
 *   1 write address   [place][addr]
 *   2 write u64       [place][u64:8]
 *   3 call            [call][addr]                 on whatever is there
 *   4 request + call  [call][addr][fill:1][fields] fields: build_request()
 *   5 probe           [addr][len][write:1]         hc_guest_ptr() vs the model
 * (place, addr, len, call: take_place, take_addr, take_len, take_call).
 * tests/fuzz/make-seeds.py writes the seeds in this encoding.
 *
 * Fake RAM: 8 MiB of zeroed memory (a memfd rather than calloc, so that it
 * can be mapped twice). The product sees a read-only mapping; only during
 * a call, and only when the payload could write the whole request struct,
 * do the struct's pages become writable. Any other host write into guest
 * RAM faults on the spot, and libFuzzer reports it with the writer's stack.
 * The harness writes through a second, writable mapping.
 *
 * Invariants (abort() on violation, so libFuzzer reports the input):
 *  - the host writes guest memory only inside the request struct, and only
 *    when the payload itself could write every byte of it: the read-only
 *    view catches any other write as it happens; around each call the
 *    bytes next to the request are compared, and the boot info page and
 *    the populated system area (NULL page, GDT/TSS/IDT area, page tables)
 *    against their snapshot; all of [0, AROM_LOAD_MIN) but the vCPU
 *    stacks is compared every 256 inputs and at exit;
 *  - HC_FATAL exactly when the request struct is unusable (unknown call,
 *    misaligned, not all payload-writable), always with a non-empty err;
 *  - a handled call's ret is >= 0 or one of -AROM_E*, and is exactly what
 *    the ABI (docs/ABI.md) says for that request: checked against an
 *    independent model of the memory map, not against pagetable.c;
 *  - hc_guest_ptr() answers a range iff the model says CPL3 may access it,
 *    with the identity-mapped host pointer;
 *  - the counters move as documented (one call counted, errors counted),
 *    and the stats JSON (stats_to_json) stays valid with every metric.
 * State is reset before every input (dirty pages, stats, fake tiering), so
 * a run is deterministic per input. puts goes to /dev/null. */
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arom/abi.h"
#include "vmm/hypercall.h"
#include "vmm/layout.h"
#include "vmm/pagetable.h"

#define FUZZ_TARGET "fuzz_hypercall"
#include "tests/fuzz/violation.h"

#define RAM_SIZE (8ull << 20)
#define VCPUS 2u
#define PAGE AROM_PAGE_SIZE
#define NPAGES (RAM_SIZE / PAGE)
#define MAX_OPS 512

#define STACK_LO(v) (AROM_STACK_AREA + (v) * AROM_STACK_STRIDE + PAGE)
#define STACK_HI(v) (STACK_LO(v) + AROM_STACK_SIZE)

enum { R = 1, W = 2 };

static bool inited;
static uint8_t *gview;      /* what the product sees: read-only but for the request */
static uint8_t *hview;      /* the harness's writable view of the same memory */
static uint8_t *pristine;   /* [0, AROM_LOAD_MIN) after set-up */
static uint64_t live_end;   /* end of the populated part of the system area */
static unsigned long inputs;
static struct guest_mem gm;
static uint64_t cr3;
static struct vmm_stats stats;
static struct hc_ctx ctx_tiering;   /* all eight calls bound (tiering on) */
static struct hc_ctx ctx_core;      /* the core calls only (--ltram off) */
static int devnull = -1;
static uint8_t dirty[NPAGES];
static uint64_t last_ns;
static bool trace;          /* AROM_FUZZ_TRACE set: print every call (debugging reproducers) */

/* The fake tiering engine: a placement bit per page and the counters. */
struct fake_tiering {
    uint8_t ltram[NPAGES];
    uint64_t hints, demotions, promotions;
};
static struct fake_tiering fake;

#define CHECK(cond, ...) do { if (!(cond)) violation(__VA_ARGS__); } while (0)

/* ---- the memory map of docs/ABI.md, independent of vmm/pagetable.c ---- */

struct region { uint64_t lo, hi; int rights; };
static const struct region map[] = {
    {AROM_BOOT_INFO_GPA, AROM_BOOT_INFO_GPA + PAGE, R},
    {STACK_LO(0), STACK_HI(0), R | W},
    {STACK_LO(1), STACK_HI(1), R | W},
    {AROM_LOAD_MIN, RAM_SIZE, R | W},
};
#define NREGIONS (sizeof map / sizeof map[0])

/* May CPL3 access every byte of [addr, addr+len)? The accessible regions
 * are separated by inaccessible pages, so the range must lie in one. */
static bool model_ok(uint64_t addr, uint64_t len, bool write)
{
    uint64_t end;
    if (len == 0)
        return true;
    if (__builtin_add_overflow(addr, len, &end))
        return false;
    int want = R | (write ? W : 0);
    for (size_t i = 0; i < NREGIONS; i++)
        if (addr >= map[i].lo && end <= map[i].hi)
            return (map[i].rights & want) == want;
    return false;
}


/* ---- fake tiering handlers: validate exactly as vmm/hc_tiering.c ---- */

/* What a real handler relies on once hc_check_page_range() said 0. */
static void check_validated_range(const struct hc_call *call, uint64_t addr, uint64_t len)
{
    CHECK(model_ok(addr, len, false), "hc_check_page_range accepted [0x%llx, +0x%llx) that CPL3 may not read",
          (unsigned long long)addr, (unsigned long long)len);
    const volatile uint8_t *p = hc_guest_ptr(call, addr, len, false);
    CHECK(p == gview + addr, "hc_guest_ptr(0x%llx, 0x%llx) = %p after a successful range check, want %p",
          (unsigned long long)addr, (unsigned long long)len, (void *)p, (void *)(gview + addr));
    (void)p[0];
    (void)p[len - 1];
}

static int64_t fake_hint(struct hc_call *call, void *r)
{
    struct arom_hc_hint *req = r;
    CHECK(call->opaque == &fake, "hint handler got opaque %p", call->opaque);
    int64_t rc = hc_check_page_range(call, req->addr, req->len);
    if (rc < 0)
        return rc;
    check_validated_range(call, req->addr, req->len);
    uint64_t first = req->addr / PAGE, n = req->len / PAGE;
    CHECK(first < NPAGES && n <= NPAGES - first, "hint range outside RAM reached tiering");
    switch (req->kind) {
    case AROM_HINT_READ_MOSTLY:
    case AROM_HINT_DEMOTE:
        for (uint64_t p = first; p < first + n; p++)
            fake.demotions += !fake.ltram[p], fake.ltram[p] = 1;
        break;
    case AROM_HINT_PIN_DRAM:
        for (uint64_t p = first; p < first + n; p++)
            fake.promotions += fake.ltram[p], fake.ltram[p] = 0;
        break;
    case AROM_HINT_UNPIN:
    case AROM_HINT_WP_PROBE:
        break;
    default:
        return -AROM_EINVAL;
    }
    fake.hints++;
    return (int64_t)n;
}

static void fake_counters(struct arom_hc_tier_stats *c)
{
    uint64_t lt = 0;
    for (uint64_t p = 0; p < NPAGES; p++)
        lt += fake.ltram[p];
    *c = (struct arom_hc_tier_stats){
        .dram_pages = NPAGES - lt, .ltram_pages = lt, .promotions = fake.promotions,
        .demotions = fake.demotions, .dram_resident_pages = NPAGES - lt,
        .dram_budget_pages = NPAGES / 4, .epochs = fake.hints,
    };
}

static int64_t fake_tier_stats(struct hc_call *call, void *r)
{
    CHECK(call->opaque == &fake, "tier_stats handler got opaque %p", call->opaque);
    fake_counters(r);
    return 0;
}

static uint64_t fake_ltram_in(uint64_t first, uint64_t n)
{
    uint64_t lt = 0;
    for (uint64_t p = first; p < first + n && p < NPAGES; p++)
        lt += fake.ltram[p];
    return lt;
}

static int64_t fake_tier_query(struct hc_call *call, void *r)
{
    struct arom_hc_tier_query *req = r;
    CHECK(call->opaque == &fake, "tier_query handler got opaque %p", call->opaque);
    int64_t rc = hc_check_page_range(call, req->addr, req->len);
    if (rc == 0) {
        check_validated_range(call, req->addr, req->len);
        uint64_t n = req->len / PAGE;
        req->ltram_pages = fake_ltram_in(req->addr / PAGE, n);
        req->dram_pages = n - req->ltram_pages;
    }
    return rc;
}

/* ---- set-up and reset ---- */

static void final_check(void);

static void die(const char *what)
{
    perror(what);
    abort();
}

static void setup(void)
{
    int fd = memfd_create("arom-fuzz-ram", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)RAM_SIZE) < 0)
        die("fuzz_hypercall: memfd");
    /* [guard][RAM][guard]: reads past either end fault too. */
    uint8_t *area = mmap(NULL, RAM_SIZE + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        die("fuzz_hypercall: mmap guard");
    gview = mmap(area + PAGE, RAM_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    hview = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (gview == MAP_FAILED || hview == MAP_FAILED)
        die("fuzz_hypercall: mmap RAM");
    close(fd);

    if (pagetable_build(hview, RAM_SIZE, VCPUS, &cr3) < 0)
        die("fuzz_hypercall: pagetable_build");
    /* A boot info page as the VMM writes it (read-only to the payload). */
    struct arom_boot_info bi = {
        .magic = AROM_BOOT_MAGIC, .abi_version = AROM_ABI_VERSION, .vcpus = VCPUS,
        .ram_size = RAM_SIZE, .heap_start = AROM_LOAD_MIN + 0x10000, .heap_end = RAM_SIZE,
        .cmdline_len = 4, .cmdline = "fuzz",
    };
    memcpy(hview + AROM_BOOT_INFO_GPA, &bi, sizeof bi);
    /* Something recognisable in the rest of the system area. */
    memset(hview + LAYOUT_GDT, 0xa5, LAYOUT_PT_BASE - LAYOUT_GDT);
    pristine = malloc(AROM_LOAD_MIN);
    if (!pristine)
        die("fuzz_hypercall: malloc");
    memcpy(pristine, hview, AROM_LOAD_MIN);
    for (live_end = AROM_STACK_AREA; live_end > 0; live_end -= PAGE) {
        static const uint8_t zero[PAGE];
        if (memcmp(pristine + live_end - PAGE, zero, PAGE))
            break;
    }

    trace = getenv("AROM_FUZZ_TRACE") != NULL;
    gm = (struct guest_mem){.host = gview, .size = RAM_SIZE, .fd = -1};
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0)
        die("fuzz_hypercall: /dev/null");
    stats_init(&stats);
    hypercall_init(&ctx_core, &gm, cr3, &stats, devnull);
    hypercall_init(&ctx_tiering, &gm, cr3, &stats, devnull);
    if (hypercall_register(&ctx_tiering, AROM_HC_HINT, fake_hint, &fake) < 0 ||
        hypercall_register(&ctx_tiering, AROM_HC_TIER_STATS, fake_tier_stats, &fake) < 0 ||
        hypercall_register(&ctx_tiering, AROM_HC_TIER_QUERY, fake_tier_query, &fake) < 0)
        die("fuzz_hypercall: hypercall_register");
    CHECK(hypercall_register(&ctx_core, AROM_HC_MAX, fake_hint, NULL) < 0, "registered AROM_HC_MAX");
    inited = true;
    atexit(final_check);
}

static void mark_dirty(uint64_t addr, uint64_t len)
{
    for (uint64_t p = addr / PAGE; p <= (addr + len - 1) / PAGE && p < NPAGES; p++)
        dirty[p] = 1;
}

static void check_offlimits(const char *when)
{
    /* Everything below AROM_LOAD_MIN but the vCPU stacks is as set up. */
    const uint64_t keep[][2] = {
        {0, STACK_LO(0)}, {STACK_HI(0), STACK_LO(1)}, {STACK_HI(1), AROM_LOAD_MIN},
    };
    for (size_t i = 0; i < 3; i++)
        CHECK(!memcmp(hview + keep[i][0], pristine + keep[i][0], keep[i][1] - keep[i][0]),
              "%s: guest memory in [0x%llx, 0x%llx) (system area / guard pages) changed", when,
              (unsigned long long)keep[i][0], (unsigned long long)keep[i][1]);
}

static void final_check(void)
{
    if (inited)
        check_offlimits("at exit");
}

/* The stats summary written at exit stays valid JSON whatever was reported. */
static void check_stats_json(void)
{
    json_object *o = stats_to_json(&stats);
    CHECK(o, "stats_to_json returned NULL");
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    json_object *back = json_tokener_parse(text), *m;
    CHECK(back, "the stats JSON does not parse: %.300s", text);
    CHECK(json_object_object_get_ex(back, "metrics", &m) && json_object_object_length(m) == (int)stats.nmetrics,
          "the stats JSON has not the %u metrics reported: %.300s", stats.nmetrics, text);
    json_object_put(back);
    json_object_put(o);
}

static void reset(void)
{
    for (uint64_t p = 0; p < NPAGES; p++) {
        if (dirty[p]) {
            CHECK(model_ok(p * PAGE, PAGE, true), "page 0x%llx was dirtied but is not payload-writable",
                  (unsigned long long)(p * PAGE));
            memset(hview + p * PAGE, 0, PAGE);
            dirty[p] = 0;
        }
    }
    stats_destroy(&stats);
    stats_init(&stats);
    memset(&fake, 0, sizeof fake);
}

/* ---- reading the input ---- */

struct input {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        uint64_t b = 0;
        if (in->n) {
            b = *in->p++;
            in->n--;
        }
        v |= b << (8 * i);
    }
    return v;
}

static const uint64_t bases[16] = {
    0, AROM_BOOT_INFO_GPA, LAYOUT_GDT, LAYOUT_PT_BASE,
    AROM_STACK_AREA, STACK_LO(0), STACK_HI(0), STACK_HI(1),
    AROM_LOAD_MIN, AROM_LOAD_MIN + LAYOUT_RAM_ALIGN, RAM_SIZE, 1ull << 32,
    1ull << 47, 1ull << 48, 0xffff800000000000ull, ~0ull,
};

/* An address: sel = [page-scaled delta:1][raw:1][delta width:2][base:4]. */
static uint64_t take_addr(struct input *in)
{
    unsigned sel = (unsigned)take(in, 1);
    if (sel & 0x40)
        return take(in, 8);
    int64_t delta = 0;
    switch ((sel >> 4) & 3) {
    case 1: delta = (int8_t)take(in, 1); break;
    case 2: delta = (int16_t)take(in, 2); break;
    case 3: delta = (int32_t)take(in, 4); break;
    }
    if (sel & 0x80)
        delta *= (int64_t)PAGE;
    return bases[sel & 15] + (uint64_t)delta;
}

/* A length: mode 0: 0..63 pages; 1: 16-bit bytes; 2: 32-bit pages; 3: raw. */
static uint64_t take_len(struct input *in)
{
    unsigned sel = (unsigned)take(in, 1);
    switch (sel >> 6) {
    case 0: return (sel & 63) * PAGE;
    case 1: return take(in, 2);
    case 2: return take(in, 4) * PAGE;
    default: return take(in, 8);
    }
}

/* A place the payload may write: stack 0, stack 1 or the payload area;
 * bit 7 counts the offset back from the region's end. */
static uint64_t take_place(struct input *in, uint64_t *room)
{
    unsigned sel = (unsigned)take(in, 1);
    const struct region *rg = &map[1 + sel % 3];
    uint64_t size = rg->hi - rg->lo;
    uint64_t off = take(in, 4) % size;
    uint64_t addr = sel & 0x80 ? rg->hi - 1 - off : rg->lo + off;
    *room = rg->hi - addr;
    return addr;
}

static void guest_write(uint64_t addr, const void *src, uint64_t len)
{
    CHECK(model_ok(addr, len, true), "harness bug: writing where the payload may not");
    if (!len)
        return;
    memcpy(hview + addr, src, len);
    mark_dirty(addr, len);
}

/* ---- one hypercall and what the ABI says about it ---- */

static bool is_abi_error(int64_t ret)
{
    return ret == -AROM_EINVAL || ret == -AROM_EFAULT || ret == -AROM_ENOSPC || ret == -AROM_ENOSYS ||
           ret == -AROM_EAGAIN;
}

static int64_t expect_report(const struct arom_hc_report *q)
{
    if (q->key_len == 0 || q->key_len > AROM_REPORT_KEY_MAX)
        return -AROM_EINVAL;
    if (!model_ok(q->key, q->key_len, false))
        return -AROM_EFAULT;
    char key[AROM_REPORT_KEY_MAX + 1];
    memcpy(key, hview + q->key, q->key_len);
    key[q->key_len] = 0;
    for (uint64_t i = 0; i < q->key_len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return -AROM_EINVAL;
    }
    if (!isfinite(q->value))
        return -AROM_EINVAL;
    double v;
    if (stats.nmetrics >= STATS_MAX_METRICS && stats_metric(&stats, key, &v) < 0)
        return -AROM_ENOSPC;
    return 0;
}

static int64_t expect_page_range(uint64_t addr, uint64_t len)
{
    if (addr % PAGE || len % PAGE || len == 0)
        return -AROM_EINVAL;
    return model_ok(addr, len, false) ? 0 : -AROM_EFAULT;
}

static void do_call(struct hc_ctx *ctx, unsigned nr, uint64_t gpa)
{
    size_t size = hypercall_request_size(nr);
    bool usable = size && gpa % 8 == 0 && model_ok(gpa, size, true);
    bool in_ram = size && gpa < RAM_SIZE && size <= RAM_SIZE - gpa;

    /* Snapshots: the request (as the guest wrote it), its pages, boot info. */
    _Alignas(8) uint8_t before[128] = {0};
    static uint8_t pages_before[2 * PAGE];
    uint64_t pg = gpa & ~(PAGE - 1), npg = 0;
    if (in_ram) {
        memcpy(before, hview + gpa, size);
        npg = ((gpa + size - 1) & ~(PAGE - 1)) / PAGE - pg / PAGE + 1;
        memcpy(pages_before, hview + pg, npg * PAGE);
    }
    uint64_t calls0 = nr < AROM_HC_MAX ? stats.hypercalls[nr] : 0, errors0 = stats.hypercall_errors;
    unsigned nmetrics0 = stats.nmetrics;
    int64_t expect = 0;
    if (usable) {
        switch (nr) {
        case AROM_HC_PUTS: {
            const struct arom_hc_puts *q = (void *)before;
            expect = q->len > AROM_PUTS_MAX ? -AROM_EINVAL
                     : model_ok(q->data, q->len, false) ? (int64_t)q->len : -AROM_EFAULT;
            break;
        }
        case AROM_HC_REPORT:
            expect = expect_report((void *)before);
            break;
        case AROM_HC_HINT: {
            const struct arom_hc_hint *q = (void *)before;
            expect = expect_page_range(q->addr, q->len);
            if (!expect)
                expect = q->kind >= AROM_HINT_READ_MOSTLY && q->kind <= AROM_HINT_WP_PROBE
                         ? (int64_t)(q->len / PAGE) : -AROM_EINVAL;
            break;
        }
        case AROM_HC_TIER_QUERY: {
            const struct arom_hc_tier_query *q = (void *)before;
            expect = expect_page_range(q->addr, q->len);
            break;
        }
        }
        if (ctx == &ctx_core && nr >= AROM_HC_HINT)
            expect = -AROM_ENOSYS;
    }
    struct arom_hc_tier_stats counters;
    fake_counters(&counters);

    /* Only the request's pages become writable, and only if the payload
     * could write the whole request. */
    if (usable && mprotect(gview + pg, npg * PAGE, PROT_READ | PROT_WRITE) < 0)
        die("fuzz_hypercall: mprotect");
    char err[256];
    memset(err, 0, sizeof err);
    int status = 0x5eed;
    enum hc_action a = hypercall_handle(ctx, nr, gpa, &status, err, sizeof err);
    if (usable && mprotect(gview + pg, npg * PAGE, PROT_READ) < 0)
        die("fuzz_hypercall: mprotect");
    if (trace) {
        int64_t r = 0;
        if (a != HC_FATAL)
            memcpy(&r, hview + gpa + size - sizeof r, sizeof r);
        fprintf(stderr, "call %u%s at 0x%llx: %s ret %lld%s%s\n", nr, ctx == &ctx_core ? " (no tiering)" : "",
                (unsigned long long)gpa,
                a == HC_FATAL ? "FATAL" : a == HC_VM_EXIT ? "VM_EXIT" : a == HC_VCPU_DONE ? "VCPU_DONE" : "CONTINUE",
                (long long)r, a == HC_FATAL ? ": " : "", a == HC_FATAL ? err : "");
    }

    /* The snapshot of the NULL page, boot info, system structures and page
     * tables (the populated part of [0, AROM_STACK_AREA)) must hold. */
    CHECK(!memcmp(hview + AROM_BOOT_INFO_GPA, pristine + AROM_BOOT_INFO_GPA, PAGE),
          "call %u at 0x%llx changed the boot info page", nr, (unsigned long long)gpa);
    CHECK(!memcmp(hview, pristine, live_end),
          "call %u at 0x%llx changed the system area below 0x%llx", nr, (unsigned long long)gpa,
          (unsigned long long)live_end);
    CHECK(a == HC_CONTINUE || a == HC_VCPU_DONE || a == HC_VM_EXIT || a == HC_FATAL,
          "call %u: action %d", nr, (int)a);
    CHECK(memchr(err, 0, sizeof err), "call %u: err not NUL-terminated", nr);

    if (a == HC_FATAL) {
        CHECK(err[0], "call %u at 0x%llx: HC_FATAL with an empty message", nr, (unsigned long long)gpa);
        CHECK(!usable, "call %u at 0x%llx: HC_FATAL for a usable request (\"%s\")", nr,
              (unsigned long long)gpa, err);
        CHECK(status == 0x5eed, "call %u: HC_FATAL but status written", nr);
        CHECK(!in_ram || !memcmp(hview + gpa, before, size), "call %u at 0x%llx: HC_FATAL but the struct changed",
              nr, (unsigned long long)gpa);
        CHECK(stats.hypercall_errors == errors0 + 1, "call %u: HC_FATAL not counted as an error", nr);
        CHECK(nr >= AROM_HC_MAX || stats.hypercalls[nr] == calls0, "call %u: HC_FATAL counted as a call", nr);
        return;
    }
    CHECK(usable, "call %u at 0x%llx handled, but the payload may not write that request", nr,
          (unsigned long long)gpa);
    mark_dirty(gpa, size);

    /* Nothing but the request changed on its pages. */
    uint64_t o = gpa - pg;
    CHECK(!memcmp(hview + pg, pages_before, o) &&
          !memcmp(hview + gpa + size, pages_before + o + size, npg * PAGE - o - size),
          "call %u at 0x%llx wrote next to its request", nr, (unsigned long long)gpa);

    _Alignas(8) uint8_t after[128];
    memcpy(after, hview + gpa, size);
    int64_t ret;
    memcpy(&ret, after + size - sizeof ret, sizeof ret);
    CHECK(ret >= 0 || is_abi_error(ret), "call %u: ret %lld is not >= 0 nor -AROM_E*", nr, (long long)ret);
    CHECK(stats.hypercalls[nr] == calls0 + 1, "call %u not counted", nr);
    CHECK(stats.hypercall_errors == errors0 + (ret < 0), "call %u: ret %lld, errors %llu -> %llu", nr,
          (long long)ret, (unsigned long long)errors0, (unsigned long long)stats.hypercall_errors);
    /* Everything but ret and the call's outputs is given back unchanged. */
    size_t in_bytes = size - sizeof ret;
    if (nr == AROM_HC_TIME)
        in_bytes = 0;
    else if (nr == AROM_HC_TIER_STATS && ctx == &ctx_tiering)
        in_bytes = 0;
    else if (nr == AROM_HC_TIER_QUERY && ctx == &ctx_tiering && ret == 0)
        in_bytes = offsetof(struct arom_hc_tier_query, ltram_pages);
    CHECK(!memcmp(after, before, in_bytes), "call %u: request inputs changed", nr);

    enum hc_action want_action = nr == AROM_HC_EXIT ? HC_VM_EXIT : nr == AROM_HC_VCPU_DONE ? HC_VCPU_DONE
                                                                                         : HC_CONTINUE;
    CHECK(a == want_action, "call %u: action %d, want %d", nr, (int)a, (int)want_action);
    if (nr == AROM_HC_EXIT || nr == AROM_HC_VCPU_DONE) {
        const struct arom_hc_exit *q = (void *)before;
        CHECK(status == q->status && ret == 0, "call %u: status %d ret %lld, want %d / 0", nr, status,
              (long long)ret, q->status);
        return;
    }
    CHECK(status == 0, "call %u: status %d", nr, status);
    switch (nr) {
    case AROM_HC_TIME: {
        const struct arom_hc_time *q = (void *)after;
        CHECK(ret == 0 && q->ns >= last_ns, "time: ret %lld ns %llu (last %llu)", (long long)ret,
              (unsigned long long)q->ns, (unsigned long long)last_ns);
        last_ns = q->ns;
        return;
    }
    case AROM_HC_REPORT: {
        const struct arom_hc_report *q = (void *)before;
        CHECK(ret == expect, "report: ret %lld, want %lld", (long long)ret, (long long)expect);
        if (ret == 0) {
            char key[AROM_REPORT_KEY_MAX + 1];
            memcpy(key, hview + q->key, q->key_len);
            key[q->key_len] = 0;
            double v;
            CHECK(stats_metric(&stats, key, &v) == 0 && v == q->value, "report: %s not recorded", key);
        } else {
            CHECK(stats.nmetrics == nmetrics0, "report failed but the metrics table grew");
        }
        return;
    }
    case AROM_HC_TIER_STATS:
        if (ctx == &ctx_tiering) {
            CHECK(ret == 0 && !memcmp(after, &counters, size - sizeof ret), "tier_stats: wrong counters");
            return;
        }
        break;
    case AROM_HC_TIER_QUERY:
        if (ctx == &ctx_tiering && ret == 0) {
            const struct arom_hc_tier_query *q = (void *)after;
            uint64_t n = q->len / PAGE;
            CHECK(q->ltram_pages + q->dram_pages == n && q->ltram_pages == fake_ltram_in(q->addr / PAGE, n),
                  "tier_query: %llu + %llu pages for a %llu-page range", (unsigned long long)q->ltram_pages,
                  (unsigned long long)q->dram_pages, (unsigned long long)n);
        }
        break;
    }
    CHECK(ret == expect, "call %u at 0x%llx: ret %lld, want %lld", nr, (unsigned long long)gpa,
          (long long)ret, (long long)expect);
}

/* ---- the operations ---- */

/* nr: [raw 32-bit:1][no tiering:1][nr:4 of 0..15]; then the request's gpa. */
static void take_call(struct input *in, struct hc_ctx **ctx, unsigned *nr, uint64_t *gpa)
{
    unsigned sel = (unsigned)take(in, 1);
    *ctx = sel & 0x10 ? &ctx_core : &ctx_tiering;
    *nr = sel & 0x20 ? (unsigned)take(in, 4) : (sel & 15);
    *gpa = take_addr(in);
}

/* Build a request of call nr at gpa from the input, as a payload would. */
static void build_request(struct input *in, unsigned nr, uint64_t gpa)
{
    _Alignas(8) uint8_t req[128];
    memset(req, (int)take(in, 1), sizeof req);     /* outputs and ret start as junk */
    size_t size = nr < AROM_HC_MAX ? hypercall_request_size(nr) : 16;
    switch (nr) {
    case AROM_HC_PUTS: {
        struct arom_hc_puts *q = (void *)req;
        q->data = take_addr(in);
        q->len = take_len(in);
        break;
    }
    case AROM_HC_EXIT:
    case AROM_HC_VCPU_DONE: {
        struct arom_hc_exit *q = (void *)req;
        q->status = (int32_t)take(in, 4);
        break;
    }
    case AROM_HC_REPORT: {
        struct arom_hc_report *q = (void *)req;
        q->key = take_addr(in);
        q->key_len = take(in, 1);
        static const double values[8] = {0.0, 42.0, -1.5, 1e308, -0.0, 0.0 / 0.0, 1.0 / 0.0, -1.0 / 0.0};
        unsigned vsel = (unsigned)take(in, 1);
        if (vsel & 8) {
            uint64_t bits = take(in, 8);
            memcpy(&q->value, &bits, sizeof bits);
        } else {
            q->value = values[vsel & 7];
        }
        if (vsel & 0x80) {          /* also write a valid key there */
            char key[AROM_REPORT_KEY_MAX];
            uint64_t n = q->key_len < sizeof key ? q->key_len : sizeof key;
            for (uint64_t i = 0; i < n; i++)
                key[i] = "abcdefghijklmnopqrstuvwxyz0123456789._-ABC"[(vsel + i * 7) % 42];
            if (model_ok(q->key, n, true))
                guest_write(q->key, key, n);
        }
        break;
    }
    case AROM_HC_HINT: {
        struct arom_hc_hint *q = (void *)req;
        q->addr = take_addr(in);
        q->len = take_len(in);
        q->kind = (uint32_t)take(in, 1);
        if (q->kind & 0x80)
            q->kind = (uint32_t)take(in, 4);
        q->pad = 0;
        break;
    }
    case AROM_HC_TIER_QUERY: {
        struct arom_hc_tier_query *q = (void *)req;
        q->addr = take_addr(in);
        q->len = take_len(in);
        break;
    }
    default:
        break;
    }
    /* Only where a payload could write it; elsewhere the call sees what is there. */
    if (gpa % 8 == 0 && model_ok(gpa, size, true))
        guest_write(gpa, req, size);
}

static void probe(struct input *in)
{
    uint64_t addr = take_addr(in), len = take_len(in);
    bool write = take(in, 1) & 1;
    struct hc_call call = {.ctx = &ctx_tiering, .opaque = NULL};
    uint8_t *p = hc_guest_ptr(&call, addr, len, write);
    bool ok = model_ok(addr, len, write);
    if (trace)
        fprintf(stderr, "probe 0x%llx +0x%llx %s: %s\n", (unsigned long long)addr, (unsigned long long)len,
                write ? "write" : "read", p ? "ok" : "refused");
    CHECK(!p == !ok, "hc_guest_ptr(0x%llx, 0x%llx, %s) = %p, but CPL3 %s access it", (unsigned long long)addr,
          (unsigned long long)len, write ? "write" : "read", (void *)p, ok ? "may" : "may not");
    if (p && len) {
        CHECK(p == gview + addr, "hc_guest_ptr(0x%llx) = %p, want %p", (unsigned long long)addr, (void *)p,
              (void *)(gview + addr));
        (void)*(volatile uint8_t *)p;
        (void)*(volatile uint8_t *)(p + len - 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!inited)
        setup();
    reset();
    struct input in = {data, size};
    for (unsigned ops = 0; in.n && ops < MAX_OPS; ops++) {
        unsigned op = (unsigned)take(&in, 1) % 6;
        switch (op) {
        case 0: {                   /* write bytes */
            uint64_t room, addr = take_place(&in, &room);
            uint64_t len = take(&in, 1);
            if (len > in.n)
                len = in.n;
            if (len > room)
                len = room;
            guest_write(addr, in.p, len);
            in.p += len;
            in.n -= len;
            break;
        }
        case 1:                     /* write an address */
        case 2: {                   /* write a 64-bit value */
            uint64_t room, addr = take_place(&in, &room);
            uint64_t v = op == 1 ? take_addr(&in) : take(&in, 8);
            guest_write(addr, &v, room < 8 ? room : 8);
            break;
        }
        case 3: {                   /* a hypercall on whatever is there */
            struct hc_ctx *ctx;
            unsigned nr;
            uint64_t gpa;
            take_call(&in, &ctx, &nr, &gpa);
            do_call(ctx, nr, gpa);
            break;
        }
        case 4: {                   /* build a request, then call */
            struct hc_ctx *ctx;
            unsigned nr;
            uint64_t gpa;
            take_call(&in, &ctx, &nr, &gpa);
            build_request(&in, nr, gpa);
            do_call(ctx, nr, gpa);
            break;
        }
        case 5:
            probe(&in);
            break;
        }
    }
    check_stats_json();
    /* All of [0, AROM_LOAD_MIN) but the stacks, every 256 inputs: a write
     * there already faults (read-only view), this is the safety net. */
    if (++inputs % 256 == 0)
        check_offlimits("after the input");
    return 0;
}
