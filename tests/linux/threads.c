/* Threads for tests/integration/linux.sh: three pthreads (clone on vCPUs of
 * their own) computing, contending on a mutex (futex wait and wake on the
 * host address of the guest word), joined (CLONE_CHILD_CLEARTID). With too
 * few vCPUs pthread_create fails with EAGAIN, as Linux says when threads
 * run out. */
#include <errno.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
static atomic_long total;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long shared;
static void *work(void *arg) {
    long id = (long)arg, s = 0;
    for (long i = 0; i < 2000000; i++) s += i % (id + 3);
    for (int i = 0; i < 20000; i++) { pthread_mutex_lock(&m); shared++; pthread_mutex_unlock(&m); }
    atomic_fetch_add(&total, s);
    return (void *)(id * 10);
}
int main(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++) {
        int rc = pthread_create(&t[i], NULL, work, (void *)i);
        if (rc) {
            printf("pthread_create: %s\n", strerror(rc));
            return 4;
        }
    }
    long sum = 0;
    for (int i = 0; i < 3; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("threads done: total=%ld shared=%ld joined=%ld\n", (long)total, shared, sum);
    return 0;
}
