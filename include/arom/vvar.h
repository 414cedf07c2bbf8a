/* The page the VMM fills for a Linux guest's vDSO (guest-tools/vdso/):
 * the clock as a TSC value and the host times it stood for, updated under
 * a sequence count (odd while being written). Shared by arom-vmm and the
 * vDSO it builds; read-only to the guest. */
#ifndef AROM_VVAR_H
#define AROM_VVAR_H

#include <stdint.h>

#define AROM_VVAR_GPA 0x1800ull      /* in the boot info page: user-readable, unused by Linux guests */

struct arom_vvar {
    uint32_t seq;
    uint32_t valid;                  /* 0: the vDSO falls back to the system call */
    uint64_t tsc_base;               /* the guest TSC ... */
    int64_t mono_ns, real_ns;        /* ... when CLOCK_MONOTONIC and CLOCK_REALTIME said these */
    uint64_t mult;                   /* ns = (tsc - tsc_base) * mult >> shift */
    uint32_t shift, pad;
};

#endif
