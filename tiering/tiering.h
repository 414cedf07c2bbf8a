/* Tiering: the public API of the AROM engine. Guest RAM pages live on
 * DRAM (the guest-RAM memfd) or on LtRAM frames mapped read-only into the
 * guest; see docs/TIERING.md for the invariant and the fault path, and
 * docs/ARCHITECTURE.md for the parts behind this API.
 *
 * The engine knows nothing of KVM or of the guest ABI: what it needs from
 * the VM (the dirty log of the memslot holding guest RAM) comes through
 * struct tiering_vm_ops, and every call returns 0/counts or -errno. */
#ifndef AROM_TIERING_H
#define AROM_TIERING_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "tiering/ltram_profile.h"

/* Flags of every host mapping that backs guest RAM, the VMM's first one
 * included: the engine remaps pieces of it, and neighbouring mappings merge
 * into one VMA (and so stay within vm.max_map_count) only when their flags
 * are identical. */
#define TIERING_MAP_FLAGS (MAP_SHARED | MAP_NORESERVE)

/* What tiering needs from the VM it serves (vmm/vm.c implements it): the
 * KVM dirty log of the memslot holding guest RAM, and what the vCPUs spent
 * blocked. Bitmaps hold one bit per 4 KiB page of guest RAM. */
enum {
    TIERING_DIRTY_MANUAL = 1 << 0,          /* re-protection is ours: clear re-arms chosen pages */
    TIERING_DIRTY_INITIALLY_SET = 1 << 1,   /* logging starts with every page dirty, none protected */
};
#define TIERING_MAX_VCPUS 32

/* What the slowdown guard reads of the vCPU threads, in ns since they
 * started (per vCPU, or summed over them). */
struct tiering_vcpu_times {
    unsigned running;       /* vCPUs running (in the sum) */
    /* Neither on a CPU, nor waiting for one, nor paused, nor asleep in a
     * Linux guest's own wait: a vCPU blocks so only when a fault waits for
     * the host (and when the host's hypervisor steals its CPU). */
    uint64_t blocked_ns;
    /* Wall time less pauses and a Linux guest's own sleeps (a thread in
     * epoll or a futex, a spare vCPU no thread has taken yet). */
    uint64_t active_ns;
    uint64_t run_ns;        /* on a CPU */
};

struct tiering_vm_ops {
    void *vm;
    /* Turn logging on (with KVM's manual-protect mode and all bits
     * initially set when the host has them: *mode says) or off. 0 or -errno. */
    int (*dirty_log_enable)(void *vm, bool on, unsigned *mode);
    /* Copy the dirty bitmap into bitmap. 0 or -errno. */
    int (*dirty_log_get)(void *vm, uint64_t *bitmap);
    /* Manual mode: re-protect the pages whose bits are set in bitmap,
     * which covers pages [first, first + npages) (first % 64 == 0). */
    int (*dirty_log_clear)(void *vm, uint64_t first, uint64_t npages, const uint64_t *bitmap);
    /* The vCPU threads' times since they started (see above): summed into
     * *sum, and each vCPU's into per[]; returns how many per[] holds (at
     * most max). */
    unsigned (*vcpu_times)(void *vm, struct tiering_vcpu_times *sum, struct tiering_vcpu_times *per, unsigned max);
};

enum tiering_access { TIERING_ACCESS_AUTO, TIERING_ACCESS_PAGE_IDLE, TIERING_ACCESS_UFFD, TIERING_ACCESS_OFF };

/* Bounds of the settings that may change at run time (the options table
 * and tiering_update share them). */
#define TIERING_EPOCH_MS_MIN 50
#define TIERING_EPOCH_MS_MAX 60000
#define TIERING_SLOWDOWN_MIN 0.1
#define TIERING_SLOWDOWN_MAX 100.0
#define TIERING_EXIT_COST_MIN 0.01
#define TIERING_EXIT_COST_MAX 1000.0

struct tiering_config {
    char ltram_spec[512];       /* "emulated" or "file:PATH" */
    uint64_t ltram_capacity;    /* bytes; 0 with file: = the file's size */
    struct ltram_profile profile;
    double delay_scale;         /* 1 = inject modeled write latency, 0 = off */
    bool prefault;              /* allocate every frame up front */
    bool tokens;                /* endurance token bucket on/off */
    double token_lifetime_s;    /* target device lifetime for the token rate */
    double token_rate;          /* tokens/s; 0 = frames x endurance / lifetime */
    uint64_t token_cap;         /* 0 = max(512, frames): one device fill */
    uint64_t dram_budget;       /* bytes the daemon keeps DRAM use within */
    uint64_t map_limit;         /* host mappings ceiling; 0 = from vm.max_map_count */
    unsigned churn_ms;          /* >0: host thread demotes every N ms (tests) */
    unsigned audit_ms;          /* >0: audit LtRAM every N ms */
    uint64_t pinned_below;      /* guest bytes below this never leave DRAM */

    /* the tiering daemon */
    bool daemon;                /* track accesses and enforce dram_budget */
    unsigned epoch_ms;          /* 50 .. 60000 */
    enum tiering_access access;
    unsigned samples_per_gib;   /* at most this many access samples per GiB per epoch */
    double max_slowdown_pct;    /* the slowdown guard's target, percent of vCPU time */
    double exit_cost_us;        /* what one VM exit costs the guest, for the guard */
    char trace_path[256];       /* "": none; else one JSON line per epoch */
    struct tiering_vm_ops vm;
};

/* Settings an operator may change while the VM runs: those whose bit is
 * in `set`. */
enum {
    TIERING_SET_BUDGET = 1 << 0,
    TIERING_SET_EPOCH = 1 << 1,
    TIERING_SET_SLOWDOWN = 1 << 2,
    TIERING_SET_EXIT_COST = 1 << 3,
};
struct tiering_settings {
    unsigned set;
    uint64_t dram_budget;       /* bytes, at most guest RAM */
    unsigned epoch_ms;
    double max_slowdown_pct;
    double exit_cost_us;
};

/* Figures a guest may ask for (the TIER_STATS hypercall). */
struct tiering_counters {
    uint64_t dram_pages, ltram_pages;   /* pages per tier (DRAM: touched or not) */
    uint64_t dram_resident_pages;       /* DRAM pages backed by host memory */
    uint64_t dram_budget_pages;
    uint64_t promotions, demotions;
    uint64_t epochs;                    /* daemon epochs (0: daemon off) */
};

enum tiering_hint {
    TIERING_HINT_DEMOTE,        /* demote the range now, as capacity allows */
    TIERING_HINT_PIN,           /* keep on DRAM (promotes LtRAM pages) */
    TIERING_HINT_UNPIN,
    TIERING_HINT_WP_PROBE,      /* benchmarks: write-protect DRAM pages in place */
};

struct tiering;

/* guest: the guest's mapping of guest RAM (TIERING_MAP_FLAGS of dram_fd,
 * size bytes); dram_fd: the memfd behind it. 0, or -EINVAL when the
 * configuration cannot work as given (the operator can fix it), or another
 * -errno when the host fails; err says why. *out must be destroyed. */
int tiering_create(struct tiering **out, void *guest, int dram_fd, uint64_t size,
                   const struct tiering_config *cfg, char *err, size_t errlen);
/* Start the fault thread, the daemon and the test worker (when configured). */
int tiering_start(struct tiering *t, char *err, size_t errlen);
/* Stop the background threads; the fault thread last. Call after the vCPUs are joined. */
void tiering_stop(struct tiering *t);
void tiering_destroy(struct tiering *t);

/* A hint on pages [first, first + n) (inside guest RAM): pages acted on,
 * or -EINVAL (range, kind), -ENOSPC (LtRAM full), -EAGAIN (no tokens,
 * mapping ceiling). */
int64_t tiering_hint(struct tiering *t, uint64_t first, uint64_t n, enum tiering_hint kind);
/* Apply s, all or nothing: 0; -EINVAL (a value out of bounds) or -ENOTSUP
 * (the daemon is off: nothing would act on them), err says which. */
int tiering_update(struct tiering *t, const struct tiering_settings *s, char *err, size_t errlen);
/* Verify every written LtRAM frame against its checksum: mismatches (0 = clean). */
uint64_t tiering_audit(struct tiering *t);
void tiering_counters(struct tiering *t, struct tiering_counters *out);
/* Pages of [first, first + n) on each tier (range inside guest RAM). */
void tiering_query(struct tiering *t, uint64_t first, uint64_t n, uint64_t *ltram, uint64_t *dram);
/* Guest RAM pages. */
uint64_t tiering_pages(const struct tiering *t);
/* The "tiering" section of the stats JSON; each part writes its own. live
 * (a running VM's status) leaves out what is slow to count, today the
 * process's mappings in /proc/self/maps (mappings.estimated stays). */
json_object *tiering_stats_json(struct tiering *t, bool live);

#endif
