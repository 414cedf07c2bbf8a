/* Signals of a Linux guest, as far as servers use them: handlers
 * (rt_sigaction, SA_SIGINFO/SA_ONSTACK/SA_RESTART/SA_NODEFER/
 * SA_RESETHAND), per-thread masks, sigaltstack, kill/tkill/tgkill to
 * itself, SIGPIPE on a write to a closed socket, and the host's SIGTERM,
 * SIGINT, SIGHUP, SIGUSR2 (arom-vmm's own signals) passed to the program
 * when it handles them. A default action that terminates ends the VM with
 * 128 + the signal, as a shell reports it.
 *
 * Delivery is where the kernel does it: on the way back to CPL3, after a
 * system call (linux_syscall) or before KVM_RUN resumes a thread that a
 * kick took out of the guest (vcpu.c). The frame is Linux's rt_sigframe
 * (the restorer's address, a ucontext, a siginfo) with the FPU state
 * (KVM_GET_XSAVE) above it, so handlers that read uc_mcontext (a crash
 * report) see what they expect; rt_sigreturn restores from it, and what
 * it may change is limited to what a CPL3 program may set. A call the
 * kick interrupted restarts when no handler runs, or with SA_RESTART for
 * the calls Linux restarts; else it returns -EINTR. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "vmm/linux.h"

#define NSIG_LX 64
#define BIT(sig) (1ull << ((sig) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))
#define SIG_DFL_LX 0ull
#define SIG_IGN_LX 1ull
#define SA_RESTORER_LX 0x04000000ull
#define SI_USER_LX 0
#define SI_KERNEL_LX 0x80
#define SI_TKILL_LX (-6)
#define RED_ZONE 128
#define RFLAGS_USER 0x254dd5ull     /* CF PF AF ZF SF TF DF OF AC ID: what sigreturn may set */

/* Linux's x86-64 signal frame (arch/x86/include/uapi/asm/sigcontext.h, ucontext.h, siginfo). */
struct lx_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2, fpstate, reserved[8];
};

struct lx_ucontext {
    uint64_t flags, link;
    struct {
        uint64_t sp;
        int32_t flags, pad;
        uint64_t size;
    } stack;
    struct lx_sigcontext mc;
    uint64_t sigmask;
};

struct lx_siginfo {
    int32_t signo, err, code, pad;
    int32_t pid;
    uint32_t uid;
    uint8_t rest[104];
};

struct lx_sigframe {
    uint64_t pretcode;          /* the restorer: where the handler's ret goes */
    struct lx_ucontext uc;
    struct lx_siginfo info;
};

_Static_assert(sizeof(struct lx_sigcontext) == 256, "Linux's sigcontext");
_Static_assert(sizeof(struct lx_siginfo) == 128, "Linux's siginfo");

struct lx_sigaction {           /* rt_sigaction's struct, as the guest passes it */
    uint64_t handler, flags, restorer, mask;
};

static void *gptr(struct linux_proc *p, uint64_t va, uint64_t len, bool write)
{
    return guest_mem_user_ptr(p->mem, p->cr3, va, len, write);
}

/* What a signal does by default when nothing else is set. */
static bool default_ignores(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT || sig == SIGSTOP ||
           sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;  /* no job control: stops are ignored */
}

static bool ignored(const struct linux_proc *p, int sig)
{
    uint64_t h = p->sigact[sig - 1].handler;
    return h == SIG_IGN_LX || (h == SIG_DFL_LX && default_ignores(sig));
}

static uint64_t deliverable(const struct linux_proc *p, unsigned id)
{
    const struct linux_thread *t = &p->threads[id];
    return (__atomic_load_n(&t->sig_pending, __ATOMIC_ACQUIRE) | __atomic_load_n(&p->sig_pending, __ATOMIC_ACQUIRE)) &
           ~t->sig_blocked;
}

bool linux_signal_pending(const struct linux_proc *p, unsigned id)
{
    return deliverable(p, id) != 0;
}

int64_t linux_rt_sigaction(struct linux_proc *p, int sig, uint64_t act_va, uint64_t old_va, uint64_t size)
{
    if (sig < 1 || sig > NSIG_LX || size != 8)
        return -EINVAL;
    const struct lx_sigaction *act = act_va ? gptr(p, act_va, sizeof *act, false) : NULL;
    struct lx_sigaction *old = old_va ? gptr(p, old_va, sizeof *old, true) : NULL;
    if ((act_va && !act) || (old_va && !old))
        return -EFAULT;
    if (act && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    struct linux_sigaction prev = p->sigact[sig - 1];
    if (act) {
        p->sigact[sig - 1] = (struct linux_sigaction){act->handler, act->flags, act->restorer,
                                                      act->mask & ~UNBLOCKABLE};
        if (ignored(p, sig)) {          /* a pending signal now ignored is dropped, as Linux does */
            p->sig_pending &= ~BIT(sig);
            for (unsigned i = 0; i < AROM_MAX_VCPUS; i++)
                p->threads[i].sig_pending &= ~BIT(sig);
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (old)
        *old = (struct lx_sigaction){prev.handler, prev.flags, prev.restorer, prev.mask};
    return 0;
}

int64_t linux_rt_sigprocmask(struct linux_proc *p, unsigned id, int how, uint64_t set_va, uint64_t old_va,
                             uint64_t size)
{
    if (size != 8)
        return -EINVAL;
    const uint64_t *set = set_va ? gptr(p, set_va, 8, false) : NULL;
    uint64_t *old = old_va ? gptr(p, old_va, 8, true) : NULL;
    if ((set_va && !set) || (old_va && !old))
        return -EFAULT;
    struct linux_thread *t = &p->threads[id];
    pthread_mutex_lock(&p->lock);       /* senders read the mask to pick a thread */
    uint64_t prev = t->sig_blocked, next = prev;
    int rc = 0;
    if (set) {
        switch (how) {
        case SIG_BLOCK: next = prev | *set; break;
        case SIG_UNBLOCK: next = prev & ~*set; break;
        case SIG_SETMASK: next = *set; break;
        default: rc = -EINVAL; break;
        }
    }
    if (!rc)
        t->sig_blocked = next & ~UNBLOCKABLE;
    pthread_mutex_unlock(&p->lock);
    if (old && !rc)
        *old = prev;
    return rc;
}

int64_t linux_sigaltstack(struct linux_proc *p, unsigned id, uint64_t ss_va, uint64_t old_va)
{
    struct lx_stack {
        uint64_t sp;
        int32_t flags, pad;
        uint64_t size;
    };
    const struct lx_stack *ss = ss_va ? gptr(p, ss_va, sizeof *ss, false) : NULL;
    struct lx_stack *old = old_va ? gptr(p, old_va, sizeof *old, true) : NULL;
    if ((ss_va && !ss) || (old_va && !old))
        return -EFAULT;
    struct linux_thread *t = &p->threads[id];
    struct lx_stack prev = {t->altstack_sp, t->altstack_size ? 0 : SS_DISABLE, 0, t->altstack_size};
    if (ss) {
        if (ss->flags & ~SS_DISABLE)
            return -EINVAL;
        if (ss->flags & SS_DISABLE)
            t->altstack_sp = t->altstack_size = 0;
        else if (ss->size < 2048)              /* Linux's MINSIGSTKSZ */
            return -ENOMEM;
        else
            t->altstack_sp = ss->sp, t->altstack_size = ss->size;
    }
    if (old)
        *old = prev;
    return 0;
}

/* Queue sig for thread `to` (or the process, to < 0) and kick the thread
 * that will take it. (lock held) */
static void queue_locked(struct linux_proc *p, int sig, int to, int code, unsigned *kick)
{
    *kick = ~0u;
    if (ignored(p, sig))
        return;                         /* discarded at generation, as Linux does */
    if (to >= 0) {
        p->threads[to].sig_code[sig - 1] = (int8_t)code;
        __atomic_fetch_or(&p->threads[to].sig_pending, BIT(sig), __ATOMIC_RELEASE);
        *kick = (unsigned)to;
        return;
    }
    p->sig_code[sig - 1] = (int8_t)code;
    __atomic_fetch_or(&p->sig_pending, BIT(sig), __ATOMIC_RELEASE);
    for (unsigned i = 0; i < p->nthreads_max; i++)     /* the main thread first, as Linux prefers */
        if (p->threads[i].active && !(p->threads[i].sig_blocked & BIT(sig))) {
            *kick = i;
            return;
        }
}

static void send(struct linux_proc *p, int sig, int to, int code, unsigned from)
{
    unsigned kick;
    pthread_mutex_lock(&p->lock);
    queue_locked(p, sig, to, code, &kick);
    pthread_mutex_unlock(&p->lock);
    if (kick != ~0u && kick != from && p->kick)
        p->kick(p->kick_ctx, kick);     /* the sender itself takes it on its way back */
}

void linux_signal_raise(struct linux_proc *p, unsigned id, int sig)
{
    send(p, sig, (int)id, SI_KERNEL_LX, id);
}

int64_t linux_kill(struct linux_proc *p, unsigned id, int64_t pid, int64_t tid, int64_t sig)
{
    if (sig < 0 || sig > NSIG_LX)
        return -EINVAL;
    int to = -1;
    if (tid != -1) {                    /* tkill/tgkill: a thread of this process */
        if (tid < 1 || tid > (int64_t)p->nthreads_max || !p->threads[tid - 1].active)
            return -ESRCH;
        to = (int)tid - 1;
    }
    if (pid != 1 && pid != 0 && pid != -1)
        return -ESRCH;                  /* the program is the only process it can see (pid 1) */
    if (sig)
        send(p, (int)sig, to, to >= 0 ? SI_TKILL_LX : SI_USER_LX, id);
    return 0;
}

int64_t linux_sigpending(struct linux_proc *p, unsigned id, uint64_t set_va, uint64_t size)
{
    uint64_t *set = gptr(p, set_va, 8, true);
    if (size != 8)
        return -EINVAL;
    if (!set)
        return -EFAULT;
    *set = (p->threads[id].sig_pending | p->sig_pending) & p->threads[id].sig_blocked;
    return 0;
}

bool linux_signal_host(struct linux_proc *p, int sig)
{
    pthread_mutex_lock(&p->lock);
    uint64_t h = p->sigact[sig - 1].handler;
    unsigned kick = ~0u;
    bool taken = h != SIG_DFL_LX || default_ignores(sig);
    if (taken)
        queue_locked(p, sig, -1, SI_USER_LX, &kick);
    pthread_mutex_unlock(&p->lock);
    if (kick != ~0u && p->kick)
        p->kick(p->kick_ctx, kick);
    return taken;
}

void linux_signal_rekick(struct linux_proc *p)
{
    if (!p->kick)
        return;
    for (unsigned i = 0; i < p->nthreads_max; i++)
        if (p->threads[i].active && deliverable(p, i))
            p->kick(p->kick_ctx, i);    /* a kick that landed just before a blocking host call */
}

/* The calls Linux restarts after a handler with SA_RESTART (-ERESTARTSYS);
 * the others (epoll_wait, poll, nanosleep...) return -EINTR. */
static bool restartable(int nr)
{
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev: case SYS_pread64: case SYS_pwrite64:
    case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg: case SYS_accept: case SYS_accept4:
    case SYS_connect: case SYS_futex: case SYS_wait4: case SYS_fcntl: case SYS_flock: case SYS_open:
    case SYS_openat: case SYS_ioctl:
        return true;
    default:
        return false;
    }
}

static enum linux_result terminate(struct linux_proc *p, int sig, const char *why)
{
    const char *name = sigabbrev_np(sig);
    log_info("linux guest: %s by signal SIG%s (%d)%s", sig == SIGKILL ? "killed" : "terminated",
             name ? name : "?", sig, why);
    p->term_signal = sig;
    p->exit_status = 128 + sig;
    return LINUX_EXIT;
}

/* The lowest deliverable signal, taken off its pending set, and its
 * si_code; 0 if none. */
static int take_signal(struct linux_proc *p, unsigned id, int *code)
{
    struct linux_thread *t = &p->threads[id];
    uint64_t mine = t->sig_pending & ~t->sig_blocked, shared = p->sig_pending & ~t->sig_blocked;
    if (!(mine | shared))
        return 0;
    int sig = __builtin_ctzll(mine ? mine : shared) + 1;
    *code = mine ? t->sig_code[sig - 1] : p->sig_code[sig - 1];
    __atomic_fetch_and(mine ? &t->sig_pending : &p->sig_pending, ~BIT(sig), __ATOMIC_ACQ_REL);
    return sig;
}

static bool on_altstack(const struct linux_thread *t, uint64_t sp)
{
    return t->altstack_size && sp - t->altstack_sp < t->altstack_size;
}

/* Build the frame of sig's handler and point r at the handler. */
static enum linux_result push_frame(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_regs *r, int sig,
                                    const struct linux_sigaction *act, int code)
{
    struct linux_thread *t = &p->threads[id];
    if (!(act->flags & SA_RESTORER_LX))
        return terminate(p, SIGSEGV, ": its handler has no restorer (SA_RESTORER)");
    uint64_t sp = r->rsp;
    if (act->flags & SA_ONSTACK && t->altstack_size && !on_altstack(t, sp))
        sp = t->altstack_sp + t->altstack_size;
    else
        sp -= RED_ZONE;
    struct kvm_xsave xs;
    uint64_t fp = (sp - sizeof xs) & ~63ull;
    uint64_t at = ((fp - sizeof(struct lx_sigframe)) & ~15ull) - 8;   /* as after a call: rsp + 8 aligned */
    struct lx_sigframe *f = gptr(p, at, sp - at, true);
    if (!f || ioctl(vcpu_fd, KVM_GET_XSAVE, &xs) < 0)
        return terminate(p, SIGSEGV, f ? ": the FPU state cannot be read" : ": no room for its frame on the stack");
    memcpy((uint8_t *)f + (fp - at), &xs, sizeof xs);
    *f = (struct lx_sigframe){
        .pretcode = act->restorer,
        .uc.stack = {t->altstack_sp, t->altstack_size ? (on_altstack(t, r->rsp) ? SS_ONSTACK : 0) : SS_DISABLE,
                     0, t->altstack_size},
        .uc.mc = {r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rdi, r->rsi, r->rbp, r->rbx,
                  r->rdx, r->rax, r->rcx, r->rsp, r->rip, r->rflags, .cs = (uint16_t)p->user_cs.selector,
                  .ss = (uint16_t)p->user_ss.selector, .oldmask = t->sig_blocked, .fpstate = fp},
        .uc.sigmask = t->sig_blocked,
        .info = {.signo = sig, .code = code},
    };
    t->sig_blocked |= act->mask | (act->flags & SA_NODEFER ? 0 : BIT(sig));
    t->sig_blocked &= ~UNBLOCKABLE;
    if (act->flags & SA_RESETHAND)
        p->sigact[sig - 1].handler = SIG_DFL_LX;
    r->rsp = at;
    r->rip = act->handler;
    r->rdi = (uint64_t)sig;
    r->rsi = at + offsetof(struct lx_sigframe, info);
    r->rdx = at + offsetof(struct lx_sigframe, uc);
    r->rax = 0;
    r->rflags &= ~0x500ull;             /* DF and TF clear in a handler */
    __atomic_fetch_add(&p->signals_delivered, 1, __ATOMIC_RELAXED);
    return LINUX_CONTINUE;
}

enum linux_result linux_signal_deliver(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_regs *r,
                                       int interrupted)
{
    pthread_mutex_lock(&p->lock);
    enum linux_result res = LINUX_CONTINUE;
    int sig, code;
    while (res == LINUX_CONTINUE && (sig = take_signal(p, id, &code))) {
        struct linux_sigaction act = p->sigact[sig - 1];
        if (ignored(p, sig))
            continue;
        if (act.handler == SIG_DFL_LX) {
            res = terminate(p, sig, "");
            break;
        }
        if (interrupted >= 0) {         /* the call a kick broke off: again, or -EINTR */
            if (act.flags & SA_RESTART && restartable(interrupted))
                r->rip -= 2, r->rax = (uint64_t)interrupted;    /* back onto the 2-byte `syscall` */
            interrupted = -1;
        }
        res = push_frame(p, id, vcpu_fd, r, sig, &act, code);
        break;                          /* one frame at a time: the next after its sigreturn */
    }
    if (res == LINUX_CONTINUE && interrupted >= 0)
        r->rip -= 2, r->rax = (uint64_t)interrupted;            /* no handler ran: restart it */
    pthread_mutex_unlock(&p->lock);
    return res;
}

enum linux_result linux_sigreturn(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_regs *r)
{
    const struct lx_ucontext *uc = gptr(p, r->rsp, sizeof *uc, false);
    if (!uc)
        return terminate(p, SIGSEGV, ": rt_sigreturn without a frame");
    const struct lx_sigcontext *m = &uc->mc;
    if (m->fpstate) {
        struct kvm_xsave xs;
        const void *fp = gptr(p, m->fpstate, sizeof xs, false);
        if (!fp)
            return terminate(p, SIGSEGV, ": rt_sigreturn with a bad FPU state pointer");
        memcpy(&xs, fp, sizeof xs);
        if (ioctl(vcpu_fd, KVM_SET_XSAVE, &xs) < 0)
            return terminate(p, SIGSEGV, ": rt_sigreturn with an FPU state the CPU refuses");
    }
    uint64_t user_flags = r->r11;       /* the program's RFLAGS at its `syscall` */
    *r = (struct kvm_regs){
        .r8 = m->r8, .r9 = m->r9, .r10 = m->r10, .r11 = m->r11, .r12 = m->r12, .r13 = m->r13, .r14 = m->r14,
        .r15 = m->r15, .rdi = m->rdi, .rsi = m->rsi, .rbp = m->rbp, .rbx = m->rbx, .rdx = m->rdx, .rax = m->rax,
        .rcx = m->rcx, .rsp = m->rsp, .rip = m->rip,
        .rflags = (user_flags & ~(RFLAGS_USER | 0x10000ull)) | (m->eflags & RFLAGS_USER) | 2,
    };
    pthread_mutex_lock(&p->lock);
    p->threads[id].sig_blocked = uc->sigmask & ~UNBLOCKABLE;
    pthread_mutex_unlock(&p->lock);
    return LINUX_CONTINUE;
}

enum linux_result linux_signal_check(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run)
{
    if (!linux_signal_pending(p, id) || linux_ring_in_stub(run->s.regs.regs.rip))
        return LINUX_CONTINUE;          /* in the ring's stub: its slot is in use; the next kick */
    /* The sync area holds the thread's state: KVM stored it at the exit the kick caused. */
    enum linux_result res = linux_signal_deliver(p, id, vcpu_fd, &run->s.regs.regs, -1);
    run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
    return res;
}

bool linux_signal_shutdown(struct linux_proc *p, uint64_t grace_ms)
{
    pthread_mutex_lock(&p->lock);
    bool handles = p->sigact[SIGTERM - 1].handler > SIG_IGN_LX;
    bool again = p->term_deadline_ns != 0;
    if (handles && !again)
        p->term_deadline_ns = clock_now_ns() + grace_ms * 1000000ull;
    pthread_mutex_unlock(&p->lock);
    if (!handles || again)
        return false;                   /* no handler, or a second request: stop now */
    linux_signal_host(p, SIGTERM);
    return true;
}

bool linux_shutdown_overdue(struct linux_proc *p)
{
    pthread_mutex_lock(&p->lock);
    bool late = p->term_deadline_ns && clock_now_ns() > p->term_deadline_ns;
    pthread_mutex_unlock(&p->lock);
    return late;
}
