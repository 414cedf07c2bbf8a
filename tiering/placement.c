/* Per-page placement map: tier, LtRAM frame, flags. */
#include "tiering/placement.h"

#include <errno.h>
#include <stdlib.h>

enum {
    PF_LTRAM     = 1u << 0,
    PF_PINNED    = 1u << 1,
    PF_MIGRATING = 1u << 2,
};

struct page_entry {
    uint32_t frame;          /* LtRAM frame, PLACEMENT_NO_FRAME on DRAM */
    uint8_t flags;           /* PF_* */
    uint8_t pad[3];
};

_Static_assert(sizeof(struct page_entry) == 8, "placement entry must stay 8 bytes");

struct placement {
    uint64_t npages;
    uint64_t count[2];       /* pages per tier */
    struct page_entry *e;
};

int placement_init(struct placement **out, uint64_t npages)
{
    if (!out || npages == 0 || npages > SIZE_MAX / sizeof(struct page_entry))
        return -EINVAL;
    *out = NULL;
    struct placement *pm = calloc(1, sizeof *pm);
    if (!pm)
        return -ENOMEM;
    pm->e = malloc(npages * sizeof *pm->e);
    if (!pm->e) {
        free(pm);
        return -ENOMEM;
    }
    for (uint64_t p = 0; p < npages; p++)
        pm->e[p] = (struct page_entry){ .frame = PLACEMENT_NO_FRAME };
    pm->npages = npages;
    pm->count[TIER_DRAM] = npages;
    *out = pm;
    return 0;
}

void placement_destroy(struct placement *pm)
{
    if (!pm)
        return;
    free(pm->e);
    free(pm);
}

uint64_t placement_pages(const struct placement *pm)
{
    return pm->npages;
}

static bool has(const struct placement *pm, uint64_t page, unsigned flag)
{
    return page < pm->npages && (pm->e[page].flags & flag);
}

static int set_flag(struct placement *pm, uint64_t page, unsigned flag, bool on)
{
    if (page >= pm->npages)
        return -EINVAL;
    if (on)
        pm->e[page].flags |= (uint8_t)flag;
    else
        pm->e[page].flags &= (uint8_t)~flag;
    return 0;
}

enum tier placement_tier(const struct placement *pm, uint64_t page)
{
    return has(pm, page, PF_LTRAM) ? TIER_LTRAM : TIER_DRAM;
}

uint32_t placement_frame(const struct placement *pm, uint64_t page)
{
    return page < pm->npages ? pm->e[page].frame : PLACEMENT_NO_FRAME;
}

int placement_set_ltram(struct placement *pm, uint64_t page, uint32_t frame)
{
    if (page >= pm->npages || frame == PLACEMENT_NO_FRAME)
        return -EINVAL;
    if (!(pm->e[page].flags & PF_LTRAM)) {
        pm->count[TIER_DRAM]--;
        pm->count[TIER_LTRAM]++;
    }
    pm->e[page].flags |= PF_LTRAM;
    pm->e[page].frame = frame;
    return 0;
}

int placement_set_dram(struct placement *pm, uint64_t page)
{
    if (page >= pm->npages)
        return -EINVAL;
    if (pm->e[page].flags & PF_LTRAM) {
        pm->count[TIER_LTRAM]--;
        pm->count[TIER_DRAM]++;
    }
    pm->e[page].flags &= (uint8_t)~PF_LTRAM;
    pm->e[page].frame = PLACEMENT_NO_FRAME;
    return 0;
}

bool placement_pinned(const struct placement *pm, uint64_t page)
{
    return has(pm, page, PF_PINNED);
}

int placement_set_pinned(struct placement *pm, uint64_t page, bool on)
{
    return set_flag(pm, page, PF_PINNED, on);
}

bool placement_migrating(const struct placement *pm, uint64_t page)
{
    return has(pm, page, PF_MIGRATING);
}

int placement_set_migrating(struct placement *pm, uint64_t page, bool on)
{
    return set_flag(pm, page, PF_MIGRATING, on);
}

uint64_t placement_count(const struct placement *pm, enum tier t)
{
    return t == TIER_DRAM || t == TIER_LTRAM ? pm->count[t] : 0;
}

static bool demotable(const struct page_entry *e)
{
    return !(e->flags & (PF_LTRAM | PF_PINNED | PF_MIGRATING));
}

bool placement_demotable(const struct placement *pm, uint64_t page)
{
    return page < pm->npages && demotable(&pm->e[page]);
}

uint64_t placement_next_demotable_run(const struct placement *pm, uint64_t from, uint64_t to,
                                      uint64_t max_run, uint64_t *start)
{
    if (to > pm->npages)
        to = pm->npages;
    if (max_run == 0 || !start)
        return 0;
    uint64_t p = from;
    while (p < to && !demotable(&pm->e[p]))
        p++;
    uint64_t len = 0;
    while (p + len < to && len < max_run && demotable(&pm->e[p + len]))
        len++;
    if (len)
        *start = p;
    return len;
}

static bool merges(const struct page_entry *a, const struct page_entry *b)
{
    bool la = a->flags & PF_LTRAM, lb = b->flags & PF_LTRAM;
    if (la != lb)
        return false;
    return !la || (uint64_t)b->frame == (uint64_t)a->frame + 1;
}

bool placement_merges(const struct placement *pm, uint64_t a)
{
    return a > 0 && a < pm->npages && merges(&pm->e[a - 1], &pm->e[a]);
}

uint64_t placement_mapping_runs(const struct placement *pm)
{
    uint64_t runs = 1;
    for (uint64_t p = 1; p < pm->npages; p++)
        runs += !merges(&pm->e[p - 1], &pm->e[p]);
    return runs;
}
