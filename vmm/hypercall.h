/* Hypercall dispatch: a table indexed by port offset (as in Solo5's hvt).
 * Requests are copied out of guest RAM, validated, handled and the result
 * copied back, so a guest racing on its own request struct cannot make the
 * host act on a value it did not validate. Testable without KVM. */
#ifndef AROM_HYPERCALL_H
#define AROM_HYPERCALL_H

#include <stddef.h>
#include <stdint.h>

#include "arom/abi.h"
#include "vmm/guest_mem.h"
#include "vmm/stats.h"

/* What the VM provides to hypercalls that reach beyond the VMM core. */
struct hc_ops {
    /* Tiering hint for [gpa, gpa+len): pages acted on or -AROM_E*. */
    int64_t (*hint)(void *opaque, arom_gpa_t gpa, uint64_t len, uint32_t kind);
    /* Fill tiering counters; -AROM_ENOSYS when tiering is off. */
    int64_t (*tier_stats)(void *opaque, struct arom_hc_tier_stats *out);
    /* Fill ltram_pages/dram_pages of a validated range. */
    int64_t (*tier_query)(void *opaque, struct arom_hc_tier_query *q);
    void *opaque;
};

struct hc_ctx {
    struct guest_mem *gm;
    struct vmm_stats *stats;
    int console_fd;
    struct hc_ops ops;
};

enum hc_action {
    HC_CONTINUE,      /* resume the vCPU */
    HC_VCPU_DONE,     /* this vCPU stops; status in *status */
    HC_VM_EXIT,       /* the VM ends with *status */
    HC_FATAL,         /* the request itself is unreadable: end the VM, message in err */
};

/* Handle hypercall nr whose request struct is at gpa. */
enum hc_action hypercall_handle(struct hc_ctx *ctx, unsigned nr, uint64_t gpa, int *status,
                                char *err, size_t errlen);

#endif
