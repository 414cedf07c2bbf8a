/* The system-call ring of a Linux guest on PVM (docs/LINUX.md): a VM exit
 * to the VMM costs ~56 us there, so a server making a read and a write per
 * request runs at a tenth of native. But on PVM `syscall` enters LSTAR
 * without leaving CPL3 and without an exit (bench/probes/syscall_path), so
 * the entry stub can hand the call to a VMM thread through memory instead:
 *
 *   vCPU i's LSTAR -> its block (RING_BASE + i * RING_BLOCK):
 *     [slot: state, nr, args, result, saved r11, awake][stub code]
 *   stub:   awake? store nr + args, state = REQ, spin (pause) until the
 *           poller says DONE (return with the result: jmp *rcx) or
 *           FALLBACK (the usual `out` exit); the poller asleep and the
 *           request not yet taken: cancel it (cmpxchg REQ -> IDLE), exit.
 *   poller: one VMM thread; takes REQ -> TAKEN (cmpxchg), serves calls
 *           that cannot block (socket I/O with MSG_DONTWAIT, epoll with a
 *           zero timeout, cheap calls), answers FALLBACK for the others
 *           (and for a would-block on a blocking fd, or EPIPE, so the exit
 *           path does what Linux does); spins RING_SPIN_NS after its last
 *           call, then sleeps until the next exit wakes it.
 *
 * The stub is one position-independent template (RIP-relative to its own
 * slot) copied into every block; the blocks lie in vCPU 0's arom stack
 * slot, which a Linux guest does not use (writable at CPL3: the program
 * may scribble on it, and only harms itself — the VMM copies the
 * arguments once and checks every pointer, as on the exit path). Under
 * VMX/SVM the stub would run at CPL0 and an exit costs ~2 us: the ring is
 * for PVM only, and opt-in (--linux-calls ring): on this 2-core host the
 * spinning poller competes with the clients, and measured gains were
 * noisy (docs/LINUX.md). */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "vmm/linux.h"

enum { RING_IDLE, RING_REQ, RING_DONE, RING_FALLBACK, RING_TAKEN };

struct ring_slot {              /* the first bytes of a block: the stub's offsets below */
    uint32_t state, pad;
    uint64_t nr, a[6], result, r11;
    uint32_t awake;             /* +80: the poller is up (a copy in every block: RIP-relative) */
};
_Static_assert(offsetof(struct ring_slot, nr) == 8 && offsetof(struct ring_slot, result) == 64 &&
               offsetof(struct ring_slot, r11) == 72 && offsetof(struct ring_slot, awake) == 80, "the stub's offsets");

#define RING_SLOT_SIZE 128
#define RING_SPIN_NS 200000ull  /* the poller spins this long after its last call */

/* The block template: 128 bytes of slot, then the stub. */
__asm__(".pushsection .rodata\n"
        ".globl linux_ring_block, linux_ring_block_end\n"
        "linux_ring_block:\n"
        "    .skip 128\n"
        "    mov %r11, linux_ring_block+72(%rip)\n"
        "    mov %rax, linux_ring_block+8(%rip)\n"
        "    mov %cs, %eax\n"
        "    test $3, %al\n"
        "    jz 4f\n"                                   /* at CPL0 (VMX/SVM): never jmp to the program */
        "    cmpl $0, linux_ring_block+80(%rip)\n"
        "    je 4f\n"                                   /* the poller sleeps: exit */
        "    mov %rdi, linux_ring_block+16(%rip)\n"
        "    mov %rsi, linux_ring_block+24(%rip)\n"
        "    mov %rdx, linux_ring_block+32(%rip)\n"
        "    mov %r10, linux_ring_block+40(%rip)\n"
        "    mov %r8, linux_ring_block+48(%rip)\n"
        "    mov %r9, linux_ring_block+56(%rip)\n"
        "    movl $1, linux_ring_block(%rip)\n"         /* REQ (x86: stores in order) */
        "1:  pause\n"
        "    cmpl $1, linux_ring_block(%rip)\n"
        "    jne 2f\n"
        "    cmpl $0, linux_ring_block+80(%rip)\n"
        "    jne 1b\n"
        "    mov $1, %eax\n"                            /* the poller went to sleep: cancel */
        "    xor %r11d, %r11d\n"
        "    lock cmpxchg %r11d, linux_ring_block(%rip)\n"
        "    je 4f\n"
        "2:  cmpl $2, linux_ring_block(%rip)\n"
        "    je 3f\n"
        "    cmpl $3, linux_ring_block(%rip)\n"
        "    je 6f\n"
        "    pause\n"                                   /* TAKEN: being served */
        "    jmp 2b\n"
        "3:  mov linux_ring_block+64(%rip), %rax\n"     /* DONE */
        "    movl $0, linux_ring_block(%rip)\n"
        "    jmp *%rcx\n"
        "6:  movl $0, linux_ring_block(%rip)\n"         /* FALLBACK */
        "4:  mov linux_ring_block+8(%rip), %rax\n"
        "    mov linux_ring_block+72(%rip), %r11\n"
        "    out %al, $0xe5\n"                          /* AROM_SYSCALL_PORT */
        "    hlt\n"
        "linux_ring_block_end:\n"
        ".popsection\n");
extern const uint8_t linux_ring_block[], linux_ring_block_end[];
_Static_assert(AROM_SYSCALL_PORT == 0xe5, "the stub's port");

static struct ring_slot *slot(struct linux_proc *p, unsigned i)
{
    return (struct ring_slot *)((uint8_t *)p->mem->host + LINUX_RING_BASE + i * LINUX_RING_BLOCK);
}

uint64_t linux_ring_lstar(unsigned vcpu)
{
    return LINUX_RING_BASE + vcpu * LINUX_RING_BLOCK + RING_SLOT_SIZE;
}

bool linux_ring_in_stub(uint64_t rip)
{
    return rip >= LINUX_RING_BASE && rip < LINUX_RING_BASE + AROM_MAX_VCPUS * LINUX_RING_BLOCK;
}

static void set_awake(struct linux_proc *p, uint32_t v)
{
    for (unsigned i = 0; i < p->nthreads_max; i++)
        __atomic_store_n(&slot(p, i)->awake, v, __ATOMIC_RELEASE);
    __atomic_store_n(&p->ring.awake, v, __ATOMIC_SEQ_CST);
}

/* Whether guest fd's host fd is non-blocking: a would-block is then its answer. */
static bool nonblocking(int h)
{
    int fl = fcntl(h, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* A would-block answer: -EAGAIN for a non-blocking fd; else the exit path blocks. */
static int64_t would_block(int h, bool *fallback)
{
    if (nonblocking(h))
        return -EAGAIN;
    *fallback = true;
    return 0;
}

/* read/write/writev on a socket, never blocking. */
static int64_t ring_io(struct linux_proc *p, int nr, const uint64_t a[6], bool *fallback)
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    if (h < 0)
        return -EBADF;
    struct iovec iov[64];
    size_t n = 1;
    bool bad;                   /* the exit path says what is wrong */
    if (nr == SYS_writev) {
        n = a[2];
        bad = n > 64 || linux_iov(p, a[1], n, false, iov) < 0;
    } else {
        uint64_t len = a[2] < LINUX_IO_MAX ? a[2] : LINUX_IO_MAX;
        iov[0] = (struct iovec){guest_mem_user_ptr(p->mem, p->cr3, a[1], len, nr == SYS_read), len};
        bad = !iov[0].iov_base;
    }
    if (bad) {
        *fallback = true;
        return 0;
    }
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
    ssize_t r = nr == SYS_read ? recvmsg(h, &m, MSG_DONTWAIT) : sendmsg(h, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0)
        return r;
    if (errno == EAGAIN)
        return would_block(h, fallback);
    if (errno == ENOTSOCK || errno == EPIPE || errno == EINTR)
        *fallback = true;       /* a pipe or file, or SIGPIPE to raise: the exit path */
    return -errno;
}

/* The calls the poller serves; *fallback for the rest. */
static int64_t serve(struct linux_proc *p, unsigned id, int nr, uint64_t a[6], bool *fallback)
{
    int h;
    switch (nr) {
    case SYS_read:
    case SYS_write:
    case SYS_writev:
        return ring_io(p, nr, a, fallback);
    case SYS_sendto:
    case SYS_recvfrom:
    case SYS_sendmsg:
    case SYS_recvmsg: {
        int fi = nr == SYS_sendmsg || nr == SYS_recvmsg ? 2 : 3;
        bool asked = a[fi] & MSG_DONTWAIT;     /* the program's own: EAGAIN is its answer */
        a[fi] |= MSG_DONTWAIT;
        int64_t r = linux_net(p, nr, a);
        if (r == -EAGAIN && !asked)
            return (h = linux_fd_host(p, (int64_t)a[0])) < 0 ? -EBADF : would_block(h, fallback);
        if (r == -EPIPE || r == -EINTR)
            *fallback = true;
        return r;
    }
    case SYS_epoll_wait:
    case SYS_epoll_pwait: {
        int timeout = (int)a[3];
        a[3] = 0;
        int64_t r = linux_net(p, nr, a);
        if (r == 0 && timeout != 0)
            *fallback = true;   /* nothing ready: the exit path waits */
        return r;
    }
    case SYS_accept:
    case SYS_accept4:
        if ((h = linux_fd_host(p, (int64_t)a[0])) >= 0 && nonblocking(h))
            return linux_net(p, nr, a);
        break;
    case SYS_epoll_ctl:
    case SYS_setsockopt:
    case SYS_getsockopt:
    case SYS_getsockname:
    case SYS_getpeername:
        return linux_net(p, nr, a);
    case SYS_fcntl:
        if (a[1] == F_GETFL || a[1] == F_SETFL || a[1] == F_GETFD || a[1] == F_SETFD)
            return linux_net(p, nr, a);
        break;
    case SYS_close: {
        int64_t r;
        pthread_mutex_lock(&p->lock);
        r = linux_close(p, (int64_t)a[0]);
        pthread_mutex_unlock(&p->lock);
        return r;
    }
    case SYS_getpid:
        return 1;
    case SYS_gettid:
        return id + 1;
    default:
        break;
    }
    *fallback = true;
    return 0;
}

static void take(struct linux_proc *p, unsigned i)
{
    struct ring_slot *s = slot(p, i);
    uint32_t want = RING_REQ;
    if (!__atomic_compare_exchange_n(&s->state, &want, RING_TAKEN, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    int nr = (int)s->nr;        /* copied once: the guest may rewrite the slot */
    uint64_t a[6];
    memcpy(a, s->a, sizeof a);
    bool fallback = false;
    int64_t r = serve(p, i, nr, a, &fallback);
    if (fallback) {
        __atomic_fetch_add(&p->ring.fallbacks, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&s->state, RING_FALLBACK, __ATOMIC_RELEASE);
        return;
    }
    __atomic_fetch_add(&p->ring.calls, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->calls, 1, __ATOMIC_RELAXED);
    s->result = (uint64_t)r;
    __atomic_store_n(&s->state, RING_DONE, __ATOMIC_RELEASE);
}

static bool scan(struct linux_proc *p)
{
    bool any = false;
    for (unsigned i = 0; i < p->nthreads_max; i++)
        if (__atomic_load_n(&slot(p, i)->state, __ATOMIC_ACQUIRE) == RING_REQ) {
            take(p, i);
            any = true;
        }
    return any;
}

static void *poller(void *arg)
{
    struct linux_proc *p = arg;
    uint64_t last = clock_now_ns();
    while (!__atomic_load_n(&p->ring.stop, __ATOMIC_ACQUIRE)) {
        if (scan(p)) {
            last = clock_now_ns();
            continue;
        }
        if (clock_now_ns() - last < RING_SPIN_NS) {
            __builtin_ia32_pause();
            continue;
        }
        /* Asleep: stubs see awake 0 and exit; one that posted before that is served by the rescan. */
        set_awake(p, 0);
        scan(p);
        struct timespec t = {.tv_nsec = 100000000};
        syscall(SYS_futex, &p->ring.wake, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
        __atomic_store_n(&p->ring.wake, 0, __ATOMIC_RELAXED);
        __atomic_fetch_add(&p->ring.sleeps, 1, __ATOMIC_RELAXED);
        set_awake(p, 1);
        last = clock_now_ns();
    }
    set_awake(p, 0);
    scan(p);                    /* none left waiting */
    return NULL;
}

void linux_ring_wake(struct linux_proc *p)
{
    if (!p->ring.on || __atomic_load_n(&p->ring.awake, __ATOMIC_RELAXED))
        return;
    uint32_t zero = 0;
    if (__atomic_compare_exchange_n(&p->ring.wake, &zero, 1, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        syscall(SYS_futex, &p->ring.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

_Static_assert(AROM_MAX_VCPUS * LINUX_RING_BLOCK <= AROM_STACK_SIZE, "the blocks fit vCPU 0's arom stack");

int linux_ring_start(struct linux_proc *p)
{
    if (!p->ring.on)
        return 0;
    size_t len = (size_t)(linux_ring_block_end - linux_ring_block);
    if (len > LINUX_RING_BLOCK) {
        log_error("linux guest: the ring's stub (%zu bytes) does not fit its %llu-byte block", len,
                  (unsigned long long)LINUX_RING_BLOCK);
        return -E2BIG;
    }
    for (unsigned i = 0; i < AROM_MAX_VCPUS; i++)
        memcpy(slot(p, i), linux_ring_block, len);
    set_awake(p, 1);
    int rc = pthread_create(&p->ring.thread, NULL, poller, p);
    if (rc) {
        log_error("linux guest: cannot start the system-call ring's thread: %s", strerror(rc));
        return -rc;
    }
    p->ring.started = true;
    return 0;
}

void linux_ring_stop(struct linux_proc *p)
{
    if (!p->ring.started)
        return;
    __atomic_store_n(&p->ring.stop, true, __ATOMIC_RELEASE);
    __atomic_store_n(&p->ring.wake, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, &p->ring.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(p->ring.thread, NULL);
    p->ring.started = false;
}
