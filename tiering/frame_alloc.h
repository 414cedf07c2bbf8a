/* Wear-levelling allocator of LtRAM frames, handing out contiguous runs.
 *
 * Every frame is free, used or retired. Retired frames reached their
 * endurance (or were retired by force) and are never handed out again; a
 * used frame that becomes due keeps its data and retires when freed, so no
 * content is ever lost. free + used + retired == nframes.
 *
 * Policy: next-fit from a cursor that rotates over the frame ring, like a
 * flash FTL's circular log. Consecutive allocations come out contiguous, so
 * neighbouring guest pages land on neighbouring frames and the host
 * mappings merge; and every frame is reused in turn, which levels wear.
 * On top of that, a least-worn preference: a free frame is a candidate only
 * if its wear is at most
 *
 *     limit = max(mean + slack(mean), min_free + slack(min_free)),
 *     slack(w) = max(4, w / 32),
 *
 * where mean is the mean wear over ALL frames and min_free the lowest wear
 * among free frames. The mean term bounds the yardstick directly: while
 * free frames near the mean exist, none is handed out with wear above
 * mean + max(4, mean/32), so max/mean stays near 1.03 at any age (the AROM
 * prototype reports it after 1M writes, long before end of life, which an
 * endurance-based slack would leave unlevelled), and <~3% of device life is
 * lost at the end. Basing the limit on the mean, not on
 * min_free, lets the ring run through everything below it instead of chasing
 * the few lagging frames a long-resident page leaves behind, which keeps
 * runs long. The min_free term guarantees a candidate exists when every
 * free frame is above the mean (a resident cold set holds the low-wear
 * ones); the floor of 4 keeps young devices from breaking runs on +-1
 * jitter. Measured on 4096 frames, 1M frame writes of random demote/promote
 * churn: max/mean 1.03 at 2.9 frames per run; the plain ring gives 1.22 at
 * 4.3, a min_free-based slack 1.02 at 1.4.
 *
 * The run starts at the first candidate at or after the cursor and extends
 * over contiguous free candidates up to `want`; it is the first fit, not
 * the longest run in the device. If no candidate turns up among the next
 * FRAME_ALLOC_SCAN_BUDGET free frames, the preference relaxes: the run
 * starts at the least-worn free frame seen. This bounds a call to
 * O(run + budget) frames plus bitmap words, independent of the device size.
 *
 * min_free comes from a histogram of free frames by wear (exact below 128,
 * then 64 log-spaced buckets per power of two) with a bitmap of non-empty
 * buckets; the mean from a running sum of the wear last seen per frame
 * (updated on note_written, free and allocation). Both O(1).
 *
 * `wear` is the live per-frame write count owned by the LtRAM device
 * (ltram_wear_array()); the allocator only reads it. Not internally
 * locked: call under the caller's lock. */
#ifndef AROM_TIERING_FRAME_ALLOC_H
#define AROM_TIERING_FRAME_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#define FRAME_ALLOC_SCAN_BUDGET 4096u

struct frame_alloc;

/* Frames whose wear already reached `endurance` start retired. endurance 0
 * = unlimited. Returns 0, -EINVAL (nframes 0, wear NULL) or -ENOMEM. */
int frame_alloc_init(struct frame_alloc **out, uint32_t nframes, const uint32_t *wear,
                     uint64_t endurance);
void frame_alloc_destroy(struct frame_alloc *fa);

/* Take frames first, first+1, ... (up to want) while each is free and no
 * more worn than frame_alloc_run would accept. Returns how many (0: none).
 * The migration engine asks for the frames next to a page's LtRAM
 * neighbours, so a page that comes back to LtRAM lands where it merges with
 * them into one host mapping (typically the frame it left on promotion). */
uint32_t frame_alloc_claim(struct frame_alloc *fa, uint32_t first, uint32_t want);

/* Allocate up to `want` contiguous free frames (see the policy above).
 * Returns the run length, 0 if no frame is free or want is 0, and sets
 * *first to the run's first frame. */
uint32_t frame_alloc_run(struct frame_alloc *fa, uint32_t want, uint32_t *first);

/* Free used frames first..first+n-1; frames due for retirement (wear >=
 * endurance or retired by force) retire instead. Returns 0, or -EINVAL if
 * the range is out of bounds (nothing freed) or some frame in it was not
 * used (the used ones are still freed). */
int frame_alloc_free(struct frame_alloc *fa, uint32_t first, uint32_t n);

/* After the caller wrote frames (their wear went up in the live array):
 * frames that reached endurance will retire when freed. -EINVAL on range. */
int frame_alloc_note_written(struct frame_alloc *fa, uint32_t first, uint32_t n);

/* Retire a frame now (if free) or when freed (if used). -EINVAL on range. */
int frame_alloc_retire(struct frame_alloc *fa, uint32_t frame);

uint32_t frame_alloc_free_count(const struct frame_alloc *fa);
uint32_t frame_alloc_used_count(const struct frame_alloc *fa);
uint32_t frame_alloc_retired_count(const struct frame_alloc *fa);  /* out of service, not used */
bool frame_alloc_is_used(const struct frame_alloc *fa, uint32_t frame);

/* Bit f%64 of word f/64 set = frame f holds data.
 * Live, (nframes + 63) / 64 words. */
const uint64_t *frame_alloc_used_bitmap(const struct frame_alloc *fa);

#endif
