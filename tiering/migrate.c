/*
 * The migration engine: demotion (DRAM -> LtRAM) and promotion (LtRAM ->
 * DRAM) of guest pages while vCPUs run. The recipe (docs/TIERING.md; it
 * was first verified on this host class by a stand-alone probe):
 *
 * demote a run of pages
 *   1. reserve (lock): pages MIGRATING, LtRAM frames, endurance tokens
 *   2. write-protect the guest's DRAM pages: a concurrent store now blocks
 *      in the kernel, so the copy below sees the final data
 *   3. copy DRAM -> LtRAM frames: the only write LtRAM ever receives
 *   4. map the frames at a scratch address, register and write-protect it
 *   5. mremap the scratch mapping over the guest range: one atomic swap,
 *      the guest never sees a writable LtRAM page nor a missing page
 *   6. commit (lock): placement, wear; hand the DRAM pages to the punch
 *      queue (punch.h), which punches them out of the memfd, so DRAM use
 *      really falls, once they are no longer among the most recent
 *   7. wake stores that waited (they retry, fault on the LtRAM mapping and
 *      are promoted by the fault thread)
 *
 * promote a page (a store faulted on it)
 *   copy the frame to the page's DRAM home (its own memfd offset; no copy
 *   while the punch queue still keeps the page's DRAM copy), map that
 *   over the guest page writable (mmap MAP_FIXED is atomic to other
 *   threads), register it, free the frame, wake the waiting vCPUs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "tiering/migrate.h"
#include "tiering/uffd.h"

#define PAGE PAGE_SIZE_4K
#define BLOCK_PAGES 512ull          /* 2 MiB: the unit of a block promotion */
#define AUDIT_STEP 256u             /* frames hashed per hold of lt_lock (1 MiB, ~0.1 ms) */

/* A demotion registers each LtRAM mapping it swaps in with userfaultfd and
 * write-protects it, so the backing must support that as guest RAM does:
 * memfds and files on tmpfs/shmem do, files on disk filesystems (ext4,
 * xfs, DAX) do not. Probe once with one frame, rather than have every
 * demotion fail later. */
static int probe_ltram_wp(struct migrate_engine *e, char *err, size_t errlen)
{
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, TIERING_MAP_FLAGS, ltram_fd(e->lt),
                   (off_t)ltram_file_offset(e->lt));
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "mapping an LtRAM frame: %s", strerror(errno));
        return errno == ENOMEM ? -ENOMEM : -EINVAL;
    }
    int rc = uffd_register(e->core->uffd, p, PAGE, e->core->uffd_minor);
    if (rc == 0)
        rc = uffd_writeprotect(e->core->uffd, p, PAGE, true);
    munmap(p, PAGE);
    if (rc < 0) {
        snprintf(err, errlen, "LtRAM backend %s: userfaultfd cannot write-protect its pages (%s); "
                 "use a file on tmpfs or shmem, e.g. file:/dev/shm/NAME", e->ltram_spec, strerror(-rc));
        return -EINVAL;
    }
    return 0;
}

static int open_device(struct migrate_engine *e, const struct tiering_config *cfg, char *err, size_t errlen)
{
    int rc = ltram_open(&e->lt, cfg->ltram_spec, cfg->ltram_capacity, &cfg->profile, err, errlen);
    if (rc < 0)
        return rc;
    ltram_set_delay_scale(e->lt, cfg->delay_scale);
    if (cfg->prefault && (rc = ltram_prefault(e->lt, err, errlen)) < 0)
        return rc;
    rc = frame_alloc_init(&e->fa, ltram_frames(e->lt), ltram_wear_array(e->lt), cfg->profile.endurance);
    if (rc < 0) {
        snprintf(err, errlen, "LtRAM frame allocator: %s", strerror(-rc));
        return rc;
    }
    double rate = cfg->token_rate;
    if (rate <= 0)
        rate = token_bucket_rate_for(ltram_frames(e->lt), cfg->profile.endurance, cfg->token_lifetime_s);
    /* Unlimited endurance needs no pacing. The default burst is one write
     * of every frame (AROM's prototype used 512 for 64 Ki frames): filling
     * the device once costs each frame one cycle of its endurance, so the
     * first demotion of a cold VM is not throttled; the long-run rate is. */
    bool on = cfg->tokens && rate > 0;
    double cap = (double)cfg->token_cap;
    if (cap <= 0)
        cap = ltram_frames(e->lt) > 512 ? ltram_frames(e->lt) : 512;
    token_bucket_init(&e->tb, rate, cap, on, clock_now_ns());
    return 0;
}

int migrate_init(struct migrate_engine *e, struct tier_core *core, const struct tiering_config *cfg,
                 char *err, size_t errlen)
{
    *e = (struct migrate_engine){.core = core, .ltram_spec = cfg->ltram_spec};
    pthread_mutex_init(&e->lt_lock, NULL);
    for (uint64_t p = 0; p < core->pinned_pages && p < core->npages; p++)
        placement_set_pinned(core->pm, p, true);    /* the system area never leaves DRAM */
    int rc = open_device(e, cfg, err, errlen);
    if (rc == 0)
        rc = probe_ltram_wp(e, err, errlen);
    if (rc == 0)
        rc = maps_init(&e->maps, cfg->map_limit, err, errlen);
    /* 3% of the budget, at most 16 MiB: ping-pongs come soon after a demotion. */
    uint64_t keep = cfg->dram_budget / PAGE * 3 / 100;
    if (rc == 0 && punch_init(&e->punch, core->dram_fd, core->npages, keep < 4096 ? keep : 4096) < 0) {
        snprintf(err, errlen, "punch queue: out of memory");
        rc = -ENOMEM;
    }
    return rc;
}

void migrate_fini(struct migrate_engine *e)
{
    punch_fini(&e->punch);
    frame_alloc_destroy(e->fa);
    ltram_close(e->lt);
    e->fa = NULL;
    e->lt = NULL;
    pthread_mutex_destroy(&e->lt_lock);
}

/* Frames for a run at guest page start: next to its LtRAM neighbours when
 * those frames are free (then the new mapping merges with theirs — after a
 * promotion, that is the frame the page left), else from the allocator. */
static uint32_t alloc_frames(struct migrate_engine *e, uint64_t start, uint32_t len, uint32_t *frame)
{
    const struct placement *pm = e->core->pm;
    if (start > 0 && placement_tier(pm, start - 1) == TIER_LTRAM) {
        uint32_t f = placement_frame(pm, start - 1) + 1;
        uint32_t got = frame_alloc_claim(e->fa, f, len);
        if (got) {
            *frame = f;
            return got;
        }
    }
    uint64_t end = start + len;
    if (end < e->core->npages && placement_tier(pm, end) == TIER_LTRAM && placement_frame(pm, end) >= len) {
        uint32_t f = placement_frame(pm, end) - len;
        uint32_t got = frame_alloc_claim(e->fa, f, len);
        if (got == len) {
            *frame = f;
            return got;
        }
        if (got)
            frame_alloc_free(e->fa, f, got);    /* never written: no wear */
    }
    return frame_alloc_run(e->fa, len, frame);
}

/* Step 1. Returns run length (0: nothing to do) or a negative errno. */
static int64_t reserve_run(struct migrate_engine *e, uint64_t *cursor, uint64_t end,
                           uint64_t *start, uint32_t *frame)
{
    uint64_t from = *cursor > e->core->pinned_pages ? *cursor : e->core->pinned_pages;
    uint64_t len = placement_next_demotable_run(e->core->pm, from, end, MAX_DEMOTE_RUN, start);
    if (!len) {
        *cursor = end;
        return 0;
    }
    if (!maps_may_demote(&e->maps))
        return -EAGAIN;
    uint32_t got = alloc_frames(e, *start, (uint32_t)len, frame);
    if (!got) {
        e->ltram_full++;
        return -ENOSPC;
    }
    uint64_t tokens = token_bucket_take(&e->tb, got, clock_now_ns());
    if (tokens < got) {
        frame_alloc_free(e->fa, *frame + (uint32_t)tokens, got - (uint32_t)tokens);
        e->token_limited++;
        if (!tokens)
            return -EAGAIN;
    }
    for (uint64_t i = 0; i < tokens; i++)
        placement_set_migrating(e->core->pm, *start + i, true);
    *cursor = *start + tokens;
    return (int64_t)tokens;
}

/* Steps 2-5, no lock held. Returns 0 or -errno; on error the guest range
 * still maps its DRAM pages (nothing was swapped). */
static int swap_in_ltram(struct migrate_engine *e, uint64_t start, uint64_t n, uint32_t frame, bool *written)
{
    struct tier_core *c = e->core;
    uint8_t *g = core_guest_page(c, start);
    uint64_t bytes = n * PAGE;
    int rc = uffd_writeprotect_retry(c->uffd, g, bytes, true);
    if (rc < 0)
        return rc;

    pthread_mutex_lock(&e->lt_lock);
    rc = ltram_write_frames(e->lt, frame, (uint32_t)n, c->dram + start * PAGE);
    pthread_mutex_unlock(&e->lt_lock);
    if (rc < 0)
        return rc;
    *written = true;

    off_t off = (off_t)(ltram_file_offset(e->lt) + (uint64_t)frame * PAGE);
    void *s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, TIERING_MAP_FLAGS | MAP_POPULATE, ltram_fd(e->lt), off);
    if (s == MAP_FAILED)
        return -errno;
    rc = uffd_register(c->uffd, s, bytes, c->uffd_minor);
    if (!rc)
        rc = uffd_writeprotect_retry(c->uffd, s, bytes, true);
    if (!rc && mremap(s, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, g) == MAP_FAILED)
        rc = -errno;
    if (rc < 0)
        munmap(s, bytes);
    return rc;
}

/* Step 6 (lock held). */
static void commit_run(struct migrate_engine *e, uint64_t start, uint64_t n, uint32_t frame)
{
    struct placement *pm = e->core->pm;
    uint64_t before = maps_breaks(pm, start, n);
    for (uint64_t i = 0; i < n; i++) {
        placement_set_ltram(pm, start + i, frame + (uint32_t)i);
        placement_set_migrating(pm, start + i, false);
    }
    maps_adjust(&e->maps, before, maps_breaks(pm, start, n));
    frame_alloc_note_written(e->fa, frame, (uint32_t)n);
    punch_defer(&e->punch, start, n);
    e->demotions += n;
    e->demote_batches++;
    /* A page pinned while its demotion was in flight goes straight back. */
    for (uint64_t i = 0; i < n; i++)
        if (placement_pinned(pm, start + i))
            migrate_promote_locked(e, start + i);
}

/* Lock held; the caller has released the write protection first. */
static void abort_run(struct migrate_engine *e, uint64_t start, uint64_t n, uint32_t frame, bool written)
{
    for (uint64_t i = 0; i < n; i++)
        placement_set_migrating(e->core->pm, start + i, false);
    if (written)
        frame_alloc_note_written(e->fa, frame, (uint32_t)n);
    frame_alloc_free(e->fa, frame, (uint32_t)n);
}

/* Demote the next demotable run in [*cursor, end): pages demoted (> 0), 0
 * when none is left (*cursor = end), or -errno. */
static int64_t demote_next(struct migrate_engine *e, uint64_t *cursor, uint64_t end)
{
    struct tier_core *c = e->core;
    uint64_t start = 0;
    uint32_t frame = 0;
    pthread_mutex_lock(&c->lock);
    int64_t n = reserve_run(e, cursor, end, &start, &frame);
    pthread_mutex_unlock(&c->lock);
    if (n <= 0)
        return n;

    bool written = false;
    int rc = swap_in_ltram(e, start, (uint64_t)n, frame, &written);
    if (rc < 0)     /* waiting stores land in DRAM, intact */
        uffd_writeprotect_retry(c->uffd, core_guest_page(c, start), (uint64_t)n * PAGE, false);

    pthread_mutex_lock(&c->lock);
    if (rc < 0) {
        abort_run(e, start, (uint64_t)n, frame, written);
        pthread_mutex_unlock(&c->lock);
        log_warn("tiering: demotion of %lld pages at GPA 0x%llx abandoned, data stays on DRAM: %s",
                 (long long)n, (unsigned long long)(start * PAGE), strerror(-rc));
        return rc == -ENOMEM ? -EAGAIN : -EIO;
    }
    commit_run(e, start, (uint64_t)n, frame);
    pthread_mutex_unlock(&c->lock);
    /* Stores that hit the range during the migration retry now. */
    uffd_wake(c->uffd, core_guest_page(c, start), (uint64_t)n * PAGE);
    return n;
}

int64_t migrate_demote(struct migrate_engine *e, uint64_t first, uint64_t n)
{
    uint64_t cursor = first, end = first + n;
    int64_t total = 0;
    if (end > e->core->npages || end < first)
        return -EINVAL;
    while (cursor < end) {
        /* Near the ceiling, correct the estimate against the kernel's count. */
        pthread_mutex_lock(&e->core->lock);
        bool recount = maps_near_limit(&e->maps, 4096) && (e->demote_batches & 63) == 0;
        pthread_mutex_unlock(&e->core->lock);
        if (recount)
            maps_recount(&e->maps, &e->core->lock);
        int64_t got = demote_next(e, &cursor, end);
        if (got < 0)
            return total ? total : got;
        total += got;
    }
    return total;
}

/* The 2 MiB block around page, shrunk so it holds no page being migrated
 * (a demoter is swapping those mappings). */
static void block_around(struct migrate_engine *e, uint64_t page, uint64_t *first, uint64_t *n)
{
    const struct placement *pm = e->core->pm;
    uint64_t lo = page & ~(BLOCK_PAGES - 1), hi = lo + BLOCK_PAGES;
    if (lo < e->core->pinned_pages)
        lo = e->core->pinned_pages;
    if (hi > e->core->npages)
        hi = e->core->npages;
    uint64_t a = page, b = page + 1;
    while (a > lo && !placement_migrating(pm, a - 1))
        a--;
    while (b < hi && !placement_migrating(pm, b))
        b++;
    *first = a;
    *n = b - a;
}

/* Map the pages of [first, first+n) that came from LtRAM into the fresh
 * guest mapping before it is registered: otherwise the first touch of
 * each (the very store that faulted, for one) would arrive as a second,
 * minor, userfaultfd fault. The DRAM pages of the range that were never
 * touched stay holes: populating them would allocate DRAM. */
static void populate_promoted(struct migrate_engine *e, uint64_t first, uint64_t n)
{
    const struct placement *pm = e->core->pm;
    for (uint64_t p = first; p < first + n;) {
        if (placement_tier(pm, p) != TIER_LTRAM) {
            p++;
            continue;
        }
        uint64_t q = p;
        while (q < first + n && placement_tier(pm, q) == TIER_LTRAM)
            q++;
        if (madvise(core_guest_page(e->core, p), (q - p) * PAGE, MADV_POPULATE_WRITE) < 0)
            e->populate_failures++;     /* harmless: the guest's touch will fault it in */
        p = q;
    }
}

/* Bring pages [first, first+n) (none migrating; any mix of tiers) home to
 * DRAM with one mapping: LtRAM pages are copied to their DRAM homes first,
 * DRAM pages already hold their data there. Lock held. */
static int promote_range_locked(struct migrate_engine *e, uint64_t first, uint64_t n)
{
    struct tier_core *c = e->core;
    struct placement *pm = c->pm;
    for (uint64_t p = first; p < first + n; p++)
        if (placement_tier(pm, p) == TIER_LTRAM && !punch_take(&e->punch, p))
            memcpy(c->dram + p * PAGE, ltram_frame_ptr(e->lt, placement_frame(pm, p)), PAGE);
    uint8_t *g = core_guest_page(c, first);
    uint64_t before = maps_breaks(pm, first, n);
    if (mmap(g, n * PAGE, PROT_READ | PROT_WRITE, TIERING_MAP_FLAGS | MAP_FIXED, c->dram_fd,
             (off_t)(first * PAGE)) == MAP_FAILED)
        return -errno;
    populate_promoted(e, first, n);
    int rc = uffd_register(c->uffd, g, n * PAGE, c->uffd_minor);
    if (rc < 0)     /* the pages are on DRAM and writable; they just cannot be demoted again */
        log_warn("tiering: re-registering GPA 0x%llx: %s", (unsigned long long)(first * PAGE), strerror(-rc));
    for (uint64_t p = first; p < first + n; p++) {
        if (placement_tier(pm, p) != TIER_LTRAM)
            continue;
        frame_alloc_free(e->fa, placement_frame(pm, p), 1);
        placement_set_dram(pm, p);
        e->promotions++;
    }
    maps_adjust(&e->maps, before, maps_breaks(pm, first, n));
    uffd_wake(c->uffd, g, n * PAGE);
    return 0;
}

int migrate_promote_locked(struct migrate_engine *e, uint64_t page)
{
    uint64_t first = page, n = 1;
    /* Near the mapping ceiling a single-page promotion could split a mapping
     * in three: take the whole 2 MiB block instead, which replaces the
     * mappings inside it with one that merges with its DRAM neighbours, so
     * the count falls. The VM may go over its DRAM budget; data stays intact. */
    if (maps_block_promotion(&e->maps))
        block_around(e, page, &first, &n);
    int rc = promote_range_locked(e, first, n);
    if (rc == -ENOMEM && n == 1) {
        block_around(e, page, &first, &n);
        maps_note_block_promotion(&e->maps);
        rc = promote_range_locked(e, first, n);
    }
    if (rc < 0) {
        /* Last resort, to keep the vCPU alive with its data intact: let the
         * store land in the LtRAM frame in place. This breaks the AROM
         * invariant, so it is counted, logged and caught by the audit. */
        log_error("tiering: cannot map GPA 0x%llx back to DRAM (%s); releasing it in place",
                  (unsigned long long)(page * PAGE), strerror(-rc));
        int wrc = uffd_writeprotect(e->core->uffd, core_guest_page(e->core, page), PAGE, false);
        if (wrc == -EAGAIN)
            return wrc;     /* a remap event is unread: the fault thread retries */
        punch_forget(&e->punch, page);      /* the frame now differs from any DRAM copy */
        e->violations++;
        return rc;
    }
    return 0;
}

int64_t migrate_pin(struct migrate_engine *e, uint64_t first, uint64_t n, bool pin)
{
    struct tier_core *c = e->core;
    int64_t done = 0;
    pthread_mutex_lock(&c->lock);
    for (uint64_t p = first; p < first + n && p < c->npages; p++) {
        if (p < c->pinned_pages)
            continue;           /* the system area stays pinned */
        placement_set_pinned(c->pm, p, pin);
        if (pin && placement_tier(c->pm, p) == TIER_LTRAM && !placement_migrating(c->pm, p))
            migrate_promote_locked(e, p);
        done++;
    }
    pthread_mutex_unlock(&c->lock);
    return done;
}

/* Protecting a page is always safe (a store then faults and is served), so
 * a page that changes tier between the check and the ioctl does no harm. */
int64_t migrate_wp_probe(struct migrate_engine *e, uint64_t first, uint64_t n)
{
    struct tier_core *c = e->core;
    int64_t done = 0;
    for (uint64_t p = first; p < first + n && p < c->npages; p++) {
        pthread_mutex_lock(&c->lock);
        bool dram = core_demotable(c, p, NULL);
        pthread_mutex_unlock(&c->lock);
        if (dram && uffd_writeprotect_retry(c->uffd, core_guest_page(c, p), PAGE, true) == 0)
            done++;
    }
    return done;
}

uint64_t migrate_release_kept(struct migrate_engine *e, uint64_t n)
{
    pthread_mutex_lock(&e->core->lock);
    uint64_t got = punch_release(&e->punch, n);
    pthread_mutex_unlock(&e->core->lock);
    return got;
}

/* In short steps under the device lock alone: faults (which take only the
 * core lock) never wait for it, and a demoter's LtRAM write waits at most
 * one step. */
uint64_t migrate_audit(struct migrate_engine *e)
{
    uint32_t frames = ltram_frames(e->lt), first_bad = UINT32_MAX;
    uint64_t bad = 0;
    for (uint32_t f = 0; f < frames; f += AUDIT_STEP) {
        uint32_t fb;
        pthread_mutex_lock(&e->lt_lock);
        uint64_t b = ltram_audit(e->lt, f, AUDIT_STEP, &fb);
        pthread_mutex_unlock(&e->lt_lock);
        if (b && !bad)
            first_bad = fb;
        bad += b;
    }
    if (bad)
        log_error("tiering: AUDIT FAILED: %llu LtRAM frames changed outside migration (first: frame %u)",
                  (unsigned long long)bad, first_bad);
    return bad;
}

#define WEAR_SCAN_STEP 16384        /* frames per lt_lock hold: ~10 us */

/* Lock held (the frame counts). The wear scan goes in steps, so a large
 * device never holds migrations up for long. */
static json_object *ltram_json(struct migrate_engine *e)
{
    struct ltram_stats ls = {.wear_min = UINT64_MAX};
    uint32_t frames = ltram_frames(e->lt);
    for (uint32_t f = 0; f < frames; f += WEAR_SCAN_STEP) {
        pthread_mutex_lock(&e->lt_lock);
        ltram_wear_scan(e->lt, f, WEAR_SCAN_STEP, &ls);
        pthread_mutex_unlock(&e->lt_lock);
    }
    pthread_mutex_lock(&e->lt_lock);
    ltram_get_counters(e->lt, &ls);
    pthread_mutex_unlock(&e->lt_lock);
    ltram_wear_finish(e->lt, &ls);
    const struct ltram_profile *p = ltram_get_profile(e->lt);
    json_object *o = json_object_new_object();
    json_add_str(o, "backend", e->ltram_spec);
    json_add_str(o, "profile", p->name);
    JSON_U64S(o, {"read_ns", p->read_ns}, {"write_ns_per_unit", p->write_ns}, {"write_unit", p->write_unit},
              {"endurance", p->endurance}, {"frames", ls.frames}, {"capacity_bytes", ls.frames * PAGE},
              {"frames_used", frame_alloc_used_count(e->fa)}, {"frames_free", frame_alloc_free_count(e->fa)},
              {"frames_retired", ls.retired}, {"frames_touched", ls.frames_written_ever},
              {"frame_writes", ls.writes}, {"bytes_written", ls.host_bytes},
              {"media_bytes_written", ls.media_bytes});
    json_add_double(o, "write_amplification", ls.host_bytes ? (double)ls.media_bytes / (double)ls.host_bytes : 0);
    json_add_double(o, "modeled_write_s", (double)ls.modeled_ns_total / 1e9);
    json_add_double(o, "injected_delay_s", (double)ls.delay_ns_total / 1e9);
    json_object *w = json_object_new_object();
    json_add_u64(w, "min", ls.wear_min);
    json_add_double(w, "mean", ls.wear_mean);
    json_add_u64(w, "max", ls.wear_max);
    json_add_double(w, "max_over_mean", ls.wear_mean > 0 ? (double)ls.wear_max / ls.wear_mean : 0);
    json_object_object_add(o, "wear", w);
    return o;
}

/* Lock held. */
static json_object *tokens_json(struct migrate_engine *e)
{
    json_object *o = json_object_new_object();
    json_add_bool(o, "enabled", e->tb.enabled);
    json_add_double(o, "rate_per_s", e->tb.rate_per_s);
    json_add_double(o, "cap", e->tb.cap);
    json_add_double(o, "level", token_bucket_level(&e->tb, clock_now_ns()));
    json_add_u64(o, "granted", e->tb.granted);
    json_add_u64(o, "throttled_batches", e->token_limited);
    json_add_u64(o, "denied_tokens", e->tb.denied_tokens);
    return o;
}

void migrate_json(struct migrate_engine *e, json_object *o, bool live)
{
    uint64_t maps = live ? 0 : maps_process_count();    /* takes mmap_lock: before the core lock */
    pthread_mutex_lock(&e->core->lock);
    json_object_object_add(o, "ltram", ltram_json(e));
    json_object_object_add(o, "tokens", tokens_json(e));
    json_object_object_add(o, "mappings", maps_json(&e->maps, live ? NULL : &maps));
    JSON_U64S(o, {"promotions", e->promotions}, {"demotions", e->demotions},
              {"demotion_batches", e->demote_batches}, {"ltram_full_events", e->ltram_full},
              {"invariant_violations", e->violations}, {"populate_failures", e->populate_failures});
    json_object *k = json_object_new_object();
    JSON_U64S(k, {"kept_pages", e->punch.pages}, {"max_pages", e->punch.max_pages},
              {"promotions_without_copy", e->punch.hits}, {"punched_pages", e->punch.punched},
              {"punch_errors", e->punch.punch_errors});
    json_object_object_add(o, "dram_keep", k);
    pthread_mutex_unlock(&e->core->lock);
}
