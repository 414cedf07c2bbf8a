/* Tiering: the VMM-facing API of the AROM core. Guest RAM pages live on
 * DRAM (the guest-RAM memfd) or on LtRAM frames mapped read-only into the
 * guest; see docs/TIERING.md for the invariant and the fault path. */
#ifndef AROM_TIERING_H
#define AROM_TIERING_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "arom/abi.h"
#include "tiering/ltram_profile.h"
#include "vmm/guest_mem.h"

struct tiering_config {
    char ltram_spec[512];       /* "emulated" or "file:PATH" */
    uint64_t ltram_capacity;    /* bytes; 0 with file: = the file's size */
    struct ltram_profile profile;
    double delay_scale;         /* 1 = inject modeled write latency, 0 = off */
    bool prefault;              /* allocate every frame up front */
    bool tokens;                /* endurance token bucket on/off */
    double token_lifetime_s;    /* target device lifetime for the token rate */
    double token_rate;          /* tokens/s; 0 = frames x endurance / lifetime */
    double token_cap;           /* 0 = max(512, frames): one device fill */
    uint64_t dram_budget;       /* bytes; 0 = unlimited (enforced by the daemon) */
    uint64_t map_limit;         /* host mappings ceiling; 0 = vm.max_map_count */
    unsigned churn_ms;          /* >0: host thread demotes every N ms (tests) */
    unsigned audit_ms;          /* >0: audit LtRAM every N ms */
    uint64_t pinned_below;      /* guest bytes below this never leave DRAM */

    /* the tiering daemon */
    bool daemon;                /* track accesses and enforce dram_budget */
    unsigned epoch_ms;          /* 50 .. 60000 */
    char access[16];            /* "auto", "page_idle", "uffd", "off" */
    unsigned samples_per_gib;   /* access samples per GiB of guest RAM per epoch */
    int vm_fd;                  /* for the KVM dirty log of memslot `slot` */
    unsigned slot;
};

struct tiering;

/* 0, -EINVAL when the LtRAM configuration is unusable (path, size,
 * profile), or another -errno; err says why. *out must be destroyed. */
int tiering_create(struct tiering **out, struct guest_mem *gm, const struct tiering_config *cfg,
                   char *err, size_t errlen);
/* Start the fault thread (and the churn/audit thread when configured). */
int tiering_start(struct tiering *t);
/* Stop the background threads; the fault thread last. Call after the vCPUs are joined. */
void tiering_stop(struct tiering *t);
void tiering_destroy(struct tiering *t);

/* Guest hint on [gpa, gpa+len) (page aligned, inside RAM): pages acted on or -AROM_E*. */
int64_t tiering_hint(struct tiering *t, uint64_t gpa, uint64_t len, uint32_t kind);
/* Demote up to npages DRAM pages from first_page on: pages demoted, or
 * -AROM_ENOSPC (LtRAM full), -AROM_EAGAIN (no tokens / mapping limit). */
int64_t tiering_demote(struct tiering *t, uint64_t first_page, uint64_t npages);
/* Verify every LtRAM frame's checksum: mismatching frames (0 = clean). */
uint64_t tiering_audit(struct tiering *t);
void tiering_counters(struct tiering *t, struct arom_hc_tier_stats *out);
/* Change the DRAM budget at run time (the control API calls this). */
void tiering_set_budget(struct tiering *t, uint64_t bytes);
/* Pages of [first, first+n) on each tier (range already validated). */
void tiering_query(struct tiering *t, uint64_t first, uint64_t n, uint64_t *ltram, uint64_t *dram);
/* The "tiering" section of the stats JSON (the status API reuses it). */
json_object *tiering_stats_json(struct tiering *t);

#endif
