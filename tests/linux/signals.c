/* Signals as servers use them (tests/integration/linux.sh): its output is
 * compared with a native run's.
 *   signals basic    handlers with siginfo and ucontext, masks and pending
 *                    signals, SIGPIPE, sigaltstack, SA_RESETHAND, kill
 *   signals async    a signal to a thread that is computing (its SSE
 *                    registers survive the handler) or blocked in read
 *                    (SA_RESTART restarts it, without it: EINTR)
 *   signals host     waits for SIGHUP (counted) and SIGTERM (exit 0) from outside
 *   signals wait     waits, no handler: the default action of what comes
 *   signals pipe     a write to a closed pipe with SIGPIPE's default: killed
 *   signals abort    abort(): killed by SIGABRT */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t hits[65];
static volatile uintptr_t handler_sp;
static volatile int last_code;

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    hits[sig]++;
    last_code = si->si_code;
    handler_sp = (uintptr_t)&sig;
    if (si->si_signo != sig || !uc || !uc->uc_mcontext.gregs[REG_RIP])
        hits[0]++;                      /* a bad frame: reported by main */
}

static void handle(int sig, int flags)
{
    struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | flags};
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0)
        perror("sigaction");
}

static int basic(void)
{
    handle(SIGUSR1, 0);
    raise(SIGUSR1);
    printf("raise: handler ran %d time(s), code %s\n", hits[SIGUSR1], last_code == SI_TKILL ? "SI_TKILL" : "other");

    sigset_t block, pending, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    handle(SIGUSR2, 0);
    sigprocmask(SIG_BLOCK, &block, &old);
    kill(getpid(), SIGUSR2);
    sigpending(&pending);
    printf("blocked: handler ran %d time(s), pending %d\n", hits[SIGUSR2], sigismember(&pending, SIGUSR2));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: handler ran %d time(s)\n", hits[SIGUSR2]);

    int fds[2];
    if (pipe(fds) < 0)
        return 1;
    close(fds[0]);
    handle(SIGPIPE, 0);
    ssize_t n = write(fds[1], "x", 1);
    printf("write to a closed pipe: %zd %s, SIGPIPE handler ran %d time(s)\n", n, strerrorname_np(errno),
           hits[SIGPIPE]);
    signal(SIGPIPE, SIG_IGN);
    n = write(fds[1], "x", 1);
    printf("again, SIGPIPE ignored: %zd %s, handler ran %d time(s)\n", n, strerrorname_np(errno), hits[SIGPIPE]);
    close(fds[1]);

    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    if (sigaltstack(&ss, NULL) < 0)
        perror("sigaltstack");
    handle(SIGURG, SA_ONSTACK);
    raise(SIGURG);
    printf("SA_ONSTACK: handler ran %d time(s), on the alternate stack: %s\n", hits[SIGURG],
           handler_sp - (uintptr_t)alt < sizeof alt ? "yes" : "no");

    handle(SIGHUP, SA_RESETHAND);
    raise(SIGHUP);
    struct sigaction now;
    sigaction(SIGHUP, NULL, &now);
    printf("SA_RESETHAND: handler ran %d time(s), now SIG_DFL: %s\n", hits[SIGHUP],
           now.sa_handler == SIG_DFL ? "yes" : "no");

    printf("kill(getpid(), 0): %d\n", kill(getpid(), 0));
    int rc = (int)syscall(SYS_tgkill, getpid(), 99999, SIGUSR1);
    printf("tgkill to no such thread: %d %s\n", rc, strerrorname_np(errno));
    rc = sigaction(SIGKILL, &(struct sigaction){.sa_handler = SIG_IGN}, NULL);
    printf("sigaction(SIGKILL): %d %s\n", rc, strerrorname_np(errno));
    printf("frames as Linux builds them: %s\n", hits[0] ? "no" : "yes");
    return 0;
}

static atomic_int spin_tid, spin_ready, spin_stop, reader_tid;
static int spin_bad;

/* Keeps a value in xmm0 across signals whose handler clobbers xmm0. */
static void *spinner(void *arg)
{
    (void)arg;
    atomic_store(&spin_tid, (int)syscall(SYS_gettid));
    double v = 1234.5, got = 0;
    __asm__ volatile("movsd %0, %%xmm0" ::"m"(v) : "xmm0");
    atomic_store(&spin_ready, 1);
    while (!atomic_load(&spin_stop)) {
        __asm__ volatile("movsd %%xmm0, %0" : "=m"(got)::"xmm0");
        if (got != v)
            spin_bad++;
    }
    return NULL;
}

static void on_clobber(int sig)
{
    hits[sig]++;
    double z = -1.0;
    __asm__ volatile("movsd %0, %%xmm0" ::"m"(z) : "xmm0");
}

static int read_fds[2];

static void *reader(void *arg)
{
    char c;
    atomic_store(&reader_tid, (int)syscall(SYS_gettid));
    ssize_t n = read(read_fds[0], &c, 1);
    *(int *)arg = n == 1 ? c : -errno;
    return NULL;
}

static void nap(long ms)
{
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000}, NULL);
}

/* A thread blocked in read gets a signal; with `flags` (SA_RESTART or 0). */
static void interrupted_read(int flags, const char *what)
{
    handle(SIGUSR2, flags);
    hits[SIGUSR2] = 0;
    if (pipe(read_fds) < 0)
        return;
    int got = 0;
    atomic_store(&reader_tid, 0);
    pthread_t t;
    pthread_create(&t, NULL, reader, &got);
    while (!atomic_load(&reader_tid))
        nap(1);
    nap(100);                           /* in its read by now */
    syscall(SYS_tgkill, getpid(), atomic_load(&reader_tid), SIGUSR2);
    while (!hits[SIGUSR2])
        nap(1);
    nap(50);
    if (write(read_fds[1], "k", 1) != 1)
        perror("write");
    pthread_join(t, NULL);
    if (got > 0)
        printf("%s: handler ran, read returned '%c'\n", what, got);
    else
        printf("%s: handler ran, read failed with %s\n", what, strerrorname_np(-got));
    close(read_fds[0]);
    close(read_fds[1]);
}

static int async(void)
{
    struct sigaction sa = {.sa_handler = on_clobber};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    while (!atomic_load(&spin_ready))
        nap(1);
    for (int i = 0; i < 20; i++) {
        syscall(SYS_tgkill, getpid(), atomic_load(&spin_tid), SIGUSR1);
        while (hits[SIGUSR1] <= i)
            nap(1);
    }
    atomic_store(&spin_stop, 1);
    pthread_join(t, NULL);
    printf("a computing thread took %d signals; its xmm0 changed under it %d time(s)\n", hits[SIGUSR1], spin_bad);
    interrupted_read(SA_RESTART, "read with SA_RESTART");
    interrupted_read(0, "read without SA_RESTART");
    return 0;
}

static volatile sig_atomic_t term;

static void on_host(int sig)
{
    if (sig == SIGTERM)
        term = 1;
    hits[sig]++;
}

static int host(void)
{
    struct sigaction sa = {.sa_handler = on_host};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    printf("ready\n");
    fflush(stdout);
    int fds[2];
    if (pipe(fds) < 0)
        return 1;
    char c;
    while (!term) {
        ssize_t n = read(fds[0], &c, 1);   /* blocks until a signal breaks it off */
        if (n < 0 && errno == EINTR)
            printf("read: EINTR (SIGHUP %d, SIGTERM %d)\n", hits[SIGHUP], hits[SIGTERM]);
        fflush(stdout);
    }
    printf("SIGTERM handled: exiting\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "basic";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "basic"))
        return basic();
    if (!strcmp(mode, "async"))
        return async();
    if (!strcmp(mode, "host"))
        return host();
    if (!strcmp(mode, "wait")) {
        int fds[2];
        char c;
        printf("waiting\n");
        return pipe(fds) < 0 || read(fds[0], &c, 1) < 0 ? 1 : 0;
    }
    if (!strcmp(mode, "pipe")) {
        int fds[2];
        if (pipe(fds) < 0)
            return 1;
        close(fds[0]);
        printf("writing to a closed pipe\n");
        if (write(fds[1], "x", 1) < 0)
            perror("write");
        printf("still alive: wrong\n");
        return 1;
    }
    if (!strcmp(mode, "abort")) {
        printf("abort\n");
        abort();
    }
    fprintf(stderr, "signals: unknown mode %s\n", mode);
    return 2;
}
