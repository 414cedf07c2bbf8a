/* LtRAM device presets: the latency, write-unit, erase and endurance figures
 * the device model (tiering/ltram.c) injects and accounts. Numbers come
 * from published figures (the AROM authors' material, Optane studies); where
 * a figure is missing the preset says "assumed" in `source`. */
#ifndef AROM_TIERING_LTRAM_PROFILE_H
#define AROM_TIERING_LTRAM_PROFILE_H

#include <stddef.h>
#include <stdint.h>

/* The emulated device defaults to 3D FeFET: its (assumed) 2 µs per 4 KiB
 * write keeps demos interactive, whereas NOR flash's published 18 ms erase
 * per page would make demoting a few thousand pages take minutes. */
#define LTRAM_DEFAULT_PROFILE "fefet"

struct ltram_profile {
    char name[32];
    uint64_t read_ns;       /* one read access; modeled only, reads are native */
    uint64_t write_ns;      /* per write unit, injected as real delay */
    uint32_t write_unit;    /* bytes; a write is accounted in whole units */
    uint64_t erase_ns;      /* per erase block (0 = no erase) */
    uint32_t erase_block;   /* bytes (0 = no erase) */
    uint64_t endurance;     /* program/erase cycles per frame, 0 = unlimited */
    double cost_vs_dram;    /* relative $/GiB, 0 = unknown */
    const char *source;     /* where the preset's numbers come from; overrides are
                               not reflected here, the caller reports those */
};

/* Copy preset `name` into *out. Returns 0, -ENOENT (unknown) or -EINVAL. */
int ltram_profile_lookup(const char *name, struct ltram_profile *out);

/* "nor-flash, optane, ..." for help texts and error messages. */
const char *ltram_profile_names(void);

/* Figures given on the command line over a preset's: a field counts when
 * its bit is in `set`. The option table bounds them (vmm/options.c). */
enum {
    LTRAM_SET_READ_NS = 1 << 0, LTRAM_SET_WRITE_NS = 1 << 1, LTRAM_SET_WRITE_UNIT = 1 << 2,
    LTRAM_SET_ERASE_NS = 1 << 3, LTRAM_SET_ERASE_BLOCK = 1 << 4, LTRAM_SET_ENDURANCE = 1 << 5,
};
struct ltram_overrides {
    unsigned set;
    uint64_t read_ns, write_ns, write_unit, erase_ns, erase_block, endurance;
};

/* Apply the overrides that are set to *p. */
void ltram_profile_apply(struct ltram_profile *p, const struct ltram_overrides *o);

#endif
