/* LtRAM device presets and their command-line overrides. */
#include "tiering/ltram_profile.h"

#include <errno.h>
#include <string.h>

/* Published figures (the AROM authors' public material and Optane
 * studies; see docs/TIERING.md). The projected technologies publish only read latency and
 * "slow" writes from the OS's 4 KiB granularity, so their write cost and
 * endurance are assumptions, flagged in `source`. */
#define PRESET(n, rd, wr, unit, ers, blk, endur, cost, src)                                             \
    {.name = n, .read_ns = rd, .write_ns = wr, .write_unit = unit, .erase_ns = ers, .erase_block = blk, \
     .endurance = endur, .cost_vs_dram = cost, .source = src}

/* The dram preset injects no write delay: the backing store already is
 * DRAM, so the host memcpy is the real write (injecting 80 ns per 64 B line
 * serially would make the reference ~10x slower than DRAM bandwidth). */
static const struct ltram_profile presets[] = {
    /*     name         read  write  unit  erase ns  block  endurance  cost  source */
    PRESET("nor-flash", 490, 16000, 256, 18000000, 4096, 100000, 1.0 / 3.0, "published (AROM NOR-flash prototype); endurance: upper end of 1e4-1e5"),
    PRESET("optane", 340, 110, 256, 0, 0, 1000000, 0, "published: read 305-374 ns, 256 B XPLine; assumed: write 110 ns per 256 B (~2.3 GB/s per DIMM), endurance 1e6, cost unknown"),
    PRESET("fefet", 252, 2000, 4096, 0, 0, 1000000, 0, "published: read 252 ns, 4 KiB unit (projected 3D FeFET); assumed: write 2 us per 4 KiB, endurance 1e6; cost 'low'"),
    PRESET("vrram", 152, 2000, 4096, 0, 0, 1000000, 0, "published: read 152 ns, 4 KiB unit (projected 3D V-RRAM); assumed: write 2 us per 4 KiB, endurance 1e6; cost 'low'"),
    PRESET("sttmram", 72, 2000, 4096, 0, 0, 1000000, 1.0, "published: read 72 ns, 4 KiB unit, cost ~DRAM (projected STT-MRAM); assumed: write 2 us per 4 KiB, endurance 1e6"),
    PRESET("dram", 80, 0, 64, 0, 0, 0, 1.0, "published: read ~80 ns, 64 B line, unlimited endurance; write delay 0 (the copy itself is the DRAM write)"),
};

#define NPRESETS (sizeof presets / sizeof presets[0])

int ltram_profile_lookup(const char *name, struct ltram_profile *out)
{
    if (!name || !out)
        return -EINVAL;
    for (size_t i = 0; i < NPRESETS; i++) {
        if (strcmp(presets[i].name, name) == 0) {
            *out = presets[i];
            return 0;
        }
    }
    return -ENOENT;
}

const char *ltram_profile_names(void)
{
    return "nor-flash, optane, fefet, vrram, sttmram, dram";
}

void ltram_profile_apply(struct ltram_profile *p, const struct ltram_overrides *o)
{
    if (o->set & LTRAM_SET_READ_NS)
        p->read_ns = o->read_ns;
    if (o->set & LTRAM_SET_WRITE_NS)
        p->write_ns = o->write_ns;
    if (o->set & LTRAM_SET_WRITE_UNIT)
        p->write_unit = (uint32_t)o->write_unit;
    if (o->set & LTRAM_SET_ERASE_NS)
        p->erase_ns = o->erase_ns;
    if (o->set & LTRAM_SET_ERASE_BLOCK)
        p->erase_block = (uint32_t)o->erase_block;
    if (o->set & LTRAM_SET_ENDURANCE)
        p->endurance = o->endurance;
}
