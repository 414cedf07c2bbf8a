/* Access tracking with the kernel's idle page tracking: arming a page
 * marks its host page frame idle, and the harvest asks whether it still
 * is (KVM clears idle bits from the EPT/NPT accessed bits through its MMU
 * notifiers). The page frame comes from /proc/self/pagemap; a page that is
 * not resident reads as not accessed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bitmap.h"
#include "tiering/tracking.h"

#define PAGE_IDLE_BITMAP "/sys/kernel/mm/page_idle/bitmap"

struct page_idle {
    int pagemap_fd, bitmap_fd;
};

bool track_page_idle_available(void)
{
    return access(PAGE_IDLE_BITMAP, R_OK | W_OK) == 0 && access("/proc/self/pagemap", R_OK) == 0;
}

enum tiering_access track_access_resolve(enum tiering_access a)
{
    if (a != TIERING_ACCESS_AUTO)
        return a;
    return track_page_idle_available() ? TIERING_ACCESS_PAGE_IDLE : TIERING_ACCESS_UFFD;
}

static int pi_init(struct tracker *tk, char *err, size_t errlen)
{
    struct page_idle *pi = tk->priv;
    pi->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    pi->bitmap_fd = open(PAGE_IDLE_BITMAP, O_RDWR | O_CLOEXEC);
    if (pi->pagemap_fd < 0 || pi->bitmap_fd < 0) {
        snprintf(err, errlen, "page_idle: %s", strerror(errno));
        return -EINVAL;
    }
    return 0;
}

static void pi_fini(struct tracker *tk)
{
    struct page_idle *pi = tk->priv;
    if (pi->pagemap_fd >= 0)
        close(pi->pagemap_fd);
    if (pi->bitmap_fd >= 0)
        close(pi->bitmap_fd);
}

/* PFN of a resident page (pagemap bit 63 present, bits 0-54 PFN), or 0. */
static uint64_t pfn_of(struct page_idle *pi, const void *addr)
{
    uint64_t e;
    off_t off = (off_t)((uintptr_t)addr / 4096 * 8);
    if (pread(pi->pagemap_fd, &e, sizeof e, off) != sizeof e || !(e >> 63 & 1))
        return 0;
    return e & ((1ull << 55) - 1);
}

/* The idle bitmap is read and written in 64-bit words (64 PFNs each). */
static size_t pi_arm(struct tracker *tk, uint64_t *pages, size_t n)
{
    struct page_idle *pi = tk->priv;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t pfn = pfn_of(pi, core_guest_page(tk->core, pages[i]));
        uint64_t word = 1ull << (pfn % 64);
        /* A page not resident now is armed too: it reads as idle. */
        if (!pfn || pwrite(pi->bitmap_fd, &word, sizeof word, (off_t)(pfn / 64 * 8)) == sizeof word) {
            pages[kept++] = pages[i];
        }
    }
    return kept;
}

static int pi_harvest(struct tracker *tk, const uint64_t *pages, size_t n, uint64_t *seen)
{
    struct page_idle *pi = tk->priv;
    for (size_t i = 0; i < n; i++) {
        uint64_t p = pages[i], word, pfn = pfn_of(pi, core_guest_page(tk->core, p));
        if (pfn && pread(pi->bitmap_fd, &word, sizeof word, (off_t)(pfn / 64 * 8)) == sizeof word &&
            !(word >> (pfn % 64) & 1))
            bitmap_set(seen, p, true);
    }
    return 0;
}

const struct track_ops track_page_idle_ops = {.name = "page_idle", .priv_size = sizeof(struct page_idle),
                                              .init = pi_init, .fini = pi_fini, .arm = pi_arm, .harvest = pi_harvest};
