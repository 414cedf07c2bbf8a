#include <errno.h>

#include "vmm/hc_tiering.h"

/* Tiering answers -errno; the guest ABI has its own codes. */
static int64_t abi_ret(int64_t rc)
{
    switch (rc) {
    case -ENOSPC: return -AROM_ENOSPC;
    case -EAGAIN: return -AROM_EAGAIN;
    case -EFAULT: return -AROM_EFAULT;
    default: return rc < 0 ? -AROM_EINVAL : rc;
    }
}

static int hint_kind(uint32_t kind, enum tiering_hint *out)
{
    switch (kind) {
    case AROM_HINT_READ_MOSTLY:
    case AROM_HINT_DEMOTE: *out = TIERING_HINT_DEMOTE; return 0;
    case AROM_HINT_PIN_DRAM: *out = TIERING_HINT_PIN; return 0;
    case AROM_HINT_UNPIN: *out = TIERING_HINT_UNPIN; return 0;
    case AROM_HINT_WP_PROBE: *out = TIERING_HINT_WP_PROBE; return 0;
    default: return -EINVAL;
    }
}

static int64_t hc_hint(struct hc_call *call, void *r)
{
    struct arom_hc_hint *req = r;
    enum tiering_hint kind;
    int64_t rc = hc_check_page_range(call, req->addr, req->len);
    if (rc < 0)
        return rc;
    if (hint_kind(req->kind, &kind) < 0)
        return -AROM_EINVAL;
    return abi_ret(tiering_hint(call->opaque, req->addr / AROM_PAGE_SIZE, req->len / AROM_PAGE_SIZE, kind));
}

static int64_t hc_tier_stats(struct hc_call *call, void *r)
{
    struct arom_hc_tier_stats *req = r;
    struct tiering_counters c;
    tiering_counters(call->opaque, &c);
    *req = (struct arom_hc_tier_stats){
        .dram_pages = c.dram_pages, .ltram_pages = c.ltram_pages, .promotions = c.promotions,
        .demotions = c.demotions, .dram_resident_pages = c.dram_resident_pages,
        .dram_budget_pages = c.dram_budget_pages, .epochs = c.epochs,
    };
    return 0;
}

static int64_t hc_tier_query(struct hc_call *call, void *r)
{
    struct arom_hc_tier_query *req = r;
    int64_t rc = hc_check_page_range(call, req->addr, req->len);
    if (rc == 0)
        tiering_query(call->opaque, req->addr / AROM_PAGE_SIZE, req->len / AROM_PAGE_SIZE,
                      &req->ltram_pages, &req->dram_pages);
    return rc;
}

void hc_tiering_register(struct hc_ctx *ctx, struct tiering *t)
{
    hypercall_register(ctx, AROM_HC_HINT, hc_hint, t);
    hypercall_register(ctx, AROM_HC_TIER_STATS, hc_tier_stats, t);
    hypercall_register(ctx, AROM_HC_TIER_QUERY, hc_tier_query, t);
}
