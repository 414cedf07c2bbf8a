/* Delayed hole punching. A demotion leaves the page's DRAM copy in the
 * memfd for a while instead of punching it out at once: while it is kept,
 * a promotion of that page (a store soon after the demotion: the costly
 * ping-pong case) needs no copy from LtRAM and no first touch of a fresh
 * DRAM page — the page's DRAM home still holds exactly the data LtRAM holds,
 * since the guest cannot write an LtRAM page without promoting it. Kept
 * pages are real DRAM use (the budget counts them), so they are few: the
 * most recently demoted max_pages, punched oldest first.
 * Owned by the migration engine; call with the core lock held. */
#ifndef AROM_TIERING_PUNCH_H
#define AROM_TIERING_PUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct punch_run {
    uint64_t start, n;
};

struct punch_queue {
    int fd;                     /* the DRAM memfd */
    uint64_t *kept;             /* bitmap: DRAM copy still there */
    struct punch_run *ring;     /* demoted runs, oldest first */
    size_t head, len, cap;
    uint64_t pages, max_pages;  /* kept now; at most */
    uint64_t hits, punched, punch_errors;
};

/* max_pages 0: punch at once. 0 or -ENOMEM. */
int punch_init(struct punch_queue *q, int fd, uint64_t npages, uint64_t max_pages);
void punch_fini(struct punch_queue *q);
/* Pages [start, start+n) were demoted: keep their DRAM copies, punching
 * the oldest kept ones beyond max_pages. */
void punch_defer(struct punch_queue *q, uint64_t start, uint64_t n);
/* Punch the oldest kept copies until n pages are released (or none is
 * left): DRAM over the budget goes to kept copies first. Returns pages
 * released. */
uint64_t punch_release(struct punch_queue *q, uint64_t n);
/* The page is being promoted: true if its DRAM copy was kept (and is now
 * in use again, no longer kept), false if it must be copied back. */
bool punch_take(struct punch_queue *q, uint64_t page);
/* The page's DRAM copy may no longer match (its LtRAM frame was written in
 * place): never use it. */
void punch_forget(struct punch_queue *q, uint64_t page);

#endif
