#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "vmm/elf_loader.h"
#include "vmm/layout.h"
#include "arom/vvar.h"
#include "vmm/linux.h"

extern const unsigned char linux_vdso_image[];
extern const size_t linux_vdso_size;

#define MAX_IMAGE (512u << 20)

/* The environment a Linux guest starts with: what a minimal login gives. */
static const char *const guest_env[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "LANG=C.UTF-8", "TERM=dumb", NULL,
};

/* A stack being built downwards in guest RAM. */
struct stack {
    uint8_t *ram;
    uint64_t sp, lo;
    bool overflow;
};

static uint64_t push_bytes(struct stack *s, const void *p, size_t n)
{
    if (s->sp - s->lo < n + 64) {
        s->overflow = true;
        return 0;
    }
    s->sp -= n;
    memcpy(s->ram + s->sp, p, n);
    return s->sp;
}

static uint64_t push_str(struct stack *s, const char *str)
{
    return push_bytes(s, str, strlen(str) + 1);
}

static void push_u64(struct stack *s, uint64_t v)
{
    push_bytes(s, &v, sizeof v);
}

/* argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL: the System V ABI's
 * process start (the strings and AT_RANDOM's bytes above them). */
static int build_stack(struct linux_proc *p, const struct linux_config *cfg, const struct elf_image_info *info,
                       uint64_t interp_base, uint64_t vdso, uint64_t *rsp)
{
    struct stack s = {.ram = p->mem->host, .sp = p->mm.stack_top, .lo = p->mm.stack_lo};
    int envc = 0;
    while (guest_env[envc])
        envc++;
    uint64_t *argv = calloc((size_t)cfg->argc + 1, sizeof *argv), envp[8] = {0};
    if (!argv)
        return -ENOMEM;
    uint64_t execfn = push_str(&s, cfg->exe);
    for (int i = cfg->argc - 1; i >= 0; i--)
        argv[i] = push_str(&s, cfg->argv[i]);
    for (int i = envc - 1; i >= 0; i--)
        envp[i] = push_str(&s, guest_env[i]);
    uint64_t platform = push_str(&s, "x86_64");
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
        memset(rnd, 0x5a, sizeof rnd);
    uint64_t random = push_bytes(&s, rnd, sizeof rnd);
    const uint64_t auxv[][2] = {
        {AT_PHDR, info->phdr}, {AT_PHENT, info->phent}, {AT_PHNUM, info->phnum}, {AT_PAGESZ, 4096},
        {AT_BASE, interp_base}, {AT_FLAGS, 0}, {AT_ENTRY, info->entry}, {AT_UID, 0}, {AT_EUID, 0}, {AT_GID, 0},
        {AT_EGID, 0}, {AT_SECURE, 0}, {AT_CLKTCK, 100}, {AT_HWCAP, 0}, {AT_RANDOM, random},
        {AT_PLATFORM, platform}, {AT_EXECFN, execfn}, {AT_SYSINFO_EHDR, vdso}, {AT_NULL, 0},
    };
    size_t words = 1 + (size_t)cfg->argc + 1 + (size_t)envc + 1 + 2 * (sizeof auxv / sizeof auxv[0]);
    s.sp = (s.sp - words * 8) & ~15ull;     /* rsp 16-aligned at entry */
    s.sp += words * 8;
    for (size_t i = sizeof auxv / sizeof auxv[0]; i-- > 0;) {
        push_u64(&s, auxv[i][1]);
        push_u64(&s, auxv[i][0]);
    }
    push_u64(&s, 0);
    for (int i = envc - 1; i >= 0; i--)
        push_u64(&s, envp[i]);
    push_u64(&s, 0);
    for (int i = cfg->argc - 1; i >= 0; i--)
        push_u64(&s, argv[i]);
    push_u64(&s, (uint64_t)cfg->argc);
    free(argv);
    *rsp = s.sp;
    return s.overflow ? -E2BIG : 0;
}

static int open_root(struct linux_proc *p, const struct linux_config *cfg, char *err, size_t errlen)
{
    p->root_fd = -1;
    p->root_rw = cfg->root_rw;
    if (!cfg->root)
        return 0;
    p->root_fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (p->root_fd < 0)
        return errf(err, errlen, -EINVAL, "--linux-root %s: %s", cfg->root, strerror(errno));
    return 0;
}

/* Read the file fd into a malloc'd buffer. */
static int read_fd(int fd, void **buf, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > MAX_IMAGE)
        return -ENOEXEC;
    *buf = malloc((size_t)st.st_size);
    if (!*buf)
        return -ENOMEM;
    ssize_t n = pread(fd, *buf, (size_t)st.st_size, 0);
    if (n != st.st_size) {
        free(*buf);
        return -EIO;
    }
    *len = (size_t)n;
    return 0;
}

/* The program's interpreter (PT_INTERP: ld-linux), read inside the root
 * and loaded at a base the mmap area hands out. */
static int load_interp(struct linux_proc *p, const char *path, uint64_t *base, uint64_t *entry, char *err,
                       size_t errlen)
{
    if (p->root_fd < 0)
        return errf(err, errlen, -EINVAL, "%s is dynamically linked (interpreter %s): give --linux-root (e.g. /) so "
                    "its interpreter and libraries can be read", p->exe, path);
    int64_t slot = linux_openat(p, AT_FDCWD, path, O_RDONLY, 0);
    if (slot < 0)
        return errf(err, errlen, -EINVAL, "%s: its interpreter %s under --linux-root: %s", p->exe, path,
                    strerror((int)-slot));
    void *buf;
    size_t len;
    int rc = read_fd(linux_fd_host(p, slot), &buf, &len);
    linux_close(p, slot);
    if (rc < 0)
        return errf(err, errlen, rc, "%s: its interpreter %s: %s", p->exe, path, strerror(-rc));
    char none[8];
    uint64_t span = 0;
    bool dyn = false;
    struct elf_image_info info;
    int64_t at = elf_interp(buf, len, none, sizeof none, &span, &dyn) == 0 && dyn && span
        ? linux_mmap_anon(&p->mm, p->mem, 0, span, 0) : -ENOEXEC;
    rc = at < 0 ? (int)at
       : elf_load_flags(buf, len, p->mem->host, p->mem->size, AROM_LOAD_MIN, (uint64_t)at,
                        ELF_LOAD_TLS | ELF_LOAD_DYNAMIC, &info, err, errlen);
    free(buf);
    if (rc < 0)
        return errf(err, errlen, rc, "%s: its interpreter %s cannot be loaded", p->exe, path);
    *base = (uint64_t)at;
    *entry = info.entry;
    return 0;
}

int linux_load(struct linux_proc *p, struct guest_mem *mem, uint64_t cr3, const struct linux_config *cfg,
               uint64_t *entry, uint64_t *rsp, char *err, size_t errlen)
{
    *p = (struct linux_proc){.mem = mem, .cr3 = cr3, .exe = cfg->exe, .root_fd = -1,
                             .nthreads_max = cfg->vcpus ? cfg->vcpus : 1, .nthreads_active = 1};
    p->threads[0].active = true;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->vvar_lock, NULL);
    pthread_cond_init(&p->clone_cond, NULL);
    linux_files_init(p);                /* first: linux_release after a failed load closes only what it opened */
    if (!realpath(cfg->exe, p->exe_abs))
        snprintf(p->exe_abs, sizeof p->exe_abs, "%s", cfg->exe);
    void *buf;
    size_t len;
    struct elf_image_info info;
    int rc = elf_read_file(cfg->exe, MAX_IMAGE, &buf, &len, err, errlen);
    if (rc < 0)
        return rc;
    char interp[256];
    uint64_t span, interp_base = 0;
    bool dyn;
    if (elf_interp(buf, len, interp, sizeof interp, &span, &dyn) < 0)
        interp[0] = '\0', dyn = false;  /* elf_load says what is wrong */
    unsigned flags = ELF_LOAD_TLS | (dyn || interp[0] ? ELF_LOAD_DYNAMIC : 0);
    rc = elf_load_flags(buf, len, mem->host, mem->size, AROM_LOAD_MIN, dyn ? LINUX_PIE_BASE : 0, flags, &info, err,
                        errlen);
    free(buf);
    if (rc < 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        return errf(err, errlen, rc, "%s: %s", cfg->exe, why);
    }
    if (!info.phdr)
        return errf(err, errlen, -ENOEXEC, "%s: its program headers are not in a loaded segment", cfg->exe);
    if ((rc = linux_mm_init(&p->mm, info.load_end, mem->size)) < 0)
        return errf(err, errlen, rc, "%s: guest RAM (%llu MiB) is too small for the program, its heap and an "
                    "8 MiB stack", cfg->exe, (unsigned long long)(mem->size >> 20));
    if ((rc = open_root(p, cfg, err, errlen)) < 0)
        return rc;
    *entry = info.entry;
    if (interp[0] && (rc = load_interp(p, interp, &interp_base, entry, err, errlen)) < 0)
        return rc;
    /* The vDSO (guest-tools/vdso/): the clock without an exit, once the VMM fills its page. */
    char none[8];
    uint64_t vspan = 0;
    bool vdyn;
    struct elf_image_info vinfo;
    int64_t vdso = elf_interp(linux_vdso_image, linux_vdso_size, none, sizeof none, &vspan, &vdyn) == 0 && vspan
        ? linux_mmap_anon(&p->mm, mem, 0, vspan, 0) : -ENOEXEC;
    if (vdso < 0 || elf_load_flags(linux_vdso_image, linux_vdso_size, mem->host, mem->size, AROM_LOAD_MIN,
                                   (uint64_t)vdso, ELF_LOAD_DYNAMIC, &vinfo, err, errlen) < 0)
        return errf(err, errlen, -ENOEXEC, "%s: the vDSO does not load", cfg->exe);
    if ((rc = build_stack(p, cfg, &info, interp_base, (uint64_t)vdso, rsp)) < 0)
        return errf(err, errlen, rc, "%s: the arguments do not fit the stack", cfg->exe);
    return 0;
}

void linux_release(struct linux_proc *p)
{
    linux_files_close_all(p);
    linux_mm_fini(&p->mm);
    if (p->root_fd >= 0)
        close(p->root_fd);
    p->root_fd = -1;
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->vvar_lock);
    pthread_cond_destroy(&p->clone_cond);
}

/* The entry LSTAR names: `out %al, $AROM_SYSCALL_PORT` (an imm8 port: no
 * register is clobbered), then a halt the VMM never lets it reach (it
 * returns to the program itself). It lives in the boot info page, which a
 * Linux guest does not use: readable at CPL3, because on PVM `syscall`
 * enters LSTAR without leaving CPL3 (measured: the stub faults as a user
 * access in a supervisor page); under VMX/SVM it runs at CPL0. Reaching it
 * by a jump is no more than a `syscall`: the VMM checks every argument. */
#define LAYOUT_SYSCALL_STUB AROM_BOOT_INFO_GPA

void linux_write_entry_stub(struct guest_mem *mem)
{
    const uint8_t stub[] = {0xe6, AROM_SYSCALL_PORT, 0xf4, 0xeb, 0xfd};  /* out; hlt; jmp hlt */
    memcpy((uint8_t *)mem->host + LAYOUT_SYSCALL_STUB, stub, sizeof stub);
}

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define EFER_SCE 1ull

/* The vDSO's clock page: the guest TSC now (KVM's view of the vCPU's MSR)
 * and what the host clocks said then, and the TSC's rate. Without a usable
 * TSC rate the page stays invalid and the vDSO makes the system call.
 * Refilled every second (linux_vvar_tick): the rate is then measured over
 * the whole run against the host's CLOCK_MONOTONIC (so it follows NTP's
 * slewing and corrects KVM_GET_TSC_KHZ's rounding), and the new base never
 * lies before what the page said at that TSC (the clock never goes back). */
static void fill_vvar(struct linux_proc *p, int vcpu_fd)
{
    struct arom_vvar *v = guest_mem_ptr(p->mem, AROM_VVAR_GPA, sizeof *v);
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e;
    } tsc = {.h.nmsrs = 1, .e.index = 0x10 /* IA32_TIME_STAMP_COUNTER */};
    long khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
    struct timespec mono, real;
    int n = v && khz > 0 ? ioctl(vcpu_fd, KVM_GET_MSRS, &tsc) : -1;
    p->vvar_filled_ns = clock_now_ns();
    if (n != 1) {
        if (!p->vvar_set)
            log_info("linux guest: no TSC clock for the vDSO (TSC kHz %ld, MSR read %d): the clock is a system call",
                     khz, n);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    int64_t mono_ns = mono.tv_sec * 1000000000ll + mono.tv_nsec;
    uint64_t mult = (1000000ull << 32) / (uint64_t)khz;
    if (!p->vvar_set) {
        p->vvar_tsc0 = tsc.e.data;
        p->vvar_mono0 = mono_ns;
    } else if (tsc.e.data > p->vvar_tsc0 && mono_ns - p->vvar_mono0 > 1000000000ll) {
        mult = (uint64_t)(((unsigned __int128)(mono_ns - p->vvar_mono0) << 32) / (tsc.e.data - p->vvar_tsc0));
        int64_t said = v->mono_ns + (int64_t)(((unsigned __int128)(tsc.e.data - v->tsc_base) * v->mult) >> v->shift);
        if (said > mono_ns)
            mono_ns = said;
    }
    /* Readers retry while seq is odd or changed (guest-tools/vdso/vdso.c). */
    __atomic_store_n(&v->seq, v->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    v->valid = 1;
    v->tsc_base = tsc.e.data;
    v->mono_ns = mono_ns;
    v->real_ns = real.tv_sec * 1000000000ll + real.tv_nsec;
    v->mult = mult;
    v->shift = 32;
    __atomic_store_n(&v->seq, v->seq + 1, __ATOMIC_RELEASE);
    p->vvar_set = true;
    p->vvar_fills++;
}

void linux_vvar_tick(struct linux_proc *p, int vcpu_fd)
{
    if (!p->vvar_set || clock_now_ns() - __atomic_load_n(&p->vvar_filled_ns, __ATOMIC_RELAXED) < 1000000000ull ||
        pthread_mutex_trylock(&p->vvar_lock))
        return;
    if (clock_now_ns() - p->vvar_filled_ns >= 1000000000ull)
        fill_vvar(p, vcpu_fd);
    pthread_mutex_unlock(&p->vvar_lock);
}

int linux_setup_vcpu(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run, uint64_t rsp)
{
    struct kvm_sregs s;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    p->user_cs = s.cs;          /* cpu_setup_vcpu's CPL3 segments: what every return loads */
    p->user_ss = s.ss;
    s.efer |= EFER_SCE;
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0)
        return -errno;
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[3];
    } msrs = {.h.nmsrs = 3, .e = {
        {.index = MSR_STAR, .data = (uint64_t)SEL_KCODE << 32},    /* syscall: CS 0x08, SS 0x10 */
        {.index = MSR_LSTAR, .data = p->ring.on ? linux_ring_lstar(id) : LAYOUT_SYSCALL_STUB},
        /* TF, IF, DF cleared on entry; the ring's stub returns by itself, with the program's flags */
        {.index = MSR_SFMASK, .data = p->ring.on ? 0 : 0x700},
    }};
    if (ioctl(vcpu_fd, KVM_SET_MSRS, &msrs) != 3)
        return -EIO;
    struct kvm_regs r;
    if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0)
        return -errno;
    r.rsp = rsp;                /* argc, argv, envp, auxv: the ABI's process start */
    r.rdi = r.rsi = r.rdx = 0;  /* rdx: no atexit function from a dynamic loader */
    if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
        return -errno;
    run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    if (p->threads[0].active && !p->vvar_set)
        fill_vvar(p, vcpu_fd);
    return 0;
}
