/* Host-mapping accounting. Every run of guest pages that one host mapping
 * can cover (placement_merges) needs one VMA, and a process may have only
 * vm.max_map_count of them (65530 by default): a scatter of single demoted
 * pages would run out. The migration engine keeps an exact incremental
 * count of the guest's runs (changing pages [first, first+n) changes only
 * the boundaries around them), plus `slack`, the process's other mappings,
 * recounted from /proc/self/maps near the ceiling. Limits:
 *   demotion stops   when runs + slack would pass `limit`;
 *   block promotion  past `hard`, a promotion takes the whole 2 MiB block,
 *                    which replaces the mappings in it by one, so the
 *                    count falls; the gap above `hard` is for the edge
 *                    splits those need.
 * Owned by the migration engine; fields under the core lock. */
#ifndef AROM_TIERING_MAPS_H
#define AROM_TIERING_MAPS_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tiering/placement.h"

struct maps {
    uint64_t runs;              /* guest runs: one host mapping each */
    int64_t slack;              /* process mappings not counted in runs (recalibrated) */
    uint64_t limit, hard, max_map_count, base;
    uint64_t recounts, demotions_stopped, block_promotions;
};

/* Read vm.max_map_count and this process's mappings now; cap (0 = from
 * vm.max_map_count) limits the guest's own. -EINVAL, with err, when cap
 * leaves no headroom for block promotions under vm.max_map_count. */
int maps_init(struct maps *m, uint64_t cap, char *err, size_t errlen);
/* Boundaries between neighbouring pages around [first, first+n): each
 * separates two host mappings. Take it before and after a change. */
uint64_t maps_breaks(const struct placement *pm, uint64_t first, uint64_t n);
void maps_adjust(struct maps *m, uint64_t breaks_before, uint64_t breaks_after);
/* May a demotion (up to two new mappings) go ahead? Counts a refusal. */
bool maps_may_demote(struct maps *m);
/* Must a promotion take its whole block? Counts it when so. */
bool maps_block_promotion(struct maps *m);
/* Counts a block promotion done for another reason (a failed mmap). */
void maps_note_block_promotion(struct maps *m);
/* Close enough to `limit` (within margin) that the estimate should be recounted. */
bool maps_near_limit(const struct maps *m, uint64_t margin);
/* Mappings of this process right now. Takes mmap_lock: never with the core lock held. */
uint64_t maps_process_count(void);
/* Set slack from the kernel's count; takes lock itself (call without it). */
void maps_recount(struct maps *m, pthread_mutex_t *lock);
/* The "mappings" stats section; process_maps from maps_process_count(). Lock held. */
/* process_maps: counted in /proc/self/maps, or NULL (live views: counting
 * takes ~10 ms and the mmap lock at 8k mappings). */
json_object *maps_json(const struct maps *m, const uint64_t *process_maps);

#endif
