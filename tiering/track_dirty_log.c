/* Write tracking with the VM's KVM dirty log. With KVM's manual-protect
 * mode, fetching the log only copies the bitmap and each re-arm
 * re-protects just the pages asked for: a page left dirty stays writable
 * and costs the guest nothing, so the daemon re-arms only the pages it may
 * demote (each written re-armed page costs one VM exit, ~23 us on PVM).
 * With INITIALLY_SET logging starts with every page dirty, none protected.
 * Without manual mode every fetch re-protects the whole slot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bitmap.h"
#include "tiering/tracking.h"

struct dirty_log {
    uint64_t *clear;            /* scratch for re-arming */
    unsigned mode;              /* TIERING_DIRTY_* */
    bool on;
};

static int dl_init(struct tracker *tk, char *err, size_t errlen)
{
    struct dirty_log *d = tk->priv;
    if (!(d->clear = track_bitmap(tk))) {
        snprintf(err, errlen, "dirty log: out of memory");
        return -ENOMEM;
    }
    int rc = tk->vm->dirty_log_enable(tk->vm->vm, true, &d->mode);
    if (rc < 0)
        snprintf(err, errlen, "enabling the KVM dirty log: %s", strerror(-rc));
    d->on = rc == 0;
    /* Without manual mode every fetch re-protects the whole slot; without
     * INITIALLY_SET enabling the log write-protected every page. */
    tk->flags = (d->mode & TIERING_DIRTY_MANUAL ? TRACK_SELECTIVE : TRACK_STARTS_ARMED) |
                (d->mode & TIERING_DIRTY_INITIALLY_SET ? 0 : TRACK_STARTS_ARMED);
    return rc;
}

static void dl_fini(struct tracker *tk)
{
    struct dirty_log *d = tk->priv;
    if (d->on)
        tk->vm->dirty_log_enable(tk->vm->vm, false, &d->mode);
    free(d->clear);
}

/* Re-protect the listed pages with one KVM_CLEAR_DIRTY_LOG over the words
 * that span them: KVM flushes the guest's TLB once per call, and every
 * flush kicks each running vCPU out (one exit each), so one call, not one
 * per run of pages. */
static size_t dl_arm(struct tracker *tk, uint64_t *pages, size_t n)
{
    struct dirty_log *d = tk->priv;
    if (!(d->mode & TIERING_DIRTY_MANUAL) || !n)
        return n;           /* without manual mode every fetch re-armed the slot */
    uint64_t lo = pages[0] / 64, hi = lo;
    for (size_t i = 0; i < n; i++) {
        bitmap_set(d->clear, pages[i], true);
        lo = pages[i] / 64 < lo ? pages[i] / 64 : lo;
        hi = pages[i] / 64 > hi ? pages[i] / 64 : hi;
    }
    uint64_t first = lo * 64, count = (hi - lo + 1) * 64, npages = tk->core->npages;
    if (first + count > npages)
        count = npages - first;
    /* On failure the pages stay dirty: they read as written, never as clean. */
    tk->vm->dirty_log_clear(tk->vm->vm, first, count, d->clear + lo);
    memset(d->clear + lo, 0, (hi - lo + 1) * sizeof *d->clear);
    return n;
}

static int dl_harvest(struct tracker *tk, const uint64_t *pages, size_t n, uint64_t *seen)
{
    return tk->vm->dirty_log_get(tk->vm->vm, seen);
}

const struct track_ops track_dirty_log_ops = {.name = "kvm_dirty_log", .priv_size = sizeof(struct dirty_log),
                                              .init = dl_init, .fini = dl_fini, .arm = dl_arm, .harvest = dl_harvest};
