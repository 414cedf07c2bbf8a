/* A Linux program for tests/integration/linux.sh: its arguments, the heap
 * (brk and mmap), a call arom does not serve, a bad pointer, and its exit
 * status. Built static by the test; run natively and under arom-vmm --linux,
 * the two outputs must be identical. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    printf("argc=%d", argc);
    for (int i = 1; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf("\nHOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
    size_t sum = 0;
    for (int round = 0; round < 4; round++) {       /* small (brk) and large (mmap) blocks */
        char *small = malloc(1000), *big = malloc(4 << 20);
        if (!small || !big)
            return 10;
        memset(small, round + 1, 1000);
        memset(big, round + 2, 4 << 20);
        sum += (size_t)small[999] + (size_t)big[(4 << 20) - 1];
        free(small);
        free(big);
    }
    printf("heap sum %zu\n", sum);
    long r = syscall(SYS_acct, NULL);               /* not served by arom: -ENOSYS */
    printf("acct: %s\n", r < 0 && errno == ENOSYS ? "ENOSYS" : "served");
    /* Outside the guest's memory, and natively above the last user page
     * (0x7fff00000000 was: ASLR can put the native stack there) */
    r = write(1, (void *)0x7ffffffff000ull, 10);
    printf("write(bad pointer): %ld %s\n", r, errno == EFAULT ? "EFAULT" : strerror(errno));
    fflush(stdout);
    return 3;
}
