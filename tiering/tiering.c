/* Tiering lifecycle, guest hints, audit and stats. The fault path is in
 * fault.c, the migration engine in migrate.c. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tiering/engine.h"
#include "tiering/uffd.h"
#include "vmm/log.h"
#include "vmm/stats.h"

#define PAGE 4096ull
#define CHURN_PAGES 1024            /* pages the churn thread demotes per tick */

static uint64_t read_u64_file(const char *path, uint64_t def)
{
    FILE *f = fopen(path, "r");
    unsigned long long v;
    if (!f)
        return def;
    if (fscanf(f, "%llu", &v) != 1)
        v = def;
    fclose(f);
    return v;
}

/* Mappings of this process right now (lines of /proc/self/maps). */
static uint64_t process_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    uint64_t n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Headroom under vm.max_map_count that block promotions need to split
 * mapping edges before the count can fall (see migrate.c). */
#define MAP_EDGE_HEADROOM 1024

/* Limits on the process's mappings (estimated as runs + map_slack, see
 * migrate.c): demotion stops at map_limit; past map_hard promotions take
 * whole 2 MiB blocks so the count falls; the gap above map_hard is for the
 * edge splits those need. --map-limit N caps the guest's own mappings; a
 * cap that leaves no such gap under vm.max_map_count is refused (-EINVAL):
 * promotions could then fail to map DRAM back and have to release pages in
 * place, which breaks the AROM invariant. */
static int set_map_limits(struct tiering *t, char *err, size_t errlen)
{
    t->max_map_count = read_u64_file("/proc/sys/vm/max_map_count", 65530);
    t->base_maps = process_maps();
    t->map_slack = (int64_t)t->base_maps - (int64_t)t->runs;
    uint64_t max = t->max_map_count;
    if (t->cfg.map_limit) {
        t->map_limit = t->base_maps + t->cfg.map_limit;
        t->map_hard = t->map_limit + t->cfg.map_limit / 4 + 8;
        if (t->map_hard + MAP_EDGE_HEADROOM > max) {
            uint64_t most = max > t->base_maps + 8 + MAP_EDGE_HEADROOM
                                ? (max - t->base_maps - 8 - MAP_EDGE_HEADROOM) * 4 / 5 : 0;
            snprintf(err, errlen, "--map-limit %llu leaves no headroom under vm.max_map_count=%llu "
                     "(this process already has %llu mappings; at most %llu)",
                     (unsigned long long)t->cfg.map_limit, (unsigned long long)max,
                     (unsigned long long)t->base_maps, (unsigned long long)most);
            return -EINVAL;
        }
    } else {
        uint64_t reserve = max / 8 > 2048 ? max / 8 : 2048;
        t->map_hard = max > MAP_EDGE_HEADROOM + t->base_maps ? max - MAP_EDGE_HEADROOM : t->base_maps + 64;
        t->map_limit = max > reserve + t->base_maps ? max - reserve : t->base_maps + 32;
    }
    if (t->map_hard > max)
        t->map_hard = max;
    return 0;
}

void tiering_recount_maps(struct tiering *t)
{
    uint64_t n = process_maps();    /* takes mmap_lock: never under t->lock */
    pthread_mutex_lock(&t->lock);
    t->map_slack = (int64_t)n - (int64_t)t->runs;
    t->map_recounts++;
    pthread_mutex_unlock(&t->lock);
}

static int open_device(struct tiering *t, char *err, size_t errlen)
{
    int rc = ltram_open(&t->lt, t->cfg.ltram_spec, t->cfg.ltram_capacity, &t->cfg.profile, err, errlen);
    if (rc < 0)
        return rc;
    ltram_set_delay_scale(t->lt, t->cfg.delay_scale);
    if (t->cfg.prefault && (rc = ltram_prefault(t->lt, err, errlen)) < 0)
        return rc;
    rc = frame_alloc_init(&t->fa, ltram_frames(t->lt), ltram_wear_array(t->lt), t->cfg.profile.endurance);
    if (rc < 0) {
        snprintf(err, errlen, "LtRAM frame allocator: %s", strerror(-rc));
        return rc;
    }
    double rate = t->cfg.token_rate;
    if (rate <= 0)
        rate = token_bucket_rate_for(ltram_frames(t->lt), t->cfg.profile.endurance, t->cfg.token_lifetime_s);
    /* Unlimited endurance needs no pacing. The default burst is one write
     * of every frame (AROM's prototype used 512 for 64 Ki frames): filling
     * the device once costs each frame one cycle of its endurance, so the
     * first demotion of a cold VM is not throttled; the long-run rate is. */
    bool on = t->cfg.tokens && rate > 0;
    double cap = t->cfg.token_cap;
    if (cap <= 0)
        cap = ltram_frames(t->lt) > 512 ? ltram_frames(t->lt) : 512;
    token_bucket_init(&t->tb, rate, cap, on, stats_now_ns());
    return 0;
}

/* A demotion registers each LtRAM mapping it swaps in with userfaultfd and
 * write-protects it, so the backing must support that as guest RAM does:
 * memfds and files on tmpfs/shmem do, files on disk filesystems (ext4,
 * xfs, DAX) do not. Probe once with one frame, rather than have every
 * demotion fail later. */
static int probe_ltram_wp(struct tiering *t, char *err, size_t errlen)
{
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, GUEST_MAP_FLAGS, ltram_fd(t->lt),
                   (off_t)ltram_file_offset(t->lt));
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "mapping an LtRAM frame: %s", strerror(errno));
        return errno == ENOMEM ? -ENOMEM : -EINVAL;
    }
    int rc = uffd_register(t->uffd, p, PAGE, t->access == ACCESS_UFFD);
    if (rc == 0)
        rc = uffd_writeprotect(t->uffd, p, PAGE, true);
    munmap(p, PAGE);
    if (rc < 0) {
        snprintf(err, errlen, "LtRAM backend %s: userfaultfd cannot write-protect its pages (%s); "
                 "use a file on tmpfs or shmem, e.g. file:/dev/shm/NAME", t->cfg.ltram_spec, strerror(-rc));
        return -EINVAL;
    }
    return 0;
}

int tiering_create(struct tiering **out, struct guest_mem *gm, const struct tiering_config *cfg,
                   char *err, size_t errlen)
{
    struct tiering *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    t->cfg = *cfg;
    t->gm = gm;
    t->guest = gm->host;
    t->dram_fd = gm->fd;
    t->npages = gm->size / PAGE;
    t->pinned_pages = cfg->pinned_below / PAGE;
    t->uffd = t->stop_efd = -1;
    t->runs = 1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->lt_lock, NULL);
    *out = t;

    t->dram = mmap(NULL, gm->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, gm->fd, 0);
    if (t->dram == MAP_FAILED) {
        t->dram = NULL;
        snprintf(err, errlen, "mapping a DRAM view of guest RAM: %s", strerror(errno));
        return -ENOMEM;
    }
    int rc = open_device(t, err, errlen);
    if (rc < 0)
        return rc;
    rc = placement_init(&t->pm, t->npages);
    if (rc < 0) {
        snprintf(err, errlen, "placement map for %llu pages: %s", (unsigned long long)t->npages, strerror(-rc));
        return rc;
    }
    for (uint64_t p = 0; p < t->pinned_pages && p < t->npages; p++)
        placement_set_pinned(t->pm, p, true);
    if (access_backend_parse(cfg->access, &t->access) < 0) {
        snprintf(err, errlen, "unknown access tracking '%s' (auto, page_idle, uffd, off)", cfg->access);
        return -EINVAL;
    }
    if (!cfg->daemon)
        t->access = ACCESS_OFF;
    rc = uffd_open(&t->uffd, t->access == ACCESS_UFFD, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = probe_ltram_wp(t, err, errlen)) < 0)
        return rc;
    rc = uffd_register(t->uffd, t->guest, gm->size, t->access == ACCESS_UFFD);
    if (rc < 0) {
        snprintf(err, errlen, "userfaultfd write-protect registration of guest RAM: %s", strerror(-rc));
        return rc;
    }
    t->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->stop_efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        return -errno;
    }
    if ((rc = set_map_limits(t, err, errlen)) < 0)
        return rc;
    if (t->npages - t->pinned_pages > 2 * (t->map_limit - t->base_maps))
        log_info("tiering: vm.max_map_count=%llu allows ~%llu guest mappings for %llu pages; guests whose "
                 "writes scatter may stop demoting there (raise it with sysctl vm.max_map_count)",
                 (unsigned long long)t->max_map_count, (unsigned long long)(t->map_limit - t->base_maps),
                 (unsigned long long)t->npages);
    return daemon_init(t, err, errlen);
}

/* Sleep up to ms; false when asked to stop. */
static bool worker_sleep(struct tiering *t, unsigned ms)
{
    struct pollfd p = {.fd = t->stop_efd, .events = POLLIN};
    poll(&p, 1, (int)ms);
    return !atomic_load(&t->stopping);
}

/* Background host work for tests: demotion churn and periodic audits. */
static void *worker_main(void *arg)
{
    struct tiering *t = arg;
    unsigned tick = t->cfg.churn_ms ? t->cfg.churn_ms : t->cfg.audit_ms;
    uint64_t next_audit = stats_now_ns() + t->cfg.audit_ms * 1000000ull;
    while (worker_sleep(t, tick)) {
        if (t->cfg.churn_ms) {
            if (t->churn_cursor >= t->npages)
                t->churn_cursor = t->pinned_pages;
            uint64_t end = t->churn_cursor + CHURN_PAGES;
            tiering_demote(t, t->churn_cursor, end > t->npages ? t->npages - t->churn_cursor : CHURN_PAGES);
            t->churn_cursor = end;
        }
        if (t->cfg.audit_ms && stats_now_ns() >= next_audit) {
            tiering_audit(t);
            next_audit = stats_now_ns() + t->cfg.audit_ms * 1000000ull;
        }
    }
    return NULL;
}

int tiering_start(struct tiering *t)
{
    int rc = pthread_create(&t->fault_thread, NULL, fault_thread_main, t);
    if (rc) {
        log_error("tiering: starting the fault thread: %s", strerror(rc));
        return -rc;
    }
    t->fault_started = true;
    if (t->cfg.churn_ms || t->cfg.audit_ms) {
        rc = pthread_create(&t->worker_thread, NULL, worker_main, t);
        if (rc) {
            log_error("tiering: starting the worker thread: %s", strerror(rc));
            return -rc;
        }
        t->worker_started = true;
    }
    if (t->cfg.daemon) {
        rc = pthread_create(&t->daemon_thread, NULL, daemon_thread_main, t);
        if (rc) {
            log_error("tiering: starting the daemon: %s", strerror(rc));
            return -rc;
        }
        t->daemon_started = true;
    }
    return 0;
}

void tiering_stop(struct tiering *t)
{
    if (!t)
        return;
    atomic_store(&t->stopping, true);
    uint64_t one = 1;
    if (t->stop_efd >= 0 && write(t->stop_efd, &one, sizeof one) < 0)
        log_warn("tiering: waking background threads: %s", strerror(errno));
    /* Demoters may need the fault thread: join them first. */
    if (t->worker_started)
        pthread_join(t->worker_thread, NULL);
    if (t->daemon_started)
        pthread_join(t->daemon_thread, NULL);
    /* Only now: until here a demoter's mremap may still wait for the fault
     * thread to read its remap event. */
    atomic_store(&t->fault_stopping, true);
    if (t->stop_efd >= 0 && write(t->stop_efd, &one, sizeof one) < 0)
        log_warn("tiering: waking the fault thread: %s", strerror(errno));
    if (t->fault_started)
        pthread_join(t->fault_thread, NULL);
    t->worker_started = t->daemon_started = t->fault_started = false;
}

void tiering_destroy(struct tiering *t)
{
    if (!t)
        return;
    tiering_stop(t);
    daemon_fini(t);
    fault_queue_free(&t->deferred);
    if (t->uffd >= 0)
        close(t->uffd);
    if (t->stop_efd >= 0)
        close(t->stop_efd);
    placement_destroy(t->pm);
    frame_alloc_destroy(t->fa);
    ltram_close(t->lt);
    if (t->dram)
        munmap(t->dram, t->npages * PAGE);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->lt_lock);
    free(t);
}

int64_t tiering_demote(struct tiering *t, uint64_t first_page, uint64_t npages)
{
    uint64_t cursor = first_page, end = first_page + npages;
    int64_t total = 0;
    if (end > t->npages || end < first_page)
        return -AROM_EINVAL;
    while (cursor < end) {
        /* Near the ceiling, correct the estimate against the kernel's count. */
        if (t->runs + t->map_slack + 4096 > t->map_limit && (t->demote_batches & 63) == 0)
            tiering_recount_maps(t);
        int64_t n = migrate_demote_next(t, &cursor, end);
        if (n < 0)
            return total ? total : n;
        total += n;
    }
    return total;
}

static int64_t set_pinned(struct tiering *t, uint64_t first, uint64_t n, bool pin)
{
    int64_t done = 0;
    pthread_mutex_lock(&t->lock);
    for (uint64_t p = first; p < first + n; p++) {
        if (p < t->pinned_pages)
            continue;           /* the system area stays pinned */
        placement_set_pinned(t->pm, p, pin);
        if (pin && placement_tier(t->pm, p) == TIER_LTRAM && !placement_migrating(t->pm, p))
            migrate_promote_locked(t, p);
        done++;
    }
    pthread_mutex_unlock(&t->lock);
    return done;
}

/* Benchmarks: write-protect DRAM pages in place (see AROM_HINT_WP_PROBE). */
/* Protecting a page is always safe (a store then faults and is served), so
 * a page that changes tier between the check and the ioctl does no harm. */
static int64_t wp_probe(struct tiering *t, uint64_t first, uint64_t n)
{
    int64_t done = 0;
    for (uint64_t p = first; p < first + n; p++) {
        pthread_mutex_lock(&t->lock);
        bool dram = p >= t->pinned_pages && placement_tier(t->pm, p) == TIER_DRAM &&
                    !placement_migrating(t->pm, p);
        pthread_mutex_unlock(&t->lock);
        if (dram && uffd_writeprotect_retry(t->uffd, guest_page(t, p), PAGE, true) == 0)
            done++;
    }
    return done;
}

int64_t tiering_hint(struct tiering *t, uint64_t gpa, uint64_t len, uint32_t kind)
{
    uint64_t first = gpa / PAGE, n = len / PAGE;
    if (gpa % PAGE || len % PAGE || first >= t->npages || n > t->npages - first)
        return -AROM_EINVAL;
    switch (kind) {
    case AROM_HINT_READ_MOSTLY:
    case AROM_HINT_DEMOTE:
        return tiering_demote(t, first, n);
    case AROM_HINT_PIN_DRAM:
        return set_pinned(t, first, n, true);
    case AROM_HINT_UNPIN:
        return set_pinned(t, first, n, false);
    case AROM_HINT_WP_PROBE:
        return wp_probe(t, first, n);
    default:
        return -AROM_EINVAL;
    }
}

#define AUDIT_STEP 256u     /* frames hashed per hold of lt_lock (1 MiB, ~0.1 ms) */

/* Hash every written frame against its checksum, in short steps under the
 * device lock alone: faults (which take only t->lock) never wait for it,
 * and a demoter's LtRAM write waits at most one step. */
uint64_t tiering_audit(struct tiering *t)
{
    uint32_t frames = ltram_frames(t->lt), first_bad = UINT32_MAX;
    uint64_t bad = 0;
    for (uint32_t f = 0; f < frames; f += AUDIT_STEP) {
        uint32_t fb = UINT32_MAX;
        pthread_mutex_lock(&t->lt_lock);
        uint64_t b = ltram_audit(t->lt, f, AUDIT_STEP, &fb);
        pthread_mutex_unlock(&t->lt_lock);
        if (b && !bad)
            first_bad = fb;
        bad += b;
    }
    pthread_mutex_lock(&t->lock);
    t->audits++;
    t->audit_failures += bad;
    pthread_mutex_unlock(&t->lock);
    if (bad)
        log_error("tiering: AUDIT FAILED: %llu LtRAM frames changed outside migration (first: frame %u)",
                  (unsigned long long)bad, first_bad);
    return bad;
}

void tiering_counters(struct tiering *t, struct arom_hc_tier_stats *out)
{
    pthread_mutex_lock(&t->lock);
    out->ltram_pages = placement_count(t->pm, TIER_LTRAM);
    out->dram_pages = t->npages - out->ltram_pages;
    out->promotions = t->promotions;
    out->demotions = t->demotions;
    out->dram_budget_pages = t->params.budget_pages;
    out->epochs = t->epochs;
    pthread_mutex_unlock(&t->lock);
    struct stat st;
    out->dram_resident_pages = fstat(t->dram_fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 / PAGE : 0;
}

void tiering_set_budget(struct tiering *t, uint64_t bytes)
{
    pthread_mutex_lock(&t->lock);
    unsigned window = t->params.min_clean_epochs;
    policy_params_init(&t->params, bytes / PAGE);
    t->params.min_clean_epochs = window;
    t->cfg.dram_budget = bytes;
    pthread_mutex_unlock(&t->lock);
}


void tiering_query(struct tiering *t, uint64_t first, uint64_t n, uint64_t *ltram, uint64_t *dram)
{
    uint64_t lt = 0;
    pthread_mutex_lock(&t->lock);
    for (uint64_t p = first; p < first + n && p < t->npages; p++)
        lt += placement_tier(t->pm, p) == TIER_LTRAM;
    pthread_mutex_unlock(&t->lock);
    *ltram = lt;
    *dram = n - lt;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_double(json_object *o, const char *k, double v)
{
    json_object_object_add(o, k, stats_json_double(v));
}

/* Caller holds t->lock. */
static json_object *daemon_json(struct tiering *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "enabled", json_object_new_boolean(t->cfg.daemon));
    json_object_object_add(o, "access_tracking", json_object_new_string(access_backend_name(t->access)));
    json_object_object_add(o, "dirty_tracking", json_object_new_string(t->cfg.daemon ? "kvm_dirty_log" : "off"));
    add_u64(o, "epoch_ms", t->cfg.epoch_ms);
    add_u64(o, "epochs", t->epochs);
    add_double(o, "scan_us_last", t->scan_ns_last / 1e3);
    add_double(o, "scan_us_mean", t->epochs ? t->scan_ns_total / 1e3 / t->epochs : 0);
    add_double(o, "scan_us_max", t->scan_ns_max / 1e3);
    add_u64(o, "demoted_last_epoch", t->epoch_demoted_last);
    add_u64(o, "promoted_last_epoch", t->epoch_promoted_last);
    add_u64(o, "pingpongs", t->pingpongs);
    add_u64(o, "clean_window_epochs", t->params.min_clean_epochs);
    add_double(o, "pingpong_rate", t->promotions ? (double)t->pingpongs / (double)t->promotions : 0);
    add_u64(o, "budget_pages", t->params.budget_pages);
    add_u64(o, "low_watermark_pages", t->params.low_pages);
    add_u64(o, "dram_used_pages", t->dram_used_pages);
    add_u64(o, "dram_max_pages", t->dram_max_pages);
    add_u64(o, "over_budget_epochs", t->over_budget_epochs);
    add_double(o, "over_budget_s", t->over_budget_epochs * t->cfg.epoch_ms / 1e3);
    add_u64(o, "samples", t->samples_taken);
    add_u64(o, "samples_touched", t->samples_touched);
    add_u64(o, "access_faults", t->minor_faults);
    return o;
}

/* Caller holds t->lock (the frame counts). */
static json_object *ltram_json(struct tiering *t)
{
    struct ltram_stats ls;
    pthread_mutex_lock(&t->lt_lock);
    ltram_get_stats(t->lt, &ls);
    pthread_mutex_unlock(&t->lt_lock);
    const struct ltram_profile *p = ltram_get_profile(t->lt);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "backend", json_object_new_string(t->cfg.ltram_spec));
    json_object_object_add(o, "profile", json_object_new_string(p->name));
    add_u64(o, "read_ns", p->read_ns);
    add_u64(o, "write_ns_per_unit", p->write_ns);
    add_u64(o, "write_unit", p->write_unit);
    add_u64(o, "endurance", p->endurance);
    add_u64(o, "frames", ls.frames);
    add_u64(o, "capacity_bytes", ls.frames * PAGE);
    add_u64(o, "frames_used", frame_alloc_used_count(t->fa));
    add_u64(o, "frames_free", frame_alloc_free_count(t->fa));
    add_u64(o, "frames_retired", ls.retired);
    add_u64(o, "frames_touched", ls.frames_written_ever);
    add_u64(o, "frame_writes", ls.writes);
    add_u64(o, "bytes_written", ls.host_bytes);
    add_u64(o, "media_bytes_written", ls.media_bytes);
    add_double(o, "write_amplification", ls.host_bytes ? (double)ls.media_bytes / (double)ls.host_bytes : 0);
    add_double(o, "modeled_write_s", (double)ls.modeled_ns_total / 1e9);
    add_double(o, "injected_delay_s", (double)ls.delay_ns_total / 1e9);
    json_object *w = json_object_new_object();
    add_u64(w, "min", ls.wear_min);
    add_double(w, "mean", ls.wear_mean);
    add_u64(w, "max", ls.wear_max);
    add_double(w, "max_over_mean", ls.wear_mean > 0 ? (double)ls.wear_max / ls.wear_mean : 0);
    json_object_object_add(o, "wear", w);
    return o;
}

json_object *tiering_stats_json(struct tiering *t)
{
    struct stat st;
    uint64_t resident = fstat(t->dram_fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
    uint64_t maps = process_maps();     /* takes mmap_lock: never under t->lock */
    json_object *o = json_object_new_object();
    pthread_mutex_lock(&t->lock);
    json_object_object_add(o, "ltram", ltram_json(t));
    uint64_t lt_pages = placement_count(t->pm, TIER_LTRAM);
    json_object *pages = json_object_new_object();
    add_u64(pages, "total", t->npages);
    add_u64(pages, "dram", t->npages - lt_pages);
    add_u64(pages, "ltram", lt_pages);
    add_u64(pages, "pinned_system", t->pinned_pages);
    json_object_object_add(o, "pages", pages);
    add_u64(o, "dram_resident_bytes", resident);
    add_u64(o, "dram_budget_bytes", t->cfg.dram_budget);
    add_u64(o, "promotions", t->promotions);
    add_u64(o, "demotions", t->demotions);
    add_u64(o, "demotion_batches", t->demote_batches);
    json_object *f = json_object_new_object();
    add_u64(f, "write_faults", t->wp_faults);
    add_u64(f, "during_demotion", t->inflight_faults);
    add_u64(f, "probe_or_repeat", t->probe_faults);
    add_u64(f, "stray", t->stray_faults);
    add_u64(f, "deferred", atomic_load(&t->deferred.added));
    add_u64(f, "deferred_duplicates", atomic_load(&t->deferred.duplicates));
    add_u64(f, "deferred_max_depth", atomic_load(&t->deferred.max_depth));
    add_u64(f, "remap_events", atomic_load(&t->remap_events));
    json_object_object_add(o, "faults", f);
    json_object *lat = json_object_new_object();
    add_u64(lat, "count", t->promote_lat.count);
    add_double(lat, "p50_us", latency_quantile(&t->promote_lat, 0.50) / 1e3);
    add_double(lat, "p99_us", latency_quantile(&t->promote_lat, 0.99) / 1e3);
    add_double(lat, "max_us", t->promote_lat.max_ns / 1e3);
    add_double(lat, "mean_us", t->promote_lat.count ? t->promote_lat.sum_ns / 1e3 / t->promote_lat.count : 0);
    json_object_object_add(o, "promotion_latency", lat);
    json_object *tok = json_object_new_object();
    json_object_object_add(tok, "enabled", json_object_new_boolean(t->tb.enabled));
    add_double(tok, "rate_per_s", t->tb.rate_per_s);
    add_double(tok, "cap", t->tb.cap);
    add_double(tok, "level", token_bucket_level(&t->tb, stats_now_ns()));
    add_u64(tok, "granted", t->tb.granted);
    add_u64(tok, "throttled_batches", t->token_limited);
    add_u64(tok, "denied_tokens", t->tb.denied_tokens);
    json_object_object_add(o, "tokens", tok);
    json_object *m = json_object_new_object();
    add_u64(m, "guest_runs", t->runs);
    add_u64(m, "estimated", t->runs + t->map_slack);
    add_u64(m, "process_maps", maps);
    add_u64(m, "max_map_count", t->max_map_count);
    add_u64(m, "demotion_limit", t->map_limit);
    add_u64(m, "block_promotion_limit", t->map_hard);
    add_u64(m, "demotions_stopped", t->map_limited);
    add_u64(m, "block_promotions", t->block_promotions);
    add_u64(m, "recounts", t->map_recounts);
    json_object_object_add(m, "estimate_slack", json_object_new_int64(t->map_slack));
    json_object_object_add(o, "mappings", m);
    json_object_object_add(o, "daemon", daemon_json(t));
    add_u64(o, "ltram_full_events", t->ltram_full);
    add_u64(o, "audits", t->audits);
    add_u64(o, "audit_failures", t->audit_failures);
    add_u64(o, "invariant_violations", t->violations);
    pthread_mutex_unlock(&t->lock);
    return o;
}
