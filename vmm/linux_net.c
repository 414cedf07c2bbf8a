/* A Linux guest's sockets, epoll, poll, pipes, eventfds and fd duplication.
 * Every one is a host fd behind a guest fd (the table of linux_files.c), so
 * the host kernel does the work and a guest listening on a socket is
 * reachable from the host. The network a guest sees is the loopback only:
 * TCP and UDP over IPv4 and IPv6 bound or connected to 127.0.0.0/8 or ::1
 * (a bind to "any" is made a bind to loopback); unix sockets by path, the
 * path resolved inside --linux-root like any file (a bind creates one:
 * --linux-root-rw); the abstract namespace (host-wide) and other families
 * are refused. Blocking
 * calls block the calling vCPU's thread only; a VM stop interrupts them
 * (EINTR from the vCPU kick). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/linux.h"

#define MAX_EVENTS 1024
#define MAX_IOV 64

static void *gptr(struct linux_proc *p, uint64_t va, uint64_t len, bool write)
{
    return guest_mem_user_ptr(p->mem, p->cr3, va, len, write);
}

/* A unix socket address: its path made a host path inside the root (*dirfd to close after use). */
static int64_t unix_addr(struct linux_proc *p, struct sockaddr_storage *ss, socklen_t *sl, bool bind, int *dirfd)
{
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    size_t max = *sl - offsetof(struct sockaddr_un, sun_path);
    if (*sl <= offsetof(struct sockaddr_un, sun_path) || !un->sun_path[0])
        return -EINVAL;         /* unnamed, or the abstract namespace: host-wide, not the guest's */
    char path[sizeof un->sun_path + 1];
    snprintf(path, sizeof path, "%.*s", (int)(max < sizeof un->sun_path ? max : sizeof un->sun_path), un->sun_path);
    if (bind && !p->root_rw)
        return -EROFS;          /* binding creates the socket file */
    char host[sizeof un->sun_path];
    int64_t rc = linux_unix_path(p, path, host, sizeof host, dirfd);
    if (rc < 0)
        return rc;
    memcpy(un->sun_path, host, strlen(host) + 1);
    *sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(host) + 1);
    return 0;
}

/* A guest sockaddr into ss, checked (loopback only); bind: "any" becomes
 * loopback. A unix path is made the host's (*dirfd: close after use, -1
 * when none). */
static int64_t sockaddr_in(struct linux_proc *p, uint64_t va, uint64_t len, struct sockaddr_storage *ss,
                           socklen_t *sl, bool bind, int *dirfd)
{
    *dirfd = -1;
    if (len > sizeof *ss || len < sizeof(sa_family_t))
        return -EINVAL;
    const void *g = gptr(p, va, len, false);
    if (!g)
        return -EFAULT;
    memset(ss, 0, sizeof *ss);
    memcpy(ss, g, len);
    *sl = (socklen_t)len;
    if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        uint32_t a = ntohl(in->sin_addr.s_addr);
        if (bind && a == INADDR_ANY)
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if ((a >> 24) != 127)
            return -ENETUNREACH;
        return 0;
    }
    if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        bool mapped_lo = IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
        if (bind && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            in6->sin6_addr = in6addr_loopback;
        else if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) && !mapped_lo)
            return -ENETUNREACH;
        return 0;
    }
    if (ss->ss_family == AF_UNIX)
        return unix_addr(p, ss, sl, bind, dirfd);
    return ss->ss_family == AF_INET || ss->ss_family == AF_INET6 ? -EINVAL : -EAFNOSUPPORT;
}

/* Copy a host sockaddr out to the guest's (addr, *addrlen), truncated as the kernel does. */
static int64_t sockaddr_out(struct linux_proc *p, uint64_t va, uint64_t lenp, const struct sockaddr_storage *ss,
                            socklen_t sl)
{
    if (!va)
        return 0;
    uint32_t *glen = gptr(p, lenp, 4, true);
    if (!glen)
        return -EFAULT;
    uint32_t n = *glen < sl ? *glen : sl;
    void *g = gptr(p, va, n, true);
    if (!g)
        return -EFAULT;
    memcpy(g, ss, n);
    *glen = sl;
    return 0;
}

static int64_t sys_socket(struct linux_proc *p, const uint64_t a[6])
{
    if (a[0] != AF_INET && a[0] != AF_INET6 && a[0] != AF_UNIX)
        return -EAFNOSUPPORT;
    int fd = socket((int)a[0], (int)a[1] | SOCK_CLOEXEC, (int)a[2]);
    return fd < 0 ? -errno : linux_fd_install(p, fd, "socket");
}

static int64_t sys_accept(struct linux_proc *p, const uint64_t a[6], int flags)
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    if (h < 0)
        return -EBADF;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(h, (struct sockaddr *)&ss, &sl, (flags & ~SOCK_CLOEXEC) | SOCK_CLOEXEC);
    if (fd < 0)
        return -errno;
    int64_t rc = sockaddr_out(p, a[1], a[2], &ss, sl);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return linux_fd_install(p, fd, "socket");
}

static int64_t sys_sockopt(struct linux_proc *p, const uint64_t a[6], bool set)
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    uint8_t buf[256];
    if (h < 0)
        return -EBADF;
    if (set) {
        if (a[4] > sizeof buf)
            return -EINVAL;
        const void *g = gptr(p, a[3], a[4], false);
        if (!g && a[4])
            return -EFAULT;
        memcpy(buf, g, a[4]);
        return linux_result(setsockopt(h, (int)a[1], (int)a[2], buf, (socklen_t)a[4]));
    }
    uint32_t *glen = gptr(p, a[4], 4, true);
    if (!glen)
        return -EFAULT;
    socklen_t sl = *glen < sizeof buf ? *glen : sizeof buf;
    if (getsockopt(h, (int)a[1], (int)a[2], buf, &sl) < 0)
        return -errno;
    void *g = gptr(p, a[3], sl, true);
    if (!g && sl)
        return -EFAULT;
    memcpy(g, buf, sl);
    *glen = sl;
    return 0;
}

static int64_t sys_name(struct linux_proc *p, const uint64_t a[6], bool peer)
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    if (h < 0)
        return -EBADF;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if ((peer ? getpeername(h, (struct sockaddr *)&ss, &sl) : getsockname(h, (struct sockaddr *)&ss, &sl)) < 0)
        return -errno;
    return sockaddr_out(p, a[1], a[2], &ss, sl);
}

static int64_t sys_sendto(struct linux_proc *p, const uint64_t a[6])
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    const void *buf = gptr(p, a[1], a[2], false);
    if (h < 0)
        return -EBADF;
    if (!buf && a[2])
        return -EFAULT;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int dirfd = -1;
    if (a[4]) {
        int64_t rc = sockaddr_in(p, a[4], a[5], &ss, &sl, false, &dirfd);
        if (rc < 0)
            return rc;
    }
    int64_t rc = linux_result(sendto(h, buf, a[2], (int)a[3] | MSG_NOSIGNAL, a[4] ? (struct sockaddr *)&ss : NULL, sl));
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

static int64_t sys_recvfrom(struct linux_proc *p, const uint64_t a[6])
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    void *buf = gptr(p, a[1], a[2], true);
    if (h < 0)
        return -EBADF;
    if (!buf && a[2])
        return -EFAULT;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ssize_t n = recvfrom(h, buf, a[2], (int)a[3], (struct sockaddr *)&ss, &sl);
    if (n < 0)
        return -errno;
    int64_t rc = a[4] ? sockaddr_out(p, a[4], a[5], &ss, sl) : 0;
    return rc < 0 ? rc : n;
}

int64_t linux_iov(struct linux_proc *p, uint64_t va, uint64_t n, bool write, struct iovec *iov)
{
    const struct iovec *giov = gptr(p, va, n * sizeof *giov, false);
    if (!giov && n)
        return -EFAULT;
    for (uint64_t i = 0; i < n; i++) {
        iov[i].iov_len = giov[i].iov_len;
        if (!(iov[i].iov_base = gptr(p, (uint64_t)giov[i].iov_base, giov[i].iov_len, write)) && giov[i].iov_len)
            return -EFAULT;
    }
    return 0;
}

/* sendmsg/recvmsg: the name and the iovecs translated; no ancillary data. */
static int64_t sys_msg(struct linux_proc *p, const uint64_t a[6], bool send)
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    struct msghdr *gm = gptr(p, a[1], sizeof *gm, !send);
    if (h < 0)
        return -EBADF;
    if (!gm)
        return -EFAULT;
    if (gm->msg_iovlen > MAX_IOV)
        return -EMSGSIZE;
    if (send && gm->msg_controllen)
        return -EINVAL;         /* no ancillary data (fds over sockets): not supported */
    struct iovec iov[MAX_IOV];
    if (linux_iov(p, (uint64_t)gm->msg_iov, gm->msg_iovlen, !send, iov) < 0)
        return -EFAULT;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    int dirfd = -1;
    if (send && gm->msg_name) {
        int64_t rc = sockaddr_in(p, (uint64_t)gm->msg_name, gm->msg_namelen, &ss, &sl, false, &dirfd);
        if (rc < 0)
            return rc;
    }
    struct msghdr m = {.msg_name = send && gm->msg_name ? &ss : NULL, .msg_namelen = sl, .msg_iov = iov,
                       .msg_iovlen = gm->msg_iovlen};
    if (!send && gm->msg_name) {
        m.msg_name = &ss;
        m.msg_namelen = sizeof ss;
    }
    ssize_t n = send ? sendmsg(h, &m, (int)a[2] | MSG_NOSIGNAL) : recvmsg(h, &m, (int)a[2] & ~MSG_CMSG_CLOEXEC);
    int e = errno;
    if (dirfd >= 0)
        close(dirfd);
    if (n < 0)
        return -e;
    if (!send) {
        if (gm->msg_name) {
            uint32_t keep = gm->msg_namelen < m.msg_namelen ? gm->msg_namelen : m.msg_namelen;
            void *g = gptr(p, (uint64_t)gm->msg_name, keep, true);
            if (g)
                memcpy(g, &ss, keep);
            gm->msg_namelen = m.msg_namelen;
        }
        gm->msg_controllen = 0;
        gm->msg_flags = m.msg_flags;
    }
    return n;
}

static int64_t sys_epoll_ctl(struct linux_proc *p, const uint64_t a[6])
{
    int ep = linux_fd_host(p, (int64_t)a[0]), h = linux_fd_host(p, (int64_t)a[2]);
    if (ep < 0 || h < 0)
        return -EBADF;
    struct epoll_event ev = {0};
    if (a[1] != EPOLL_CTL_DEL) {
        const struct epoll_event *g = gptr(p, a[3], sizeof ev, false);
        if (!g)
            return -EFAULT;
        ev = *g;                /* the data word comes back to the guest as it gave it */
    }
    return linux_result(epoll_ctl(ep, (int)a[1], h, &ev));
}

static int64_t sys_epoll_wait(struct linux_proc *p, const uint64_t a[6])
{
    int ep = linux_fd_host(p, (int64_t)a[0]);
    int max = (int)a[2];
    if (ep < 0)
        return -EBADF;
    if (max <= 0)
        return -EINVAL;
    if (max > MAX_EVENTS)
        max = MAX_EVENTS;
    struct epoll_event *ev = gptr(p, a[1], (uint64_t)max * sizeof *ev, true);
    if (!ev)
        return -EFAULT;
    return linux_result(epoll_wait(ep, ev, max, (int)a[3]));   /* the same packed layout as the guest's */
}

static int64_t sys_poll(struct linux_proc *p, uint64_t fds_va, uint64_t n, int timeout_ms)
{
    if (n > MAX_EVENTS)
        return -EINVAL;
    struct pollfd *g = gptr(p, fds_va, n * sizeof *g, true);
    if (!g && n)
        return -EFAULT;
    struct pollfd *h = calloc(n ? n : 1, sizeof *h);
    if (!h)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++)
        h[i] = (struct pollfd){.fd = g[i].fd < 0 ? -1 : linux_fd_host(p, g[i].fd), .events = g[i].events};
    int r = poll(h, n, timeout_ms);
    int e = errno;
    for (uint64_t i = 0; r >= 0 && i < n; i++)
        g[i].revents = g[i].fd >= 0 && h[i].fd < 0 ? POLLNVAL : h[i].revents;
    if (r >= 0)                 /* count the guest's POLLNVALs too, as the kernel does */
        for (uint64_t i = 0; i < n; i++)
            r += g[i].fd >= 0 && h[i].fd < 0;
    free(h);
    return r < 0 ? -e : r;
}

static int64_t sys_pipe(struct linux_proc *p, uint64_t va, int flags)
{
    int32_t *g = gptr(p, va, 8, true);
    int fd[2];
    if (!g)
        return -EFAULT;
    if (pipe2(fd, (flags & ~O_CLOEXEC) | O_CLOEXEC) < 0)
        return -errno;
    int64_t r = linux_fd_install(p, fd[0], "pipe"), w = r < 0 ? (close(fd[1]), r) : linux_fd_install(p, fd[1], "pipe");
    if (w < 0) {
        if (r >= 0) {
            pthread_mutex_lock(&p->lock);
            linux_close(p, r);
            pthread_mutex_unlock(&p->lock);
        }
        return w;
    }
    g[0] = (int32_t)r;
    g[1] = (int32_t)w;
    return 0;
}

/* dup2/dup3: old's host fd duplicated into guest slot newfd (closing what was there). */
static int64_t sys_dup_to(struct linux_proc *p, int64_t old, int64_t newfd)
{
    int h = linux_fd_host(p, old);
    if (h < 0)
        return -EBADF;
    if (newfd < 0 || newfd >= LINUX_FD_MAX)
        return -EBADF;
    if (old == newfd)
        return newfd;
    int d = fcntl(h, F_DUPFD_CLOEXEC, 3);
    if (d < 0)
        return -errno;
    pthread_mutex_lock(&p->lock);
    if (p->fds[newfd].host >= 0)
        close(p->fds[newfd].host);
    p->fds[newfd] = p->fds[old];
    p->fds[newfd].host = d;
    pthread_mutex_unlock(&p->lock);
    return newfd;
}

static int64_t sys_fcntl(struct linux_proc *p, const uint64_t a[6])
{
    int h = linux_fd_host(p, (int64_t)a[0]);
    if (h < 0)
        return -EBADF;
    switch ((int)a[1]) {
    case F_GETFL:
    case F_SETFL:
        return linux_result(fcntl(h, (int)a[1], (int)a[2]));
    case F_GETFD:
        return FD_CLOEXEC;      /* nothing is ever exec'd */
    case F_SETFD:
        return 0;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        int d = fcntl(h, F_DUPFD_CLOEXEC, 3);
        return d < 0 ? -errno : linux_fd_install(p, d, p->fds[a[0]].path);
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW: {
        struct flock *g = gptr(p, a[2], sizeof *g, a[1] == F_GETLK);
        if (!g)
            return -EFAULT;
        struct flock l = *g;
        if (fcntl(h, (int)a[1], &l) < 0)
            return -errno;
        if (a[1] == F_GETLK)
            *g = l;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

int64_t linux_net(struct linux_proc *p, int nr, const uint64_t a[6])
{
    int h;
    struct sockaddr_storage ss;
    socklen_t sl;
    int64_t rc;
    switch (nr) {
    case SYS_socket: return sys_socket(p, a);
    case SYS_bind:
    case SYS_connect: {
        int dirfd;
        if ((h = linux_fd_host(p, (int64_t)a[0])) < 0)
            return -EBADF;
        if ((rc = sockaddr_in(p, a[1], a[2], &ss, &sl, nr == SYS_bind, &dirfd)) < 0)
            return rc;
        rc = linux_result(nr == SYS_bind ? bind(h, (struct sockaddr *)&ss, sl) : connect(h, (struct sockaddr *)&ss, sl));
        if (dirfd >= 0)
            close(dirfd);
        return rc;
    }
    case SYS_listen:
        return (h = linux_fd_host(p, (int64_t)a[0])) < 0 ? -EBADF : linux_result(listen(h, (int)a[1]));
    case SYS_accept: return sys_accept(p, a, 0);
    case SYS_accept4: return sys_accept(p, a, (int)a[3]);
    case SYS_setsockopt: return sys_sockopt(p, a, true);
    case SYS_getsockopt: return sys_sockopt(p, a, false);
    case SYS_getsockname: return sys_name(p, a, false);
    case SYS_getpeername: return sys_name(p, a, true);
    case SYS_shutdown:
        return (h = linux_fd_host(p, (int64_t)a[0])) < 0 ? -EBADF : linux_result(shutdown(h, (int)a[1]));
    case SYS_sendto: return sys_sendto(p, a);
    case SYS_recvfrom: return sys_recvfrom(p, a);
    case SYS_sendmsg: return sys_msg(p, a, true);
    case SYS_recvmsg: return sys_msg(p, a, false);
    case SYS_epoll_create:
    case SYS_epoll_create1:
        return (h = epoll_create1(EPOLL_CLOEXEC)) < 0 ? -errno : linux_fd_install(p, h, "epoll");
    case SYS_epoll_ctl: return sys_epoll_ctl(p, a);
    case SYS_epoll_wait:
    case SYS_epoll_pwait: return sys_epoll_wait(p, a);     /* no signals: the mask changes nothing */
    case SYS_poll: return sys_poll(p, a[0], a[1], (int)a[2]);
    case SYS_ppoll: {
        int ms = -1;
        if (a[2]) {
            const struct timespec *t = gptr(p, a[2], sizeof *t, false);
            if (!t)
                return -EFAULT;
            ms = (int)(t->tv_sec * 1000 + t->tv_nsec / 1000000);
        }
        return sys_poll(p, a[0], a[1], ms);
    }
    case SYS_pipe: return sys_pipe(p, a[0], 0);
    case SYS_pipe2: return sys_pipe(p, a[0], (int)a[1]);
    case SYS_dup:
        if ((h = linux_fd_host(p, (int64_t)a[0])) < 0)
            return -EBADF;
        return (h = fcntl(h, F_DUPFD_CLOEXEC, 3)) < 0 ? -errno : linux_fd_install(p, h, p->fds[a[0]].path);
    case SYS_dup2:
    case SYS_dup3: return sys_dup_to(p, (int64_t)a[0], (int64_t)a[1]);
    case SYS_eventfd2:
        return (h = eventfd((unsigned)a[0], ((int)a[1] & ~EFD_CLOEXEC) | EFD_CLOEXEC)) < 0 ? -errno
                                                                                     : linux_fd_install(p, h, "eventfd");
    case SYS_fcntl: return sys_fcntl(p, a);
    default: return -ENOSYS;
    }
}
