#include <sys/stat.h>

#include "tiering/core.h"

uint64_t core_dram_resident_pages(const struct tier_core *c)
{
    struct stat st;
    return fstat(c->dram_fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 / PAGE_SIZE_4K : 0;
}

bool core_demotable(const struct tier_core *c, uint64_t page, const unsigned char *resident)
{
    return page >= c->pinned_pages && placement_demotable(c->pm, page) && (!resident || resident[page]);
}
