/* Wear-levelling LtRAM frame allocator: a rotating next-fit over bitmaps
 * with a least-worn preference (policy in frame_alloc.h). */
#include "tiering/frame_alloc.h"

#include "lib/bitmap.h"

#include <errno.h>
#include <stdlib.h>

/* Wear histogram buckets: exact for wear < 128, then 64 buckets per power of
 * two, so a bucket is never wider than 1/64 of its lower bound (<= slack). */
#define EXACT_BUCKETS 128u
#define SUB_BUCKETS   64u
#define NBUCKETS      (EXACT_BUCKETS + (32u - 7u) * SUB_BUCKETS)
#define BUCKET_WORDS  ((NBUCKETS + 63u) / 64u)
#define NONE          UINT32_MAX

/* slack(w) = max(SLACK_MIN, w / SLACK_DIV); see frame_alloc.h. */
#define SLACK_MIN 4u
#define SLACK_DIV 32u

struct frame_alloc {
    uint32_t n;
    uint32_t cursor;
    const uint32_t *wear;
    uint64_t endurance;
    uint32_t nfree, nused, nretired;
    uint64_t *free_bm;      /* free for allocation */
    uint64_t *used_bm;      /* holds data */
    uint64_t *doomed_bm;    /* retired, or used and retiring on free */
    uint32_t *snap;         /* wear as last seen; free frames are filed by it */
    uint64_t wear_sum;      /* sum of snap[]: the mean wear over all frames */
    uint32_t hist[NBUCKETS];            /* free frames per wear bucket */
    uint64_t nonempty[BUCKET_WORDS];    /* hist[b] != 0 */
};

static uint32_t bucket_of(uint32_t w)
{
    if (w < EXACT_BUCKETS)
        return w;
    uint32_t k = 31u - (uint32_t)__builtin_clz(w);   /* 7..31 */
    return EXACT_BUCKETS + (k - 7u) * SUB_BUCKETS + ((w >> (k - 6u)) & (SUB_BUCKETS - 1u));
}

static uint64_t bucket_lo(uint32_t b)
{
    if (b < EXACT_BUCKETS)
        return b;
    uint32_t k = 7u + (b - EXACT_BUCKETS) / SUB_BUCKETS;
    return (uint64_t)(SUB_BUCKETS + (b - EXACT_BUCKETS) % SUB_BUCKETS) << (k - 6u);
}

static uint64_t slack_at(uint64_t wear)
{
    return wear / SLACK_DIV > SLACK_MIN ? wear / SLACK_DIV : SLACK_MIN;
}

static bool is_due(const struct frame_alloc *fa, uint32_t f)
{
    return fa->endurance && fa->wear[f] >= fa->endurance;
}

/* Pick up wear the caller added since we last looked (modular arithmetic
 * keeps the sum right even if wear went down). Not for free frames: they
 * are filed in the histogram under their snapshot. */
static void sync_wear(struct frame_alloc *fa, uint32_t f)
{
    fa->wear_sum += (uint64_t)fa->wear[f] - fa->snap[f];
    fa->snap[f] = fa->wear[f];
}

static void hist_add(struct frame_alloc *fa, uint32_t f)
{
    uint32_t b = bucket_of(fa->snap[f]);
    if (fa->hist[b]++ == 0)
        bitmap_set(fa->nonempty, b, true);
}

static void hist_del(struct frame_alloc *fa, uint32_t f)
{
    uint32_t b = bucket_of(fa->snap[f]);
    if (--fa->hist[b] == 0)
        bitmap_set(fa->nonempty, b, false);
}

/* Candidates have wear <= this. The mean term keeps max/mean within
 * ~1 + 1/SLACK_DIV while letting the ring run through everything below it
 * (long runs); the min-free term (bucket lower bound; a bucket is never
 * wider than the slack) guarantees at least one candidate. */
static uint64_t candidate_limit(const struct frame_alloc *fa)
{
    uint64_t mean = fa->wear_sum / fa->n;
    uint64_t limit = mean + slack_at(mean);
    for (uint32_t i = 0; i < BUCKET_WORDS; i++) {
        if (fa->nonempty[i]) {
            uint64_t lo = bucket_lo(i * 64 + (uint32_t)__builtin_ctzll(fa->nonempty[i]));
            return lo + slack_at(lo) > limit ? lo + slack_at(lo) : limit;
        }
    }
    return limit;
}

static void make_free(struct frame_alloc *fa, uint32_t f)
{
    bitmap_set(fa->free_bm, f, true);
    hist_add(fa, f);
    fa->nfree++;
}

/* A free frame leaves the free set (for use or retirement). */
static void leave_free(struct frame_alloc *fa, uint32_t f)
{
    bitmap_set(fa->free_bm, f, false);
    hist_del(fa, f);
    sync_wear(fa, f);
    fa->nfree--;
}

static void take_free(struct frame_alloc *fa, uint32_t f)
{
    leave_free(fa, f);
    bitmap_set(fa->used_bm, f, true);
    fa->nused++;
}

static void retire_free(struct frame_alloc *fa, uint32_t f)
{
    leave_free(fa, f);
    bitmap_set(fa->doomed_bm, f, true);
    fa->nretired++;
}

/* First free frame >= from, or n. */
static uint32_t next_free(const struct frame_alloc *fa, uint32_t from)
{
    uint32_t nwords = (fa->n + 63) / 64;
    if (from >= fa->n)
        return fa->n;
    uint32_t wi = from / 64;
    uint64_t bits = fa->free_bm[wi] & (~0ull << (from % 64));
    while (!bits) {
        if (++wi >= nwords)
            return fa->n;
        bits = fa->free_bm[wi];
    }
    return wi * 64 + (uint32_t)__builtin_ctzll(bits);
}

int frame_alloc_init(struct frame_alloc **out, uint32_t nframes, const uint32_t *wear,
                     uint64_t endurance)
{
    if (!out || nframes == 0 || !wear)
        return -EINVAL;
    *out = NULL;
    struct frame_alloc *fa = calloc(1, sizeof *fa);
    if (!fa)
        return -ENOMEM;
    size_t nwords = ((size_t)nframes + 63) / 64;
    fa->free_bm = calloc(nwords, sizeof(uint64_t));
    fa->used_bm = calloc(nwords, sizeof(uint64_t));
    fa->doomed_bm = calloc(nwords, sizeof(uint64_t));
    fa->snap = calloc(nframes, sizeof *fa->snap);
    if (!fa->free_bm || !fa->used_bm || !fa->doomed_bm || !fa->snap) {
        frame_alloc_destroy(fa);
        return -ENOMEM;
    }
    fa->n = nframes;
    fa->wear = wear;
    fa->endurance = endurance;
    for (uint32_t f = 0; f < nframes; f++) {
        sync_wear(fa, f);
        if (is_due(fa, f)) {
            bitmap_set(fa->doomed_bm, f, true);
            fa->nretired++;
        } else {
            make_free(fa, f);
        }
    }
    *out = fa;
    return 0;
}

void frame_alloc_destroy(struct frame_alloc *fa)
{
    if (!fa)
        return;
    free(fa->free_bm);
    free(fa->used_bm);
    free(fa->doomed_bm);
    free(fa->snap);
    free(fa);
}

/* From the cursor, one rotation at most: the first free frame with wear <=
 * *limit, else (after the scan budget) the least-worn free frame seen, with
 * *limit raised to suit it. Frames found due (written while free) retire. */
static uint32_t find_start(struct frame_alloc *fa, uint64_t *limit)
{
    uint32_t pos = fa->cursor, best = NONE, examined = 0;
    bool wrapped = false;

    while (fa->nfree) {
        uint32_t f = next_free(fa, pos);
        if (f >= fa->n) {
            if (wrapped)
                break;
            wrapped = true;
            pos = 0;
            continue;
        }
        if (wrapped && f >= fa->cursor)
            break;
        pos = f + 1;
        if (is_due(fa, f)) {
            retire_free(fa, f);
            continue;
        }
        if (fa->wear[f] <= *limit)
            return f;
        if (best == NONE || fa->wear[f] < fa->wear[best])
            best = f;
        if (++examined >= FRAME_ALLOC_SCAN_BUDGET)
            break;
    }
    if (best != NONE)
        *limit = fa->wear[best] + slack_at(fa->wear[best]);
    return best;
}

uint32_t frame_alloc_run(struct frame_alloc *fa, uint32_t want, uint32_t *first)
{
    if (!fa || !first || want == 0 || fa->nfree == 0)
        return 0;
    uint64_t limit = candidate_limit(fa);
    uint32_t start = find_start(fa, &limit);
    if (start == NONE)
        return 0;

    uint32_t len = 0;
    do {
        take_free(fa, start + len);
        len++;
    } while (len < want && start + len < fa->n && bitmap_test(fa->free_bm, start + len) &&
             !is_due(fa, start + len) && fa->wear[start + len] <= limit);

    fa->cursor = start + len < fa->n ? start + len : 0;
    *first = start;
    return len;
}

static bool range_ok(const struct frame_alloc *fa, uint32_t first, uint32_t n)
{
    return fa && first < fa->n && n <= fa->n - first;
}

uint32_t frame_alloc_claim(struct frame_alloc *fa, uint32_t first, uint32_t want)
{
    if (!range_ok(fa, first, want ? want : 1) || want == 0)
        return 0;
    uint64_t limit = candidate_limit(fa);
    uint32_t len = 0;
    while (len < want && bitmap_test(fa->free_bm, first + len) && !is_due(fa, first + len) &&
           fa->wear[first + len] <= limit) {
        take_free(fa, first + len);
        len++;
    }
    return len;
}

int frame_alloc_free(struct frame_alloc *fa, uint32_t first, uint32_t n)
{
    int rc = 0;
    if (!range_ok(fa, first, n))
        return -EINVAL;
    for (uint32_t f = first; f < first + n; f++) {
        if (!bitmap_test(fa->used_bm, f)) {
            rc = -EINVAL;   /* double free or never allocated */
            continue;
        }
        bitmap_set(fa->used_bm, f, false);
        fa->nused--;
        sync_wear(fa, f);
        if (bitmap_test(fa->doomed_bm, f) || is_due(fa, f)) {
            bitmap_set(fa->doomed_bm, f, true);
            fa->nretired++;
        } else {
            make_free(fa, f);
        }
    }
    return rc;
}

int frame_alloc_note_written(struct frame_alloc *fa, uint32_t first, uint32_t n)
{
    if (!range_ok(fa, first, n))
        return -EINVAL;
    for (uint32_t f = first; f < first + n; f++) {
        if (bitmap_test(fa->free_bm, f)) {
            /* Written while free: a caller bug, but keep the books straight. */
            hist_del(fa, f);
            sync_wear(fa, f);
            hist_add(fa, f);
            if (is_due(fa, f))
                retire_free(fa, f);
            continue;
        }
        sync_wear(fa, f);
        if (is_due(fa, f) && bitmap_test(fa->used_bm, f))
            bitmap_set(fa->doomed_bm, f, true);
    }
    return 0;
}

int frame_alloc_retire(struct frame_alloc *fa, uint32_t frame)
{
    if (!range_ok(fa, frame, 1))
        return -EINVAL;
    if (bitmap_test(fa->free_bm, frame))
        retire_free(fa, frame);
    else
        bitmap_set(fa->doomed_bm, frame, true);   /* used: retires on free; retired: no-op */
    return 0;
}

uint32_t frame_alloc_free_count(const struct frame_alloc *fa)
{
    return fa->nfree;
}

uint32_t frame_alloc_used_count(const struct frame_alloc *fa)
{
    return fa->nused;
}

uint32_t frame_alloc_retired_count(const struct frame_alloc *fa)
{
    return fa->nretired;
}

bool frame_alloc_is_used(const struct frame_alloc *fa, uint32_t frame)
{
    return frame < fa->n && bitmap_test(fa->used_bm, frame);
}

const uint64_t *frame_alloc_used_bitmap(const struct frame_alloc *fa)
{
    return fa->used_bm;
}
