/*
 * crash: faults on purpose so the VMM's exception path can be tested.
 *   mode=null  (default) read address 0: page fault
 *   mode=ud2   invalid opcode
 *   mode=div0  integer divide by zero
 *   mode=gp    hlt at CPL3: general protection (cli would not fault: IOPL=3)
 *   mode=stack unbounded recursion into the stack guard page: page fault
 * Never exits normally: exit 3 if the fault did not happen, 2 for a bad mode.
 */
#include "arom.h"

/* Each helper hides its operand from the optimiser so the faulting
 * instruction is really emitted, not folded into a trap or removed. */
static void fault_null(void)
{
    volatile uint64_t *p = NULL;
    __asm__ volatile("" : "+r"(p));
    (void)*p;
}

static void fault_div0(void)
{
    uint32_t lo = 1, hi = 0, den = 0;
    __asm__ volatile("" : "+r"(den));
    __asm__ volatile("divl %2" : "+a"(lo), "+d"(hi) : "r"(den));
}

__attribute__((noinline)) static unsigned fault_stack(unsigned depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    if (depth == ~0u) /* never: the guard page comes first; keeps -Wall quiet */
        return frame[0];
    return fault_stack(depth + 1) + frame[0]; /* not a tail call */
}

int main(int argc, char **argv)
{
    const char *mode = arom_arg_str(argc, argv, "mode", "null");

    arom_printf("crash: about to fault: mode=%s\n", mode);
    if (strcmp(mode, "null") == 0)
        fault_null();
    else if (strcmp(mode, "ud2") == 0)
        __asm__ volatile("ud2");
    else if (strcmp(mode, "div0") == 0)
        fault_div0();
    else if (strcmp(mode, "gp") == 0)
        __asm__ volatile("hlt");
    else if (strcmp(mode, "stack") == 0)
        fault_stack(0);
    else {
        arom_printf("crash: unknown mode=%s (null, ud2, div0, gp, stack)\n", mode);
        return 2;
    }
    arom_printf("crash: mode=%s did not fault\n", mode);
    return 3;
}
