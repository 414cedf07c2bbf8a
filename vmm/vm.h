/* The virtual machine: KVM handles, guest RAM, vCPUs and the stop protocol.
 * Any thread may ask the VM to stop; the first request decides the exit
 * status, and the main thread is woken through an eventfd. */
#ifndef AROM_VM_H
#define AROM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tiering/tiering.h"
#include "vmm/guest_mem.h"
#include "vmm/hypercall.h"
#include "vmm/stats.h"

#define EXIT_VMM_FAILURE 1
#define EXIT_BAD_INPUT 2
#define EXIT_GUEST_CRASH 125

struct vcpu;
struct linux_proc;

struct vm {
    int kvm_fd;
    int vm_fd;
    int run_size;                 /* mmap size of struct kvm_run */
    struct guest_mem mem;
    uint64_t cr3;
    uint64_t entry;
    unsigned nvcpus;
    struct vcpu *vcpus;
    struct vmm_stats *stats;
    struct hc_ctx hc;
    struct linux_proc *lx;        /* --linux: the program's system calls; NULL otherwise */
    uint64_t linux_rsp;           /* its initial stack */

    unsigned dirty_mode;          /* TIERING_DIRTY_* once the dirty log was first enabled */

    atomic_bool stopping;
    atomic_uint running_vcpus;
    int exit_status;              /* valid once stopping */
    int stop_efd;                 /* eventfd: written once when stopping */
    pthread_mutex_t stop_lock;

    /* Pause (the operator API): vCPUs wait on pause_cond outside KVM_RUN. */
    atomic_bool paused;
    unsigned paused_vcpus;        /* stop_lock: vCPU threads waiting */
    pthread_cond_t pause_cond;    /* stop_lock: pause, resume, stop, a vCPU done */
};

/* Open /dev/kvm, create the VM and its RAM (one memfd, one memslot). */
int vm_create(struct vm *vm, uint64_t mem_size, struct vmm_stats *stats);
void vm_destroy(struct vm *vm);

/* The KVM dirty log of the RAM memslot, as tiering_vm_ops wants it
 * (opaque is the struct vm). 0 or -errno. */
int vm_dirty_log_enable(void *opaque, bool on, unsigned *mode);
int vm_dirty_log_get(void *opaque, uint64_t *bitmap);
int vm_dirty_log_clear(void *opaque, uint64_t first, uint64_t npages, const uint64_t *bitmap);
unsigned vm_vcpu_times(void *opaque, struct tiering_vcpu_times *sum, struct tiering_vcpu_times *per, unsigned max);
struct tiering_vm_ops vm_tiering_ops(struct vm *vm);

/* Start every vCPU thread (unless the VM is already stopping). */
int vm_start_vcpus(struct vm *vm);
void vm_join_vcpus(struct vm *vm);

/* Stop every vCPU outside KVM_RUN, waiting for them (at most timeout_ms):
 * 0, -EALREADY (already paused), -ESHUTDOWN (stopping), -ETIMEDOUT (a
 * vCPU did not come out: the VM stays pausing until resumed). */
int vm_pause(struct vm *vm, unsigned timeout_ms);
/* 0, or -EALREADY when not paused. */
int vm_resume(struct vm *vm);
static inline bool vm_paused(struct vm *vm)
{
    return atomic_load_explicit(&vm->paused, memory_order_acquire);
}
/* Paused, and every running vCPU is waiting (not still leaving KVM_RUN). */
bool vm_fully_paused(struct vm *vm);
/* vCPU threads: wait while paused. */
void vm_pause_point(struct vm *vm);
/* vCPU threads: this vCPU is done with status; the last one stops the VM. */
void vm_vcpu_done(struct vm *vm, int status);

/* First caller sets the status, kicks every vCPU and wakes the main thread. */
void vm_stop(struct vm *vm, int status);
static inline bool vm_stopping(struct vm *vm)
{
    return atomic_load_explicit(&vm->stopping, memory_order_acquire);
}

#endif
