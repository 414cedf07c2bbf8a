/* What the tiering daemon learns about guest memory each epoch:
 *   written pages  — the KVM dirty log of the guest-RAM memslot;
 *   accessed pages — a sample, from one of two backends chosen at start:
 *     page_idle  the kernel's idle page tracking (reads the real EPT/NPT
 *                accessed bits through KVM's MMU notifiers), when the host
 *                has /sys/kernel/mm/page_idle;
 *     uffd       sampled access faults: zap the PTEs of a sample of pages,
 *                the guest's next touch arrives as a userfaultfd minor fault
 *                (fault.c resolves it with UFFDIO_CONTINUE and marks it).
 * LtRAM-resident pages need no dirty tracking: a store promotes them. */
#ifndef AROM_TIERING_TRACKING_H
#define AROM_TIERING_TRACKING_H

#include <stdbool.h>
#include <stdint.h>

enum access_backend { ACCESS_OFF, ACCESS_PAGE_IDLE, ACCESS_UFFD };

const char *access_backend_name(enum access_backend b);
/* "auto" picks page_idle when the host has it, else uffd. */
int access_backend_parse(const char *s, enum access_backend *out);
bool access_page_idle_available(void);

struct dirty_log {
    int vm_fd;
    uint32_t slot;
    uint64_t guest_phys;
    uint64_t size;
    void *host;
    uint64_t *bitmap;          /* one bit per page, filled by dirty_log_fetch */
    uint64_t words;
    bool manual;               /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 in use */
};

/* Turn on KVM_MEM_LOG_DIRTY_PAGES for the memslot. 0 or -errno. */
int dirty_log_enable(struct dirty_log *d, int vm_fd, uint32_t slot, uint64_t guest_phys,
                     void *host, uint64_t size);
void dirty_log_disable(struct dirty_log *d);
/* Pages written since the last fetch -> d->bitmap. 0 or -errno. */
int dirty_log_fetch(struct dirty_log *d);

/* page_idle backend: mark the pages at host addresses idle, then later ask
 * which were touched. Pages not resident are reported as not accessed. */
struct page_idle {
    int pagemap_fd;
    int bitmap_fd;
};
int page_idle_open(struct page_idle *pi);
void page_idle_close(struct page_idle *pi);
int page_idle_mark(struct page_idle *pi, const void *addr);
/* 1 accessed since marked, 0 idle, -errno on error. */
int page_idle_accessed(struct page_idle *pi, const void *addr);

#endif
