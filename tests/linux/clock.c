/* The vDSO for tests/integration/linux.sh: 200000 clock_gettime calls
 * (without a vDSO each one would be a system call), and the clocks
 * against each other. */
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
int main(void) {
    struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
    long n = 0; for (int i = 0; i < 200000; i++) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); n += t.tv_nsec & 1; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct timeval tv; gettimeofday(&tv, NULL);
    printf("200000 clock_gettime: %.3f us each; time() %ld vs gettimeofday %ld\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 200000 / 1e3, (long)time(NULL), (long)tv.tv_sec);
    return 0;
}
