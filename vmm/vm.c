#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static int set_memslot(struct vm *vm, uint32_t flags);

static int kvm_open_checked(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        log_error("cannot open /dev/kvm: %s (is KVM enabled, and are you root or in the kvm group?)",
                  strerror(errno));
        return -errno;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        log_error("/dev/kvm: API version %d, expected %d", version, KVM_API_VERSION);
        close(fd);
        return -ENOTSUP;
    }
    if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
        log_error("/dev/kvm lacks KVM_CAP_USER_MEMORY");
        close(fd);
        return -ENOTSUP;
    }
    return fd;
}

int vm_create(struct vm *vm, uint64_t mem_size, struct vmm_stats *stats)
{
    memset(vm, 0, sizeof *vm);
    vm->vm_fd = vm->stop_efd = -1;
    vm->mem.fd = -1;
    vm->stats = stats;
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&vm->pause_cond, &ca);
    pthread_condattr_destroy(&ca);

    vm->kvm_fd = kvm_open_checked();
    if (vm->kvm_fd < 0)
        return vm->kvm_fd;
    vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size <= 0) {
        log_error("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
        return -EIO;
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        log_error("KVM_CREATE_VM: %s", strerror(errno));
        return -errno;
    }
    vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->stop_efd < 0) {
        log_error("eventfd: %s", strerror(errno));
        return -errno;
    }
    int rc = guest_mem_create(&vm->mem, mem_size);
    if (rc < 0)
        return rc;
    if ((rc = set_memslot(vm, 0)) < 0) {
        log_error("KVM_SET_USER_MEMORY_REGION (%llu bytes): %s", (unsigned long long)mem_size, strerror(-rc));
        return rc;
    }
    return 0;
}

/* The VM's one memslot: all of guest RAM at GPA 0. */
#define RAM_SLOT 0

static int set_memslot(struct vm *vm, uint32_t flags)
{
    struct kvm_userspace_memory_region region = {
        .slot = RAM_SLOT,
        .flags = flags,
        .guest_phys_addr = 0,
        .memory_size = vm->mem.size,
        .userspace_addr = (uint64_t)(uintptr_t)vm->mem.host,
    };
    return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

int vm_dirty_log_enable(void *opaque, bool on, unsigned *mode)
{
    struct vm *vm = opaque;
    if (on && !vm->dirty_mode) {
        /* Manual protect: KVM_GET_DIRTY_LOG only copies the bitmap and
         * KVM_CLEAR_DIRTY_LOG re-protects just the pages asked for. With
         * INITIALLY_SET logging starts with every page dirty and none
         * write-protected, so turning it on costs the guest nothing. */
        int caps = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
        uint64_t want = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
        if (caps > 0 && (caps & KVM_DIRTY_LOG_INITIALLY_SET))
            want |= KVM_DIRTY_LOG_INITIALLY_SET;
        struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args = {want}};
        if (caps > 0 && ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0)
            vm->dirty_mode = TIERING_DIRTY_MANUAL |
                             (want & KVM_DIRTY_LOG_INITIALLY_SET ? TIERING_DIRTY_INITIALLY_SET : 0);
    }
    *mode = vm->dirty_mode;
    return set_memslot(vm, on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
}

int vm_dirty_log_get(void *opaque, uint64_t *bitmap)
{
    struct vm *vm = opaque;
    struct kvm_dirty_log log = {.slot = RAM_SLOT, .dirty_bitmap = bitmap};
    return ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
}

int vm_dirty_log_clear(void *opaque, uint64_t first, uint64_t npages, const uint64_t *bitmap)
{
    struct vm *vm = opaque;
    struct kvm_clear_dirty_log c = {.slot = RAM_SLOT, .first_page = first, .num_pages = (uint32_t)npages,
                                    .dirty_bitmap = (void *)bitmap};
    return ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &c) < 0 ? -errno : 0;
}

_Static_assert(AROM_MAX_VCPUS <= TIERING_MAX_VCPUS, "the guard reads every vCPU");

unsigned vm_vcpu_times(void *opaque, struct tiering_vcpu_times *sum, struct tiering_vcpu_times *per, unsigned max)
{
    struct vm *vm = opaque;
    unsigned n = vm->nvcpus < max ? vm->nvcpus : max;
    *sum = (struct tiering_vcpu_times){.running = atomic_load(&vm->running_vcpus)};
    for (unsigned i = 0; i < n; i++) {
        per[i] = (struct tiering_vcpu_times){0};
        vcpu_times(&vm->vcpus[i], &per[i]);
        sum->blocked_ns += per[i].blocked_ns;
        sum->active_ns += per[i].active_ns;
        sum->run_ns += per[i].run_ns;
    }
    return n;
}

struct tiering_vm_ops vm_tiering_ops(struct vm *vm)
{
    return (struct tiering_vm_ops){.vm = vm, .dirty_log_enable = vm_dirty_log_enable,
                                   .dirty_log_get = vm_dirty_log_get, .dirty_log_clear = vm_dirty_log_clear,
                                   .vcpu_times = vm_vcpu_times};
}

void vm_destroy(struct vm *vm)
{
    guest_mem_destroy(&vm->mem);
    if (vm->stop_efd >= 0)
        close(vm->stop_efd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    pthread_mutex_destroy(&vm->stop_lock);
    pthread_cond_destroy(&vm->pause_cond);
}

void vm_stop(struct vm *vm, int status)
{
    pthread_mutex_lock(&vm->stop_lock);
    bool first = !vm_stopping(vm);
    if (first) {
        vm->exit_status = status;
        atomic_store_explicit(&vm->stopping, true, memory_order_release);
    }
    /* Kick under the lock so no vCPU thread can start unkicked (vm_start_vcpus). */
    if (first)
        for (unsigned i = 0; i < vm->nvcpus; i++)
            vcpu_kick(&vm->vcpus[i]);
    pthread_cond_broadcast(&vm->pause_cond);     /* paused vCPUs leave too */
    pthread_mutex_unlock(&vm->stop_lock);
    if (!first)
        return;
    uint64_t one = 1;
    if (write(vm->stop_efd, &one, sizeof one) < 0)
        log_warn("waking the main thread: %s", strerror(errno));
}

/* stop_lock held. */
static bool all_paused(struct vm *vm)
{
    return vm_paused(vm) && vm->paused_vcpus >= atomic_load(&vm->running_vcpus);
}

bool vm_fully_paused(struct vm *vm)
{
    pthread_mutex_lock(&vm->stop_lock);
    bool all = all_paused(vm);
    pthread_mutex_unlock(&vm->stop_lock);
    return all;
}

int vm_pause(struct vm *vm, unsigned timeout_ms)
{
    /* pause_cond runs on CLOCK_MONOTONIC, clock_now_ns()'s clock. */
    uint64_t deadline = clock_now_ns() + timeout_ms * 1000000ull;
    struct timespec until = {.tv_sec = (time_t)(deadline / 1000000000), .tv_nsec = (long)(deadline % 1000000000)};
    int rc = 0;
    pthread_mutex_lock(&vm->stop_lock);
    if (vm_stopping(vm)) {
        rc = -ESHUTDOWN;
    } else if (all_paused(vm)) {
        rc = -EALREADY;
    } else {
        atomic_store_explicit(&vm->paused, true, memory_order_release);
        for (unsigned i = 0; i < vm->nvcpus; i++)
            vcpu_kick(&vm->vcpus[i]);
        while (!rc && !vm_stopping(vm) && !all_paused(vm))
            rc = -pthread_cond_timedwait(&vm->pause_cond, &vm->stop_lock, &until);
        if (vm_stopping(vm))
            rc = -ESHUTDOWN;
    }
    pthread_mutex_unlock(&vm->stop_lock);
    return rc;
}

int vm_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->stop_lock);
    bool was = vm_paused(vm);
    atomic_store_explicit(&vm->paused, false, memory_order_release);
    pthread_cond_broadcast(&vm->pause_cond);
    pthread_mutex_unlock(&vm->stop_lock);
    return was ? 0 : -EALREADY;
}

void vm_pause_point(struct vm *vm)
{
    pthread_mutex_lock(&vm->stop_lock);
    vm->paused_vcpus++;
    pthread_cond_broadcast(&vm->pause_cond);     /* vm_pause counts us */
    while (vm_paused(vm) && !vm_stopping(vm))
        pthread_cond_wait(&vm->pause_cond, &vm->stop_lock);
    vm->paused_vcpus--;
    pthread_mutex_unlock(&vm->stop_lock);
}

void vm_vcpu_done(struct vm *vm, int status)
{
    bool last = atomic_fetch_sub(&vm->running_vcpus, 1) == 1;
    pthread_mutex_lock(&vm->stop_lock);
    pthread_cond_broadcast(&vm->pause_cond);     /* one fewer to wait for */
    pthread_mutex_unlock(&vm->stop_lock);
    if (last)
        vm_stop(vm, status);
}

int vm_start_vcpus(struct vm *vm)
{
    int rc = 0;
    pthread_mutex_lock(&vm->stop_lock);
    atomic_store(&vm->running_vcpus, vm->nvcpus);
    for (unsigned i = 0; i < vm->nvcpus && !rc && !vm_stopping(vm); i++)
        rc = vcpu_start(&vm->vcpus[i]);
    pthread_mutex_unlock(&vm->stop_lock);
    return rc;
}

void vm_join_vcpus(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vcpu_join(&vm->vcpus[i]);
}
