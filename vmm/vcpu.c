#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/compat.h"
#include "lib/log.h"
#include "vmm/cpu_setup.h"
#include "vmm/linux.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id)
{
    memset(v, 0, sizeof *v);
    v->fd = -1;
    v->schedstat_fd = -1;
    v->vm = vm;
    v->id = id;
    v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
    if (v->fd < 0) {
        log_error("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
        return -errno;
    }
    v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        v->run = NULL;
        log_error("vCPU %u: mapping kvm_run: %s", id, strerror(errno));
        return -errno;
    }
    int rc = cpu_setup_vcpu(vm->kvm_fd, v->fd, id, vm->cr3, vm->entry);
    if (rc == 0 && vm->lx && (rc = linux_setup_vcpu(vm->lx, id, v->fd, v->run, vm->linux_rsp)) < 0)
        log_error("vCPU %u: the Linux guest's CPU state: %s", id, strerror(-rc));
    return rc;
}

void vcpu_destroy(struct vcpu *v)
{
    if (v->run)
        munmap(v->run, (size_t)v->vm->run_size);
    if (v->fd >= 0)
        close(v->fd);
    v->run = NULL;
    v->fd = -1;
}

static void kick_handler(int sig)
{
    (void)sig;      /* only interrupts KVM_RUN */
}

int vcpu_install_kick_signal(void)
{
    struct sigaction sa = {.sa_handler = kick_handler};
    sigemptyset(&sa.sa_mask);
    if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0) {
        log_error("sigaction: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

void vcpu_kick(struct vcpu *v)
{
    if (!v->run || !v->thread_started)
        return;
    /* immediate_exit covers a kick that lands just before KVM_RUN. */
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
    pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
    "coprocessor overrun", "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
    "#GP general protection", "#PF page fault", "reserved", "#MF x87 error",
    "#AC alignment check", "#MC machine check", "#XM SIMD exception", "#VE virtualization",
    "#CP control protection",
};

/* A guest exception stub reported `vector`; its frame is on the CPL0 stack:
 * rdx, rax, [error code], rip, cs, rflags, rsp, ss. */
static void report_guest_exception(struct vcpu *v, unsigned vector)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
        log_error("vCPU %u: guest exception %u (registers unreadable: %s)", v->id, vector, strerror(errno));
        return;
    }
    unsigned words = EXC_HAS_ERRCODE(vector) ? 8 : 7;
    const uint64_t *f = guest_mem_ptr(&v->vm->mem, regs.rsp, words * 8);
    if (!f || regs.rsp % 8) {
        log_error("vCPU %u: guest exception %u with an unreadable frame (RSP 0x%llx)", v->id,
                  vector, (unsigned long long)regs.rsp);
        return;
    }
    uint64_t frame[8];
    memcpy(frame, f, words * 8);
    const uint64_t *iret = frame + (words == 8 ? 3 : 2);
    char err[48] = "";
    if (words == 8)
        snprintf(err, sizeof err, " error 0x%llx", (unsigned long long)frame[2]);
    log_error("vCPU %u: guest crashed: %s (vector %u)%s at RIP 0x%llx RSP 0x%llx CR2 0x%llx "
              "RAX 0x%llx RDX 0x%llx (CPL%llu)",
              v->id, vector < 32 && exception_names[vector] ? exception_names[vector] : "exception",
              vector, err, (unsigned long long)iret[0], (unsigned long long)iret[3],
              (unsigned long long)sregs.cr2, (unsigned long long)frame[1],
              (unsigned long long)frame[0], (unsigned long long)(iret[1] & 3));
}

static void report_cpu_state(struct vcpu *v, const char *what)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
        log_error("vCPU %u: %s (registers unreadable: %s)", v->id, what, strerror(errno));
        return;
    }
    log_error("vCPU %u: %s at RIP 0x%llx RSP 0x%llx CR2 0x%llx", v->id, what,
              (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
              (unsigned long long)sregs.cr2);
}

/* The part of a Linux guest's call the thread slept through (wall time
 * minus its CPU time and minus its wait for a CPU): the guest's own wait,
 * not tiering's. The wait for a CPU (after a wakeup, mostly) is left out
 * because vcpu_times takes all of it off already: counted twice, the
 * blocked time of a busy host would read 0. */
struct guest_wait {
    uint64_t wall, cpu, delay;
};

/* The thread's run delay (ns it waited on a run queue), 0 if unknown. */
static uint64_t run_delay_ns(const struct vcpu *v)
{
    char buf[96];
    unsigned long long run, delay;
    ssize_t n = v->schedstat_fd >= 0 ? pread(v->schedstat_fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return sscanf(buf, "%llu %llu", &run, &delay) == 2 ? delay : 0;
}

static struct guest_wait guest_wait_begin(struct vcpu *v)
{
    struct guest_wait w = {clock_now_ns(), clock_thread_cpu_ns(), run_delay_ns(v)};
    atomic_store(&v->guest_wait_start_ns, w.wall);     /* a wait in progress counts too */
    return w;
}

static void guest_wait_end(struct vcpu *v, struct guest_wait w)
{
    uint64_t wall = clock_now_ns() - w.wall, cpu = clock_thread_cpu_ns() - w.cpu;
    uint64_t delay = run_delay_ns(v), queued = delay > w.delay ? delay - w.delay : 0;
    atomic_store(&v->guest_wait_start_ns, 0);
    if (wall > cpu + queued)
        atomic_fetch_add(&v->guest_sleep_ns, wall - cpu - queued);
}

/* Returns true while the vCPU should keep running. */
static bool handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    struct vm *vm = v->vm;
    uint16_t port = run->io.port;
    const uint8_t *data = (const uint8_t *)run + run->io.data_offset;

    if (port == AROM_EXCEPTION_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
        report_guest_exception(v, data[0]);
        vm_stop(vm, EXIT_GUEST_CRASH);
        return false;
    }
    if (port == AROM_SYSCALL_PORT && vm->lx && run->io.direction == KVM_EXIT_IO_OUT) {
        struct guest_wait w = guest_wait_begin(v);
        enum linux_result r = linux_syscall(vm->lx, v->id, v->fd, run);
        guest_wait_end(v, w);
        if (r != LINUX_EXIT)
            return true;        /* a thread that exited waits for the next clone */
        vm_stop(vm, vm->lx->exit_status);
        return false;
    }
    if (port >= AROM_HC_PORT_BASE && port < AROM_HC_PORT_BASE + AROM_HC_MAX &&
        run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4 && run->io.count == 1) {
        uint32_t gpa;
        memcpy(&gpa, data, sizeof gpa);
        int status = 0;
        char err[160];
        switch (hypercall_handle(&vm->hc, port - AROM_HC_PORT_BASE, gpa, &status, err, sizeof err)) {
        case HC_CONTINUE:
            return true;
        case HC_VCPU_DONE:
            vm_vcpu_done(vm, status);
            return false;
        case HC_VM_EXIT:
            vm_stop(vm, status);
            return false;
        case HC_FATAL:
            log_error("vCPU %u: %s", v->id, err);
            vm_stop(vm, EXIT_GUEST_CRASH);
            return false;
        }
    }
    char what[96];
    snprintf(what, sizeof what, "unexpected port I/O (%s port 0x%x, size %u)",
             run->io.direction == KVM_EXIT_IO_OUT ? "out to" : "in from", port, run->io.size);
    report_cpu_state(v, what);
    vm_stop(vm, EXIT_GUEST_CRASH);
    return false;
}

static bool handle_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    char what[128];
    stats_count_exit(v->vm->stats, run->exit_reason);
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        return handle_io(v);
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_SHUTDOWN:
        report_cpu_state(v, "triple fault (shutdown)");
        break;
    case KVM_EXIT_MMIO:
        snprintf(what, sizeof what, "access to GPA 0x%llx outside guest RAM (%s %u bytes)",
                 (unsigned long long)run->mmio.phys_addr, run->mmio.is_write ? "write" : "read",
                 run->mmio.len);
        report_cpu_state(v, what);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof what, "VM entry failed (hardware reason 0x%llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        report_cpu_state(v, what);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        snprintf(what, sizeof what, "KVM internal error (suberror %u)", run->internal.suberror);
        report_cpu_state(v, what);
        break;
    default:
        snprintf(what, sizeof what, "unhandled exit reason %u", run->exit_reason);
        report_cpu_state(v, what);
        break;
    }
    vm_stop(v->vm, EXIT_GUEST_CRASH);
    return false;
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vm *vm = v->vm;
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

    v->start_ns = clock_now_ns();
    v->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);  /* -1: no run delay known */
    atomic_store(&v->tid, (int)syscall(SYS_gettid));
    uint64_t zero = 0;
    __atomic_compare_exchange_n(&vm->stats->t_guest_start_ns, &zero, clock_now_ns(), false,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    while (!vm_stopping(vm)) {
        if (vm_paused(vm)) {
            uint64_t since = clock_now_ns();
            atomic_store(&v->pause_start_ns, since);
            vm_pause_point(vm);
            atomic_fetch_add(&v->paused_ns, clock_now_ns() - since);
            atomic_store(&v->pause_start_ns, 0);
            continue;
        }
        if (vm->lx) {
            struct guest_wait w = guest_wait_begin(v);
            bool ready = linux_thread_ready(vm->lx, v->id, v->fd, v->run);
            guest_wait_end(v, w);
            if (!ready)
                continue;       /* a spare vCPU of a Linux guest: no thread yet */
            if (linux_signal_check(vm->lx, v->id, v->fd, v->run) == LINUX_EXIT) {
                vm_stop(vm, vm->lx->exit_status);       /* a signal's default action ended it */
                break;
            }
        }
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
                continue;
            }
            char what[80];
            snprintf(what, sizeof what, "KVM_RUN failed: %s", strerror(errno));
            report_cpu_state(v, what);
            vm_stop(vm, EXIT_VMM_FAILURE);
            break;
        }
        if (!handle_exit(v))
            break;
    }
    if (v->schedstat_fd >= 0)
        close(v->schedstat_fd);
    v->schedstat_fd = -1;
    return NULL;
}

void vcpu_times(struct vcpu *v, struct tiering_vcpu_times *t)
{
    int tid = atomic_load(&v->tid);
    if (!tid)
        return;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
    FILE *f = fopen(path, "r");
    unsigned long long run = 0, wait = 0;
    if (!f)
        return;
    int n = fscanf(f, "%llu %llu", &run, &wait);
    fclose(f);
    if (n != 2)
        return;
    /* A paused vCPU sleeps too, but not for tiering. */
    uint64_t now = clock_now_ns(), since = atomic_load(&v->pause_start_ns);
    uint64_t paused = atomic_load(&v->paused_ns) + (since && now > since ? now - since : 0);
    /* A Linux guest's own wait: the finished ones, and the one in progress (asleep, so all of it). */
    uint64_t gw = atomic_load(&v->guest_wait_start_ns);
    uint64_t guest = atomic_load(&v->guest_sleep_ns) + (gw && now > gw ? now - gw : 0);
    uint64_t wall = now - v->start_ns, busy = run + wait + paused + guest;
    t->active_ns += wall > paused + guest ? wall - paused - guest : 0;
    t->blocked_ns += wall > busy ? wall - busy : 0;
    t->run_ns += run;
}

int vcpu_start(struct vcpu *v)
{
    int rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
    if (rc) {
        log_error("vCPU %u: pthread_create: %s", v->id, strerror(rc));
        return -rc;
    }
    char name[16];
    snprintf(name, sizeof name, "vcpu%u", v->id);
    pthread_setname_np(v->thread, name);
    v->thread_started = true;
    return 0;
}

void vcpu_join(struct vcpu *v)
{
    if (v->thread_started)
        pthread_join(v->thread, NULL);
    v->thread_started = false;
}
