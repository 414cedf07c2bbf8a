#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/cpu_setup.h"
#include "vmm/layout.h"
#include "lib/log.h"

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define RFLAGS_IOPL3 (3ull << 12)
#define RFLAGS_FIXED (1ull << 1)

/* 8-byte code/data descriptor: flat, 4 GiB limit (ignored in long mode). */
static uint64_t gdt_entry(unsigned dpl, int code)
{
    uint64_t type = code ? 0xb : 0x3;           /* code: exec/read/accessed; data: rw/accessed */
    uint64_t d = 0xffffull | (0xfull << 48);    /* limit */
    d |= (type | 0x10 | ((uint64_t)dpl << 5) | 0x80) << 40;   /* S, DPL, P */
    d |= code ? (1ull << 53) : (1ull << 54);    /* L for code, D/B for data */
    d |= 1ull << 55;                            /* G */
    return d;
}

static void gdt_tss(uint64_t *gdt, unsigned idx, uint64_t base, uint32_t limit)
{
    gdt[idx] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
               ((uint64_t)(limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
    gdt[idx + 1] = base >> 32;
}

/* Each stub saves rax/rdx, reports its vector on AROM_EXCEPTION_PORT and
 * halts; the VMM reads the frame from the vCPU's exception stack. It runs
 * at CPL0 only on the fatal path, so emulated CPL0 on PVM costs nothing. */
static void write_stub(uint8_t *p, unsigned vector)
{
    const uint8_t code[] = {
        0x50,                                   /* push rax */
        0x52,                                   /* push rdx */
        0x66, 0xba, AROM_EXCEPTION_PORT & 0xff, AROM_EXCEPTION_PORT >> 8, /* mov dx, port */
        0xb0, (uint8_t)vector,                  /* mov al, vector */
        0xee,                                   /* out dx, al */
        0xf4,                                   /* hlt */
        0xeb, 0xfd,                             /* jmp hlt */
    };
    memset(p, 0xcc, LAYOUT_STUB_SIZE);
    memcpy(p, code, sizeof code);
}

static void idt_gate(uint8_t *idt, unsigned vector, uint64_t handler)
{
    uint64_t lo = (handler & 0xffff) | ((uint64_t)SEL_KCODE << 16) | (0x8eull << 40) |
                  ((handler >> 16 & 0xffff) << 48);
    uint64_t hi = handler >> 32;
    memcpy(idt + vector * 16, &lo, 8);
    memcpy(idt + vector * 16 + 8, &hi, 8);
}

void cpu_setup_system_area(struct guest_mem *gm, unsigned vcpus)
{
    uint8_t *ram = gm->host;
    uint64_t *gdt = (uint64_t *)(ram + LAYOUT_GDT);
    memset(gdt, 0, AROM_PAGE_SIZE);
    gdt[SEL_KCODE / 8] = gdt_entry(0, 1);
    gdt[SEL_KDATA / 8] = gdt_entry(0, 0);
    gdt[SEL_UCODE / 8] = gdt_entry(3, 1);
    gdt[SEL_UDATA / 8] = gdt_entry(3, 0);

    /* IOPL=3 should make the I/O bitmap irrelevant, but PVM consults it for
     * CPL3 port I/O anyway: every TSS points at one shared all-zero bitmap. */
    memset(ram + LAYOUT_IOBITMAP, 0, LAYOUT_IOBITMAP_LEN - 1);
    ram[LAYOUT_IOBITMAP + LAYOUT_IOBITMAP_LEN - 1] = 0xff;
    memset(ram + LAYOUT_TSS, 0, AROM_PAGE_SIZE);
    for (unsigned i = 0; i < vcpus; i++) {
        uint64_t base = LAYOUT_TSS + i * LAYOUT_TSS_SLOT;
        uint8_t *tss = ram + base;
        uint64_t rsp0 = LAYOUT_EXC_STACKS + (i + 1) * LAYOUT_EXC_STACK;
        memcpy(tss + 4, &rsp0, 8);              /* RSP0 */
        uint16_t iomap = (uint16_t)(LAYOUT_IOBITMAP - base);
        memcpy(tss + 102, &iomap, 2);
        gdt_tss(gdt, SEL_TSS(i) / 8, base, (uint32_t)(iomap + LAYOUT_IOBITMAP_LEN - 1));
    }

    uint8_t *idt = ram + LAYOUT_IDT;
    memset(idt, 0, AROM_PAGE_SIZE);
    for (unsigned v = 0; v < 32; v++) {
        uint64_t stub = LAYOUT_STUBS + v * LAYOUT_STUB_SIZE;
        write_stub(ram + stub, v);
        idt_gate(idt, v, stub);
    }
}

int cpu_setup_boot_info(struct guest_mem *gm, unsigned vcpus, uint64_t heap_start,
                        const char *cmdline)
{
    struct arom_boot_info *bi = guest_mem_ptr(gm, AROM_BOOT_INFO_GPA, sizeof *bi);
    size_t len = cmdline ? strlen(cmdline) : 0;
    if (!bi)
        return -EFAULT;
    if (len >= AROM_CMDLINE_MAX)
        return -E2BIG;
    memset(bi, 0, sizeof *bi);
    bi->magic = AROM_BOOT_MAGIC;
    bi->abi_version = AROM_ABI_VERSION;
    bi->vcpus = vcpus;
    bi->ram_size = gm->size;
    bi->heap_start = heap_start;
    bi->heap_end = gm->size;
    bi->cmdline_len = (uint32_t)len;
    if (len)
        memcpy(bi->cmdline, cmdline, len);
    return 0;
}

static int set_cpuid(int kvm_fd, int vcpu_fd, unsigned id)
{
    const unsigned max = 256;
    struct kvm_cpuid2 *c = calloc(1, sizeof *c + max * sizeof(struct kvm_cpuid_entry2));
    if (!c)
        return -ENOMEM;
    c->nent = max;
    int rc = 0;
    if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
        rc = -errno;
        log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        goto out;
    }
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 1)                   /* initial APIC id */
            e->ebx = (e->ebx & 0x00ffffff) | (id << 24);
        if (e->function == 0xb || e->function == 0x1f)
            e->edx = id;                        /* x2APIC id */
    }
    if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0) {
        rc = -errno;
        log_error("vCPU %u: KVM_SET_CPUID2: %s", id, strerror(errno));
    }
out:
    free(c);
    return rc;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, unsigned dpl, int code)
{
    *s = (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = sel, .present = 1,
        .type = code ? 11 : 3, .dpl = (uint8_t)dpl, .s = 1, .g = 1,
        .l = code ? 1 : 0, .db = code ? 0 : 1,
    };
}

int cpu_setup_vcpu(int kvm_fd, int vcpu_fd, unsigned id, uint64_t cr3, uint64_t entry)
{
    int rc = set_cpuid(kvm_fd, vcpu_fd, id);
    if (rc < 0)
        return rc;

    struct kvm_sregs s;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0) {
        log_error("vCPU %u: KVM_GET_SREGS: %s", id, strerror(errno));
        return -errno;
    }
    flat_segment(&s.cs, SEL_UCODE | 3, 3, 1);
    flat_segment(&s.ds, SEL_UDATA | 3, 3, 0);
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.tr = (struct kvm_segment){
        .base = LAYOUT_TSS + id * LAYOUT_TSS_SLOT,
        .limit = (uint32_t)(LAYOUT_IOBITMAP + LAYOUT_IOBITMAP_LEN - 1 - (LAYOUT_TSS + id * LAYOUT_TSS_SLOT)),
        .selector = SEL_TSS(id),
        .type = 11, .present = 1,               /* busy 64-bit TSS */
    };
    s.gdt.base = LAYOUT_GDT;
    s.gdt.limit = (uint16_t)(SEL_TSS(AROM_MAX_VCPUS) - 1);
    s.idt.base = LAYOUT_IDT;
    s.idt.limit = 32 * 16 - 1;
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
    s.cr3 = cr3;
    s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    s.efer = EFER_LME | EFER_LMA;
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0) {
        log_error("vCPU %u: KVM_SET_SREGS: %s", id, strerror(errno));
        return -errno;
    }

    struct kvm_regs r = {
        .rip = entry,
        .rsp = layout_stack_top(id),
        .rdi = AROM_BOOT_INFO_GPA,
        .rsi = id,
        .rflags = RFLAGS_FIXED | RFLAGS_IOPL3,
    };
    if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0) {
        log_error("vCPU %u: KVM_SET_REGS: %s", id, strerror(errno));
        return -errno;
    }
    return 0;
}
