/* Unmodified Linux x86-64 programs as guests (--linux; docs/LINUX.md): the
 * program's own code, libc and data live in guest RAM (so on DRAM and
 * LtRAM, tiered as any guest's) and run at CPL3; its system calls reach
 * the VMM and are served here, the way gVisor's KVM platform and Dune do.
 *
 * Path of a call (measured: bench/probes/syscall_path): the guest's
 * `syscall` enters the CPL0 stub LSTAR names, which does one `out` to
 * AROM_SYSCALL_PORT; the VMM serves the call from the registers kvm_run's
 * sync area carries (no register ioctl) and returns to CPL3 itself (RIP =
 * RCX, RFLAGS = R11, the user CS and SS: what `sysretq` would do, which
 * fails in PVM's emulated CPL0 and is correct under VMX/SVM too).
 *
 *   linux_image.c    the ELF image, the initial stack (argv, envp, auxv)
 *   linux_mm.c       brk and mmap in guest RAM
 *   linux_files.c    file descriptors: stdio, files under a root directory
 *   linux_syscall.c  the dispatcher: checked guest pointers, every call,
 *                    -ENOSYS (counted by name) for the rest */
#ifndef AROM_VMM_LINUX_H
#define AROM_VMM_LINUX_H

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "arom/abi.h"
#include "vmm/guest_mem.h"

#define AROM_SYSCALL_PORT 0xe5           /* the CPL0 entry stub's one `out %al, $imm8`: no register clobbered */
#define LINUX_FD_MAX 256
#define LINUX_STACK_SIZE (8ull << 20)     /* what RLIMIT_STACK reports */
#define LINUX_ENOSYS_MAX 64               /* distinct unsupported calls counted by name */
#define LINUX_PIE_BASE (16ull << 20)      /* where a position-independent program is loaded */
#define LINUX_RING_BASE (AROM_STACK_AREA + AROM_PAGE_SIZE)  /* the ring's blocks: vCPU 0's unused arom stack */
#define LINUX_RING_BLOCK 512ull
#define LINUX_IO_MAX (1u << 20)           /* bytes one read or write moves (the program loops, as for any short count) */
#define LINUX_SHUTDOWN_GRACE_MS 10000     /* a program's time to exit after the SIGTERM of a shutdown */

struct linux_fd {
    int host;                   /* -1: free */
    bool dir;
    char path[256];             /* as the guest opened it, for fstat and messages */
};

struct linux_extent {
    uint64_t start, end;
};

struct linux_mm {
    uint64_t brk_start, brk, brk_end;     /* the break: [brk_start, brk), at most brk_end */
    uint64_t mmap_lo;                     /* mmap: [mmap_lo, stack_lo) */
    uint64_t stack_lo, stack_top;
    struct linux_extent *free;            /* the free ranges of the mmap area, sorted */
    unsigned nfree, free_cap;
    uint64_t free_bytes;
};

/* A thread of the program: one vCPU. Slot 0 is the main thread; the
 * others wait for a clone (linux_thread_wait). */
struct linux_thread {
    bool active;                /* running the program */
    bool starting;              /* cloned: regs/sregs below are its first state */
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    uint64_t clear_child_tid;   /* set_tid_address, CLONE_CHILD_CLEARTID */
    uint64_t sig_blocked;       /* its signal mask (bit sig-1; lock) */
    uint64_t sig_pending;       /* signals sent to this thread (atomic) */
    int8_t sig_code[64];        /* their si_code (lock) */
    uint64_t altstack_sp, altstack_size;  /* sigaltstack; size 0: none */
};

/* rt_sigaction's: handler 0 SIG_DFL, 1 SIG_IGN. */
struct linux_sigaction {
    uint64_t handler, flags, restorer, mask;
};

/* The system-call ring (vmm/linux_ring.c). */
struct linux_ring {
    bool on, started, stop;
    uint32_t awake;             /* the poller spins (atomic) */
    uint32_t wake;              /* its futex word */
    pthread_t thread;
    uint64_t calls, fallbacks, sleeps;
};

struct linux_proc {
    struct guest_mem *mem;
    uint64_t cr3;
    struct linux_mm mm;
    struct linux_fd fds[LINUX_FD_MAX];
    int root_fd;                          /* --linux-root (O_PATH), -1: no files */
    bool root_rw;
    const char *exe;                      /* the program's path, as given */
    char exe_abs[4096];                   /* and absolute: readlink("/proc/self/exe") */
    struct kvm_segment user_cs, user_ss;  /* what a return to CPL3 loads */
    pthread_mutex_t lock;                 /* fds, mm, threads, the -ENOSYS table (calls run concurrently) */
    pthread_cond_t clone_cond;            /* lock: a slot got a thread */
    struct linux_thread threads[AROM_MAX_VCPUS];
    unsigned nthreads_max, nthreads_active;
    bool vvar_set;                        /* the vDSO's clock page is filled (vvar_lock, as the four below) */
    pthread_mutex_t vvar_lock;            /* one vCPU refills it at a time */
    uint64_t vvar_filled_ns, vvar_fills;
    uint64_t vvar_tsc0;                   /* the first fill: the rate is measured from it */
    int64_t vvar_mono0;
    struct linux_sigaction sigact[64];    /* lock */
    uint64_t sig_pending;                 /* signals sent to the process (atomic) */
    int8_t sig_code[64];                  /* their si_code (lock) */
    /* Take vCPU id out of KVM_RUN or a blocking host call (vcpu_kick): a
     * signal for its thread. Set by the VMM; NULL in unit tests. */
    void (*kick)(void *ctx, unsigned id);
    void *kick_ctx;
    int term_signal;                      /* the signal that ended the program, 0: none */
    uint64_t term_deadline_ns;            /* a graceful shutdown: stopped at this time (lock; 0: none) */
    uint64_t signals_delivered;
    struct linux_ring ring;
    /* counters */
    uint64_t calls, enosys_calls, efault_calls;
    struct { int nr; uint64_t count; } enosys[LINUX_ENOSYS_MAX];
    unsigned n_enosys;
    int exit_status;
};

/* The options of a Linux guest. */
struct linux_config {
    const char *exe;              /* the ELF, a path on the host */
    char **argv;                  /* argv[0..argc): argv[0] is exe */
    int argc;
    const char *root;             /* files the program may open: NULL none */
    bool root_rw;
    unsigned vcpus;               /* the most threads at once */
};

/* Load cfg->exe into guest RAM, build the initial stack and fill p; *entry
 * and *rsp are where the vCPU starts. 0, or -errno with err (-ENOEXEC: not
 * a static x86-64 Linux ELF; -EINVAL bad root). */
int linux_load(struct linux_proc *p, struct guest_mem *mem, uint64_t cr3, const struct linux_config *cfg,
               uint64_t *entry, uint64_t *rsp, char *err, size_t errlen);
void linux_release(struct linux_proc *p);

/* The vCPU state of a Linux guest, after cpu_setup_vcpu: syscalls enabled,
 * LSTAR at the stub (written into the system area by
 * linux_write_entry_stub), RSP at the initial stack, the sync area armed.
 * 0 or -errno. */
int linux_setup_vcpu(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run, uint64_t rsp);
void linux_write_entry_stub(struct guest_mem *mem);
/* On a system call of vCPU id: refill the vDSO's clock page when it is a
 * second old (one vCPU at a time; the others go on). */
void linux_vvar_tick(struct linux_proc *p, int vcpu_fd);

enum linux_result { LINUX_CONTINUE, LINUX_EXIT, LINUX_THREAD_DONE };
/* Serve the system call the exit in run carries (sync regs) for vCPU id.
 * LINUX_EXIT: the program ended (exit_group, or its last thread exited);
 * LINUX_THREAD_DONE: this thread exited, its vCPU waits for a clone again. */
enum linux_result linux_syscall(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run);
/* Before KVM_RUN resumes vCPU id's thread: deliver a signal that kicked it
 * out of the guest. LINUX_EXIT: its default action ended the program. */
enum linux_result linux_signal_check(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run);
/* A signal the VMM received (SIGTERM ...): true when the program takes it
 * (a handler, or ignored), false when its default action would end it. */
bool linux_signal_host(struct linux_proc *p, int sig);
/* Kick again the threads that have a signal to take (the VMM's main loop,
 * every 50 ms: a kick can land just before a blocking host call). */
void linux_signal_rekick(struct linux_proc *p);
/* A shutdown request (the API's, `arom stop`): when the program handles
 * SIGTERM it gets one and grace_ms to exit on its own (true); false: stop
 * the VM now (no handler, or already asked once). */
bool linux_signal_shutdown(struct linux_proc *p, uint64_t grace_ms);
/* The grace of a shutdown request is over. */
bool linux_shutdown_overdue(struct linux_proc *p);
/* Before KVM_RUN on vCPU id: true when it has a thread to run (a cloned
 * one gets its first state now); false to ask again (waits <= 100 ms). */
bool linux_thread_ready(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run);

/* The "linux" section of the stats JSON. */
struct json_object;
struct json_object *linux_stats_json(struct linux_proc *p);

/* The system-call ring (PVM): start its poller once the image is loaded
 * (p->ring.on set), stop it after the vCPUs are joined. */
int linux_ring_start(struct linux_proc *p);
void linux_ring_stop(struct linux_proc *p);

/* Internal to vmm/linux_*.c. */
uint64_t linux_ring_lstar(unsigned vcpu);
bool linux_ring_in_stub(uint64_t rip);
/* An exit-path call: wake the poller if it sleeps, so the next calls take the ring. */
void linux_ring_wake(struct linux_proc *p);
/* The guest's iovec array at va (n entries) as host iovecs into iov, every
 * buffer checked (writable when write): 0 or -EFAULT. */
int64_t linux_iov(struct linux_proc *p, uint64_t va, uint64_t n, bool write, struct iovec *iov);
/* A host call's answer as the guest's: the value, or -errno. */
static inline int64_t linux_result(long r)
{
    return r < 0 ? -errno : r;
}
int linux_mm_init(struct linux_mm *mm, uint64_t image_end, uint64_t ram_size);
uint64_t linux_brk(struct linux_mm *mm, struct guest_mem *mem, uint64_t want);
int64_t linux_mmap_anon(struct linux_mm *mm, struct guest_mem *mem, uint64_t addr, uint64_t len, int flags);
int64_t linux_munmap(struct linux_mm *mm, struct guest_mem *mem, uint64_t addr, uint64_t len);
int64_t linux_mremap(struct linux_mm *mm, struct guest_mem *mem, uint64_t old, uint64_t old_len, uint64_t new_len,
                     int flags, uint64_t new_addr);
void linux_mm_fini(struct linux_mm *mm);
/* Bytes of the mmap area in use. */
uint64_t linux_mm_mapped(const struct linux_mm *mm);
/* Zero guest RAM [addr, addr+len), storing only into pages not already zero. */
void linux_mm_zero(struct guest_mem *mem, uint64_t addr, uint64_t len);
void linux_files_init(struct linux_proc *p);
void linux_files_close_all(struct linux_proc *p);
/* The host fd of guest fd, or -1. */
int linux_fd_host(struct linux_proc *p, int64_t fd);
int64_t linux_openat(struct linux_proc *p, int64_t dirfd, const char *path, int64_t flags, int64_t mode);
int64_t linux_close(struct linux_proc *p, int64_t fd);
int64_t linux_clone(struct linux_proc *p, unsigned parent, struct kvm_regs *r, struct kvm_sregs *s,
                    uint64_t flags, uint64_t stack, uint64_t ptid_va, uint64_t ctid, uint64_t tls,
                    uint32_t *ptid);
/* Thread id's exit; true when it was the last. (lock held) */
bool linux_thread_exit(struct linux_proc *p, unsigned id);
/* FUTEX_WAIT(_BITSET) and FUTEX_WAKE on the guest word's host address. */
int64_t linux_futex(struct linux_proc *p, uint64_t uaddr, int op, uint32_t val, uint64_t timeout_va);
/* Sockets, epoll, poll, pipes, dup, fcntl (vmm/linux_net.c): the result,
 * or -ENOSYS for what it does not serve. */
int64_t linux_net(struct linux_proc *p, int nr, const uint64_t a[6]);
/* Install host fd as a new guest fd (takes p->lock): the guest fd, or
 * -EMFILE (and host is closed). */
int64_t linux_fd_install(struct linux_proc *p, int host, const char *what);
/* A unix socket's path (the guest's) as a host path inside the root: its
 * directory resolved there (an O_PATH fd, *dirfd, to close after the bind
 * or connect), "/proc/self/fd/N/NAME" into out. 0 or -errno. */
int64_t linux_unix_path(struct linux_proc *p, const char *path, char *out, size_t cap, int *dirfd);
/* Signals (vmm/linux_signal.c). */
int64_t linux_rt_sigaction(struct linux_proc *p, int sig, uint64_t act_va, uint64_t old_va, uint64_t size);
int64_t linux_rt_sigprocmask(struct linux_proc *p, unsigned id, int how, uint64_t set_va, uint64_t old_va,
                             uint64_t size);
int64_t linux_sigaltstack(struct linux_proc *p, unsigned id, uint64_t ss_va, uint64_t old_va);
int64_t linux_sigpending(struct linux_proc *p, unsigned id, uint64_t set_va, uint64_t size);
/* kill (tid -1), tkill and tgkill from thread id. */
int64_t linux_kill(struct linux_proc *p, unsigned id, int64_t pid, int64_t tid, int64_t sig);
/* A signal the kernel would raise for thread id (SIGPIPE). */
void linux_signal_raise(struct linux_proc *p, unsigned id, int sig);
bool linux_signal_pending(const struct linux_proc *p, unsigned id);
/* Deliver thread id's next signal into r (the state it returns to);
 * interrupted: the call that returned -EINTR (restarted when no handler
 * runs or SA_RESTART allows), else -1. */
enum linux_result linux_signal_deliver(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_regs *r,
                                       int interrupted);
/* rt_sigreturn: r from the frame at r->rsp. LINUX_EXIT: a bad frame (SIGSEGV). */
enum linux_result linux_sigreturn(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_regs *r);
int64_t linux_faccessat(struct linux_proc *p, int64_t dirfd, const char *path, int64_t mode);
int64_t linux_newfstatat(struct linux_proc *p, int64_t dirfd, const char *path, void *statbuf, int64_t flags);

#endif
