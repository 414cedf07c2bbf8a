#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "vmm/hypercall.h"

/* Request sizes are the ABI's: the core copies every request in and out,
 * whoever handles it. Every request struct ends with int64_t ret. */
static const size_t req_size[AROM_HC_MAX] = {
    [AROM_HC_PUTS] = sizeof(struct arom_hc_puts),
    [AROM_HC_EXIT] = sizeof(struct arom_hc_exit),
    [AROM_HC_TIME] = sizeof(struct arom_hc_time),
    [AROM_HC_REPORT] = sizeof(struct arom_hc_report),
    [AROM_HC_VCPU_DONE] = sizeof(struct arom_hc_exit),
    [AROM_HC_HINT] = sizeof(struct arom_hc_hint),
    [AROM_HC_TIER_STATS] = sizeof(struct arom_hc_tier_stats),
    [AROM_HC_TIER_QUERY] = sizeof(struct arom_hc_tier_query),
};

#define MAX_REQ 128
_Static_assert(sizeof(struct arom_hc_report) <= MAX_REQ && sizeof(struct arom_hc_tier_stats) <= MAX_REQ &&
               sizeof(struct arom_hc_hint) <= MAX_REQ && sizeof(struct arom_hc_tier_query) <= MAX_REQ,
               "request larger than MAX_REQ");

size_t hypercall_request_size(unsigned nr)
{
    return nr < AROM_HC_MAX ? req_size[nr] : 0;
}

void *hc_guest_ptr(const struct hc_call *call, arom_gpa_t addr, uint64_t len, bool write)
{
    return guest_mem_user_ptr(call->ctx->gm, call->ctx->cr3, addr, len, write);
}

int64_t hc_check_page_range(const struct hc_call *call, arom_gpa_t addr, uint64_t len)
{
    if (addr % AROM_PAGE_SIZE || len % AROM_PAGE_SIZE || len == 0)
        return -AROM_EINVAL;
    return hc_guest_ptr(call, addr, len, false) ? 0 : -AROM_EFAULT;
}

static int64_t hc_puts(struct hc_call *call, void *r)
{
    struct arom_hc_puts *req = r;
    if (req->len > AROM_PUTS_MAX)
        return -AROM_EINVAL;
    const char *p = hc_guest_ptr(call, req->data, req->len, false);
    if (!p)
        return -AROM_EFAULT;
    uint64_t done = 0;
    while (done < req->len) {
        ssize_t n = write(call->ctx->console_fd, p + done, req->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;      /* a closed console (EPIPE) is the host's problem, not the guest's */
        done += (uint64_t)n;
    }
    return (int64_t)done;
}

static int64_t hc_exit(struct hc_call *call, void *r)
{
    call->status = ((struct arom_hc_exit *)r)->status;
    call->action = HC_VM_EXIT;
    return 0;
}

static int64_t hc_vcpu_done(struct hc_call *call, void *r)
{
    call->status = ((struct arom_hc_exit *)r)->status;
    call->action = HC_VCPU_DONE;
    return 0;
}

static int64_t hc_time(struct hc_call *call, void *r)
{
    ((struct arom_hc_time *)r)->ns = clock_now_ns();
    return 0;
}

static int valid_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

static int64_t hc_report(struct hc_call *call, void *r)
{
    struct arom_hc_report *req = r;
    if (req->key_len == 0 || req->key_len > AROM_REPORT_KEY_MAX)
        return -AROM_EINVAL;
    const char *src = hc_guest_ptr(call, req->key, req->key_len, false);
    if (!src)
        return -AROM_EFAULT;
    char key[AROM_REPORT_KEY_MAX];
    memcpy(key, src, req->key_len);     /* copy first: the guest may change it */
    for (uint64_t i = 0; i < req->key_len; i++)
        if (!valid_key_char(key[i]))
            return -AROM_EINVAL;
    if (!isfinite(req->value))          /* NaN and infinities have no JSON form */
        return -AROM_EINVAL;
    return stats_report(call->ctx->stats, key, req->key_len, req->value) < 0 ? -AROM_ENOSPC : 0;
}

void hypercall_init(struct hc_ctx *ctx, struct guest_mem *gm, uint64_t cr3, struct vmm_stats *stats,
                    int console_fd)
{
    *ctx = (struct hc_ctx){.gm = gm, .cr3 = cr3, .stats = stats, .console_fd = console_fd};
    hypercall_register(ctx, AROM_HC_PUTS, hc_puts, NULL);
    hypercall_register(ctx, AROM_HC_EXIT, hc_exit, NULL);
    hypercall_register(ctx, AROM_HC_TIME, hc_time, NULL);
    hypercall_register(ctx, AROM_HC_REPORT, hc_report, NULL);
    hypercall_register(ctx, AROM_HC_VCPU_DONE, hc_vcpu_done, NULL);
}

int hypercall_register(struct hc_ctx *ctx, unsigned nr, hc_handler fn, void *opaque)
{
    if (nr >= AROM_HC_MAX || !req_size[nr])
        return -EINVAL;
    ctx->bound[nr].fn = fn;
    ctx->bound[nr].opaque = opaque;
    return 0;
}

enum hc_action hypercall_handle(struct hc_ctx *ctx, unsigned nr, uint64_t gpa, int *status,
                                char *err, size_t errlen)
{
    size_t size = hypercall_request_size(nr);
    if (!size) {
        snprintf(err, errlen, "unknown hypercall %u (request at GPA 0x%llx)", nr,
                 (unsigned long long)gpa);
        ctx->stats->hypercall_errors++;
        return HC_FATAL;
    }
    /* The answer goes back into the struct: the payload must be able to write it. */
    struct hc_call call = {.ctx = ctx, .opaque = ctx->bound[nr].opaque, .action = HC_CONTINUE};
    void *guest = gpa % 8 ? NULL : hc_guest_ptr(&call, gpa, size, true);
    if (!guest) {
        snprintf(err, errlen, "hypercall %u: request at 0x%llx (%zu bytes) is %s", nr,
                 (unsigned long long)gpa, size,
                 gpa % 8 ? "misaligned" : "not in memory the payload may write");
        ctx->stats->hypercall_errors++;
        return HC_FATAL;
    }
    _Alignas(8) unsigned char req[MAX_REQ];
    memcpy(req, guest, size);
    stats_count_hypercall(ctx->stats, nr);
    int64_t ret = ctx->bound[nr].fn ? ctx->bound[nr].fn(&call, req) : -AROM_ENOSYS;
    memcpy(req + size - sizeof ret, &ret, sizeof ret);
    if (ret < 0)
        ctx->stats->hypercall_errors++;
    *status = call.status;
    memcpy(guest, req, size);           /* outputs and ret back to the guest */
    return call.action;
}
