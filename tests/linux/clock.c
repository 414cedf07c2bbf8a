/* The vDSO for tests/integration/linux.sh: 200000 clock_gettime calls
 * (without a vDSO each one would be a system call), and the clocks
 * against each other.
 *   clock [SECONDS]   also read it for SECONDS against the system call
 *                     (the VMM refills the vDSO's page every second):
 *                     never backwards, within 1 ms of the kernel's clock */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000ll + t->tv_nsec; }

int main(int argc, char **argv) {
    struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
    long n = 0; for (int i = 0; i < 200000; i++) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); n += t.tv_nsec & 1; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct timeval tv; gettimeofday(&tv, NULL);
    printf("200000 clock_gettime: %.3f us each; time() %ld vs gettimeofday %ld\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 200000 / 1e3, (long)time(NULL), (long)tv.tv_sec);
    if (argc < 2)
        return 0;
    long long end = ns(&b) + atoll(argv[1]) * 1000000000ll, last = 0, worst = 0;
    long backwards = 0, reads = 0;
    for (struct timespec t1, t2, t3; ; reads++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t2);     /* the kernel's (the VMM's host) clock */
        clock_gettime(CLOCK_MONOTONIC, &t3);
        backwards += ns(&t1) < last || ns(&t3) < ns(&t1);
        last = ns(&t3);
        long long off = ns(&t2) < ns(&t1) ? ns(&t1) - ns(&t2) : ns(&t2) > ns(&t3) ? ns(&t2) - ns(&t3) : 0;
        if (off > worst)
            worst = off;
        if (last > end)
            break;
        for (volatile int spin = 0; spin < 100000; spin++) {}   /* reads spread over the run, not a tight loop */
    }
    printf("%s s: %s backwards, vDSO within 1 ms of the system call: %s\n", argv[1], backwards ? "went" : "never",
           worst < 1000000 ? "yes" : "no");
    fprintf(stderr, "%ld reads, worst offset %lld ns\n", reads, worst);
    return 0;
}
