/*
 * The migration engine: demotion (DRAM -> LtRAM) and promotion (LtRAM ->
 * DRAM) of guest pages while vCPUs run. The recipe, from the verified probe
 * in shared/probes/atomic_demotion_mremap.c:
 *
 * demote a run of pages
 *   1. reserve (lock): pages MIGRATING, LtRAM frames, endurance tokens
 *   2. write-protect the guest's DRAM pages: a concurrent store now blocks
 *      in the kernel, so the copy below sees the final data
 *   3. copy DRAM -> LtRAM frames: the only write LtRAM ever receives
 *   4. map the frames at a scratch address, register and write-protect it
 *   5. mremap the scratch mapping over the guest range: one atomic swap,
 *      the guest never sees a writable LtRAM page nor a missing page
 *   6. punch the DRAM pages out of the memfd, so DRAM use really falls
 *   7. commit (lock): placement, wear; wake stores that waited (they retry,
 *      fault on the LtRAM mapping and are promoted by the fault thread)
 *
 * promote a page (a store faulted on it)
 *   copy the frame to the page's DRAM home (its own memfd offset), map that
 *   over the guest page writable (mmap MAP_FIXED is atomic to other
 *   threads), register it, free the frame, wake the waiting vCPUs.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tiering/engine.h"
#include "tiering/uffd.h"
#include "vmm/log.h"
#include "vmm/stats.h"

#define PAGE 4096ull

static bool is_break(const struct placement *pm, uint64_t a)
{
    enum tier ta = placement_tier(pm, a - 1), tb = placement_tier(pm, a);
    if (ta != tb)
        return true;
    return ta == TIER_LTRAM && placement_frame(pm, a) != placement_frame(pm, a - 1) + 1;
}

/* Boundaries between neighbouring pages around [first, first+n): each one
 * separates two host mappings. Changing those pages changes only these. */
static uint64_t breaks_around(struct tiering *t, uint64_t first, uint64_t n)
{
    uint64_t lo = first ? first : 1, hi = first + n, count = 0;
    if (hi > t->npages - 1)
        hi = t->npages - 1;
    for (uint64_t i = lo; i <= hi; i++)
        count += is_break(t->pm, i);
    return count;
}

static void runs_adjust(struct tiering *t, uint64_t before, uint64_t after)
{
    t->runs = t->runs + after - before;
}

/* Frames for a run at guest page start: next to its LtRAM neighbours when
 * those frames are free (then the new mapping merges with theirs — after a
 * promotion, that is the frame the page left), else from the allocator. */
static uint32_t alloc_frames(struct tiering *t, uint64_t start, uint32_t len, uint32_t *frame)
{
    if (start > 0 && placement_tier(t->pm, start - 1) == TIER_LTRAM) {
        uint32_t f = placement_frame(t->pm, start - 1) + 1;
        uint32_t got = frame_alloc_claim(t->fa, f, len);
        if (got) {
            *frame = f;
            return got;
        }
    }
    uint64_t end = start + len;
    if (end < t->npages && placement_tier(t->pm, end) == TIER_LTRAM && placement_frame(t->pm, end) >= len) {
        uint32_t f = placement_frame(t->pm, end) - len;
        uint32_t got = frame_alloc_claim(t->fa, f, len);
        if (got == len) {
            *frame = f;
            return got;
        }
        if (got)
            frame_alloc_free(t->fa, f, got);    /* never written: no wear */
    }
    return frame_alloc_run(t->fa, len, frame);
}

/* Step 1. Returns run length (0: nothing to do) or a negative AROM error. */
static int64_t reserve_run(struct tiering *t, uint64_t *cursor, uint64_t end,
                           uint64_t *start, uint32_t *frame)
{
    uint64_t len = placement_next_demotable_run(t->pm, *cursor, end, MAX_DEMOTE_RUN, start);
    if (!len) {
        *cursor = end;
        return 0;
    }
    if (t->runs + t->map_slack + 2 > t->map_limit) {
        t->map_limited++;
        return -AROM_EAGAIN;
    }
    uint32_t got = alloc_frames(t, *start, (uint32_t)len, frame);
    if (!got) {
        t->ltram_full++;
        return -AROM_ENOSPC;
    }
    uint64_t tokens = token_bucket_take(&t->tb, got, stats_now_ns());
    if (tokens < got) {
        frame_alloc_free(t->fa, *frame + (uint32_t)tokens, got - (uint32_t)tokens);
        t->token_limited++;
        if (!tokens)
            return -AROM_EAGAIN;
    }
    for (uint64_t i = 0; i < tokens; i++)
        placement_set_migrating(t->pm, *start + i, true);
    *cursor = *start + tokens;
    return (int64_t)tokens;
}

/* Steps 2-6, no lock held. Returns 0 or -errno; on error the guest range
 * still maps its DRAM pages (nothing was swapped). */
static int swap_in_ltram(struct tiering *t, uint64_t start, uint64_t n, uint32_t frame,
                         bool *written)
{
    uint8_t *g = guest_page(t, start);
    uint64_t bytes = n * PAGE;
    int rc = uffd_writeprotect_retry(t->uffd, g, bytes, true);
    if (rc < 0)
        return rc;

    pthread_mutex_lock(&t->lt_lock);
    rc = ltram_write_frames(t->lt, frame, (uint32_t)n, t->dram + start * PAGE);
    pthread_mutex_unlock(&t->lt_lock);
    if (rc < 0)
        return rc;
    *written = true;

    off_t off = (off_t)(ltram_file_offset(t->lt) + (uint64_t)frame * PAGE);
    void *s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, GUEST_MAP_FLAGS | MAP_POPULATE,
                   ltram_fd(t->lt), off);
    if (s == MAP_FAILED)
        return -errno;
    rc = uffd_register(t->uffd, s, bytes, t->access == ACCESS_UFFD);
    if (!rc)
        rc = uffd_writeprotect_retry(t->uffd, s, bytes, true);
    if (!rc && mremap(s, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, g) == MAP_FAILED)
        rc = -errno;
    if (rc < 0) {
        munmap(s, bytes);
        return rc;
    }
    if (fallocate(t->dram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(start * PAGE),
                  (off_t)bytes) < 0)
        log_warn("tiering: punching DRAM pages out of the memfd: %s", strerror(errno));
    return 0;
}

/* Step 7. */
static void commit_run(struct tiering *t, uint64_t start, uint64_t n, uint32_t frame)
{
    uint64_t before = breaks_around(t, start, n);
    for (uint64_t i = 0; i < n; i++) {
        placement_set_ltram(t->pm, start + i, frame + (uint32_t)i);
        placement_set_migrating(t->pm, start + i, false);
    }
    runs_adjust(t, before, breaks_around(t, start, n));
    frame_alloc_note_written(t->fa, frame, (uint32_t)n);
    uint32_t epoch = atomic_load(&t->epoch);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t last = placement_demote_epoch(t->pm, start + i);
        policy_on_demote(epoch, &last);
        placement_set_demote_epoch(t->pm, start + i, last);
    }
    t->demotions += n;
    t->demote_batches++;
    /* A page pinned while its demotion was in flight goes straight back. */
    for (uint64_t i = 0; i < n; i++)
        if (placement_pinned(t->pm, start + i))
            migrate_promote_locked(t, start + i);
}

/* Lock held; the caller has released the write protection first. */
static void abort_run(struct tiering *t, uint64_t start, uint64_t n, uint32_t frame, bool written)
{
    for (uint64_t i = 0; i < n; i++)
        placement_set_migrating(t->pm, start + i, false);
    if (written)
        frame_alloc_note_written(t->fa, frame, (uint32_t)n);
    frame_alloc_free(t->fa, frame, (uint32_t)n);
}

int64_t migrate_demote_next(struct tiering *t, uint64_t *cursor, uint64_t end)
{
    uint64_t start = 0;
    uint32_t frame = 0;
    pthread_mutex_lock(&t->lock);
    int64_t n = reserve_run(t, cursor, end, &start, &frame);
    pthread_mutex_unlock(&t->lock);
    if (n <= 0)
        return n;

    bool written = false;
    int rc = swap_in_ltram(t, start, (uint64_t)n, frame, &written);
    if (rc < 0)     /* waiting stores land in DRAM, intact */
        uffd_writeprotect_retry(t->uffd, guest_page(t, start), (uint64_t)n * PAGE, false);

    pthread_mutex_lock(&t->lock);
    if (rc < 0) {
        abort_run(t, start, (uint64_t)n, frame, written);
        pthread_mutex_unlock(&t->lock);
        log_warn("tiering: demotion of %lld pages at GPA 0x%llx abandoned, data stays on DRAM: %s",
                 (long long)n, (unsigned long long)(start * PAGE), strerror(-rc));
        return rc == -ENOMEM ? -AROM_EAGAIN : -AROM_EINVAL;
    }
    commit_run(t, start, (uint64_t)n, frame);
    pthread_mutex_unlock(&t->lock);
    /* Stores that hit the range during the migration retry now. */
    uffd_wake(t->uffd, guest_page(t, start), (uint64_t)n * PAGE);
    return n;
}

#define BLOCK_PAGES 512ull         /* 2 MiB: the unit of a block promotion */

/* The 2 MiB block around page, shrunk so it holds no page being migrated
 * (a demoter is swapping those mappings). */
static void block_around(struct tiering *t, uint64_t page, uint64_t *first, uint64_t *n)
{
    uint64_t lo = page & ~(BLOCK_PAGES - 1), hi = lo + BLOCK_PAGES;
    if (lo < t->pinned_pages)
        lo = t->pinned_pages;
    if (hi > t->npages)
        hi = t->npages;
    uint64_t a = page, b = page + 1;
    while (a > lo && !placement_migrating(t->pm, a - 1))
        a--;
    while (b < hi && !placement_migrating(t->pm, b))
        b++;
    *first = a;
    *n = b - a;
}

/* Bring pages [first, first+n) (none migrating; any mix of tiers) home to
 * DRAM with one mapping: LtRAM pages are copied to their DRAM homes first,
 * DRAM pages already hold their data there. Lock held. */
static int promote_range_locked(struct tiering *t, uint64_t first, uint64_t n)
{
    for (uint64_t p = first; p < first + n; p++)
        if (placement_tier(t->pm, p) == TIER_LTRAM)
            memcpy(t->dram + p * PAGE, ltram_frame_ptr(t->lt, placement_frame(t->pm, p)), PAGE);
    uint8_t *g = guest_page(t, first);
    uint64_t before = breaks_around(t, first, n);
    if (mmap(g, n * PAGE, PROT_READ | PROT_WRITE, GUEST_MAP_FLAGS | MAP_FIXED, t->dram_fd,
             (off_t)(first * PAGE)) == MAP_FAILED)
        return -errno;
    int rc = uffd_register(t->uffd, g, n * PAGE, t->access == ACCESS_UFFD);
    if (rc < 0)     /* the pages are on DRAM and writable; they just cannot be demoted again */
        log_warn("tiering: re-registering GPA 0x%llx: %s", (unsigned long long)(first * PAGE),
                 strerror(-rc));
    uint32_t epoch = atomic_load(&t->epoch);
    for (uint64_t p = first; p < first + n; p++) {
        if (placement_tier(t->pm, p) != TIER_LTRAM)
            continue;
        uint32_t last = placement_demote_epoch(t->pm, p);
        uint16_t backoff = placement_backoff(t->pm, p);
        t->pingpongs += policy_on_promote(&t->params, epoch, &last, &backoff);
        placement_set_demote_epoch(t->pm, p, last);
        placement_set_backoff(t->pm, p, backoff);
        placement_set_history(t->pm, p, policy_age_write(placement_history(t->pm, p), true));
        frame_alloc_free(t->fa, placement_frame(t->pm, p), 1);
        placement_set_dram(t->pm, p);
        t->promotions++;
    }
    runs_adjust(t, before, breaks_around(t, first, n));
    uffd_wake(t->uffd, g, n * PAGE);
    return 0;
}

int migrate_promote_locked(struct tiering *t, uint64_t page)
{
    uint64_t first = page, n = 1;
    /* Near the mapping ceiling a single-page promotion could split a mapping
     * in three: take the whole 2 MiB block instead, which replaces the
     * mappings inside it with one that merges with its DRAM neighbours, so
     * the count falls. The VM may go over its DRAM budget; data stays intact. */
    if (t->runs + t->map_slack + 2 > t->map_hard) {
        block_around(t, page, &first, &n);
        t->block_promotions++;
    }
    int rc = promote_range_locked(t, first, n);
    if (rc == -ENOMEM && n == 1) {
        block_around(t, page, &first, &n);
        t->block_promotions++;
        rc = promote_range_locked(t, first, n);
    }
    if (rc < 0) {
        /* Last resort, to keep the vCPU alive with its data intact: let the
         * store land in the LtRAM frame in place. This breaks the AROM
         * invariant, so it is counted, logged and caught by the audit. */
        log_error("tiering: cannot map GPA 0x%llx back to DRAM (%s); releasing it in place",
                  (unsigned long long)(page * PAGE), strerror(-rc));
        int wrc = uffd_writeprotect(t->uffd, guest_page(t, page), PAGE, false);
        if (wrc == -EAGAIN)
            return wrc;     /* a remap event is unread: the fault thread retries */
        t->violations++;
        return rc;
    }
    return 0;
}
