/*
 * Boot: every vCPU arrives here from _start. vCPU 0 checks the boot info,
 * builds argv from the command line and runs main(); the others run
 * arom_secondary_main(). Also maps stack pointers back to vCPU ids.
 */
#include "arom.h"

AROM_NORETURN void arom_runtime_start(const struct arom_boot_info *bi, uint64_t id,
                                      uint64_t stack_top);

/* Entry stack top of each vCPU, written once by that vCPU at boot. There is
 * no per-CPU register to use at CPL3 (no FSGSBASE, no TSC_AUX), but stacks
 * are disjoint, so the stack pointer identifies the vCPU. */
static uint64_t vcpu_stack_top[AROM_MAX_VCPUS];

unsigned arom_vcpu_id(void)
{
    uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
    for (unsigned i = 0; i < AROM_MAX_VCPUS; i++) {
        uint64_t top = __atomic_load_n(&vcpu_stack_top[i], __ATOMIC_RELAXED);
        if (top && sp < top && sp >= top - AROM_STACK_SIZE)
            return i;
    }
    return ~0u; /* not on an entry stack */
}

/* argv strings point into this copy: the boot info page is read-only. */
static char cmdline_copy[AROM_CMDLINE_MAX];
static char *argv_store[AROM_MAX_ARGS + 1];

static int build_argv(const struct arom_boot_info *bi)
{
    size_t len = bi->cmdline_len < AROM_CMDLINE_MAX - 1 ? bi->cmdline_len : AROM_CMDLINE_MAX - 1;
    size_t i;

    for (i = 0; i < len && bi->cmdline[i]; i++)
        cmdline_copy[i] = bi->cmdline[i];
    cmdline_copy[i] = '\0';

    return arom__split_cmdline(cmdline_copy, argv_store);
}

void arom_runtime_start(const struct arom_boot_info *bi, uint64_t id, uint64_t stack_top)
{
    if (id < AROM_MAX_VCPUS)
        __atomic_store_n(&vcpu_stack_top[id], stack_top, __ATOMIC_RELAXED);

    if (id != 0)
        arom__vcpu_done(arom_secondary_main((unsigned)id));

    if ((uintptr_t)bi != AROM_BOOT_INFO_GPA || bi->magic != AROM_BOOT_MAGIC)
        arom_panic("bad boot info at %p (magic 0x%x)", (const void *)bi,
                   (uintptr_t)bi == AROM_BOOT_INFO_GPA ? bi->magic : 0);
    if (bi->abi_version != AROM_ABI_VERSION)
        arom_panic("ABI version %u, runtime built for %u", bi->abi_version, AROM_ABI_VERSION);

    int argc = build_argv(bi);
    arom_exit(main(argc, argv_store));
}
