/* syscall_path.c — what it costs to carry a guest program's system call to
 * the VMM, by each path this host offers (issue: real Linux programs as
 * guests). A 4 MiB guest, identity-mapped by one 2 MiB page, one vCPU in
 * long mode running a CPL3 loop of N calls; the host serves every exit the
 * way a syscall server would (KVM_GET_REGS, then KVM_SET_REGS with a
 * result), and reports the time per call.
 *
 * Paths (--path):
 *   bare     `out %al, $0xe0` at CPL3 (IOPL 3), the host reads no register:
 *            the exit alone, the floor
 *   out      the same, served (KVM_GET_REGS, KVM_SET_REGS): an arom hypercall
 *   syscall  `syscall` at CPL3; LSTAR points to a CPL0 stub
 *            `out %al, $0xe0; sysretq` (EFER.SCE=1, STAR/SFMASK set)
 *   vmret    `syscall` at CPL3; the CPL0 stub is only `out %al, $0xe0`: the
 *            VMM returns to CPL3 itself (RIP = RCX, RFLAGS = R11, the user
 *            CS and SS: KVM_SET_REGS + KVM_SET_SREGS), no CPL0 return path
 *   sync     as vmret, the registers exchanged through kvm_run's sync area
 *            (KVM_CAP_SYNC_REGS: no GET/SET ioctls)
 *   ud       `syscall` with EFER.SCE=0: #UD through the IDT to a CPL0 stub
 *            `out %al, $0xe1; addq $2, (%rsp); iretq`
 *
 * Output: "RESULT path=... calls=N us_per_call=X ok=1|0" (ok: the guest's
 * own check that every call returned the value the host set).
 * Build: gcc -O2 -Wall -Wextra -std=gnu11 syscall_path.c. Run as root.
 * Measurement code, not product code. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM (4u << 20)
#define PML4 0x1000
#define PDPT 0x2000
#define PD 0x3000
#define GDT 0x4000
#define IDT 0x5000
#define TSS 0x6000
#define IOBITMAP 0x7000     /* 8 KiB of zeros + 0xff: PVM checks it even at IOPL 3 */
#define KCODE 0xa000        /* CPL0 stubs */
#define UCODE 0x10000       /* the CPL3 loop */
#define USTACK 0x200000
#define KSTACK 0x300000
#define PORT_CALL 0xe0
#define PORT_UD 0xe1
#define PORT_DONE 0xe2

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "syscall_path: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t seg(unsigned dpl, int code)
{
    uint64_t type = code ? 0xb : 0x3;
    return 0xffffull | (0xfull << 48) | ((type | 0x10 | ((uint64_t)dpl << 5) | 0x80) << 40) |
           (code ? 1ull << 53 : 1ull << 54) | (1ull << 55);
}

static void kseg(struct kvm_segment *s, uint16_t sel, unsigned dpl, int code)
{
    *s = (struct kvm_segment){.limit = 0xffffffff, .selector = sel, .present = 1, .type = code ? 11 : 3,
                              .dpl = dpl, .s = 1, .g = 1, .l = code, .db = !code};
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "syscall";
    long calls = argc > 2 ? atol(argv[2]) : 20000;
    int bare = !strcmp(path, "bare");
    int use_syscall = strcmp(path, "out") != 0 && !bare, sce = strcmp(path, "ud") != 0, vmret = !strcmp(path, "vmret") || !strcmp(path, "sync");
    int sync = !strcmp(path, "sync");
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    uint8_t *m = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vm < 0 || m == MAP_FAILED)
        die("VM");
    struct kvm_userspace_memory_region r = {.slot = 0, .guest_phys_addr = 0, .memory_size = MEM,
                                            .userspace_addr = (uint64_t)m};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        die("memslot");
    /* identity map of the first 2 MiB pages, user-accessible */
    *(uint64_t *)(m + PML4) = PDPT | 7;
    *(uint64_t *)(m + PDPT) = PD | 7;
    *(uint64_t *)(m + PD) = 0x87;
    *(uint64_t *)(m + PD + 8) = 0x200000 | 0x87;
    /* GDT: null, kcode 0x08, kdata 0x10, (ucode32 0x18), udata 0x20, ucode 0x28, TSS 0x30 */
    uint64_t *gdt = (uint64_t *)(m + GDT);
    gdt[1] = seg(0, 1);
    gdt[2] = seg(0, 0);
    gdt[3] = seg(3, 1);
    gdt[4] = seg(3, 0);
    gdt[5] = seg(3, 1);
    uint32_t tss_limit = IOBITMAP + 0x2000 - TSS;
    gdt[6] = (tss_limit & 0xffff) | ((uint64_t)(TSS & 0xffffff) << 16) | (0x89ull << 40) |
             ((uint64_t)(tss_limit >> 16 & 0xf) << 48);
    gdt[7] = 0;
    *(uint64_t *)(m + TSS + 4) = KSTACK;        /* RSP0 */
    *(uint16_t *)(m + TSS + 102) = IOBITMAP - TSS;
    m[IOBITMAP + 0x2000] = 0xff;
    /* CPL0 stubs: the syscall entry and the #UD handler */
    static const uint8_t entry[] = {0xe6, PORT_CALL, 0x48, 0x0f, 0x07};      /* out al,$0xe0; sysretq */
    static const uint8_t ud[] = {0xe6, PORT_UD, 0x48, 0x83, 0x04, 0x24, 0x02, 0x48, 0xcf}; /* out; addq $2,(rsp); iretq */
    memcpy(m + KCODE, entry, sizeof entry);
    memcpy(m + KCODE + 0x100, ud, sizeof ud);
    uint64_t h = KCODE + 0x100;
    uint64_t *idt = (uint64_t *)(m + IDT + 6 * 16);     /* vector 6, #UD: a CPL0 interrupt gate */
    idt[0] = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((h >> 16 & 0xffff) << 48);
    idt[1] = h >> 32;
    /* CPL3 loop: r12 = calls; each: eax = 39 (getpid), the call, check rax == 4242 */
    uint8_t *u = m + UCODE;
    size_t k = 0;
    u[k++] = 0x49; u[k++] = 0xbc; memcpy(u + k, &calls, 8); k += 8;       /* mov r12, calls */
    u[k++] = 0x45; u[k++] = 0x31; u[k++] = 0xed;                          /* xor r13d, r13d (errors) */
    size_t loop = k;
    u[k++] = 0xb8; u[k++] = 39; u[k++] = 0; u[k++] = 0; u[k++] = 0;       /* mov eax, 39 */
    if (use_syscall) { u[k++] = 0x0f; u[k++] = 0x05; }                    /* syscall */
    else { u[k++] = 0xe6; u[k++] = PORT_CALL; }                           /* out al, $0xe0 */
    u[k++] = 0x48; u[k++] = 0x3d; u[k++] = 0x92; u[k++] = 0x10; u[k++] = 0; u[k++] = 0; /* cmp rax, 4242 */
    u[k++] = 0x74; u[k++] = 0x03;                                         /* je +3 */
    u[k++] = 0x49; u[k++] = 0xff; u[k++] = 0xc5;                          /* inc r13 */
    u[k++] = 0x49; u[k++] = 0xff; u[k++] = 0xcc;                          /* dec r12 */
    u[k++] = 0x0f; u[k++] = 0x85;                                          /* jnz loop */
    int32_t rel = (int32_t)(loop - (k + 4));
    memcpy(u + k, &rel, 4); k += 4;
    u[k++] = 0x4c; u[k++] = 0x89; u[k++] = 0xe8;                          /* mov rax, r13 */
    u[k++] = 0xe6; u[k++] = PORT_DONE;                                     /* out al, $0xe2 */
    u[k++] = 0xeb; u[k++] = 0xfe;                                          /* jmp . */

    int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    if (cpu < 0 || run == MAP_FAILED)
        die("vCPU");
    /* the host's CPUID: long mode, SYSCALL, as KVM supports them */
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + 256 * sizeof cpuid->entries[0]);
    cpuid->nent = 256;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 || ioctl(cpu, KVM_SET_CPUID2, cpuid) < 0)
        die("CPUID");
    free(cpuid);
    struct kvm_sregs s;
    ioctl(cpu, KVM_GET_SREGS, &s);
    kseg(&s.cs, 0x28 | 3, 3, 1);
    kseg(&s.ds, 0x20 | 3, 3, 0);
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.tr = (struct kvm_segment){.base = TSS, .limit = tss_limit, .selector = 0x30, .type = 11, .present = 1};
    s.gdt = (struct kvm_dtable){.base = GDT, .limit = 8 * 8 - 1};
    s.idt = (struct kvm_dtable){.base = IDT, .limit = 32 * 16 - 1};
    s.cr0 = 0x80050033;
    s.cr3 = PML4;
    s.cr4 = 0x620;
    s.efer = 0x500 | (sce ? 1 : 0);                     /* LME, LMA, SCE */
    if (ioctl(cpu, KVM_SET_SREGS, &s) < 0)
        die("KVM_SET_SREGS");
    struct { struct kvm_msrs h; struct kvm_msr_entry e[3]; } msrs = {.h.nmsrs = 3, .e = {
        {.index = 0xc0000081, .data = (0x10ull << 48) | (0x08ull << 32)},   /* STAR: sysret base 0x18|3, syscall CS 0x08 */
        {.index = 0xc0000082, .data = KCODE},                               /* LSTAR */
        {.index = 0xc0000084, .data = 0x700},                               /* SFMASK: TF, IF, DF */
    }};
    msrs.e[0].data = (0x18ull << 48) | (0x08ull << 32);
    if (ioctl(cpu, KVM_SET_MSRS, &msrs) != 3)
        die("KVM_SET_MSRS");
    struct kvm_regs regs = {.rip = UCODE, .rsp = USTACK, .rflags = 0x3002};
    ioctl(cpu, KVM_SET_REGS, &regs);

    if (sync) {
        if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) <= 0)
            die("KVM_CAP_SYNC_REGS");
        run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    }
    long served = 0;
    double t0 = now(), t1;
    for (;;) {
        if (ioctl(cpu, KVM_RUN, 0) < 0)
            die("KVM_RUN");
        if (run->exit_reason != KVM_EXIT_IO) {
            ioctl(cpu, KVM_GET_REGS, &regs);
            ioctl(cpu, KVM_GET_SREGS, &s);
            fprintf(stderr, "syscall_path: exit %u at rip %#llx rsp %#llx cs %#x cr2 %#llx\n", run->exit_reason,
                    (unsigned long long)regs.rip, (unsigned long long)regs.rsp, s.cs.selector,
                    (unsigned long long)s.cr2);
            printf("RESULT path=%s calls=%ld us_per_call=0 ok=0\n", path, served);
            return 1;
        }
        uint16_t port = run->io.port;
        if (port == PORT_DONE) {
            t1 = now();
            uint8_t errs = *((uint8_t *)run + run->io.data_offset);
            printf("RESULT path=%s calls=%ld us_per_call=%.2f ok=%d\n", path, served, (t1 - t0) / served * 1e6,
                   (bare || errs == 0) && served == calls);
            return 0;
        }
        served++;
        if (bare)
            continue;
        if (sync) {             /* the registers came with the exit; send them back the same way */
            struct kvm_regs *sr = &run->s.regs.regs;
            struct kvm_sregs *ss = &run->s.regs.sregs;
            sr->rax = 4242;
            sr->rip = sr->rcx;
            sr->rflags = (sr->r11 & ~0x10000ull) | 2;
            kseg(&ss->cs, 0x28 | 3, 3, 1);
            kseg(&ss->ss, 0x20 | 3, 3, 0);
            run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
            continue;
        }
        /* serve: read the call's registers, answer in rax */
        ioctl(cpu, KVM_GET_REGS, &regs);
        regs.rax = 4242;
        if (vmret) {            /* what sysretq does, done by the VMM */
            regs.rip = regs.rcx;
            regs.rflags = (regs.r11 & ~0x10000ull) | 2;
            struct kvm_sregs us;
            ioctl(cpu, KVM_GET_SREGS, &us);
            kseg(&us.cs, 0x28 | 3, 3, 1);
            kseg(&us.ss, 0x20 | 3, 3, 0);
            if (ioctl(cpu, KVM_SET_SREGS, &us) < 0)
                die("KVM_SET_SREGS");
        }
        ioctl(cpu, KVM_SET_REGS, &regs);
    }
}
