/* Threads of a Linux guest: clone(CLONE_VM | CLONE_THREAD ...) runs the
 * new thread on a vCPU of its own (the VM has --vcpus of them; the spare
 * ones wait here for a clone), and futex waits and wakes on the host
 * address of the guest word: the host kernel's futex, so a wake from any
 * thread reaches it (guest RAM is one mapping of the VMM; a page tiering
 * moves keeps its address). Thread ids are vCPU id + 1. */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "vmm/linux.h"

#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

int64_t linux_clone(struct linux_proc *p, unsigned parent, struct kvm_regs *r, struct kvm_sregs *s,
                    uint64_t flags, uint64_t stack, uint64_t ptid_va, uint64_t ctid, uint64_t tls,
                    uint32_t *ptid)
{
    if ((flags & CLONE_THREAD_FLAGS) != CLONE_THREAD_FLAGS || (flags & (CLONE_VFORK | CLONE_PIDFD)))
        return -ENOSYS;         /* a process (fork) is not a thread: not supported */
    (void)ptid_va;
    unsigned slot = 1;
    while (slot < p->nthreads_max && (p->threads[slot].active || p->threads[slot].starting))
        slot++;
    if (slot >= p->nthreads_max)
        return -EAGAIN;         /* as Linux says when threads run out: more --vcpus */
    struct linux_thread *t = &p->threads[slot];
    /* The parent's signal mask; no pending signals, no alternate stack (Linux's CLONE_VM rule). */
    *t = (struct linux_thread){.starting = true, .regs = *r, .sregs = *s, .sig_blocked = p->threads[parent].sig_blocked};
    /* The child: where the parent's syscall returns, on its own stack, rax 0. */
    t->regs.rax = 0;
    t->regs.rip = r->rcx;
    t->regs.rflags = (r->r11 & ~0x10000ull) | 2;
    t->regs.rsp = stack;
    t->sregs.cs = p->user_cs;
    t->sregs.ss = p->user_ss;
    if (flags & CLONE_SETTLS)
        t->sregs.fs.base = tls;
    if (flags & CLONE_CHILD_CLEARTID)
        t->clear_child_tid = ctid;
    if (ptid)
        *ptid = slot + 1;       /* CLONE_PARENT_SETTID */
    p->nthreads_active++;
    pthread_cond_broadcast(&p->clone_cond);
    return slot + 1;
}

bool linux_thread_ready(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run)
{
    pthread_mutex_lock(&p->lock);
    struct linux_thread *t = &p->threads[id];
    if (!t->active && !t->starting) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 100000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->clone_cond, &p->lock, &until);
    }
    bool ready = t->active;
    if (t->starting) {
        /* Through the sync area, as every syscall return: KVM loads it at KVM_RUN. */
        run->s.regs.regs = t->regs;
        run->s.regs.sregs = t->sregs;
        run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
        t->starting = false;
        t->active = ready = true;
    }
    pthread_mutex_unlock(&p->lock);
    (void)vcpu_fd;
    return ready;
}

/* A thread ends (exit): clear its tid word and wake a joiner, as the kernel does. */
bool linux_thread_exit(struct linux_proc *p, unsigned id)
{
    struct linux_thread *t = &p->threads[id];
    if (t->clear_child_tid) {
        uint32_t *w = guest_mem_user_ptr(p->mem, p->cr3, t->clear_child_tid, 4, true);
        if (w) {
            __atomic_store_n(w, 0, __ATOMIC_SEQ_CST);
            syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        }
    }
    t->active = false;
    t->clear_child_tid = 0;
    return --p->nthreads_active == 0;
}

int64_t linux_futex(struct linux_proc *p, uint64_t uaddr, int op, uint32_t val, uint64_t timeout_va)
{
    uint32_t *w = guest_mem_user_ptr(p->mem, p->cr3, uaddr, 4, false);
    if (!w || (uaddr & 3))
        return -EFAULT;
    int cmd = op & FUTEX_CMD_MASK;
    if (cmd == FUTEX_WAKE)
        return syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, val, NULL, NULL, 0) < 0 ? -errno : 0;
    if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET)
        return -ENOSYS;
    struct timespec ts, *tsp = NULL;
    if (timeout_va) {
        const struct timespec *g = guest_mem_user_ptr(p->mem, p->cr3, timeout_va, sizeof *g, false);
        if (!g)
            return -EFAULT;
        ts = *g;
        tsp = &ts;
    }
    /* A relative timeout (FUTEX_WAIT), an absolute one (WAIT_BITSET), as given. */
    long rc = cmd == FUTEX_WAIT
        ? syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0)
        : syscall(SYS_futex, w, FUTEX_WAIT_BITSET_PRIVATE | (op & FUTEX_CLOCK_REALTIME), val, tsp, NULL,
                  FUTEX_BITSET_MATCH_ANY);
    return rc < 0 ? -errno : 0;
}
