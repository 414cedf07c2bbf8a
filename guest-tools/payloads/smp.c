/*
 * smp: all vCPUs (0 included) hammer shared memory.
 *   1. each adds (vcpu + 1) to one shared counter `iters` times (atomic add)
 *      and counts CAS-loop increments on a second counter;
 *   2. each allocates from the shared heap concurrently;
 *   3. each fills its own slice of a shared array, waits at a barrier, and
 *      verifies its neighbour's slice.
 * All start the work together behind a barrier so the atomics contend.
 * vCPU 0 then checks the totals against closed forms. Exit 0 only if all
 * match. Works with any vCPU count, 1 included. Args: iters=N (100000).
 */
#include "arom.h"

#define SLICE_WORDS 4096
#define BLOCK_SIZE 8192

struct shared {
    uint64_t iters;
    unsigned n;
    uint64_t *array;                    /* n * SLICE_WORDS words */
    uint64_t sum;                       /* atomic adds of vcpu + 1 */
    uint64_t cas_count;                 /* CAS-loop increments */
    uint64_t slice_errors;
    uint64_t *blocks[AROM_MAX_VCPUS];   /* concurrent arom_alloc results */
    struct arom_barrier barrier;
};

AROM_WORKER_POOL()

static uint64_t pattern(unsigned vcpu, uint64_t i)
{
    return ((uint64_t)vcpu << 48) ^ (i * 0x9e3779b97f4a7c15ull);
}

static void work(unsigned vcpu, void *arg)
{
    struct shared *sh = arg;

    /* Start together: vCPUs are started one after another, and without
     * overlap the atomics would never be contended. */
    arom_barrier_wait(&sh->barrier, sh->n);
    for (uint64_t i = 0; i < sh->iters; i++) {
        arom_add_u64(&sh->sum, vcpu + 1);
        uint64_t old = arom_load_u64(&sh->cas_count);
        while (!arom_cas_u64(&sh->cas_count, &old, old + 1))
            arom_pause();
    }

    uint64_t *block = arom_alloc(BLOCK_SIZE, 64);
    if (block)
        for (size_t i = 0; i < BLOCK_SIZE / sizeof(uint64_t); i++)
            block[i] = vcpu;
    sh->blocks[vcpu] = block;

    uint64_t *mine = sh->array + (uint64_t)vcpu * SLICE_WORDS;
    for (uint64_t i = 0; i < SLICE_WORDS; i++)
        mine[i] = pattern(vcpu, i);

    arom_barrier_wait(&sh->barrier, sh->n);

    unsigned peer = (vcpu + 1) % sh->n;
    const uint64_t *theirs = sh->array + (uint64_t)peer * SLICE_WORDS;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < SLICE_WORDS; i++)
        bad += theirs[i] != pattern(peer, i);
    if (bad)
        arom_add_u64(&sh->slice_errors, bad);

    /* One more round: the barrier must be reusable back to back. */
    arom_barrier_wait(&sh->barrier, sh->n);
}

int main(int argc, char **argv)
{
    static struct shared sh;
    unsigned n = arom_vcpu_count();
    int fail = 0;

    sh.iters = arom_arg_u64(argc, argv, "iters", 100000);
    sh.n = n;
    sh.array = arom_alloc((size_t)n * SLICE_WORDS * sizeof(uint64_t), AROM_PAGE_SIZE);
    if (!sh.array)
        arom_panic("smp: heap too small for %u slices", n);

    arom_run_on_all(work, &sh);

    uint64_t want_sum = sh.iters * ((uint64_t)n * (n + 1) / 2);
    uint64_t want_cas = sh.iters * n;
    if (sh.sum != want_sum) {
        arom_printf("smp: sum mismatch: got %llu want %llu\n",
                    (unsigned long long)sh.sum, (unsigned long long)want_sum);
        fail = 1;
    }
    if (sh.cas_count != want_cas) {
        arom_printf("smp: cas mismatch: got %llu want %llu\n",
                    (unsigned long long)sh.cas_count, (unsigned long long)want_cas);
        fail = 1;
    }
    if (sh.slice_errors) {
        arom_printf("smp: %llu words wrong in peer slices\n",
                    (unsigned long long)sh.slice_errors);
        fail = 1;
    }
    /* Blocks must exist, be disjoint, and still hold their owner's id. */
    for (unsigned v = 0; v < n; v++) {
        uint64_t *b = sh.blocks[v];
        if (!b) {
            arom_printf("smp: vcpu %u: arom_alloc failed\n", v);
            fail = 1;
            continue;
        }
        for (size_t i = 0; i < BLOCK_SIZE / sizeof(uint64_t); i++) {
            if (b[i] != v) {
                arom_printf("smp: vcpu %u: block %p overwritten (word %zu = %llu)\n",
                            v, (void *)b, i, (unsigned long long)b[i]);
                fail = 1;
                break;
            }
        }
    }

    if (!fail)
        arom_printf("smp: vcpus=%u ok\n", n);
    return fail;
}
