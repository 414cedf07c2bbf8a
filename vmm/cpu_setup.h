/* Everything a payload needs before its first instruction: the system area
 * (GDT, per-vCPU TSS and exception stacks, IDT, exception stubs), the boot
 * info page, and each vCPU's long-mode register state at CPL3/IOPL3. */
#ifndef AROM_CPU_SETUP_H
#define AROM_CPU_SETUP_H

#include <stdint.h>

#include "vmm/guest_mem.h"

/* Vectors whose exception frame carries an error code. */
#define EXC_HAS_ERRCODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

/* Write GDT, TSSs, IDT and stubs into the system area. */
void cpu_setup_system_area(struct guest_mem *gm, unsigned vcpus);

/* Fill the boot info page. cmdline may be NULL; too long => -E2BIG. */
int cpu_setup_boot_info(struct guest_mem *gm, unsigned vcpus, uint64_t heap_start,
                        const char *cmdline);

/* Program vCPU `id` (fd) for 64-bit CPL3 entry at `entry`, with CPUID from
 * the host's supported set. Returns 0 or -errno (message logged). */
int cpu_setup_vcpu(int kvm_fd, int vcpu_fd, unsigned id, uint64_t cr3, uint64_t entry);

#endif
