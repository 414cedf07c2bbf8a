/* Tiering lifecycle and the public API: it builds the parts (the shared
 * core, the migration engine, the monitor, the fault path, the daemon),
 * starts and stops their threads in the order the fault path needs, and
 * answers the API from them. Each part writes its own stats section. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/thread.h"
#include "tiering/daemon.h"
#include "tiering/fault.h"
#include "tiering/migrate.h"
#include "tiering/tracking.h"
#include "tiering/uffd.h"

#define CHURN_PAGES 1024            /* pages the churn thread demotes per tick */

struct tiering {
    struct tiering_config cfg;
    struct tier_core core;
    struct migrate_engine eng;
    struct monitor mon;             /* only with the daemon */
    struct fault_path fault;
    struct daemon daemon;
    bool eng_ready, mon_ready;

    /* the test worker: demotion churn and periodic audits */
    struct thread worker;
    uint64_t churn_cursor;          /* worker thread */
    int stop_efd;                   /* readable once the background threads must finish */
    atomic_bool stopping;
    uint64_t audits, audit_failures;    /* core lock */
};

/* Set up the core: the DRAM view, the placement map, the userfaultfd. */
static int core_init(struct tier_core *c, void *guest, int dram_fd, uint64_t size, const struct tiering_config *cfg,
                     bool minor, char *err, size_t errlen)
{
    *c = (struct tier_core){.guest = guest, .dram_fd = dram_fd, .npages = size / PAGE_SIZE_4K,
                            .pinned_pages = cfg->pinned_below / PAGE_SIZE_4K, .uffd = -1, .uffd_minor = minor};
    pthread_mutex_init(&c->lock, NULL);
    c->dram = mmap(NULL, size, PROT_READ | PROT_WRITE, TIERING_MAP_FLAGS, dram_fd, 0);
    if (c->dram == MAP_FAILED) {
        c->dram = NULL;
        snprintf(err, errlen, "mapping a DRAM view of guest RAM: %s", strerror(errno));
        return -ENOMEM;
    }
    int rc = placement_init(&c->pm, c->npages);
    if (rc < 0) {
        snprintf(err, errlen, "placement map for %llu pages: %s", (unsigned long long)c->npages, strerror(-rc));
        return rc;
    }
    return uffd_open(&c->uffd, minor, err, errlen);
}

static void core_fini(struct tier_core *c)
{
    if (c->uffd >= 0)
        close(c->uffd);
    placement_destroy(c->pm);
    if (c->dram)
        munmap(c->dram, c->npages * PAGE_SIZE_4K);
    pthread_mutex_destroy(&c->lock);
}

int tiering_create(struct tiering **out, void *guest, int dram_fd, uint64_t size,
                   const struct tiering_config *cfg, char *err, size_t errlen)
{
    struct tiering *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *out = t;
    t->cfg = *cfg;
    t->stop_efd = -1;
    enum tiering_access access = cfg->daemon ? track_access_resolve(cfg->access) : TIERING_ACCESS_OFF;
    int rc = core_init(&t->core, guest, dram_fd, size, &t->cfg, access == TIERING_ACCESS_UFFD, err, errlen);
    if (rc < 0)
        return rc;
    rc = migrate_init(&t->eng, &t->core, &t->cfg, err, errlen);
    t->eng_ready = true;
    if (rc < 0)
        return rc;
    rc = uffd_register(t->core.uffd, guest, size, t->core.uffd_minor);
    if (rc < 0) {
        snprintf(err, errlen, "userfaultfd write-protect registration of guest RAM: %s", strerror(-rc));
        return rc;
    }
    t->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->stop_efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        return -errno;
    }
    const struct maps *m = &t->eng.maps;
    uint64_t npages = t->core.npages - t->core.pinned_pages;
    if (npages > 2 * (m->limit - m->base))
        log_info("tiering: vm.max_map_count=%llu allows ~%llu guest mappings for %llu pages; guests whose "
                 "writes scatter may stop demoting there (raise it with sysctl vm.max_map_count)",
                 (unsigned long long)m->max_map_count, (unsigned long long)(m->limit - m->base),
                 (unsigned long long)npages);
    if (cfg->daemon) {
        rc = monitor_init(&t->mon, &t->core, &t->cfg, access, err, errlen);
        t->mon_ready = true;
        if (rc < 0)
            return rc;
    }
    return daemon_init(&t->daemon, &t->core, &t->eng, &t->mon, &t->fault, &t->cfg, err, errlen);
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
    uint64_t next_audit = clock_now_ns() + t->cfg.audit_ms * 1000000ull;
    while (worker_sleep(t, tick)) {
        if (t->cfg.churn_ms) {
            if (t->churn_cursor >= t->core.npages)
                t->churn_cursor = t->core.pinned_pages;
            uint64_t n = t->core.npages - t->churn_cursor < CHURN_PAGES ? t->core.npages - t->churn_cursor
                                                                        : CHURN_PAGES;
            migrate_demote(&t->eng, t->churn_cursor, n);
            t->churn_cursor += n;
        }
        if (t->cfg.audit_ms && clock_now_ns() >= next_audit) {
            tiering_audit(t);
            next_audit = clock_now_ns() + t->cfg.audit_ms * 1000000ull;
        }
    }
    return NULL;
}

int tiering_start(struct tiering *t, char *err, size_t errlen)
{
    int rc = fault_start(&t->fault, &t->core, &t->eng, t->cfg.daemon ? &t->mon : NULL);
    if (rc < 0) {
        snprintf(err, errlen, "starting the fault thread: %s", strerror(-rc));
        return rc;
    }
    if (t->cfg.churn_ms || t->cfg.audit_ms) {
        rc = thread_start(&t->worker, "arom-worker", worker_main, t);
        if (rc < 0) {
            snprintf(err, errlen, "starting the worker thread: %s", strerror(-rc));
            return rc;
        }
    }
    rc = daemon_start(&t->daemon, t->stop_efd);
    if (rc < 0)
        snprintf(err, errlen, "starting the daemon: %s", strerror(-rc));
    return rc;
}

void tiering_stop(struct tiering *t)
{
    if (!t)
        return;
    atomic_store(&t->stopping, true);
    atomic_store(&t->daemon.stopping, true);
    uint64_t one = 1;
    if (t->stop_efd >= 0 && write(t->stop_efd, &one, sizeof one) < 0)
        log_warn("tiering: waking background threads: %s", strerror(errno));
    /* Demoters may need the fault thread: join them first. */
    thread_join(&t->worker);
    daemon_stop(&t->daemon);
    /* Only now: until here a demoter's mremap may still wait for the fault
     * thread to read its remap event. */
    fault_stop(&t->fault);
}

void tiering_destroy(struct tiering *t)
{
    if (!t)
        return;
    tiering_stop(t);
    daemon_fini(&t->daemon);
    if (t->mon_ready)
        monitor_fini(&t->mon);
    fault_fini(&t->fault);
    if (t->eng_ready)
        migrate_fini(&t->eng);
    if (t->stop_efd >= 0)
        close(t->stop_efd);
    core_fini(&t->core);
    free(t);
}

int64_t tiering_hint(struct tiering *t, uint64_t first, uint64_t n, enum tiering_hint kind)
{
    if (first >= t->core.npages || n > t->core.npages - first)
        return -EINVAL;
    switch (kind) {
    case TIERING_HINT_DEMOTE:
        return migrate_demote(&t->eng, first, n);
    case TIERING_HINT_PIN:
        return migrate_pin(&t->eng, first, n, true);
    case TIERING_HINT_UNPIN:
        return migrate_pin(&t->eng, first, n, false);
    case TIERING_HINT_WP_PROBE:
        return migrate_wp_probe(&t->eng, first, n);
    }
    return -EINVAL;
}

/* A setting outside lo..hi (NaN included) fails with its name. */
static int out_of_bounds(char *err, size_t errlen, const char *name, double v, double lo, double hi)
{
    return v >= lo && v <= hi ? 0 : errf(err, errlen, -EINVAL, "%s: %g is outside %g..%g", name, v, lo, hi);
}

int tiering_update(struct tiering *t, const struct tiering_settings *s, char *err, size_t errlen)
{
    if (s->set && !t->cfg.daemon)
        return errf(err, errlen, -ENOTSUP, "the tiering daemon is off (start the VM with --daemon on or a --dram-budget)");
    if ((s->set & TIERING_SET_BUDGET) && s->dram_budget > t->core.npages * PAGE_SIZE_4K)
        return errf(err, errlen, -EINVAL, "dram_budget: %llu bytes is more than guest RAM (%llu)",
                    (unsigned long long)s->dram_budget, (unsigned long long)(t->core.npages * PAGE_SIZE_4K));
    int rc = 0;
    if (!rc && (s->set & TIERING_SET_EPOCH))
        rc = out_of_bounds(err, errlen, "epoch_ms", s->epoch_ms, TIERING_EPOCH_MS_MIN, TIERING_EPOCH_MS_MAX);
    if (!rc && (s->set & TIERING_SET_SLOWDOWN))
        rc = out_of_bounds(err, errlen, "max_slowdown_pct", s->max_slowdown_pct, TIERING_SLOWDOWN_MIN,
                           TIERING_SLOWDOWN_MAX);
    if (!rc && (s->set & TIERING_SET_EXIT_COST))
        rc = out_of_bounds(err, errlen, "exit_cost_us", s->exit_cost_us, TIERING_EXIT_COST_MIN,
                           TIERING_EXIT_COST_MAX);
    if (!rc)
        daemon_update(&t->daemon, s);
    return rc;
}

uint64_t tiering_audit(struct tiering *t)
{
    uint64_t bad = migrate_audit(&t->eng);
    pthread_mutex_lock(&t->core.lock);
    t->audits++;
    t->audit_failures += bad;
    pthread_mutex_unlock(&t->core.lock);
    return bad;
}

void tiering_counters(struct tiering *t, struct tiering_counters *out)
{
    pthread_mutex_lock(&t->core.lock);
    out->ltram_pages = placement_count(t->core.pm, TIER_LTRAM);
    out->dram_pages = t->core.npages - out->ltram_pages;
    out->promotions = t->eng.promotions;
    out->demotions = t->eng.demotions;
    pthread_mutex_unlock(&t->core.lock);
    out->dram_budget_pages = daemon_budget_pages(&t->daemon);
    out->epochs = daemon_epochs(&t->daemon);
    out->dram_resident_pages = core_dram_resident_pages(&t->core);
}

void tiering_query(struct tiering *t, uint64_t first, uint64_t n, uint64_t *ltram, uint64_t *dram)
{
    uint64_t lt = 0;
    pthread_mutex_lock(&t->core.lock);
    for (uint64_t p = first; p < first + n && p < t->core.npages; p++)
        lt += placement_tier(t->core.pm, p) == TIER_LTRAM;
    pthread_mutex_unlock(&t->core.lock);
    *ltram = lt;
    *dram = n - lt;
}

uint64_t tiering_pages(const struct tiering *t)
{
    return t->core.npages;
}

json_object *tiering_stats_json(struct tiering *t, bool live)
{
    json_object *o = json_object_new_object();
    migrate_json(&t->eng, o, live);
    fault_json(&t->fault, o);
    json_object_object_add(o, "daemon", daemon_json(&t->daemon));
    uint64_t resident = core_dram_resident_pages(&t->core) * PAGE_SIZE_4K;
    json_object *pages = json_object_new_object();
    pthread_mutex_lock(&t->core.lock);
    uint64_t lt = placement_count(t->core.pm, TIER_LTRAM);
    json_add_u64(pages, "total", t->core.npages);
    json_add_u64(pages, "dram", t->core.npages - lt);
    json_add_u64(pages, "ltram", lt);
    json_add_u64(pages, "pinned_system", t->core.pinned_pages);
    json_add_u64(o, "audits", t->audits);
    json_add_u64(o, "audit_failures", t->audit_failures);
    pthread_mutex_unlock(&t->core.lock);
    json_object_object_add(o, "pages", pages);
    json_add_u64(o, "dram_resident_bytes", resident);
    json_add_u64(o, "dram_budget_bytes", daemon_budget_pages(&t->daemon) * PAGE_SIZE_4K);
    return o;
}
