/* tracking_alternatives.c — what write tracking costs a read-mostly guest whose stores
 * are spread, under each tracking mechanism this host offers.
 *
 * A 512 MiB shmem (memfd, MAP_SHARED) guest, one memslot, identity 2 MiB page tables,
 * one vCPU running a CPL3 long-mode loop over a 416 MiB region: xorshift64 PRNG, random
 * 8-byte loads and, with probability P, random 8-byte stores (or, with --seq, stores
 * that walk the region one page at a time).  The guest counts its operations in a
 * control page the host reads.  The host runs a tracking "epoch" loop in the main
 * thread and reports guest ops/s, KVM's own fault counters (KVM_GET_STATS_FD), the vCPU
 * thread's host page faults, and the time the harvest and re-arm calls take.
 *
 * Modes (--mode):
 *   none        no tracking
 *   dlget       KVM dirty log, classic: KVM_GET_DIRTY_LOG re-protects the whole slot
 *   dl          KVM dirty log, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_CLEAR_DIRTY_LOG of every
 *               dirty page every epoch (64-page chunks of set words, as arom does)
 *   dlinit      as dl, plus KVM_DIRTY_LOG_INITIALLY_SET
 *   dlsub       manual + INITIALLY_SET, re-arm only a rotating window of K pages per epoch
 *   uffd        uffd-wp async (WP_ASYNC|WP_UNPOPULATED), PAGEMAP_SCAN with
 *               PM_SCAN_WP_MATCHING|PM_SCAN_CHECK_WPASYNC over the region each epoch
 *   uffdsub     as uffd, but PAGEMAP_SCAN (harvest + re-protect) only a rotating window of K pages
 *   softdirty   write "4" to /proc/self/clear_refs each epoch, read bit 55 of /proc/self/pagemap
 *   uffdsync    synchronous uffd-wp: protect K random pages per epoch (UFFDIO_WRITEPROTECT),
 *               a handler thread un-protects + wakes on each fault
 *
 * Output: one line "RESULT key=value ..." (and, with --verbose, every KVM stat that moved).
 * Build: gcc -O2 -pthread -Wall -Wextra -std=gnu11 tracking_alternatives.c
 * Run as root (needs /dev/kvm, userfaultfd).  Measurement code, not product code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "lib/compat.h"      /* kernel-header constants newer than the installed headers */

/* ---- constants newer than the installed 6.1 headers ---- */
#ifndef KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE
#define KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE (1 << 0)
#endif
#ifndef KVM_DIRTY_LOG_INITIALLY_SET
#define KVM_DIRTY_LOG_INITIALLY_SET (1 << 1)
#endif
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct page_region {
    uint64_t start, end, categories;
};
struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

/* ---- guest layout (GPA) ---- */
#define MEM (512ull << 20)
#define PML4_GPA 0x1000ull
#define PDPT_GPA 0x2000ull
#define PD_GPA 0x3000ull
#define CTL_GPA 0x10000ull  /* [0] ops, [1] load sum, [2] ready flag */
#define CODE_GPA 0x100000ull
#define STACK_GPA 0x200000ull
#define REG_GPA (64ull << 20)
#define REG_SIZE (416ull << 20)
#define PAGE 4096ull
#define REG_PAGES (REG_SIZE / PAGE)
#define SLOT_PAGES (MEM / PAGE)

/* ---- the guest: position-independent, all addresses in registers ----
 * rdi region base, rsi region words, rdx store threshold (of 65536), rbx ctl,
 * r8 PRNG state, r9 sequential-store flag, r11 region bytes, r14 I/O-exit mask (an
 * "out" every mask+1 ops; all ones = never, as a bare-exit reference).
 * Pre-touch: read one word of every region page, set ctl[2]=1, then loop forever. */
extern const uint8_t guest_start[], guest_end[];
__asm__(".pushsection .rodata\n"
        ".globl guest_start\n.globl guest_end\n"
        "guest_start:\n"
        "  xor %r10d,%r10d\n"
        "0: mov (%rdi,%r10),%rax\n"
        "  add $4096,%r10\n"
        "  cmp %r11,%r10\n"
        "  jb 0b\n"
        "  xor %r10d,%r10d\n"
        "  movq $1,16(%rbx)\n"
        "1: mov %r8,%rax\n  shl $13,%rax\n  xor %rax,%r8\n"
        "  mov %r8,%rax\n  shr $7,%rax\n  xor %rax,%r8\n"
        "  mov %r8,%rax\n  shl $17,%rax\n  xor %rax,%r8\n"
        "  mov %r8,%rax\n  shr $32,%rax\n  imul %rsi,%rax\n  shr $32,%rax\n"
        "  movzwl %r8w,%ecx\n"
        "  cmp %rdx,%rcx\n"
        "  jb 2f\n"
        "  add (%rdi,%rax,8),%r12\n"
        "  jmp 4f\n"
        "2: test %r9,%r9\n"
        "  jnz 3f\n"
        "  mov %r8,(%rdi,%rax,8)\n"
        "  jmp 4f\n"
        "3: mov %r8,(%rdi,%r10)\n"
        "  add $4096,%r10\n"
        "  cmp %r11,%r10\n"
        "  jb 4f\n"
        "  xor %r10d,%r10d\n"
        "4: inc %r13\n"
        "  mov %r13,(%rbx)\n"
        "  mov %r12,8(%rbx)\n"
        "  test %r14,%r13\n"
        "  jnz 1b\n"
        "  out %al,$0x10\n"
        "  jmp 1b\n"
        "guest_end:\n"
        ".popsection\n");

enum mode { M_NONE, M_DLGET, M_DL, M_DLINIT, M_DLSUB, M_UFFD, M_UFFDSUB, M_SOFTDIRTY, M_UFFDSYNC };
static const char *mode_names[] = {"none", "dlget", "dl", "dlinit", "dlsub", "uffd", "uffdsub", "softdirty", "uffdsync"};

static struct {
    enum mode mode;
    double store_pct;
    int epoch_ms;
    uint64_t k;
    double seconds, warm;
    int seq, verbose, pin, ad_bits;
    uint64_t io_every;
    const char *pidfile;
} opt = {.mode = M_NONE, .store_pct = 5, .epoch_ms = 1000, .k = 8192, .seconds = 5, .warm = 1, .ad_bits = 1};

static int kvm_fd, vm_fd, vcpu_fd, mem_fd, uffd = -1, pagemap_fd = -1;
static uint8_t *mem;
static volatile uint64_t *ctl;
static struct kvm_run *run;
static _Atomic pid_t vcpu_tid;
static _Atomic uint64_t io_exits;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    int e = errno;
    printf("RESULT mode=%s error=\"%s\" errno=%d (%s)\n", mode_names[opt.mode], what, e, strerror(e));
    fflush(stdout);
    _exit(3);
}

/* ---- KVM binary stats ---- */
#define MAX_STATS 128
struct stats {
    int fd, n;
    struct kvm_stats_header h;
    char names[MAX_STATS][64];
    uint32_t off[MAX_STATS];
};
static struct stats vcpu_st, vm_st;

static void stats_open(struct stats *s, int fd)
{
    s->fd = ioctl(fd, KVM_GET_STATS_FD, NULL);
    if (s->fd < 0) {
        s->n = 0;
        return;
    }
    if (pread(s->fd, &s->h, sizeof s->h, 0) != sizeof s->h) {
        s->n = 0;
        return;
    }
    size_t dsz = sizeof(struct kvm_stats_desc) + s->h.name_size;
    char *buf = malloc(dsz * s->h.num_desc);
    if (pread(s->fd, buf, dsz * s->h.num_desc, s->h.desc_offset) != (ssize_t)(dsz * s->h.num_desc)) {
        free(buf);
        s->n = 0;
        return;
    }
    s->n = 0;
    for (uint32_t i = 0; i < s->h.num_desc && s->n < MAX_STATS; i++) {
        struct kvm_stats_desc *d = (void *)(buf + i * dsz);
        snprintf(s->names[s->n], sizeof s->names[0], "%s", d->name);
        s->off[s->n] = d->offset;
        s->n++;
    }
    free(buf);
}

static void stats_read(struct stats *s, uint64_t *v)
{
    for (int i = 0; i < s->n; i++)
        if (pread(s->fd, &v[i], 8, s->h.data_offset + s->off[i]) != 8)
            v[i] = 0;
}

static int stat_idx(struct stats *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name))
            return i;
    return -1;
}

static uint64_t stat_delta(struct stats *s, uint64_t *a, uint64_t *b, const char *name)
{
    int i = stat_idx(s, name);
    return i < 0 ? 0 : b[i] - a[i];
}

/* host page faults of the vCPU thread (minflt, majflt) from /proc/self/task/TID/stat */
static void thread_faults(pid_t tid, uint64_t *minf, uint64_t *majf)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    *minf = *majf = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return;
    /* fields after ')': 3 state, 4 ppid, 5 pgrp, 6 session, 7 tty, 8 tpgid, 9 flags, 10 minflt, 11 cminflt, 12 majflt */
    unsigned long v[16] = {0};
    char st;
    if (sscanf(p + 2, "%c %lu %lu %lu %lu %lu %lu %lu %lu %lu", &st, &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
               &v[11], &v[12]) == 10) {
        *minf = v[10];
        *majf = v[12];
    }
}

static void pin_self(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(0, sizeof s, &s);
}

/* ---- vCPU ---- */
static void *vcpu_thread(void *a)
{
    (void)a;
    vcpu_tid = (pid_t)syscall(SYS_gettid);
    if (opt.pin)
        pin_self(1);
    for (;;) {
        int rc = ioctl(vcpu_fd, KVM_RUN, 0);
        if (rc < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            die("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10) {
            io_exits++;
            continue;
        }
        printf("RESULT mode=%s error=\"guest exit %d\" rip=%llx\n", mode_names[opt.mode], run->exit_reason, 0ull);
        struct kvm_regs r;
        ioctl(vcpu_fd, KVM_GET_REGS, &r);
        struct kvm_sregs s;
        ioctl(vcpu_fd, KVM_GET_SREGS, &s);
        printf("  rip=%llx cr2=%llx\n", r.rip, s.cr2);
        fflush(stdout);
        _exit(4);
    }
    return NULL;
}

static void setup_vm(void)
{
    kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_fd < 0)
        die("open /dev/kvm");
    vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm_fd < 0)
        die("KVM_CREATE_VM");
    mem_fd = memfd_create("guest", MFD_CLOEXEC);
    if (mem_fd < 0 || ftruncate(mem_fd, MEM) < 0)
        die("memfd");
    mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd, 0);
    if (mem == MAP_FAILED)
        die("mmap");
    /* pre-touch on the host: every page backed, with non-zero data */
    for (uint64_t o = 0; o < MEM; o += PAGE)
        memset(mem + o, (int)(o >> 12) | 1, 64);
    memset(mem, 0, REG_GPA);

    if (opt.mode == M_DL || opt.mode == M_DLINIT || opt.mode == M_DLSUB) {
        int caps = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
        uint64_t want = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
        if (opt.mode != M_DL)
            want |= KVM_DIRTY_LOG_INITIALLY_SET;
        if (caps < 0 || ((uint64_t)caps & want) != want) {
            errno = EOPNOTSUPP;
            die("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 lacks the wanted flags");
        }
        struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args = {want}};
        if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0)
            die("KVM_ENABLE_CAP MANUAL_DIRTY_LOG_PROTECT2");
    }
    struct kvm_userspace_memory_region r = {.slot = 0, .guest_phys_addr = 0, .memory_size = MEM,
                                            .userspace_addr = (uint64_t)(uintptr_t)mem};
    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        die("KVM_SET_USER_MEMORY_REGION");
    vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
    if (vcpu_fd < 0)
        die("KVM_CREATE_VCPU");
    int mmsz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    run = mmap(NULL, mmsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");
    struct {
        struct kvm_cpuid2 c;
        struct kvm_cpuid_entry2 e[100];
    } cp = {.c.nent = 100};
    ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &cp);
    ioctl(vcpu_fd, KVM_SET_CPUID2, &cp);

    /* identity map of the first 1 GiB with 2 MiB pages; A/D pre-set unless --no-ad */
    uint64_t ad = opt.ad_bits ? 0x60 : 0, dir_a = opt.ad_bits ? 0x20 : 0;
    uint64_t *pml4 = (void *)(mem + PML4_GPA), *pdpt = (void *)(mem + PDPT_GPA), *pd = (void *)(mem + PD_GPA);
    pml4[0] = PDPT_GPA | 7 | dir_a;
    pdpt[0] = PD_GPA | 7 | dir_a;
    for (int i = 0; i < 512; i++)
        pd[i] = ((uint64_t)i << 21) | 0x87 | ad;
    struct kvm_sregs s;
    ioctl(vcpu_fd, KVM_GET_SREGS, &s);
    struct kvm_segment seg = {.base = 0, .limit = 0xffffffff, .selector = 0x1b, .present = 1, .type = 11,
                              .dpl = 3, .db = 0, .s = 1, .l = 1, .g = 1};
    s.cs = seg;
    seg.type = 3;
    seg.selector = 0x23;
    seg.l = 0;
    seg.db = 1;
    s.ds = s.es = s.fs = s.gs = s.ss = seg;
    s.cr3 = PML4_GPA;
    s.cr4 = (1 << 5) | (1 << 9) | (1 << 10);
    s.cr0 = 0x80050033;
    s.efer = 0x500;
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0)
        die("KVM_SET_SREGS");
    memcpy(mem + CODE_GPA, guest_start, (size_t)(guest_end - guest_start));
    ctl = (volatile uint64_t *)(mem + CTL_GPA);
    struct kvm_regs regs = {.rip = CODE_GPA, .rflags = 0x3002, .rsp = STACK_GPA};
    regs.rdi = REG_GPA;
    regs.rsi = REG_SIZE / 8;
    regs.rdx = (uint64_t)(opt.store_pct / 100.0 * 65536.0 + 0.5);
    regs.rbx = CTL_GPA;
    regs.r8 = 0x9e3779b97f4a7c15ull;
    regs.r9 = (uint64_t)opt.seq;
    regs.r11 = REG_SIZE;
    regs.r14 = opt.io_every ? opt.io_every - 1 : ~0ull;
    if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS");
    stats_open(&vcpu_st, vcpu_fd);
    stats_open(&vm_st, vm_fd);
}

/* ---- tracking state ---- */
static uint64_t *bitmap;          /* dirty bitmap of the slot */
static uint64_t cursor;           /* rotating window, in region pages */
static struct page_region *vec;   /* PAGEMAP_SCAN output */
#define VEC_LEN 65536
static uint64_t *pm_buf;          /* soft-dirty pagemap read */
static _Atomic uint8_t *prot;     /* uffdsync: page currently protected by us */
static uint64_t *prot_list, prot_n;
static _Atomic uint64_t uffd_rt;  /* uffdsync round trips served */
static double uffd_handler_s;     /* time in the handler */
static uint64_t rng = 88172645463325252ull;

static uint64_t xrand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void set_log_dirty(int on)
{
    struct kvm_userspace_memory_region r = {.slot = 0, .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
                                            .guest_phys_addr = 0, .memory_size = MEM,
                                            .userspace_addr = (uint64_t)(uintptr_t)mem};
    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        die("KVM_SET_USER_MEMORY_REGION (LOG_DIRTY_PAGES)");
}

static void *uffdsync_handler(void *a)
{
    (void)a;
    if (opt.pin)
        pin_self(0);
    for (;;) {
        struct uffd_msg m;
        ssize_t n = read(uffd, &m, sizeof m);
        if (n != sizeof m)
            continue;
        if (m.event != UFFD_EVENT_PAGEFAULT)
            continue;
        double t = now();
        uint64_t va = m.arg.pagefault.address & ~(PAGE - 1);
        struct uffdio_writeprotect wp = {.range = {va, PAGE}, .mode = 0};
        if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0 && errno != ENOENT)
            perror("unprotect");
        uint64_t pg = (va - (uint64_t)(uintptr_t)mem - REG_GPA) / PAGE;
        if (pg < REG_PAGES)
            atomic_store(&prot[pg], 0);
        uffd_rt++;
        uffd_handler_s += now() - t;
    }
    return NULL;
}

static void uffd_open(uint64_t features)
{
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    if (uffd < 0)
        die("userfaultfd");
    struct uffdio_api api = {.api = UFFD_API, .features = features};
    if (ioctl(uffd, UFFDIO_API, &api) < 0)
        die("UFFDIO_API");
    struct uffdio_register reg = {.range = {(uint64_t)(uintptr_t)mem + REG_GPA, REG_SIZE},
                                  .mode = UFFDIO_REGISTER_MODE_WP};
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
        die("UFFDIO_REGISTER WP");
}

static void track_start(void)
{
    switch (opt.mode) {
    case M_NONE:
        break;
    case M_DLGET:
    case M_DL:
    case M_DLINIT:
    case M_DLSUB:
        bitmap = calloc(SLOT_PAGES / 64, 8);
        set_log_dirty(1);
        break;
    case M_UFFD:
    case M_UFFDSUB: {
        vec = calloc(VEC_LEN, sizeof *vec);
        pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap_fd < 0)
            die("open pagemap");
        uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
        if (opt.mode == M_UFFD) { /* protect everything once; the scans re-protect what was written */
            struct uffdio_writeprotect wp = {.range = {(uint64_t)(uintptr_t)mem + REG_GPA, REG_SIZE},
                                             .mode = UFFDIO_WRITEPROTECT_MODE_WP};
            if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
                die("UFFDIO_WRITEPROTECT region");
        }
        break;
    }
    case M_SOFTDIRTY:
        pm_buf = calloc(SLOT_PAGES, 8);
        pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap_fd < 0)
            die("open pagemap");
        break;
    case M_UFFDSYNC: {
        prot = calloc(REG_PAGES, 1);
        prot_list = calloc(opt.k, 8);
        uffd_open(UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
        pthread_t th;
        pthread_create(&th, NULL, uffdsync_handler, NULL);
        break;
    }
    }
}

struct epoch_cost {
    double harvest_s, rearm_s;
    uint64_t dirty, rearmed, calls;
};

static int scan_range(uint64_t start, uint64_t end, uint64_t *pages, uint64_t *calls)
{
    struct pm_scan_arg a = {.size = sizeof a, .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                            .start = start, .end = end, .vec = (uint64_t)(uintptr_t)vec, .vec_len = VEC_LEN,
                            .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN};
    while (a.start < end) {
        long n = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);
        (*calls)++;
        if (n < 0)
            return -errno;
        for (long i = 0; i < n; i++)
            *pages += (vec[i].end - vec[i].start) / PAGE;
        if (a.walk_end <= a.start)
            break;
        a.start = a.walk_end;
    }
    return 0;
}

static void epoch_work(struct epoch_cost *c)
{
    memset(c, 0, sizeof *c);
    double t0 = now();
    switch (opt.mode) {
    case M_NONE:
        break;
    case M_DLGET:
    case M_DL:
    case M_DLINIT:
    case M_DLSUB: {
        struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = bitmap};
        if (ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
            die("KVM_GET_DIRTY_LOG");
        c->calls++;
        double t1 = now();
        c->harvest_s = t1 - t0;
        for (uint64_t w = 0; w < SLOT_PAGES / 64; w++)
            c->dirty += (uint64_t)__builtin_popcountll(bitmap[w]);
        if (opt.mode == M_DLGET) {
            c->rearmed = c->dirty; /* re-protected inside GET */
            break;
        }
        uint64_t wfirst = 0, wlast = SLOT_PAGES / 64; /* words to clear */
        if (opt.mode == M_DLSUB) {
            uint64_t k = opt.k < REG_PAGES ? opt.k : REG_PAGES;
            if (cursor + k > REG_PAGES)
                cursor = 0;
            wfirst = (REG_GPA / PAGE + cursor) / 64;
            wlast = wfirst + k / 64;
            cursor += k;
        }
        for (uint64_t w = wfirst; w < wlast;) {
            if (!bitmap[w]) {
                w++;
                continue;
            }
            uint64_t e = w;
            while (e < wlast && bitmap[e]) {
                c->rearmed += (uint64_t)__builtin_popcountll(bitmap[e]);
                e++;
            }
            struct kvm_clear_dirty_log cl = {.slot = 0, .first_page = w * 64, .num_pages = (uint32_t)((e - w) * 64),
                                             .dirty_bitmap = bitmap + w};
            if (ioctl(vm_fd, KVM_CLEAR_DIRTY_LOG, &cl) < 0)
                die("KVM_CLEAR_DIRTY_LOG");
            c->calls++;
            w = e;
        }
        c->rearm_s = now() - t1;
        break;
    }
    case M_UFFD:
    case M_UFFDSUB: {
        uint64_t base = (uint64_t)(uintptr_t)mem + REG_GPA, start = base, end = base + REG_SIZE;
        if (opt.mode == M_UFFDSUB) {
            uint64_t k = opt.k < REG_PAGES ? opt.k : REG_PAGES;
            if (cursor + k > REG_PAGES)
                cursor = 0;
            start = base + cursor * PAGE;
            end = start + k * PAGE;
            cursor += k;
        }
        int rc = scan_range(start, end, &c->dirty, &c->calls);
        if (rc < 0) {
            errno = -rc;
            die("PAGEMAP_SCAN");
        }
        c->rearmed = c->dirty;
        c->harvest_s = now() - t0; /* harvest and re-protect are one call */
        break;
    }
    case M_SOFTDIRTY: {
        /* read first (what was written since the last clear), then clear */
        uint64_t want = SLOT_PAGES * 8, got = 0;
        while (got < want) {
            ssize_t n = pread(pagemap_fd, (char *)pm_buf + got, want - got, (off_t)((uint64_t)(uintptr_t)mem / PAGE * 8 + got));
            if (n <= 0)
                die("pread pagemap");
            got += (uint64_t)n;
        }
        c->calls++;
        for (uint64_t p = REG_GPA / PAGE; p < SLOT_PAGES; p++)
            c->dirty += (pm_buf[p] >> 55) & 1;
        double t1 = now();
        c->harvest_s = t1 - t0;
        int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "4", 1) != 1)
            die("clear_refs 4");
        close(fd);
        c->calls++;
        c->rearm_s = now() - t1;
        c->rearmed = REG_PAGES;
        break;
    }
    case M_UFFDSYNC: {
        /* un-protect last epoch's samples that were not written, then protect K new random pages */
        uint64_t base = (uint64_t)(uintptr_t)mem + REG_GPA;
        for (uint64_t i = 0; i < prot_n; i++) {
            uint64_t pg = prot_list[i];
            if (atomic_exchange(&prot[pg], 0)) {
                struct uffdio_writeprotect wp = {.range = {base + pg * PAGE, PAGE}, .mode = 0};
                ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
                c->calls++;
            } else {
                c->dirty++; /* written (faulted) during the epoch */
            }
        }
        double t1 = now();
        c->harvest_s = t1 - t0;
        prot_n = 0;
        for (uint64_t i = 0; i < opt.k; i++) {
            uint64_t pg = xrand() % REG_PAGES;
            if (atomic_exchange(&prot[pg], 1))
                continue;
            struct uffdio_writeprotect wp = {.range = {base + pg * PAGE, PAGE}, .mode = UFFDIO_WRITEPROTECT_MODE_WP};
            if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
                die("UFFDIO_WRITEPROTECT page");
            c->calls++;
            prot_list[prot_n++] = pg;
        }
        c->rearmed = prot_n;
        c->rearm_s = now() - t1;
        break;
    }
    }
}

struct snap {
    double t;
    uint64_t ops, minf, majf, rt, io;
    uint64_t vcpu[MAX_STATS], vm[MAX_STATS];
};

static void snap_take(struct snap *s)
{
    s->t = now();
    s->ops = ctl[0];
    s->rt = uffd_rt;
    s->io = io_exits;
    thread_faults(vcpu_tid, &s->minf, &s->majf);
    stats_read(&vcpu_st, s->vcpu);
    stats_read(&vm_st, s->vm);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tracking_alternatives [--mode none|dlget|dl|dlinit|dlsub|uffd|uffdsub|softdirty|uffdsync]\n"
            "  [--store PCT] [--epoch-ms N] [--k PAGES] [--seconds S] [--warm S] [--seq] [--no-ad]\n"
            "  [--pin] [--verbose] [--pidfile FILE] [--io-every N (power of 2)]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"mode", 1, 0, 'm'},    {"store", 1, 0, 's'},   {"epoch-ms", 1, 0, 'e'},
                                       {"k", 1, 0, 'k'},       {"seconds", 1, 0, 't'}, {"warm", 1, 0, 'w'},
                                       {"seq", 0, 0, 'q'},     {"verbose", 0, 0, 'v'}, {"pin", 0, 0, 'p'},
                                       {"no-ad", 0, 0, 'a'},   {"pidfile", 1, 0, 'f'}, {"io-every", 1, 0, 'i'},
                                       {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'm': {
            int found = 0;
            for (unsigned i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
                if (!strcmp(optarg, mode_names[i])) {
                    opt.mode = (enum mode)i;
                    found = 1;
                }
            if (!found)
                usage();
            break;
        }
        case 's': opt.store_pct = atof(optarg); break;
        case 'e': opt.epoch_ms = atoi(optarg); break;
        case 'k': opt.k = strtoull(optarg, NULL, 0); break;
        case 't': opt.seconds = atof(optarg); break;
        case 'w': opt.warm = atof(optarg); break;
        case 'q': opt.seq = 1; break;
        case 'v': opt.verbose = 1; break;
        case 'p': opt.pin = 1; break;
        case 'a': opt.ad_bits = 0; break;
        case 'f': opt.pidfile = optarg; break;
        case 'i': opt.io_every = strtoull(optarg, NULL, 0); break;
        default: usage();
        }
    }
    if (opt.epoch_ms < 10 || opt.k < 64 || opt.k % 64 || (opt.io_every & (opt.io_every - 1)))
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (opt.pin)
        pin_self(0);
    setup_vm();
    pthread_t th;
    pthread_create(&th, NULL, vcpu_thread, NULL);
    double tp = now();
    while (!ctl[2]) {
        if (now() - tp > 60) {
            errno = ETIMEDOUT;
            die("guest pre-touch");
        }
        usleep(1000);
    }
    double pretouch = now() - tp;
    track_start();

    double ep = opt.epoch_ms / 1000.0;
    int warm_epochs = (int)(opt.warm / ep + 0.999);
    if (warm_epochs < 2)
        warm_epochs = 2;
    int meas_epochs = (int)(opt.seconds / ep + 0.5);
    if (meas_epochs < 1)
        meas_epochs = 1;
    struct snap a, b;
    double sum_h = 0, sum_r = 0, max_tot = 0;
    uint64_t sum_dirty = 0, sum_rearmed = 0, sum_calls = 0;
    double t0 = now();
    for (int e = 1; e <= warm_epochs + meas_epochs; e++) {
        double target = t0 + e * ep, d;
        while ((d = target - now()) > 0)
            usleep((useconds_t)(d * 1e6));
        if (e == warm_epochs) {
            snap_take(&a);
            if (opt.pidfile) { /* tell the driver the measured window starts (for perf) */
                FILE *f = fopen(opt.pidfile, "w");
                if (f) {
                    fprintf(f, "%d %d\n", (int)getpid(), (int)vcpu_tid);
                    fclose(f);
                }
            }
        }
        if (e == warm_epochs + meas_epochs) {
            snap_take(&b);
            break;
        }
        struct epoch_cost ec;
        epoch_work(&ec);
        if (e >= warm_epochs) {
            sum_h += ec.harvest_s;
            sum_r += ec.rearm_s;
            if (ec.harvest_s + ec.rearm_s > max_tot)
                max_tot = ec.harvest_s + ec.rearm_s;
            sum_dirty += ec.dirty;
            sum_rearmed += ec.rearmed;
            sum_calls += ec.calls;
        }
    }
    double dt = b.t - a.t;
    int me = meas_epochs;
#define VD(n) ((double)stat_delta(&vcpu_st, a.vcpu, b.vcpu, n) / dt)
#define MD(n) ((double)stat_delta(&vm_st, a.vm, b.vm, n) / dt)
    printf("RESULT mode=%s store=%g epoch_ms=%d k=%llu seq=%d ad=%d secs=%.2f pretouch_s=%.2f ops_per_s=%.0f "
           "pf_taken_per_s=%.0f pf_fixed_per_s=%.0f pf_fast_per_s=%.0f pf_spurious_per_s=%.0f pf_guest_per_s=%.0f "
           "pf_emulate_per_s=%.0f exits_per_s=%.0f tlb_flush_per_s=%.0f remote_tlb_flush_per_s=%.0f "
           "remote_tlb_flush_req_per_s=%.0f mmu_shadow_zapped_per_s=%.0f host_minflt_per_s=%.0f host_majflt_per_s=%.0f "
           "uffd_rt_per_s=%.0f io_exits_per_s=%.0f dirty_per_epoch=%.0f rearmed_per_epoch=%.0f calls_per_epoch=%.1f harvest_ms=%.3f "
           "rearm_ms=%.3f track_ms_max=%.3f handler_us=%.2f\n",
           mode_names[opt.mode], opt.store_pct, opt.epoch_ms, (unsigned long long)opt.k, opt.seq, opt.ad_bits, dt,
           pretouch, (double)(b.ops - a.ops) / dt, VD("pf_taken"), VD("pf_fixed"), VD("pf_fast"), VD("pf_spurious"),
           VD("pf_guest"), VD("pf_emulate"), VD("exits"), VD("tlb_flush"), MD("remote_tlb_flush"),
           MD("remote_tlb_flush_requests"), MD("mmu_shadow_zapped"), (double)(b.minf - a.minf) / dt,
           (double)(b.majf - a.majf) / dt, (double)(b.rt - a.rt) / dt, (double)(b.io - a.io) / dt, (double)sum_dirty / me,
           (double)sum_rearmed / me, (double)sum_calls / me, sum_h / me * 1e3, sum_r / me * 1e3, max_tot * 1e3,
           uffd_rt ? uffd_handler_s / (double)uffd_rt * 1e6 : 0.0);
    if (opt.verbose) {
        for (int i = 0; i < vcpu_st.n; i++)
            if (b.vcpu[i] != a.vcpu[i])
                printf("  vcpu %-28s %+.0f/s\n", vcpu_st.names[i], (double)(b.vcpu[i] - a.vcpu[i]) / dt);
        for (int i = 0; i < vm_st.n; i++)
            if (b.vm[i] != a.vm[i])
                printf("  vm   %-28s %+.0f/s (now %llu)\n", vm_st.names[i], (double)(b.vm[i] - a.vm[i]) / dt,
                       (unsigned long long)b.vm[i]);
    }
    fflush(stdout);
    _exit(0);
}
