#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "lib/bitmap.h"
#include "tiering/core.h"
#include "tiering/punch.h"

#define RING_RUNS 1024              /* demoted runs remembered; beyond, the oldest is punched */

int punch_init(struct punch_queue *q, int fd, uint64_t npages, uint64_t max_pages)
{
    *q = (struct punch_queue){.fd = fd, .max_pages = max_pages};
    if (!max_pages)
        return 0;
    q->kept = calloc(BITMAP_WORDS(npages), sizeof *q->kept);
    q->ring = calloc(RING_RUNS, sizeof *q->ring);
    q->cap = RING_RUNS;
    return q->kept && q->ring ? 0 : -ENOMEM;
}

void punch_fini(struct punch_queue *q)
{
    free(q->kept);
    free(q->ring);
    q->kept = NULL;
    q->ring = NULL;
}

static void punch(struct punch_queue *q, uint64_t start, uint64_t n)
{
    if (fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(start * PAGE_SIZE_4K),
                  (off_t)(n * PAGE_SIZE_4K)) < 0)
        q->punch_errors++;      /* the DRAM copy stays: DRAM use is higher than it need be */
    q->punched += n;
}

/* Punch what is still kept of the oldest run. */
static void punch_oldest(struct punch_queue *q)
{
    struct punch_run r = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    for (uint64_t p = r.start; p < r.start + r.n;) {
        if (!bitmap_test(q->kept, p)) {
            p++;
            continue;
        }
        uint64_t e = p;
        while (e < r.start + r.n && bitmap_test(q->kept, e)) {
            bitmap_set(q->kept, e, false);
            e++;
        }
        punch(q, p, e - p);
        q->pages -= e - p;
        p = e;
    }
}

void punch_defer(struct punch_queue *q, uint64_t start, uint64_t n)
{
    if (!q->max_pages) {
        punch(q, start, n);
        return;
    }
    while (q->len && (q->len == q->cap || q->pages + n > q->max_pages))
        punch_oldest(q);
    if (n > q->max_pages) {     /* a run larger than the whole reserve: no point keeping it */
        punch(q, start, n);
        return;
    }
    for (uint64_t p = start; p < start + n; p++)
        bitmap_set(q->kept, p, true);
    q->pages += n;
    q->ring[(q->head + q->len++) % q->cap] = (struct punch_run){.start = start, .n = n};
}

uint64_t punch_release(struct punch_queue *q, uint64_t n)
{
    uint64_t before = q->pages;
    while (q->len && before - q->pages < n)
        punch_oldest(q);
    return before - q->pages;
}

bool punch_take(struct punch_queue *q, uint64_t page)
{
    if (!q->kept || !bitmap_test(q->kept, page))
        return false;
    bitmap_set(q->kept, page, false);
    q->pages--;
    q->hits++;
    return true;
}

void punch_forget(struct punch_queue *q, uint64_t page)
{
    if (q->kept && bitmap_test(q->kept, page)) {
        bitmap_set(q->kept, page, false);
        q->pages--;
        punch(q, page, 1);
    }
}
