/*
 * Typed wrappers around arom__hypercall(). Each builds its request on the
 * stack (the ABI wants it below 4 GiB; stacks are at 1-4 MiB) and returns
 * the host's `ret`. Caller buffers may live anywhere in guest RAM.
 */
#include "arom.h"

int64_t arom_puts(const char *s, size_t len)
{
    int64_t total = 0;
    /* Chunk so that any length is legal; each chunk is one atomic write. */
    while (len > 0) {
        size_t n = len < AROM_PUTS_MAX ? len : AROM_PUTS_MAX;
        struct arom_hc_puts req = { .data = (arom_gpa_t)(uintptr_t)s, .len = n };
        arom__hypercall(AROM_HC_PUTS, &req);
        if (req.ret < 0)
            return req.ret;
        total += req.ret;
        s += n;
        len -= n;
    }
    return total;
}

void arom_exit(int status)
{
    for (;;) { /* the host never resumes us; loop rather than run off */
        struct arom_hc_exit req = { .status = status };
        arom__hypercall(AROM_HC_EXIT, &req);
    }
}

void arom__vcpu_done(int status)
{
    for (;;) {
        struct arom_hc_exit req = { .status = status };
        arom__hypercall(AROM_HC_VCPU_DONE, &req);
    }
}

void arom_vcpu_done(void)
{
    arom__vcpu_done(0);
}

uint64_t arom_time_ns(void)
{
    struct arom_hc_time req = { 0 };
    arom__hypercall(AROM_HC_TIME, &req);
    return req.ns;
}

int64_t arom_report(const char *key, double value)
{
    struct arom_hc_report req = {
        .key = (arom_gpa_t)(uintptr_t)key,
        .key_len = strlen(key),
        .value = value,
    };
    arom__hypercall(AROM_HC_REPORT, &req);
    return req.ret;
}

int64_t arom_hint(void *addr, size_t len, unsigned kind)
{
    struct arom_hc_hint req = {
        .addr = (arom_gpa_t)(uintptr_t)addr,
        .len = len,
        .kind = kind,
    };
    arom__hypercall(AROM_HC_HINT, &req);
    return req.ret;
}

int64_t arom_tier_stats(struct arom_hc_tier_stats *out)
{
    /* Copy through the stack: `out` may be a heap address above 4 GiB. */
    struct arom_hc_tier_stats req = { 0 };
    arom__hypercall(AROM_HC_TIER_STATS, &req);
    *out = req;
    return req.ret;
}

int64_t arom_tier_query(const void *addr, size_t len, uint64_t *ltram_pages, uint64_t *dram_pages)
{
    struct arom_hc_tier_query req = { .addr = (arom_gpa_t)(uintptr_t)addr, .len = len };
    arom__hypercall(AROM_HC_TIER_QUERY, &req);
    if (ltram_pages)
        *ltram_pages = req.ltram_pages;
    if (dram_pages)
        *dram_pages = req.dram_pages;
    return req.ret;
}
