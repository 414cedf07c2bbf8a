/* One thread per vCPU: KVM_RUN, then dispatch the exit. */
#ifndef AROM_VCPU_H
#define AROM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

struct tiering_vcpu_times;

struct vm;

struct vcpu {
    struct vm *vm;
    unsigned id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    _Atomic int tid;              /* the thread's id once it runs, else 0 */
    uint64_t start_ns;            /* when it started (CLOCK_MONOTONIC) */
    _Atomic uint64_t paused_ns;       /* time spent paused (vm_pause), summed */
    _Atomic uint64_t pause_start_ns;  /* when the current pause began, else 0 */
    _Atomic uint64_t guest_sleep_ns;  /* a Linux guest's own waits (epoll, futex, no thread yet), summed */
    _Atomic uint64_t guest_wait_start_ns; /* when the current one began, else 0 */
    int schedstat_fd;             /* the thread's own /proc schedstat (its run delay), or -1 */
};

/* Create vCPU id of vm and set up its entry state. */
int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id);
void vcpu_destroy(struct vcpu *v);
/* Start the thread. The kick signal must already be installed. */
int vcpu_start(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/* Make the vCPU leave KVM_RUN soon (any thread). */
void vcpu_kick(struct vcpu *v);
/* Add the thread's times since it started to *t (nothing before it runs):
 * blocked = wall time minus time on a CPU, waiting for one (schedstat),
 * paused, or asleep because a Linux guest asked (a blocking call, a spare
 * vCPU), what the slowdown guard may blame on tiering; active = wall time
 * less the pauses and those sleeps; run = on a CPU. */
void vcpu_times(struct vcpu *v, struct tiering_vcpu_times *t);
/* The signal used to kick vCPUs out of KVM_RUN; installs its handler. */
int vcpu_install_kick_signal(void);
#define VCPU_KICK_SIGNAL SIGUSR1

#endif
