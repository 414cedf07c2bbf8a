/* The vDSO arom gives Linux guests (AT_SYSINFO_EHDR; docs/LINUX.md): the
 * clock without a VM exit. C libraries call __vdso_clock_gettime and
 * friends instead of the system call when the kernel offers them; here
 * the time is computed from the TSC and a page the VMM fills (struct
 * arom_vvar at AROM_VVAR_GPA, read-only to the guest), under a sequence
 * count. Clocks it does not compute fall back to the real system call.
 * Position-independent, no libc, built by guest-tools/local.mk. */
#include <stdint.h>

#include "arom/vvar.h"

struct timespec_k {
    int64_t tv_sec, tv_nsec;
};
struct timeval_k {
    int64_t tv_sec, tv_usec;
};

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static long sys(long nr, long a, long b)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}

/* ns on the clock (realtime or monotonic), or -1 when the VMM set none. */
static int64_t now_ns(int realtime)
{
    const volatile struct arom_vvar *v = (const volatile struct arom_vvar *)AROM_VVAR_GPA;
    uint32_t seq;
    int64_t ns;
    do {
        seq = v->seq;
        if (!v->valid)
            return -1;
        uint64_t delta = rdtsc() - v->tsc_base;
        ns = (realtime ? v->real_ns : v->mono_ns) + (int64_t)(((unsigned __int128)delta * v->mult) >> v->shift);
    } while ((seq & 1) || seq != v->seq);
    return ns;
}

int __vdso_clock_gettime(int clk, struct timespec_k *ts)
{
    int realtime = clk == 0 || clk == 5;                        /* REALTIME, REALTIME_COARSE */
    int mono = clk == 1 || clk == 4 || clk == 6 || clk == 7;    /* MONOTONIC, _RAW, _COARSE, BOOTTIME */
    int64_t ns = realtime || mono ? now_ns(realtime) : -1;
    if (ns < 0)
        return (int)sys(228 /* clock_gettime */, clk, (long)ts);
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
    return 0;
}

int __vdso_gettimeofday(struct timeval_k *tv, void *tz)
{
    int64_t ns = now_ns(1);
    if (ns < 0)
        return (int)sys(96 /* gettimeofday */, (long)tv, (long)tz);
    if (tv) {
        tv->tv_sec = ns / 1000000000;
        tv->tv_usec = ns % 1000000000 / 1000;
    }
    return 0;
}

int64_t __vdso_time(int64_t *t)
{
    int64_t ns = now_ns(1);
    int64_t s = ns < 0 ? sys(201 /* time */, 0, 0) : ns / 1000000000;
    if (t)
        *t = s;
    return s;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
    (void)cache;
    if (cpu)
        *cpu = 0;
    if (node)
        *node = 0;
    return 0;
}

int clock_gettime(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval_k *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
