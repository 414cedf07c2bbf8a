/*
 * hello: the smallest end-to-end check of the VMM. Prints the boot info,
 * reports one metric, and exits with `exit=N` (default 0) so tests can
 * check exit-status propagation. `spin=1` prints "spinning" and loops
 * forever, for the VMM's signal-handling test.
 */
#include "arom.h"

int main(int argc, char **argv)
{
    const struct arom_boot_info *bi = arom_boot_info();

    arom_printf("hello from arom guest: vcpus=%u ram=%llu MiB args=%s\n",
                bi->vcpus, (unsigned long long)(bi->ram_size >> 20), bi->cmdline);
    arom_report("hello.answer", 42);
    if (arom_arg_u64(argc, argv, "spin", 0)) {
        arom_printf("spinning\n");
        for (;;)
            arom_pause();
    }
    return (int)arom_arg_u64(argc, argv, "exit", 0);
}
