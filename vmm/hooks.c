#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "vmm/hooks.h"

void hooks_init(struct hooks *h, const char *dir, const char *name, const char *xml, double timeout_s)
{
    *h = (struct hooks){.name = name, .xml = xml ? xml : "", .timeout_s = timeout_s};
    if (!dir)
        dir = HOOKS_DEFAULT_DIR;
    if (strcmp(dir, "off"))
        snprintf(h->dir, sizeof h->dir, "%s", dir);
}

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* What one hook did. */
struct outcome {
    int status;                 /* exit status, 128 + signal, -1 timed out, -2 not started */
    char stderr_text[HOOKS_STDERR_MAX];
    size_t stderr_len;
};

static void start_child(const char *path, char *const argv[], int in, int errfd)
{
    setpgid(0, 0);              /* its own group: a timeout kills whatever it started */
    int null = open("/dev/null", O_WRONLY);
    if (dup2(in, 0) < 0 || dup2(null, 1) < 0 || dup2(errfd, 2) < 0)
        _exit(126);
    close_range(3, ~0u, 0);     /* nothing of the VMM's (KVM, guest memory, sockets) reaches a hook */
    execv(path, argv);
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    _exit(126);
}

/* Feed the XML, collect stderr and wait, all within the deadline; closes in and errfd. */
static void supervise(pid_t pid, int in, int errfd, const char *xml, uint64_t deadline, struct outcome *o)
{
    size_t sent = 0, len = strlen(xml);
    int status;
    if (len == 0) {
        close(in);
        in = -1;
    }
    int exited = (int)syscall(SYS_pidfd_open, pid, 0);   /* readable once the hook exits */
    while (clock_now_ns() < deadline) {
        struct pollfd fds[3] = {{.fd = errfd, .events = POLLIN}, {.fd = in, .events = POLLOUT},
                                {.fd = exited, .events = POLLIN}};
        uint64_t left = (deadline - clock_now_ns()) / 1000000;
        int n = poll(fds, 3, left > 100 ? 100 : (int)left + 1);     /* poll skips fds < 0 */
        if (n < 0 && errno != EINTR)
            break;
        if (in >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(in, xml + sent, len - sent);
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN) {     /* it does not read stdin: fine */
                close(in);
                in = -1;
            } else if (sent == len) {
                close(in);
                in = -1;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            char buf[512];
            ssize_t r = read(errfd, buf, sizeof buf);
            if (r == 0) {               /* closed: stop watching it (no busy loop) */
                close(errfd);
                errfd = -1;
            } else if (r > 0) {
                size_t room = sizeof o->stderr_text - 1 - o->stderr_len, k = (size_t)r < room ? (size_t)r : room;
                memcpy(o->stderr_text + o->stderr_len, buf, k);
                o->stderr_len += k;
            }
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            o->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
    }
    if (o->status == -2) {      /* the deadline passed */
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        o->status = -1;
    }
    if (in >= 0)
        close(in);
    if (errfd >= 0)
        close(errfd);
    if (exited >= 0)
        close(exited);
}

static void run_one(const struct hooks *h, const char *path, char *const argv[], struct outcome *o)
{
    int in[2], errp[2];
    *o = (struct outcome){.status = -2};
    if (pipe2(in, O_CLOEXEC) < 0)
        return;
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return;
    }
    /* A hook that exits without reading stdin must not kill the VMM with SIGPIPE (ignored in
     * arom-vmm; the write fails with EPIPE). */
    pid_t pid = fork();
    if (pid == 0)
        start_child(path, argv, in[0], errp[1]);
    close(in[0]);
    close(errp[1]);
    if (pid < 0) {
        close(in[1]);
        close(errp[0]);
        return;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    supervise(pid, in[1], errp[0], h->xml, clock_now_ns() + (uint64_t)(h->timeout_s * 1e9), o);
    o->stderr_text[o->stderr_len] = '\0';
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);     /* alphabetical in the C locale, as libvirt sorts */
}

static int failure(const struct hooks *h, const char *path, const char *op, const struct outcome *o, char *err,
                   size_t errlen)
{
    char why[64];
    if (o->status == -1)
        snprintf(why, sizeof why, "timed out after %g s (killed)", h->timeout_s);
    else if (o->status == -2)
        snprintf(why, sizeof why, "could not be started");
    else
        snprintf(why, sizeof why, "exited with status %d", o->status);
    char text[HOOKS_STDERR_MAX];
    snprintf(text, sizeof text, "%s", o->stderr_text);
    for (char *c = text; *c; c++)
        if (*c == '\n')
            *c = *(c + 1) ? ' ' : '\0';
    return errf(err, errlen, -EINVAL, "hook %s %s: %s%s%s", path, op, why, text[0] ? ": " : "", text);
}

int hooks_run(const struct hooks *h, const char *op, const char *subop, const char *extra, bool gate, char *err,
              size_t errlen)
{
    if (!h->dir[0])
        return 0;
    char path[4600], sub[4200];
    char *argv[] = {path, (char *)h->name, (char *)op, (char *)subop, (char *)(extra ? extra : "-"), NULL};
    int failed = 0;
    struct outcome o;
    snprintf(path, sizeof path, "%s/arom", h->dir);
    if (executable(path)) {
        run_one(h, path, argv, &o);
        if (o.status != 0 && !failed++)
            failure(h, path, op, &o, err, errlen);
    }
    snprintf(sub, sizeof sub, "%s/arom.d", h->dir);
    struct dirent **list;
    int n = failed && gate ? -1 : scandir(sub, &list, NULL, by_name);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", sub, list[i]->d_name);
        if (!(failed && gate) && list[i]->d_name[0] != '.' && executable(path)) {
            run_one(h, path, argv, &o);
            if (o.status != 0 && !failed++)
                failure(h, path, op, &o, err, errlen);
        }
        free(list[i]);
    }
    if (n >= 0)
        free(list);
    if (failed > 1) {
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, " (and %d more hooks failed)", failed - 1);
    }
    return failed ? -EINVAL : 0;
}
