/*
 * hcbench: the cost of one hypercall round trip (guest `out` -> VMM ->
 * back), measured in the guest over `calls=N` time hypercalls. Reports
 * hypercall.round_trip_ns; bench/launch.sh prints it.
 */
#include "arom.h"

int main(int argc, char **argv)
{
    uint64_t calls = arom_arg_u64(argc, argv, "calls", 100000);
    if (calls == 0)
        arom_panic("hcbench: calls must be > 0");
    uint64_t t0 = arom_time_ns();
    for (uint64_t i = 0; i < calls; i++)
        arom_time_ns();
    uint64_t t1 = arom_time_ns();
    double ns = (double)(t1 - t0) / (double)calls;
    arom_printf("hcbench: %llu hypercalls, %.0f ns per round trip\n", (unsigned long long)calls, ns);
    arom_report("hypercall.round_trip_ns", ns);
    return 0;
}
