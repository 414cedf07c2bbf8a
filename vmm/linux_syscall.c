/* The system calls of a Linux guest. Every guest pointer goes through the
 * checked translation (guest_mem_user_ptr: inside RAM, CPL3-accessible,
 * writable when written), else -EFAULT; a call not served here returns
 * -ENOSYS and is counted by name in the stats, never crashing the VMM. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "vmm/layout.h"
#include "vmm/linux.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

/* The arguments of a call, as the syscall ABI puts them. */
struct call {
    struct linux_proc *p;
    unsigned id;                /* the vCPU, so the thread */
    struct kvm_regs *r;
    struct kvm_sregs *s;
    int vcpu_fd;
    bool regs_set;              /* rt_sigreturn: r is the state to return to */
    uint64_t a[6];
};

/* The calls of a program's threads run concurrently (a read may block while
 * another thread computes); what they share — the fd table, the memory
 * map, the thread slots, the -ENOSYS table — changes under p->lock. */
#define LOCKED(p, expr)                                                      \
    ({                                                                       \
        pthread_mutex_lock(&(p)->lock);                                      \
        int64_t locked_rc_ = (int64_t)(expr);                                \
        pthread_mutex_unlock(&(p)->lock);                                    \
        locked_rc_;                                                          \
    })

static void *uptr(struct call *c, uint64_t va, uint64_t len, bool write)
{
    return guest_mem_user_ptr(c->p->mem, c->p->cr3, va, len, write);
}

/* A NUL-terminated guest string into buf: 0, -EFAULT or -ENAMETOOLONG. */
static int ustr(struct call *c, uint64_t va, char *buf, size_t cap)
{
    for (size_t i = 0; i < cap; i++) {
        const char *ch = uptr(c, va + i, 1, false);
        if (!ch)
            return -EFAULT;
        buf[i] = *ch;
        if (!*ch)
            return 0;
    }
    return -ENAMETOOLONG;
}

/* The host fd of guest fd a[0] and the guest buffer (a[1], a[2] capped at
 * LINUX_IO_MAX): the host fd, or -EBADF/-EFAULT. */
static int io_args(struct call *c, bool write, void **buf, uint64_t *len)
{
    int h = linux_fd_host(c->p, (int64_t)c->a[0]);
    *len = c->a[2] < LINUX_IO_MAX ? c->a[2] : LINUX_IO_MAX;
    *buf = uptr(c, c->a[1], *len, write);
    return h < 0 ? -EBADF : !*buf ? -EFAULT : h;
}

static int64_t sys_write(struct call *c)
{
    void *buf;
    uint64_t len;
    int h = io_args(c, false, &buf, &len);
    return h < 0 ? h : linux_result(write(h, buf, len));
}

static int64_t sys_read(struct call *c, bool positional)
{
    void *buf;
    uint64_t len;
    int h = io_args(c, true, &buf, &len);
    return h < 0 ? h : linux_result(positional ? pread(h, buf, len, (off_t)c->a[3]) : read(h, buf, len));
}

static int64_t sys_writev(struct call *c)
{
    int h = linux_fd_host(c->p, (int64_t)c->a[0]);
    uint64_t n = c->a[2];
    if (h < 0)
        return -EBADF;
    if (n > 1024)
        return -EINVAL;
    struct iovec iov[1024];
    if (linux_iov(c->p, c->a[1], n, false, iov) < 0)
        return -EFAULT;
    ssize_t w = writev(h, iov, (int)n);
    return w < 0 ? -errno : w;
}

static int64_t sys_openat(struct call *c, int64_t dirfd, uint64_t path_va, int64_t flags, int64_t mode)
{
    char path[4096];
    int rc = ustr(c, path_va, path, sizeof path);
    return rc < 0 ? rc : linux_openat(c->p, dirfd, path, flags, mode);
}

static int64_t sys_fstatat(struct call *c, int64_t dirfd, uint64_t path_va, uint64_t st_va, int64_t flags)
{
    char path[4096] = "";
    void *st = uptr(c, st_va, sizeof(struct stat), true);
    int rc = path_va ? ustr(c, path_va, path, sizeof path) : 0;
    if (rc < 0)
        return rc;
    return st ? linux_newfstatat(c->p, dirfd, path, st, flags) : -EFAULT;
}

static int64_t sys_access(struct call *c, int64_t dirfd, uint64_t path_va, int64_t mode)
{
    char path[4096];
    int rc = ustr(c, path_va, path, sizeof path);
    return rc < 0 ? rc : linux_faccessat(c->p, dirfd, path, mode);
}

static int64_t sys_lseek(struct call *c)
{
    int h = linux_fd_host(c->p, (int64_t)c->a[0]);
    if (h < 0)
        return -EBADF;
    off_t o = lseek(h, (off_t)c->a[1], (int)c->a[2]);
    return o < 0 ? -errno : o;
}

static int64_t sys_getdents64(struct call *c)
{
    void *buf;
    uint64_t len;
    int h = io_args(c, true, &buf, &len);
    return h < 0 ? h : linux_result(syscall(SYS_getdents64, h, buf, len));
}

static int64_t sys_sysinfo(struct call *c)
{
    struct sysinfo *si = uptr(c, c->a[0], sizeof *si, true);
    if (!si)
        return -EFAULT;
    memset(si, 0, sizeof *si);
    si->uptime = (long)(clock_now_ns() / 1000000000);
    si->totalram = c->p->mem->size;
    si->freeram = c->p->mm.free_bytes + (c->p->mm.brk_end - c->p->mm.brk);
    si->procs = 1;
    si->mem_unit = 1;
    return 0;
}

static int64_t sys_getcwd(struct call *c)
{
    char *buf = uptr(c, c->a[0], 2, true);
    if (c->a[1] < 2)
        return -ERANGE;
    if (!buf)
        return -EFAULT;
    memcpy(buf, "/", 2);        /* the root is the working directory */
    return 2;
}

static int64_t sys_mmap(struct call *c)
{
    uint64_t addr = c->a[0], len = c->a[1];
    int flags = (int)c->a[3];
    int fd = (int)c->a[4];
    int64_t at = LOCKED(c->p, linux_mmap_anon(&c->p->mm, c->p->mem, addr, len, flags));
    if (at < 0 || (flags & MAP_ANONYMOUS))
        return at;
    /* A file mapping is a private copy: read the file's bytes into it. */
    int h = linux_fd_host(c->p, fd);
    if (h < 0)
        return -EBADF;
    ssize_t n = pread(h, (uint8_t *)c->p->mem->host + at, len, (off_t)c->a[5]);
    return n < 0 ? -errno : at;
}

static int64_t sys_clock_gettime(struct call *c)
{
    struct timespec *ts = uptr(c, c->a[1], sizeof *ts, true);
    if (!ts)
        return -EFAULT;
    return clock_gettime((clockid_t)c->a[0], ts) < 0 ? -errno : 0;
}

static int64_t sys_gettimeofday(struct call *c)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    if (c->a[0]) {
        struct timeval *tv = uptr(c, c->a[0], sizeof *tv, true);
        if (!tv)
            return -EFAULT;
        *tv = (struct timeval){.tv_sec = t.tv_sec, .tv_usec = t.tv_nsec / 1000};
    }
    return 0;
}

static int64_t sys_time(struct call *c)
{
    time_t now = time(NULL);
    if (c->a[0]) {
        time_t *out = uptr(c, c->a[0], sizeof *out, true);
        if (!out)
            return -EFAULT;
        *out = now;
    }
    return now;
}

/* MADV_DONTNEED on private anonymous memory reads back zeros afterwards:
 * allocators (jemalloc) check it. Other advice changes nothing here. */
static int64_t sys_madvise(struct call *c)
{
    if ((c->a[0] & 4095) || (int)c->a[2] != MADV_DONTNEED)
        return c->a[0] & 4095 ? -EINVAL : 0;
    if (!uptr(c, c->a[0], c->a[1], true))
        return -ENOMEM;
    linux_mm_zero(c->p->mem, c->a[0], c->a[1]);
    return 0;
}

static int64_t sys_getrandom(struct call *c)
{
    uint64_t len = c->a[1] < LINUX_IO_MAX ? c->a[1] : LINUX_IO_MAX;
    void *buf = uptr(c, c->a[0], len, true);
    if (!buf)
        return -EFAULT;
    ssize_t n = getrandom(buf, len, (unsigned)c->a[2] & GRND_NONBLOCK);
    return n < 0 ? -errno : n;
}

static int64_t sys_uname(struct call *c)
{
    struct utsname *u = uptr(c, c->a[0], sizeof *u, true);
    if (!u)
        return -EFAULT;
    memset(u, 0, sizeof *u);
    snprintf(u->sysname, sizeof u->sysname, "Linux");
    snprintf(u->nodename, sizeof u->nodename, "arom");
    snprintf(u->release, sizeof u->release, "6.1.0-arom");
    snprintf(u->version, sizeof u->version, "#1 arom-vmm");
    snprintf(u->machine, sizeof u->machine, "x86_64");
    return 0;
}

static int64_t sys_prlimit(struct call *c)
{
    if (c->a[0] != 0)
        return -ESRCH;
    if (!c->a[3])
        return 0;
    struct rlimit *old = uptr(c, c->a[3], sizeof *old, true);
    if (!old)
        return -EFAULT;
    *old = (struct rlimit){RLIM_INFINITY, RLIM_INFINITY};
    if (c->a[1] == RLIMIT_STACK)
        *old = (struct rlimit){LINUX_STACK_SIZE, RLIM_INFINITY};
    else if (c->a[1] == RLIMIT_NOFILE)
        *old = (struct rlimit){LINUX_FD_MAX, LINUX_FD_MAX};
    return 0;
}

static int64_t sys_readlink(struct call *c, uint64_t path_va, uint64_t buf_va, uint64_t len)
{
    char path[4096];
    int rc = ustr(c, path_va, path, sizeof path);
    if (rc < 0)
        return rc;
    if (strcmp(path, "/proc/self/exe"))
        return -ENOENT;
    const char *exe = c->p->exe_abs;    /* absolute, as the C library expects */
    size_t n = strlen(exe) < len ? strlen(exe) : len;
    char *buf = uptr(c, buf_va, n, true);
    if (!buf)
        return -EFAULT;
    memcpy(buf, exe, n);
    return (int64_t)n;
}

static int64_t sys_arch_prctl(struct call *c)
{
    if (c->a[0] == ARCH_SET_FS) {
        c->s->fs.base = c->a[1];
        return 0;
    }
    if (c->a[0] == ARCH_GET_FS) {
        uint64_t *out = uptr(c, c->a[1], 8, true);
        if (!out)
            return -EFAULT;
        *out = c->s->fs.base;
        return 0;
    }
    return -EINVAL;
}

static int64_t sys_sched_getaffinity(struct call *c)
{
    uint64_t len = c->a[1];
    uint8_t *mask = uptr(c, c->a[2], len, true);
    if (len < 8)
        return -EINVAL;
    if (!mask)
        return -EFAULT;
    memset(mask, 0, len);
    for (unsigned i = 0; i < c->p->nthreads_max && i < 64; i++)
        mask[i / 8] |= (uint8_t)(1u << (i % 8));    /* the vCPUs */
    return 8;
}

static int64_t sys_nanosleep(struct call *c, uint64_t req_va)
{
    const struct timespec *req = uptr(c, req_va, sizeof *req, false);
    if (!req)
        return -EFAULT;
    struct timespec t = *req;
    return nanosleep(&t, NULL) < 0 ? -errno : 0;
}

static const char *call_name(int nr);
static int64_t unsupported(struct linux_proc *p, int nr);

/* No timer signal is sent: disarming (what programs do at start) is
 * served, arming is -ENOSYS, counted, rather than a timer that never fires. */
static int64_t sys_setitimer(struct call *c)
{
    const struct itimerval *v = c->a[1] ? uptr(c, c->a[1], sizeof *v, false) : NULL;
    struct itimerval *old = c->a[2] ? uptr(c, c->a[2], sizeof *old, true) : NULL;
    if ((c->a[1] && !v) || (c->a[2] && !old))
        return -EFAULT;
    if (v && (v->it_value.tv_sec || v->it_value.tv_usec))
        return unsupported(c->p, SYS_setitimer);
    if (old)
        memset(old, 0, sizeof *old);
    return 0;
}

/* -ENOSYS, counted by name. */
static int64_t unsupported_locked(struct linux_proc *p, int nr)
{
    p->enosys_calls++;
    for (unsigned i = 0; i < p->n_enosys; i++)
        if (p->enosys[i].nr == nr) {
            p->enosys[i].count++;
            return -ENOSYS;
        }
    if (p->n_enosys < LINUX_ENOSYS_MAX) {
        p->enosys[p->n_enosys].nr = nr;
        p->enosys[p->n_enosys++].count = 1;
        log_info("linux guest: system call %s (%d) is not supported: -ENOSYS", call_name(nr), nr);
    }
    return -ENOSYS;
}

static int64_t unsupported(struct linux_proc *p, int nr)
{
    return LOCKED(p, unsupported_locked(p, nr));
}

static int64_t sys_clone(struct call *c)
{
    uint32_t *ptid = NULL;
    if (c->a[0] & CLONE_PARENT_SETTID && !(ptid = uptr(c, c->a[2], 4, true)))
        return -EFAULT;
    return LOCKED(c->p, linux_clone(c->p, c->id, c->r, c->s, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], ptid));
}

static int64_t dispatch(struct call *c, int nr, enum linux_result *res)
{
    struct linux_proc *p = c->p;
    uint64_t *a = c->a;
    switch (nr) {
    case SYS_read: return sys_read(c, false);
    case SYS_pread64: return sys_read(c, true);
    case SYS_write: return sys_write(c);
    case SYS_writev: return sys_writev(c);
    case SYS_open: return sys_openat(c, AT_FDCWD, a[0], (int64_t)a[1], (int64_t)a[2]);
    case SYS_openat: return sys_openat(c, (int)a[0], a[1], (int64_t)a[2], (int64_t)a[3]);
    case SYS_socket: case SYS_bind: case SYS_listen: case SYS_accept: case SYS_accept4: case SYS_connect:
    case SYS_setsockopt: case SYS_getsockopt: case SYS_getsockname: case SYS_getpeername: case SYS_shutdown:
    case SYS_sendto: case SYS_recvfrom: case SYS_sendmsg: case SYS_recvmsg: case SYS_epoll_create:
    case SYS_epoll_create1: case SYS_epoll_ctl: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_poll:
    case SYS_ppoll: case SYS_pipe: case SYS_pipe2: case SYS_dup: case SYS_dup2: case SYS_dup3:
    case SYS_eventfd2: case SYS_fcntl: {
        int64_t r = linux_net(p, nr, a);
        return r == -ENOSYS ? unsupported(p, nr) : r;
    }
    case SYS_umask: return 022;
    case SYS_prctl: return 0;
    case SYS_setitimer: return sys_setitimer(c);
    case SYS_alarm: return a[0] ? unsupported(p, nr) : 0;
    case SYS_sysinfo: return sys_sysinfo(c);
    case SYS_close: return LOCKED(p, linux_close(p, (int64_t)a[0]));
    case SYS_fstat: return sys_fstatat(c, (int)a[0], 0, a[1], AT_EMPTY_PATH);
    case SYS_stat: return sys_fstatat(c, AT_FDCWD, a[0], a[1], 0);
    case SYS_lstat: return sys_fstatat(c, AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW);
    case SYS_newfstatat: return sys_fstatat(c, (int)a[0], a[1], a[2], (int64_t)a[3]);
    case SYS_lseek: return sys_lseek(c);
    case SYS_access: return sys_access(c, AT_FDCWD, a[0], (int64_t)a[1]);
    case SYS_faccessat:
    case SYS_faccessat2: return sys_access(c, (int)a[0], a[1], (int64_t)a[2]);
    case SYS_getcwd: return sys_getcwd(c);
    case SYS_getdents64: return sys_getdents64(c);
    case SYS_ioctl: return linux_fd_host(p, (int64_t)a[0]) < 0 ? -EBADF : -ENOTTY;
    case SYS_brk: return LOCKED(p, linux_brk(&p->mm, p->mem, a[0]));
    case SYS_mmap: return sys_mmap(c);
    case SYS_munmap: return LOCKED(p, linux_munmap(&p->mm, p->mem, a[0], a[1]));
    case SYS_mprotect: return 0;
    case SYS_madvise: return sys_madvise(c);
    case SYS_gettimeofday: return sys_gettimeofday(c);
    case SYS_time: return sys_time(c);
    case SYS_mremap: return LOCKED(p, linux_mremap(&p->mm, p->mem, a[0], a[1], a[2], (int)a[3], a[4]));
    case SYS_arch_prctl: return sys_arch_prctl(c);
    case SYS_set_tid_address:
        LOCKED(p, p->threads[c->id].clear_child_tid = a[0]);
        return c->id + 1;
    case SYS_clone: return sys_clone(c);
    case SYS_set_robust_list: return 0;
    case SYS_rt_sigaction: return linux_rt_sigaction(p, (int)a[0], a[1], a[2], a[3]);
    case SYS_rt_sigprocmask: return linux_rt_sigprocmask(p, c->id, (int)a[0], a[1], a[2], a[3]);
    case SYS_rt_sigpending: return linux_sigpending(p, c->id, a[0], a[1]);
    case SYS_sigaltstack: return linux_sigaltstack(p, c->id, a[0], a[1]);
    case SYS_rt_sigreturn:
        c->regs_set = true;
        *res = linux_sigreturn(p, c->id, c->vcpu_fd, c->r);
        return 0;
    case SYS_kill: return linux_kill(p, c->id, (int64_t)a[0], -1, (int64_t)a[1]);
    case SYS_tkill: return linux_kill(p, c->id, 1, (int64_t)a[0], (int64_t)a[1]);
    case SYS_tgkill: return linux_kill(p, c->id, (int64_t)a[0], (int64_t)a[1], (int64_t)a[2]);
    case SYS_futex: return linux_futex(p, a[0], (int)a[1], (uint32_t)a[2], a[3]);
    case SYS_prlimit64: return sys_prlimit(c);
    case SYS_getrandom: return sys_getrandom(c);
    case SYS_uname: return sys_uname(c);
    case SYS_readlink: return sys_readlink(c, a[0], a[1], a[2]);
    case SYS_readlinkat: return (int)a[0] == AT_FDCWD ? sys_readlink(c, a[1], a[2], a[3]) : -ENOENT;
    case SYS_clock_gettime: return sys_clock_gettime(c);
    case SYS_nanosleep: return sys_nanosleep(c, a[0]);
    case SYS_clock_nanosleep: return a[1] ? -EINVAL : sys_nanosleep(c, a[2]);
    case SYS_sched_getaffinity: return sys_sched_getaffinity(c);
    case SYS_sched_yield: return 0;
    case SYS_getpid: return 1;
    case SYS_gettid: return c->id + 1;
    case SYS_getppid: return 0;
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
    case SYS_getgroups: return 0;
    case SYS_setuid:            /* identity is nominal (uid 0, no groups): changing it changes nothing */
    case SYS_setgid:
    case SYS_setresuid:
    case SYS_setresgid:
    case SYS_setgroups: return 0;
    case SYS_setsid:
    case SYS_getpgrp: return 1;
    case SYS_exit:              /* this thread; the program when it was the last */
        *res = LOCKED(p, linux_thread_exit(p, c->id)) ? LINUX_EXIT : LINUX_THREAD_DONE;
        if (*res == LINUX_EXIT)
            p->exit_status = (int)(a[0] & 0xff);
        return 0;
    case SYS_exit_group:
        p->exit_status = (int)(a[0] & 0xff);
        *res = LINUX_EXIT;
        return 0;
    default:
        return unsupported(p, nr);
    }
}

/* A write to a pipe or socket whose reader is gone raises SIGPIPE, unless
 * the send said MSG_NOSIGNAL. */
static bool raises_sigpipe(int nr, const uint64_t a[6])
{
    return nr == SYS_write || nr == SYS_writev || (nr == SYS_sendto && !(a[3] & MSG_NOSIGNAL)) ||
           (nr == SYS_sendmsg && !(a[2] & MSG_NOSIGNAL));
}

enum linux_result linux_syscall(struct linux_proc *p, unsigned id, int vcpu_fd, struct kvm_run *run)
{
    struct kvm_regs *r = &run->s.regs.regs;
    struct kvm_sregs *s = &run->s.regs.sregs;
    struct call c = {.p = p, .id = id, .r = r, .s = s, .vcpu_fd = vcpu_fd,
                     .a = {r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9}};
    enum linux_result res = LINUX_CONTINUE;
    int nr = (int)r->rax;
    __atomic_fetch_add(&p->calls, 1, __ATOMIC_RELAXED);
    linux_vvar_tick(p, vcpu_fd);
    linux_ring_wake(p);
    int64_t ret = dispatch(&c, nr, &res);
    if (ret == -EFAULT)
        __atomic_fetch_add(&p->efault_calls, 1, __ATOMIC_RELAXED);
    if (res != LINUX_CONTINUE)
        return res;
    if (!c.regs_set) {
        /* What sysretq does: back to CPL3 at RCX with RFLAGS from R11. */
        r->rax = (uint64_t)ret;
        r->rip = r->rcx;
        r->rflags = (r->r11 & ~0x10000ull) | 2;
    }
    s->cs = p->user_cs;
    s->ss = p->user_ss;
    run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
    if (ret == -EPIPE && raises_sigpipe(nr, c.a))
        linux_signal_raise(p, id, SIGPIPE);
    /* A kick broke the call off (-EINTR): a signal to take, or a pause. */
    int interrupted = !c.regs_set && ret == -EINTR ? nr : -1;
    if (interrupted >= 0 || linux_signal_pending(p, id))
        res = linux_signal_deliver(p, id, vcpu_fd, r, interrupted);
    return res;
}

/* Names for the stats: the calls programs commonly make that arom does not serve. */
static const char *call_name(int nr)
{
    static const struct { int nr; const char *name; } names[] = {
        {SYS_clone, "clone"}, {SYS_clone3, "clone3"}, {SYS_fork, "fork"}, {SYS_vfork, "vfork"},
        {SYS_execve, "execve"}, {SYS_wait4, "wait4"}, {SYS_kill, "kill"}, {SYS_socket, "socket"},
        {SYS_connect, "connect"}, {SYS_accept, "accept"}, {SYS_accept4, "accept4"}, {SYS_bind, "bind"},
        {SYS_listen, "listen"}, {SYS_epoll_create1, "epoll_create1"}, {SYS_epoll_ctl, "epoll_ctl"},
        {SYS_epoll_wait, "epoll_wait"}, {SYS_pipe, "pipe"}, {SYS_pipe2, "pipe2"}, {SYS_dup, "dup"},
        {SYS_dup2, "dup2"}, {SYS_dup3, "dup3"}, {SYS_rseq, "rseq"}, {SYS_io_uring_setup, "io_uring_setup"},
        {SYS_poll, "poll"}, {SYS_ppoll, "ppoll"}, {SYS_select, "select"}, {SYS_pselect6, "pselect6"},
        {SYS_getcwd, "getcwd"}, {SYS_chdir, "chdir"}, {SYS_unlink, "unlink"}, {SYS_unlinkat, "unlinkat"},
        {SYS_mkdir, "mkdir"}, {SYS_rename, "rename"}, {SYS_ftruncate, "ftruncate"}, {SYS_fsync, "fsync"},
        {SYS_statfs, "statfs"}, {SYS_sysinfo, "sysinfo"}, {SYS_getrusage, "getrusage"}, {SYS_times, "times"},
        {SYS_membarrier, "membarrier"}, {SYS_statx, "statx"}, {SYS_access, "access"}, {SYS_faccessat, "faccessat"},
        {SYS_faccessat2, "faccessat2"}, {SYS_gettimeofday, "gettimeofday"}, {SYS_time, "time"},
        {SYS_setitimer, "setitimer"}, {SYS_alarm, "alarm"}, {SYS_pause, "pause"}, {SYS_rt_sigsuspend, "rt_sigsuspend"},
        {SYS_rt_sigtimedwait, "rt_sigtimedwait"}, {SYS_signalfd4, "signalfd4"}, {SYS_timer_create, "timer_create"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].nr == nr)
            return names[i].name;
    return "?";
}

json_object *linux_stats_json(struct linux_proc *p)
{
    json_object *o = json_object_new_object(), *u = json_object_new_object();
    pthread_mutex_lock(&p->lock);
    JSON_U64S(o, {"syscalls", p->calls}, {"enosys", p->enosys_calls}, {"efault", p->efault_calls},
              {"brk_bytes", p->mm.brk - p->mm.brk_start}, {"mmap_bytes", linux_mm_mapped(&p->mm)},
              {"signals_delivered", p->signals_delivered}, {"vdso_clock_fills", p->vvar_fills},
              {"ring_calls", p->ring.calls}, {"ring_fallbacks", p->ring.fallbacks}, {"ring_sleeps", p->ring.sleeps});
    json_object_object_add(o, "calls_path", json_object_new_string(p->ring.on ? "ring" : "exit"));
    for (unsigned i = 0; i < p->n_enosys; i++) {
        char key[48];
        snprintf(key, sizeof key, "%s(%d)", call_name(p->enosys[i].nr), p->enosys[i].nr);
        json_add_u64(u, key, p->enosys[i].count);
    }
    pthread_mutex_unlock(&p->lock);
    json_object_object_add(o, "unsupported", u);
    json_add_i64(o, "exit_status", p->exit_status);
    if (p->term_signal)
        json_object_object_add(o, "terminated_by", json_object_new_string(sigabbrev_np(p->term_signal) ?: "?"));
    return o;
}
