/*
 * A minimal fork-join pool. vCPU 0 publishes (fn, arg) and bumps a
 * generation counter; secondaries in arom_worker_loop() spin on it, run fn,
 * and count themselves done. There is no way to sleep at CPL3 without
 * interrupts, so idle workers spin with `pause`.
 */
#include "arom.h"

/* The default arom_secondary_main, for payloads that use only vCPU 0:
 * secondaries stop at once. Here, not in the boot code, so that the guest
 * (runtime.c) and the native runtime share it; arom_run_on_all compares
 * against it to catch a missing AROM_WORKER_POOL(). */
int arom__secondary_default(unsigned vcpu);
int arom__secondary_default(unsigned vcpu)
{
    (void)vcpu;
    return 0;
}
int arom_secondary_main(unsigned vcpu) __attribute__((weak, alias("arom__secondary_default")));

static struct {
    void (*fn)(unsigned vcpu, void *arg);
    void *arg;
    uint64_t gen;   /* bumped (release) once fn/arg are published */
    uint32_t done;  /* vCPUs finished with the current generation */
} pool;

int arom_worker_loop(unsigned vcpu)
{
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen;
        while ((gen = __atomic_load_n(&pool.gen, __ATOMIC_ACQUIRE)) == seen)
            arom_pause();
        seen = gen;
        pool.fn(vcpu, pool.arg);
        __atomic_add_fetch(&pool.done, 1, __ATOMIC_RELEASE);
    }
}

void arom_run_on_all(void (*fn)(unsigned vcpu, void *arg), void *arg)
{
    unsigned n = arom_vcpu_count();

    if (arom_vcpu_id() != 0)
        arom_panic("arom_run_on_all called on a secondary vCPU");
    if (n > 1 && arom_secondary_main == arom__secondary_default)
        arom_panic("arom_run_on_all needs AROM_WORKER_POOL() in the payload");

    /* Safe to overwrite: the previous call waited until every worker was done. */
    pool.fn = fn;
    pool.arg = arg;
    __atomic_store_n(&pool.done, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&pool.gen, 1, __ATOMIC_RELEASE);

    fn(0, arg);

    while (__atomic_load_n(&pool.done, __ATOMIC_ACQUIRE) < n - 1)
        arom_pause();
}
