/* Where each 4 KiB guest page lives: DRAM, or LtRAM frame F; plus the
 * mechanism's flags (pinned, migration in flight). Facts only: what the
 * policy learns about pages lives with the daemon (daemon.c).
 *
 * Layout: one 8-byte entry per page (array of structs): the fault path and
 * the demotion batcher look at tier, frame and flags of the same page
 * together; the scans are linear and prefetch well; and it is one
 * allocation (16 MiB for an 8 GiB guest).
 *
 * Out-of-range pages read as DRAM, not pinned, not migrating, no frame;
 * setters return -EINVAL for them. Not internally locked. */
#ifndef AROM_TIERING_PLACEMENT_H
#define AROM_TIERING_PLACEMENT_H

#include <stdbool.h>
#include <stdint.h>

#define PLACEMENT_NO_FRAME UINT32_MAX   /* placement_frame() of a DRAM page */

enum tier { TIER_DRAM = 0, TIER_LTRAM = 1 };

struct placement;

/* All pages start on DRAM, unpinned, not migrating, zeroed daemon fields.
 * Returns 0, -EINVAL (npages 0) or -ENOMEM. */
int placement_init(struct placement **out, uint64_t npages);
void placement_destroy(struct placement *pm);
uint64_t placement_pages(const struct placement *pm);

enum tier placement_tier(const struct placement *pm, uint64_t page);
uint32_t placement_frame(const struct placement *pm, uint64_t page);
/* Mechanism only: pinned pages are kept off LtRAM by the demotion scan
 * (placement_next_demotable_run), not here. frame must not be NO_FRAME. */
int placement_set_ltram(struct placement *pm, uint64_t page, uint32_t frame);
int placement_set_dram(struct placement *pm, uint64_t page);

bool placement_pinned(const struct placement *pm, uint64_t page);        /* never demote */
int placement_set_pinned(struct placement *pm, uint64_t page, bool on);
bool placement_migrating(const struct placement *pm, uint64_t page);     /* migration in flight */
int placement_set_migrating(struct placement *pm, uint64_t page, bool on);

/* Pages on tier t; O(1). */
uint64_t placement_count(const struct placement *pm, enum tier t);

/* The first run of pages in [from, to) that are on DRAM, not pinned and not
 * migrating: returns its length (<= max_run; 0 if none) and sets *start.
 * Batches demotions. */
uint64_t placement_next_demotable_run(const struct placement *pm, uint64_t from, uint64_t to,
                                      uint64_t max_run, uint64_t *start);

/* DRAM, not pinned, not migrating: what the mechanism may demote. */
bool placement_demotable(const struct placement *pm, uint64_t page);

/* Would one host mapping cover pages a-1 and a? Both on DRAM (a page's
 * DRAM home is its own memfd offset, so neighbours merge), or both on
 * LtRAM with consecutive frames. The one run-merge rule. */
bool placement_merges(const struct placement *pm, uint64_t a);

/* Host mappings the current placement needs: maximal runs of consecutive
 * pages that are both DRAM (identity offsets merge) or both LtRAM with
 * consecutive frames. O(pages). */
uint64_t placement_mapping_runs(const struct placement *pm);

#endif
