#include "vmm/hc_tiering.h"

static enum hc_action hc_hint(struct hc_call *call, void *r)
{
    struct arom_hc_hint *req = r;
    if ((req->ret = hc_check_page_range(call, req->addr, req->len)) == 0)
        req->ret = tiering_hint(call->opaque, req->addr, req->len, req->kind);
    return HC_CONTINUE;
}

static enum hc_action hc_tier_stats(struct hc_call *call, void *r)
{
    struct arom_hc_tier_stats *req = r;
    tiering_counters(call->opaque, req);
    req->ret = 0;
    return HC_CONTINUE;
}

static enum hc_action hc_tier_query(struct hc_call *call, void *r)
{
    struct arom_hc_tier_query *req = r;
    if ((req->ret = hc_check_page_range(call, req->addr, req->len)) == 0)
        tiering_query(call->opaque, req->addr / AROM_PAGE_SIZE, req->len / AROM_PAGE_SIZE,
                      &req->ltram_pages, &req->dram_pages);
    return HC_CONTINUE;
}

void hc_tiering_register(struct hc_ctx *ctx, struct tiering *t)
{
    hypercall_register(ctx, AROM_HC_HINT, hc_hint, t);
    hypercall_register(ctx, AROM_HC_TIER_STATS, hc_tier_stats, t);
    hypercall_register(ctx, AROM_HC_TIER_QUERY, hc_tier_query, t);
}
