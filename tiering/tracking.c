#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tiering/tracking.h"

#define PAGE_IDLE_BITMAP "/sys/kernel/mm/page_idle/bitmap"

const char *access_backend_name(enum access_backend b)
{
    switch (b) {
    case ACCESS_PAGE_IDLE: return "page_idle";
    case ACCESS_UFFD: return "uffd_minor_sampling";
    default: return "off";
    }
}

bool access_page_idle_available(void)
{
    return access(PAGE_IDLE_BITMAP, R_OK | W_OK) == 0 && access("/proc/self/pagemap", R_OK) == 0;
}

int access_backend_parse(const char *s, enum access_backend *out)
{
    if (!s || !strcmp(s, "auto"))
        *out = access_page_idle_available() ? ACCESS_PAGE_IDLE : ACCESS_UFFD;
    else if (!strcmp(s, "page_idle"))
        *out = ACCESS_PAGE_IDLE;
    else if (!strcmp(s, "uffd"))
        *out = ACCESS_UFFD;
    else if (!strcmp(s, "off"))
        *out = ACCESS_OFF;
    else
        return -EINVAL;
    return 0;
}

static int set_region(struct dirty_log *d, uint32_t flags)
{
    struct kvm_userspace_memory_region r = {
        .slot = d->slot, .flags = flags, .guest_phys_addr = d->guest_phys,
        .memory_size = d->size, .userspace_addr = (uint64_t)(uintptr_t)d->host,
    };
    return ioctl(d->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int dirty_log_enable(struct dirty_log *d, int vm_fd, uint32_t slot, uint64_t guest_phys,
                     void *host, uint64_t size)
{
    memset(d, 0, sizeof *d);
    d->vm_fd = vm_fd;
    d->slot = slot;
    d->guest_phys = guest_phys;
    d->size = size;
    d->host = host;
    d->words = (size / 4096 + 63) / 64;
    d->bitmap = calloc(d->words, sizeof *d->bitmap);
    if (!d->bitmap)
        return -ENOMEM;
    /* Manual protect: KVM_GET_DIRTY_LOG only copies the bitmap and
     * KVM_CLEAR_DIRTY_LOG re-protects just the pages that were dirty,
     * instead of re-protecting the whole slot every epoch. */
    int caps = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    if (caps > 0) {
        struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
                                     .args = {KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE}};
        d->manual = ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
    }
    int rc = set_region(d, KVM_MEM_LOG_DIRTY_PAGES);
    if (rc < 0) {
        free(d->bitmap);
        d->bitmap = NULL;
    }
    return rc;
}

void dirty_log_disable(struct dirty_log *d)
{
    if (!d->bitmap)
        return;
    set_region(d, 0);
    free(d->bitmap);
    d->bitmap = NULL;
}

/* Clear (re-protect) the dirty pages in 64-page-aligned chunks of set words. */
static int clear_dirty(struct dirty_log *d)
{
    uint64_t npages = d->size / 4096;
    for (uint64_t w = 0; w < d->words;) {
        if (!d->bitmap[w]) {
            w++;
            continue;
        }
        uint64_t end = w;
        while (end < d->words && d->bitmap[end])
            end++;
        uint64_t first = w * 64, n = (end - w) * 64;
        if (first + n > npages)
            n = npages - first;
        struct kvm_clear_dirty_log c = {.slot = d->slot, .first_page = first, .num_pages = (uint32_t)n,
                                        .dirty_bitmap = d->bitmap + w};
        if (ioctl(d->vm_fd, KVM_CLEAR_DIRTY_LOG, &c) < 0)
            return -errno;
        w = end;
    }
    return 0;
}

int dirty_log_fetch(struct dirty_log *d)
{
    struct kvm_dirty_log log = {.slot = d->slot, .dirty_bitmap = d->bitmap};
    memset(d->bitmap, 0, d->words * sizeof *d->bitmap);
    if (ioctl(d->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
        return -errno;
    return d->manual ? clear_dirty(d) : 0;
}

int page_idle_open(struct page_idle *pi)
{
    pi->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    pi->bitmap_fd = open(PAGE_IDLE_BITMAP, O_RDWR | O_CLOEXEC);
    if (pi->pagemap_fd < 0 || pi->bitmap_fd < 0) {
        int e = errno;
        page_idle_close(pi);
        return -e;
    }
    return 0;
}

void page_idle_close(struct page_idle *pi)
{
    if (pi->pagemap_fd >= 0)
        close(pi->pagemap_fd);
    if (pi->bitmap_fd >= 0)
        close(pi->bitmap_fd);
    pi->pagemap_fd = pi->bitmap_fd = -1;
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
int page_idle_mark(struct page_idle *pi, const void *addr)
{
    uint64_t pfn = pfn_of(pi, addr);
    if (!pfn)
        return 0;
    uint64_t word = 1ull << (pfn % 64);
    off_t off = (off_t)(pfn / 64 * 8);
    return pwrite(pi->bitmap_fd, &word, sizeof word, off) == sizeof word ? 0 : -errno;
}

int page_idle_accessed(struct page_idle *pi, const void *addr)
{
    uint64_t pfn = pfn_of(pi, addr);
    if (!pfn)
        return 0;
    uint64_t word;
    off_t off = (off_t)(pfn / 64 * 8);
    if (pread(pi->bitmap_fd, &word, sizeof word, off) != sizeof word)
        return -errno;
    return !(word >> (pfn % 64) & 1);
}
