/* The fault thread's list of faults to retry: those it could not serve
 * because a remap event was still unread (the kernel refuses write-protect
 * changes then). Nothing is ever dropped: the list grows as needed. Each
 * (page, kind) is held once, since a spurious wake makes a blocked vCPU
 * fault again on the same page and that duplicate needs no second service;
 * so the length stays bounded by the pages vCPUs are blocked on (at most
 * one each, two for a store straddling pages).
 *
 * Used by the fault thread only; the counters are atomics so stats can be
 * read from other threads. */
#ifndef AROM_TIERING_FAULT_QUEUE_H
#define AROM_TIERING_FAULT_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pending_fault {
    uint64_t page;
    uint64_t since;     /* receive time (ns) of a write fault; 0 marks an access (minor) fault */
};

struct fault_queue {
    struct pending_fault *v;
    size_t n, cap;
    atomic_uint_fast64_t added, duplicates, max_depth;
};

/* 0 added, 1 already held (counted as a duplicate), -ENOMEM. */
int fault_queue_add(struct fault_queue *q, uint64_t page, uint64_t since);
/* Call serve on every held fault in order; keep those it returns false
 * for. Returns how many are left. */
size_t fault_queue_retry(struct fault_queue *q, bool (*serve)(void *ctx, uint64_t page, uint64_t since),
                         void *ctx);
void fault_queue_free(struct fault_queue *q);

#endif
