/*
 * arom.h: the whole API a guest payload sees. Payloads are freestanding
 * (no libc): this runtime provides boot, argv, hypercalls, printf, string
 * functions, atomics, a PRNG, timing and a bump allocator.
 *
 * Life cycle: vCPU 0 calls main(argc, argv) (exactly that signature); its
 * return value is the VM's exit status. argv[0] is "payload", the rest is
 * the command line split on whitespace (no quoting). Every other vCPU calls
 * arom_secondary_main(vcpu); when that returns the vCPU stops
 * (AROM_HC_VCPU_DONE with the return value) and the VM runs on. The default
 * arom_secondary_main returns at once. A payload that wants to run code on
 * every vCPU puts AROM_WORKER_POOL() at file scope and calls
 * arom_run_on_all() from main.
 */
#ifndef AROM_GUEST_H
#define AROM_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <arom/abi.h>

#define AROM_NORETURN __attribute__((noreturn))
#define AROM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define AROM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AROM_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define AROM_KiB (1024ull)
#define AROM_MiB (1024ull * 1024)
#define AROM_GiB (1024ull * 1024 * 1024)

/* Exit status of arom_panic() and failed AROM_CHECKs (EX_SOFTWARE). */
#define AROM_PANIC_STATUS 70
/* Most arguments main() receives; argv[0] is always "payload". */
#define AROM_MAX_ARGS 64
/* Runtime internal: split the argument string (in place) into argv[AROM_MAX_ARGS + 1]. */
int arom__split_cmdline(char *line, char **argv);

/* ---- payload entry points (defined by the payload) ---------------------- */

int main(int argc, char **argv);
/* Weak: the runtime's default returns 0 immediately. */
int arom_secondary_main(unsigned vcpu);

/* ---- boot info ----------------------------------------------------------- */

#ifdef AROM_NATIVE
/* Native builds (host processes, guest-tools/native/) have no page at
 * AROM_BOOT_INFO_GPA: the host runtime fills in this copy instead. */
extern struct arom_boot_info arom__native_boot_info;
#endif

static inline const struct arom_boot_info *arom_boot_info(void)
{
#ifdef AROM_NATIVE
    return &arom__native_boot_info;
#else
    return (const struct arom_boot_info *)(uintptr_t)AROM_BOOT_INFO_GPA;
#endif
}

static inline unsigned arom_vcpu_count(void)
{
    return arom_boot_info()->vcpus;
}

/* The calling vCPU's id, found from the stack pointer (each vCPU runs on its
 * own stack). Cheap but not free: cache it in hot loops. */
unsigned arom_vcpu_id(void);

/* ---- hypercalls ----------------------------------------------------------
 * The one place that executes `out`. The "memory" clobber makes the compiler
 * store the request before the exit and reload `ret` after it. */
static inline void arom__hypercall(unsigned nr, volatile void *req)
{
    uint32_t gpa = (uint32_t)(uintptr_t)req; /* requests live on the stack, < 4 GiB */
    uint16_t port = (uint16_t)(AROM_HC_PORT_BASE + nr);
    __asm__ volatile("outl %0, %1" : : "a"(gpa), "Nd"(port) : "memory");
}

int64_t arom_puts(const char *s, size_t len);   /* bytes written or -AROM_E* */
AROM_NORETURN void arom_exit(int status);        /* ends the whole VM */
AROM_NORETURN void arom_vcpu_done(void);         /* stops only this vCPU */
/* The runtime's variant: the status of the last vCPU to finish becomes the
 * VM's exit status if no vCPU calls arom_exit(). */
AROM_NORETURN void arom__vcpu_done(int status);
uint64_t arom_time_ns(void);                     /* host CLOCK_MONOTONIC; a VM exit */
int64_t arom_report(const char *key, double value); /* key: [A-Za-z0-9_.-], <= 64 */
int64_t arom_hint(void *addr, size_t len, unsigned kind); /* pages acted on or -AROM_E* */
int64_t arom_tier_stats(struct arom_hc_tier_stats *out); /* 0 or -AROM_E* */
/* Pages of [addr, addr+len) (page aligned) on LtRAM and on DRAM: 0 or -AROM_E*. */
int64_t arom_tier_query(const void *addr, size_t len, uint64_t *ltram_pages, uint64_t *dram_pages);

/* ---- output -------------------------------------------------------------
 * %d %i %u %x %X %o %p %s %c %% %f (%F), length modifiers hh h l ll z j t,
 * flags - 0 + space #, width and precision (also as *). arom_printf emits one
 * hypercall per call for output up to 1 KiB, so lines from different vCPUs
 * do not interleave. */
int arom_printf(const char *fmt, ...) AROM_PRINTF(1, 2);
int arom_vprintf(const char *fmt, va_list ap) AROM_PRINTF(1, 0);
int arom_snprintf(char *buf, size_t size, const char *fmt, ...) AROM_PRINTF(3, 4);
int arom_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) AROM_PRINTF(3, 0);

AROM_NORETURN void arom_panic(const char *fmt, ...) AROM_PRINTF(1, 2);

#define AROM_CHECK(cond)                                                     \
    do {                                                                     \
        if (__builtin_expect(!(cond), 0))                                    \
            arom_panic("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
    } while (0)

/* ---- strings and memory -------------------------------------------------- */

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* -ffreestanding turns builtins off; route the common calls back through
 * them so constant-size copies are inlined. string.c defines the real ones. */
#ifndef AROM_STRING_IMPL
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#define strlen(s) __builtin_strlen(s)
#endif

/* Decimal or 0x-hex, optional K/M/G/T suffix (powers of 1024).
 * Returns 0, or -1 on empty input, junk or overflow. */
int arom_parse_u64(const char *s, uint64_t *out);
/* Value of the first "name=value" in argv[1..], or def when absent.
 * A malformed value panics: a typo must not silently run the default. */
uint64_t arom_arg_u64(int argc, char **argv, const char *name, uint64_t def);
const char *arom_arg_str(int argc, char **argv, const char *name, const char *def);

/* ---- allocator ------------------------------------------------------------
 * Bump allocator over [heap_start, heap_end) from boot info; safe to call
 * from any vCPU. Never frees. Returns NULL when the heap is exhausted.
 * align must be a power of two (0 means 16). */
void *arom_alloc(size_t size, size_t align);
static inline void *arom_alloc_pages(size_t size)
{
    return arom_alloc(AROM_ALIGN_UP(size, AROM_PAGE_SIZE), AROM_PAGE_SIZE);
}
size_t arom_heap_free(void); /* bytes left (ignoring alignment) */

/* ---- atomics (sequentially consistent unless named otherwise) ------------ */

static inline void arom_pause(void) { __builtin_ia32_pause(); }
static inline void arom_compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline uint64_t arom_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline uint32_t arom_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline uint64_t arom_load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t arom_load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void arom_store_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline void arom_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline void arom_store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void arom_store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/* Return the new value. */
static inline uint64_t arom_add_u64(uint64_t *p, uint64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t arom_add_u32(uint32_t *p, uint32_t v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
/* True if *p was expected and is now desired; else *expected = current. */
static inline bool arom_cas_u64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline bool arom_cas_u32(uint32_t *p, uint32_t *expected, uint32_t desired)
{
    return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Reusable barrier for n participants; zero-initialise (static or = {0}).
 * Waiters read the generation before arriving and spin until the last
 * arrival bumps it, so back-to-back waits cannot run into each other. */
struct arom_barrier {
    uint32_t count;
    uint32_t gen;
};

static inline void arom_barrier_wait(struct arom_barrier *b, unsigned n)
{
    uint32_t gen = __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == n) {
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->gen, gen + 1, __ATOMIC_RELEASE);
    } else {
        while (__atomic_load_n(&b->gen, __ATOMIC_ACQUIRE) == gen)
            arom_pause();
    }
}

/* ---- running code on every vCPU -------------------------------------------
 * AROM_WORKER_POOL() at file scope makes secondaries wait for work instead of
 * stopping. Then, from main() on vCPU 0, arom_run_on_all(fn, arg) runs
 * fn(vcpu, arg) on every vCPU (0 included) and returns when all have
 * finished. Idle workers spin (there are no interrupts to sleep on). */
int arom_worker_loop(unsigned vcpu); /* never returns */
void arom_run_on_all(void (*fn)(unsigned vcpu, void *arg), void *arg);
#define AROM_WORKER_POOL() \
    int arom_secondary_main(unsigned vcpu) { return arom_worker_loop(vcpu); }

/* ---- random numbers: xoshiro256**, seeded through splitmix64 ------------- */

struct arom_rand {
    uint64_t s[4];
};

/* splitmix64's finalizer: a bijection on 64-bit values that mixes every
 * input bit into every output bit (also a hash for keys and seeds). */
static inline uint64_t arom_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t arom__splitmix64(uint64_t *x)
{
    return arom_mix64(*x += 0x9e3779b97f4a7c15ull);
}

static inline void arom_rand_seed(struct arom_rand *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = arom__splitmix64(&seed); /* never all zero */
}

static inline uint64_t arom__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t arom_rand_u64(struct arom_rand *r)
{
    uint64_t *s = r->s;
    uint64_t result = arom__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = arom__rotl(s[3], 45);
    return result;
}

/* Uniform-enough in [0, n) (Lemire's multiply-shift; bias < n / 2^64). */
static inline uint64_t arom_rand_range(struct arom_rand *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)arom_rand_u64(r) * n) >> 64);
}

/* Uniform in [0, 1). */
static inline double arom_rand_double(struct arom_rand *r)
{
    return (double)(arom_rand_u64(r) >> 11) * 0x1.0p-53;
}

/* ---- timing ---------------------------------------------------------------
 * rdtsc costs no VM exit; boot info tsc_hz converts it (0 if unknown). */
static inline uint64_t arom_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif /* AROM_GUEST_H */
