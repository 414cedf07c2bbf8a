/* LtRAM device presets: the latency, write-unit, erase and endurance figures
 * the device model (tiering/ltram.c) injects and accounts. Numbers come from
 * the published figures in shared/README.md; where a figure is missing the
 * preset says "assumed" in `source`. */
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

/* Set one field from text. Keys: read-ns, write-ns, erase-ns (decimal, with
 * an optional ns/us/ms suffix), write-unit, erase-block (decimal bytes, with
 * an optional K/KiB suffix), endurance (decimal, or mantissa e exponent such
 * as 1e5). Returns 0 or -EINVAL with a message in err; *p is untouched on
 * error. */
int ltram_profile_override(struct ltram_profile *p, const char *key, const char *value,
                           char *err, size_t errlen);

#endif
