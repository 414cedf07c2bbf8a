/* Access tracking by sampled userfaultfd minor faults: arming a page zaps
 * its PTE (MADV_DONTNEED on the shmem mapping keeps the data in the page
 * cache), so the guest's next touch of it arrives at the fault thread as a
 * minor fault, which maps the page back (UFFDIO_CONTINUE) and notes it
 * here. Costs the guest one user-space round trip per touched sample, so
 * samples are few (--access-samples per GiB per epoch). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "lib/bitmap.h"
#include "tiering/tracking.h"

struct uffd_sample {
    uint64_t *sampled, *touched;    /* bitmaps (core lock) */
};

static int us_init(struct tracker *tk, char *err, size_t errlen)
{
    struct uffd_sample *u = tk->priv;
    u->sampled = track_bitmap(tk);
    u->touched = track_bitmap(tk);
    if (!u->sampled || !u->touched) {
        snprintf(err, errlen, "access sampling: out of memory");
        return -ENOMEM;
    }
    return 0;
}

static void us_fini(struct tracker *tk)
{
    struct uffd_sample *u = tk->priv;
    free(u->sampled);
    free(u->touched);
}

static size_t us_arm(struct tracker *tk, uint64_t *pages, size_t n)
{
    struct uffd_sample *u = tk->priv;
    struct tier_core *c = tk->core;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t p = pages[i];
        pthread_mutex_lock(&c->lock);
        /* Under the lock no demotion can start on p, so zapping cannot race
         * with its write-protect-and-copy. */
        if (core_demotable(c, p, NULL) && !bitmap_test(u->sampled, p) && madvise(core_guest_page(c, p), PAGE_SIZE_4K, MADV_DONTNEED) == 0) {
            bitmap_set(u->sampled, p, true);
            pages[kept++] = p;
        }
        pthread_mutex_unlock(&c->lock);
    }
    return kept;
}

static int us_harvest(struct tracker *tk, const uint64_t *pages, size_t n, uint64_t *seen)
{
    struct uffd_sample *u = tk->priv;
    pthread_mutex_lock(&tk->core->lock);
    for (size_t i = 0; i < n; i++) {
        uint64_t p = pages[i];
        if (bitmap_test(u->touched, p))
            bitmap_set(seen, p, true);
        bitmap_set(u->sampled, p, false);
        bitmap_set(u->touched, p, false);
    }
    pthread_mutex_unlock(&tk->core->lock);
    return 0;
}

static void us_note_fault(struct tracker *tk, uint64_t page)
{
    struct uffd_sample *u = tk->priv;
    if (bitmap_test(u->sampled, page))
        bitmap_set(u->touched, page, true);
}

const struct track_ops track_uffd_ops = {.name = "uffd_minor_sampling", .priv_size = sizeof(struct uffd_sample),
                                         .init = us_init, .fini = us_fini, .arm = us_arm, .harvest = us_harvest,
                                         .note_fault = us_note_fault};
