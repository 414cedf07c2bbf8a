#include <errno.h>
#include <stdlib.h>

#include "tiering/fault_queue.h"

int fault_queue_add(struct fault_queue *q, uint64_t page, uint64_t since)
{
    for (size_t i = 0; i < q->n; i++) {
        if (q->v[i].page == page && !q->v[i].since == !since) {
            atomic_fetch_add_explicit(&q->duplicates, 1, memory_order_relaxed);
            return 1;
        }
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        struct pending_fault *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n++] = (struct pending_fault){.page = page, .since = since};
    atomic_fetch_add_explicit(&q->added, 1, memory_order_relaxed);
    if (q->n > atomic_load_explicit(&q->max_depth, memory_order_relaxed))
        atomic_store_explicit(&q->max_depth, q->n, memory_order_relaxed);
    return 0;
}

size_t fault_queue_retry(struct fault_queue *q, bool (*serve)(void *ctx, uint64_t page, uint64_t since),
                         void *ctx)
{
    size_t kept = 0, n = q->n;
    for (size_t i = 0; i < n; i++)
        if (!serve(ctx, q->v[i].page, q->v[i].since))
            q->v[kept++] = q->v[i];
    q->n = kept;
    return kept;
}

void fault_queue_free(struct fault_queue *q)
{
    free(q->v);
    q->v = NULL;
    q->n = q->cap = 0;
}
