#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/hypercall.h"

/* Each handler works on a host copy of the request and returns the action;
 * it sets the request's ret field. */
typedef enum hc_action (*hc_handler)(struct hc_ctx *ctx, void *req, int *status);

static enum hc_action hc_puts(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_puts *req = r;
    if (req->len > AROM_PUTS_MAX) {
        req->ret = -AROM_EINVAL;
        return HC_CONTINUE;
    }
    const char *p = guest_mem_ptr(ctx->gm, req->data, req->len);
    if (!p) {
        req->ret = -AROM_EFAULT;
        return HC_CONTINUE;
    }
    uint64_t done = 0;
    while (done < req->len) {
        ssize_t n = write(ctx->console_fd, p + done, req->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;          /* a closed console is the host's problem, not the guest's */
        done += (uint64_t)n;
    }
    req->ret = (int64_t)done;
    return HC_CONTINUE;
}

static enum hc_action hc_exit(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_exit *req = r;
    *status = req->status;
    req->ret = 0;
    return HC_VM_EXIT;
}

static enum hc_action hc_vcpu_done(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_exit *req = r;
    *status = req->status;
    req->ret = 0;
    return HC_VCPU_DONE;
}

static enum hc_action hc_time(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_time *req = r;
    req->ns = stats_now_ns();
    req->ret = 0;
    return HC_CONTINUE;
}

static int valid_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

static enum hc_action hc_report(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_report *req = r;
    if (req->key_len == 0 || req->key_len > AROM_REPORT_KEY_MAX) {
        req->ret = -AROM_EINVAL;
        return HC_CONTINUE;
    }
    const char *src = guest_mem_ptr(ctx->gm, req->key, req->key_len);
    if (!src) {
        req->ret = -AROM_EFAULT;
        return HC_CONTINUE;
    }
    char key[AROM_REPORT_KEY_MAX];
    memcpy(key, src, req->key_len);     /* copy first: the guest may change it */
    for (uint64_t i = 0; i < req->key_len; i++) {
        if (!valid_key_char(key[i])) {
            req->ret = -AROM_EINVAL;
            return HC_CONTINUE;
        }
    }
    if (!isfinite(req->value)) {        /* NaN and infinities have no JSON form */
        req->ret = -AROM_EINVAL;
        return HC_CONTINUE;
    }
    req->ret = stats_report(ctx->stats, key, req->key_len, req->value) < 0 ? -AROM_ENOSPC : 0;
    return HC_CONTINUE;
}

/* A page-aligned, non-empty range inside guest RAM: 0 or -AROM_E*. */
static int64_t check_page_range(struct hc_ctx *ctx, arom_gpa_t addr, uint64_t len)
{
    if (addr % AROM_PAGE_SIZE || len % AROM_PAGE_SIZE || len == 0)
        return -AROM_EINVAL;
    return guest_mem_ptr(ctx->gm, addr, len) ? 0 : -AROM_EFAULT;
}

static enum hc_action hc_hint(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_hint *req = r;
    if (!ctx->ops.hint)
        req->ret = -AROM_ENOSYS;
    else if ((req->ret = check_page_range(ctx, req->addr, req->len)) == 0)
        req->ret = ctx->ops.hint(ctx->ops.opaque, req->addr, req->len, req->kind);
    return HC_CONTINUE;
}

static enum hc_action hc_tier_stats(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_tier_stats *req = r;
    req->ret = ctx->ops.tier_stats ? ctx->ops.tier_stats(ctx->ops.opaque, req) : -AROM_ENOSYS;
    return HC_CONTINUE;
}

static enum hc_action hc_tier_query(struct hc_ctx *ctx, void *r, int *status)
{
    struct arom_hc_tier_query *req = r;
    if (!ctx->ops.tier_query)
        req->ret = -AROM_ENOSYS;
    else if ((req->ret = check_page_range(ctx, req->addr, req->len)) == 0)
        req->ret = ctx->ops.tier_query(ctx->ops.opaque, req);
    return HC_CONTINUE;
}

static const struct {
    size_t size;
    hc_handler fn;
} hc_table[AROM_HC_MAX] = {
    [AROM_HC_PUTS] = {sizeof(struct arom_hc_puts), hc_puts},
    [AROM_HC_EXIT] = {sizeof(struct arom_hc_exit), hc_exit},
    [AROM_HC_TIME] = {sizeof(struct arom_hc_time), hc_time},
    [AROM_HC_REPORT] = {sizeof(struct arom_hc_report), hc_report},
    [AROM_HC_VCPU_DONE] = {sizeof(struct arom_hc_exit), hc_vcpu_done},
    [AROM_HC_HINT] = {sizeof(struct arom_hc_hint), hc_hint},
    [AROM_HC_TIER_STATS] = {sizeof(struct arom_hc_tier_stats), hc_tier_stats},
    [AROM_HC_TIER_QUERY] = {sizeof(struct arom_hc_tier_query), hc_tier_query},
};

/* Every request struct ends with int64_t ret. */
#define MAX_REQ 128
_Static_assert(sizeof(struct arom_hc_report) <= MAX_REQ && sizeof(struct arom_hc_tier_stats) <= MAX_REQ &&
               sizeof(struct arom_hc_hint) <= MAX_REQ && sizeof(struct arom_hc_tier_query) <= MAX_REQ,
               "request larger than MAX_REQ");

enum hc_action hypercall_handle(struct hc_ctx *ctx, unsigned nr, uint64_t gpa, int *status,
                                char *err, size_t errlen)
{
    if (nr >= AROM_HC_MAX) {
        snprintf(err, errlen, "unknown hypercall %u (request at GPA 0x%llx)", nr,
                 (unsigned long long)gpa);
        ctx->stats->hypercall_errors++;
        return HC_FATAL;
    }
    size_t size = hc_table[nr].size;
    void *guest = guest_mem_ptr(ctx->gm, gpa, size);
    if (!guest || gpa % 8) {
        snprintf(err, errlen, "hypercall %u: request at GPA 0x%llx (%zu bytes) is %s", nr,
                 (unsigned long long)gpa, size, guest ? "misaligned" : "outside guest RAM");
        ctx->stats->hypercall_errors++;
        return HC_FATAL;
    }
    _Alignas(8) unsigned char req[MAX_REQ];
    memcpy(req, guest, size);
    stats_count_hypercall(ctx->stats, nr);
    enum hc_action a = hc_table[nr].fn(ctx, req, status);
    int64_t ret;
    memcpy(&ret, req + size - sizeof ret, sizeof ret);
    if (ret < 0)
        ctx->stats->hypercall_errors++;
    memcpy(guest, req, size);           /* outputs and ret back to the guest */
    return a;
}
