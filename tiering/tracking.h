/* The monitor: what the tiering daemon learns about guest memory each
 * epoch, DAMON-style.
 *   written pages  — a write-tracking backend (the VM's KVM dirty log);
 *   accessed pages — a sample, tiling guest RAM with a rotating offset, each
 *                    sample standing for its region, from an access-tracking
 *                    backend chosen at start:
 *     page_idle  the kernel's idle page tracking (reads the real EPT/NPT
 *                accessed bits through KVM's MMU notifiers), when the host
 *                has /sys/kernel/mm/page_idle;
 *     uffd       sampled access faults: zap the PTEs of a sample of pages,
 *                the guest's next touch arrives as a userfaultfd minor fault
 *                (the fault thread resolves it and notes it here).
 * LtRAM-resident pages need no write tracking: a store promotes them.
 *
 * Every backend sits behind one small interface (struct track_ops): arm
 * pages, harvest what was seen, note a fault the backend caused; one file
 * each (track_dirty_log.c, track_uffd.c, track_page_idle.c). */
#ifndef AROM_TIERING_TRACKING_H
#define AROM_TIERING_TRACKING_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tiering/core.h"
#include "tiering/tiering.h"

struct tracker;

struct track_ops {
    const char *name;           /* as the stats name it */
    size_t priv_size;           /* the backend's state: zeroed in tk->priv before init, freed after fini */
    int (*init)(struct tracker *tk, char *err, size_t errlen);
    /* Release what init acquired (also after a failed init). */
    void (*fini)(struct tracker *tk);
    /* Watch pages[0..n) from now on. Keeps, in order at the front of
     * pages, those it could watch; returns how many. */
    size_t (*arm)(struct tracker *tk, uint64_t *pages, size_t n);
    /* Of pages[0..n) (the ones armed last; write tracking: NULL, all of
     * guest RAM), set the bit in `seen` of each seen (written, touched)
     * since it was armed. Write tracking also sets the bits of pages it
     * does not watch (not known to be clean); access tracking ends the
     * watch. */
    int (*harvest)(struct tracker *tk, const uint64_t *pages, size_t n, uint64_t *seen);
    /* A fault this backend caused arrived for page (fault thread, core lock held). */
    void (*note_fault)(struct tracker *tk, uint64_t page);
};

/* What a write-tracking backend can do (set by its init). */
enum {
    TRACK_SELECTIVE = 1 << 0,       /* arm re-arms just the pages asked for */
    TRACK_STARTS_ARMED = 1 << 1,    /* every page is watched from the start */
};

struct tracker {
    const struct track_ops *ops;    /* NULL: off */
    struct tier_core *core;
    const struct tiering_vm_ops *vm;
    void *priv;                     /* the backend's own state */
    unsigned flags;                 /* TRACK_* */
};

/* For backends: a zeroed bitmap of one bit per guest page, or NULL. */
uint64_t *track_bitmap(const struct tracker *tk);

extern const struct track_ops track_dirty_log_ops;
extern const struct track_ops track_uffd_ops;
extern const struct track_ops track_page_idle_ops;

/* Is idle page tracking usable on this host? */
bool track_page_idle_available(void);
/* The access backend "auto" stands for here. */
enum tiering_access track_access_resolve(enum tiering_access a);

/* What one sample of the last epoch says about its region. */
struct sample_result {
    uint64_t page;              /* the page sampled */
    uint64_t first, n;          /* the region it stands for: [first, first + n) */
    bool touched;
};

struct monitor {
    struct tier_core *core;
    struct tracker writes, access;
    uint64_t *written;              /* bitmap: written (or not watched) in the last epoch */
    uint64_t *seen;                 /* scratch bitmap for the access backend's harvest */
    uint64_t *samples;              /* pages armed for access this epoch */
    size_t nsamples, sample_cap;
    uint64_t sample_cursor, sample_stride;
    struct sample_result *results;
    uint64_t samples_taken, samples_touched;    /* core lock */
    uint64_t write_arms;            /* daemon thread: re-arm calls, a guest TLB flush each */
};

/* Write tracking through cfg->vm (when the daemon is on), access tracking
 * as cfg->access says (resolved: never AUTO). 0 or -errno with err. */
int monitor_init(struct monitor *m, struct tier_core *core, const struct tiering_config *cfg,
                 enum tiering_access access, char *err, size_t errlen);
void monitor_fini(struct monitor *m);
/* Epoch boundary: fetch what was seen since the last one. Returns how many
 * sample results *results holds (valid until the next call); written
 * pages: monitor_written(). */
size_t monitor_harvest(struct monitor *m, const struct sample_result **results);
static inline bool monitor_written(const struct monitor *m, uint64_t page)
{
    return m->written[page / 64] >> (page % 64) & 1;
}
/* The write backend's TRACK_* flags. */
static inline unsigned monitor_write_flags(const struct monitor *m)
{
    return m->writes.ops ? m->writes.flags : 0;
}
/* Start the next epoch: re-arm write tracking on the pages set in rearm
 * (a bitmap, or NULL for none), and arm an access sample of up to nsamples
 * (at most sample_cap) among the resident DRAM pages (resident[p] != 0)
 * that are not in `exclude` (a bitmap, or NULL). Returns how many samples
 * were armed: m->samples[0..n).
 *
 * Why exclude: arming a sample zaps the page's mapping, and KVM maps it
 * again on the next access writable when it can (on a shadow-paging host,
 * wherever the guest's own page table already marks the 2 MiB page dirty)
 * and logs it dirty: a sampled page reads as written once, read or not.
 * So pages armed for write tracking are not sampled, and a sample armed
 * for writes later must not be trusted the first time it reads dirty. */
size_t monitor_arm(struct monitor *m, const uint64_t *rearm, const unsigned char *resident, size_t nsamples,
                   const uint64_t *exclude);
/* The fault thread got a minor fault on page (core lock held). */
void monitor_note_fault(struct monitor *m, uint64_t page);
const char *monitor_access_name(const struct monitor *m);
const char *monitor_writes_name(const struct monitor *m);

#endif
