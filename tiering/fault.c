/*
 * The fault thread: the one reader of the userfaultfd. A guest store to a
 * write-protected page blocks its vCPU in the kernel and arrives here as a
 * UFFD_EVENT_PAGEFAULT with the WP flag:
 *
 *   page on LtRAM           -> promote it (copy to DRAM, map writable, wake)
 *   page being demoted      -> nothing now: the demoter wakes the range when
 *                              it commits, the store retries, faults on the
 *                              LtRAM mapping and comes back here
 *   page on DRAM            -> a benchmark probe or an already-served fault:
 *                              release the protection, which wakes it
 *
 * It must keep reading: every mremap (a demotion's swap) waits until this
 * thread has read its UFFD_EVENT_REMAP. So it never waits for a demoter.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/compat.h"
#include "lib/json.h"
#include "lib/log.h"
#include "tiering/fault.h"
#include "tiering/uffd.h"

/* Page index of a host address in guest RAM, or UINT64_MAX. */
static uint64_t page_of(struct fault_path *f, uint64_t addr)
{
    uint64_t base = (uint64_t)(uintptr_t)f->core->guest;
    if (addr < base || addr - base >= f->core->npages * 4096ull)
        return UINT64_MAX;
    return (addr - base) >> PAGE_SHIFT_4K;
}

/* Serve a WP fault on page; false if it must be retried later. */
static bool serve_page(struct fault_path *f, uint64_t page, uint64_t t_recv)
{
    struct tier_core *c = f->core;
    bool done = true;
    pthread_mutex_lock(&c->lock);
    if (placement_migrating(c->pm, page)) {
        f->inflight_faults++;
    } else if (placement_tier(c->pm, page) == TIER_LTRAM) {
        int rc = migrate_promote_locked(f->eng, page);
        if (rc == 0)
            latency_record(&f->promote_lat, clock_now_ns() - t_recv);
        done = rc != -EAGAIN;
    } else {
        int rc = uffd_writeprotect(c->uffd, core_guest_page(c, page), 4096, false);
        f->probe_faults += rc == 0;
        done = rc != -EAGAIN;
    }
    pthread_mutex_unlock(&c->lock);
    return done;
}

/* Minor fault: false if it must be retried later. */
static bool serve_minor(struct fault_path *f, uint64_t page)
{
    struct tier_core *c = f->core;
    bool done = true;
    pthread_mutex_lock(&c->lock);
    if (placement_migrating(c->pm, page)) {
        f->inflight_faults++;
    } else {
        if (f->mon)
            monitor_note_fault(f->mon, page);
        int rc = uffd_continue(c->uffd, core_guest_page(c, page), 4096);
        if (rc == -EEXIST)      /* another vCPU's touch mapped it first */
            rc = uffd_wake(c->uffd, core_guest_page(c, page), 4096);
        done = rc != -EAGAIN;
        if (rc < 0 && rc != -EAGAIN)
            log_warn("tiering: resolving an access fault at GPA 0x%llx: %s",
                     (unsigned long long)(page * 4096), strerror(-rc));
    }
    pthread_mutex_unlock(&c->lock);
    return done;
}

static bool serve(void *ctx, uint64_t page, uint64_t since)
{
    return since ? serve_page(ctx, page, since) : serve_minor(ctx, page);
}

/* Serve now, or queue it to retry after the next read; with no memory to
 * queue it, retry in place until served (the vCPU must not stay blocked). */
static void serve_or_defer(struct fault_path *f, uint64_t page, uint64_t since)
{
    if (serve(f, page, since) || fault_queue_add(&f->deferred, page, since) >= 0)
        return;
    log_warn("tiering: out of memory for the deferred-fault list; retrying GPA 0x%llx in place",
             (unsigned long long)(page * 4096));
    while (!serve(f, page, since))
        sched_yield();
}

static void handle_wp_fault(struct fault_path *f, uint64_t addr, uint64_t t_recv)
{
    uint64_t page = page_of(f, addr);
    if (page == UINT64_MAX) {
        pthread_mutex_lock(&f->core->lock);
        f->stray_faults++;
        pthread_mutex_unlock(&f->core->lock);
        log_warn("tiering: write fault at host address 0x%llx outside guest RAM",
                 (unsigned long long)addr);
        uffd_wake(f->core->uffd, (void *)(uintptr_t)(addr & ~4095ull), 4096);
        return;
    }
    pthread_mutex_lock(&f->core->lock);
    f->wp_faults++;
    pthread_mutex_unlock(&f->core->lock);
    serve_or_defer(f, page, t_recv);
}

static void handle_msg(struct fault_path *f, const struct uffd_msg *m, uint64_t t_recv)
{
    switch (m->event) {
    case UFFD_EVENT_PAGEFAULT:
        if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
            handle_wp_fault(f, m->arg.pagefault.address, t_recv);
        } else if ((m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) &&
                   page_of(f, m->arg.pagefault.address) != UINT64_MAX) {
            pthread_mutex_lock(&f->core->lock);
            f->minor_faults++;      /* counted once: a deferred one is retried, not received again */
            pthread_mutex_unlock(&f->core->lock);
            serve_or_defer(f, page_of(f, m->arg.pagefault.address), 0);
        } else {
            /* Only WP mode is registered; wake the thread so it cannot hang. */
            log_warn("tiering: unexpected missing-page fault at 0x%llx",
                     (unsigned long long)m->arg.pagefault.address);
            uffd_wake(f->core->uffd, (void *)(uintptr_t)(m->arg.pagefault.address & ~4095ull), 4096);
        }
        break;
    case UFFD_EVENT_REMAP:
        /* No lock: a demoter may hold it while waiting for this very read. */
        atomic_fetch_add(&f->remap_events, 1);
        break;
    default:
        break;
    }
}

static void *fault_thread(void *arg)
{
    struct fault_path *f = arg;
    int uffd = f->core->uffd;
    struct pollfd fds[2] = {{.fd = uffd, .events = POLLIN}, {.fd = f->stop_efd, .events = POLLIN}};
    struct uffd_msg msgs[32];
    /* Every vCPU blocked on a fault waits for this thread: let it run before
     * spinning vCPU threads (fails harmlessly without CAP_SYS_NICE). */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -10);
    for (;;) {
        ssize_t n = read(uffd, msgs, sizeof msgs);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                log_error("tiering: reading userfaultfd: %s", strerror(errno));
                break;
            }
            if (atomic_load(&f->stopping))
                break;
            if (f->deferred.n) {
                if (fault_queue_retry(&f->deferred, serve, f) && poll(fds, 1, 1) < 0 && errno != EINTR)
                    break;
                continue;
            }
            if (poll(fds, 2, -1) < 0 && errno != EINTR) {
                log_error("tiering: poll: %s", strerror(errno));
                break;
            }
            continue;
        }
        uint64_t t_recv = clock_now_ns();
        for (size_t i = 0; i < (size_t)n / sizeof msgs[0]; i++)
            handle_msg(f, &msgs[i], t_recv);
        if (f->deferred.n)
            fault_queue_retry(&f->deferred, serve, f);
    }
    return NULL;
}

int fault_start(struct fault_path *f, struct tier_core *core, struct migrate_engine *eng, struct monitor *mon)
{
    f->core = core;
    f->eng = eng;
    f->mon = mon;
    f->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->stop_efd < 0)
        return -errno;
    return thread_start(&f->thread, "arom-fault", fault_thread, f);
}

void fault_stop(struct fault_path *f)
{
    atomic_store(&f->stopping, true);
    uint64_t one = 1;
    if (f->thread.started && write(f->stop_efd, &one, sizeof one) < 0)
        log_warn("tiering: waking the fault thread: %s", strerror(errno));
    thread_join(&f->thread);
}

void fault_fini(struct fault_path *f)
{
    if (f->core && f->stop_efd >= 0)
        close(f->stop_efd);
    f->stop_efd = -1;
    fault_queue_free(&f->deferred);
}

void fault_json(struct fault_path *f, json_object *o)
{
    json_object *fl = json_object_new_object();
    json_object *lat = json_object_new_object();
    pthread_mutex_lock(&f->core->lock);
    JSON_U64S(fl, {"write_faults", f->wp_faults}, {"access_faults", f->minor_faults},
              {"during_demotion", f->inflight_faults},
              {"probe_or_repeat", f->probe_faults}, {"stray", f->stray_faults});
    const struct latency_hist *h = &f->promote_lat;
    json_add_u64(lat, "count", h->count);
    json_add_double(lat, "p50_us", latency_quantile(h, 0.50) / 1e3);
    json_add_double(lat, "p99_us", latency_quantile(h, 0.99) / 1e3);
    json_add_double(lat, "max_us", h->max_ns / 1e3);
    json_add_double(lat, "mean_us", h->count ? h->sum_ns / 1e3 / h->count : 0);
    json_add_double(lat, "sum_us", h->sum_ns / 1e3);
    /* Cumulative counts at fixed bounds, for a Prometheus histogram. */
    static const unsigned bounds_us[] = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000};
    json_object *bk = json_object_new_array();
    for (size_t i = 0; i < sizeof bounds_us / sizeof bounds_us[0]; i++) {
        json_object *b = json_object_new_object();
        JSON_U64S(b, {"le_us", bounds_us[i]}, {"count", latency_count_le(h, bounds_us[i] * 1000ull)});
        json_object_array_add(bk, b);
    }
    json_object_object_add(lat, "buckets", bk);
    pthread_mutex_unlock(&f->core->lock);
    JSON_U64S(fl, {"deferred", atomic_load(&f->deferred.added)},
              {"deferred_duplicates", atomic_load(&f->deferred.duplicates)},
              {"deferred_max_depth", atomic_load(&f->deferred.max_depth)},
              {"remap_events", atomic_load(&f->remap_events)});
    json_object_object_add(o, "faults", fl);
    json_object_object_add(o, "promotion_latency", lat);
}
