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
#include <sys/resource.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "tiering/engine.h"
#include "tiering/uffd.h"
#include "vmm/compat.h"
#include "vmm/log.h"
#include "vmm/stats.h"

/* Page index of a host address in guest RAM, or UINT64_MAX. */
static uint64_t page_of(struct tiering *t, uint64_t addr)
{
    uint64_t base = (uint64_t)(uintptr_t)t->guest;
    if (addr < base || addr - base >= t->npages * 4096ull)
        return UINT64_MAX;
    return (addr - base) >> PAGE_SHIFT_4K;
}

/* Serve a WP fault on page; false if it must be retried later. */
static bool serve_page(struct tiering *t, uint64_t page, uint64_t t_recv)
{
    bool done = true;
    pthread_mutex_lock(&t->lock);
    if (placement_migrating(t->pm, page)) {
        t->inflight_faults++;
    } else if (placement_tier(t->pm, page) == TIER_LTRAM) {
        int rc = migrate_promote_locked(t, page);
        if (rc == 0)
            latency_record(&t->promote_lat, stats_now_ns() - t_recv);
        done = rc != -EAGAIN;
    } else {
        int rc = uffd_writeprotect(t->uffd, guest_page(t, page), 4096, false);
        t->probe_faults += rc == 0;
        done = rc != -EAGAIN;
    }
    pthread_mutex_unlock(&t->lock);
    return done;
}

/* Minor fault: false if it must be retried later. */
static bool serve_minor(struct tiering *t, uint64_t page)
{
    bool done = true;
    pthread_mutex_lock(&t->lock);
    t->minor_faults++;
    if (placement_migrating(t->pm, page)) {
        t->inflight_faults++;
    } else {
        daemon_note_touch(t, page);
        int rc = uffd_continue(t->uffd, guest_page(t, page), 4096);
        if (rc == -EEXIST)      /* another vCPU's touch mapped it first */
            rc = uffd_wake(t->uffd, guest_page(t, page), 4096);
        done = rc != -EAGAIN;
        if (rc < 0 && rc != -EAGAIN)
            log_warn("tiering: resolving an access fault at GPA 0x%llx: %s",
                     (unsigned long long)(page * 4096), strerror(-rc));
    }
    pthread_mutex_unlock(&t->lock);
    return done;
}

static bool serve(void *ctx, uint64_t page, uint64_t since)
{
    return since ? serve_page(ctx, page, since) : serve_minor(ctx, page);
}

/* Serve now, or queue it to retry after the next read; with no memory to
 * queue it, retry in place until served (the vCPU must not stay blocked). */
static void serve_or_defer(struct tiering *t, uint64_t page, uint64_t since)
{
    if (serve(t, page, since) || fault_queue_add(&t->deferred, page, since) >= 0)
        return;
    log_warn("tiering: out of memory for the deferred-fault list; retrying GPA 0x%llx in place",
             (unsigned long long)(page * 4096));
    while (!serve(t, page, since))
        sched_yield();
}

static void handle_wp_fault(struct tiering *t, uint64_t addr, uint64_t t_recv)
{
    uint64_t page = page_of(t, addr);
    if (page == UINT64_MAX) {
        pthread_mutex_lock(&t->lock);
        t->stray_faults++;
        pthread_mutex_unlock(&t->lock);
        log_warn("tiering: write fault at host address 0x%llx outside guest RAM",
                 (unsigned long long)addr);
        uffd_wake(t->uffd, (void *)(uintptr_t)(addr & ~4095ull), 4096);
        return;
    }
    pthread_mutex_lock(&t->lock);
    t->wp_faults++;
    pthread_mutex_unlock(&t->lock);
    serve_or_defer(t, page, t_recv);
}

static void handle_msg(struct tiering *t, const struct uffd_msg *m, uint64_t t_recv)
{
    switch (m->event) {
    case UFFD_EVENT_PAGEFAULT:
        if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
            handle_wp_fault(t, m->arg.pagefault.address, t_recv);
        } else if ((m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) &&
                   page_of(t, m->arg.pagefault.address) != UINT64_MAX) {
            serve_or_defer(t, page_of(t, m->arg.pagefault.address), 0);
        } else {
            /* Only WP mode is registered; wake the thread so it cannot hang. */
            log_warn("tiering: unexpected missing-page fault at 0x%llx",
                     (unsigned long long)m->arg.pagefault.address);
            uffd_wake(t->uffd, (void *)(uintptr_t)(m->arg.pagefault.address & ~4095ull), 4096);
        }
        break;
    case UFFD_EVENT_REMAP:
        /* No lock: a demoter may hold it while waiting for this very read. */
        atomic_fetch_add(&t->remap_events, 1);
        break;
    default:
        break;
    }
}

void *fault_thread_main(void *arg)
{
    struct tiering *t = arg;
    struct pollfd fds[2] = {{.fd = t->uffd, .events = POLLIN}, {.fd = t->stop_efd, .events = POLLIN}};
    struct uffd_msg msgs[32];
    /* Every vCPU blocked on a fault waits for this thread: let it run before
     * spinning vCPU threads (fails harmlessly without CAP_SYS_NICE). */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -10);
    for (;;) {
        ssize_t n = read(t->uffd, msgs, sizeof msgs);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                log_error("tiering: reading userfaultfd: %s", strerror(errno));
                break;
            }
            if (atomic_load(&t->fault_stopping))
                break;
            if (t->deferred.n) {
                if (fault_queue_retry(&t->deferred, serve, t) && poll(fds, 1, 1) < 0 && errno != EINTR)
                    break;
                continue;
            }
            if (poll(fds, 2, -1) < 0 && errno != EINTR) {
                log_error("tiering: poll: %s", strerror(errno));
                break;
            }
            continue;
        }
        uint64_t t_recv = stats_now_ns();
        for (size_t i = 0; i < (size_t)n / sizeof msgs[0]; i++)
            handle_msg(t, &msgs[i], t_recv);
        if (t->deferred.n)
            fault_queue_retry(&t->deferred, serve, t);
    }
    return NULL;
}
