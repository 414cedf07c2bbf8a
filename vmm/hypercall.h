/* Hypercall dispatch: a table indexed by port offset (as in Solo5's hvt).
 * The core serves puts, exit, vcpu_done, time and report; other parts of
 * the VMM bind their calls with hypercall_register (vmm/hc_tiering.c binds
 * the tiering calls), and a call nobody bound answers -AROM_ENOSYS.
 *
 * Requests are copied out of guest RAM, validated, handled and the result
 * copied back, so a guest racing on its own request struct cannot make the
 * host act on a value it did not validate. Every guest address a handler
 * touches goes through hc_guest_ptr(), which checks it against the rights
 * the guest's own page tables give CPL3: the payload cannot have the host
 * read or write memory it could not read or write itself. Testable without
 * KVM. */
#ifndef AROM_HYPERCALL_H
#define AROM_HYPERCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arom/abi.h"
#include "vmm/guest_mem.h"
#include "vmm/stats.h"

enum hc_action {
    HC_CONTINUE,      /* resume the vCPU */
    HC_VCPU_DONE,     /* this vCPU stops; status in call->status */
    HC_VM_EXIT,       /* the VM ends with call->status */
    HC_FATAL,         /* the request itself is unusable: end the VM, message in err */
};

struct hc_call;
/* A handler works on a host copy of the request (req), fills its outputs
 * and returns its ret (>= 0, or -AROM_E*); the core writes ret back. */
typedef int64_t (*hc_handler)(struct hc_call *call, void *req);

struct hc_ctx {
    struct guest_mem *gm;
    uint64_t cr3;                 /* the guest's page tables (identity, built by the VMM) */
    struct vmm_stats *stats;
    int console_fd;
    struct {
        hc_handler fn;
        void *opaque;
    } bound[AROM_HC_MAX];
};

/* What a handler sees of one call. */
struct hc_call {
    const struct hc_ctx *ctx;
    void *opaque;                 /* as given to hypercall_register */
    enum hc_action action;        /* out: HC_CONTINUE unless the handler says */
    int status;                   /* out: with HC_VCPU_DONE / HC_VM_EXIT */
};

/* Set up the table with the core calls bound. */
void hypercall_init(struct hc_ctx *ctx, struct guest_mem *gm, uint64_t cr3, struct vmm_stats *stats,
                    int console_fd);
/* Bind call nr to fn. 0, or -EINVAL for an unknown nr. */
int hypercall_register(struct hc_ctx *ctx, unsigned nr, hc_handler fn, void *opaque);

/* Size of call nr's request struct (the ABI's), 0 for an unknown nr. */
size_t hypercall_request_size(unsigned nr);

/* Handle hypercall nr whose request struct is at guest address gpa. */
enum hc_action hypercall_handle(struct hc_ctx *ctx, unsigned nr, uint64_t gpa, int *status,
                                char *err, size_t errlen);

/* Host pointer for the guest range [addr, addr+len) if CPL3 may read it
 * (and write it, when write) and it is one contiguous range of guest RAM;
 * NULL otherwise. len 0 is always valid (nothing may be dereferenced). */
void *hc_guest_ptr(const struct hc_call *call, arom_gpa_t addr, uint64_t len, bool write);
/* A page-aligned, non-empty range CPL3 may read: 0 or -AROM_EINVAL / -AROM_EFAULT. */
int64_t hc_check_page_range(const struct hc_call *call, arom_gpa_t addr, uint64_t len);

#endif
