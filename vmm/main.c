/* arom-vmm: start-up and tear-down as one ordered list of steps (as in
 * kvmtool's init lists). Each step's init returns 0 or the process exit
 * status; on failure the steps already done are undone in reverse. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "tiering/tiering.h"
#include "lib/run_dir.h"
#include "vmm/api_vm.h"
#include "vmm/cpu_setup.h"
#include "vmm/elf_loader.h"
#include "vmm/domain_xml.h"
#include "vmm/hc_tiering.h"
#include "vmm/hooks.h"
#include "vmm/layout.h"
#include "vmm/linux.h"
#include "vmm/options.h"
#include "vmm/pagetable.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MAX_PAYLOAD_BYTES (256u << 20)

struct vmm {
    struct vmm_options opts;
    struct vmm_stats stats;
    struct vm vm;
    void *image;
    size_t image_len;
    struct elf_image_info info;
    int signal_fd;
    unsigned vcpus_created;
    struct tiering *tiering;      /* NULL with --ltram off */
    char name[OPTIONS_NAME_MAX + 1], uuid[37];
    struct linux_proc linux_proc; /* --linux */
    char **linux_argv;
    struct api_vm api;
    struct hooks hooks;
    char *hook_xml;               /* the domain XML hooks read */
    const char *release_reason;   /* release end REASON */
};

static int step_payload(struct vmm *m)
{
    char err[256];
    if (m->opts.linux_mode)
        return 0;               /* linux_load reads it, with its own rules */
    if (elf_read_file(m->opts.payload, MAX_PAYLOAD_BYTES, &m->image, &m->image_len, err, sizeof err) < 0) {
        log_error("%s", err);
        return EXIT_BAD_INPUT;
    }
    return 0;
}

static void undo_payload(struct vmm *m)
{
    free(m->image);
    m->image = NULL;
}

static int step_vm(struct vmm *m)
{
    return vm_create(&m->vm, m->opts.mem, &m->stats) < 0 ? EXIT_VMM_FAILURE : 0;
}

static void undo_vm(struct vmm *m)
{
    vm_destroy(&m->vm);
}

/* argv of a Linux guest: the payload, then the arguments as given on the
 * command line, or a config file's "args" array, or its "args" string split
 * at spaces. */
static char **linux_argv(struct vmm *m, int *argc)
{
    const struct vmm_options *o = &m->opts;
    char **given = o->guest_argv;
    int ngiven = o->guest_argc;
    if (!given && o->args_list)
        for (given = o->args_list, ngiven = 0; given[ngiven];)
            ngiven++;
    int n = 1 + (given ? ngiven : 0);
    char *copy = given || !o->args ? NULL : strdup(o->args);
    for (char *c = copy; c && *c; c++)
        n += *c == ' ';
    char **v = calloc((size_t)n + 2, sizeof *v);
    if (!v)
        return NULL;
    int k = 0;
    v[k++] = o->payload;
    for (int i = 0; given && i < ngiven; i++)
        v[k++] = given[i];
    for (char *save, *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
        v[k++] = t;
    v[n + 1] = copy;            /* freed with v */
    *argc = k;
    return v;
}

/* A Linux guest's signal for the thread on vCPU id. */
static void kick_vcpu(void *ctx, unsigned id)
{
    struct vm *vm = ctx;
    vcpu_kick(&vm->vcpus[id]);
}

static int linux_image(struct vmm *m)
{
    struct vm *vm = &m->vm;
    char err[512];
    cpu_setup_system_area(&vm->mem, m->opts.vcpus);
    if (pagetable_build(vm->mem.host, vm->mem.size, m->opts.vcpus, &vm->cr3) < 0) {
        log_error("cannot build page tables for %llu bytes of RAM", (unsigned long long)vm->mem.size);
        return EXIT_VMM_FAILURE;
    }
    linux_write_entry_stub(&vm->mem);
    int argc;
    if (!(m->linux_argv = linux_argv(m, &argc)))
        return EXIT_VMM_FAILURE;
    struct linux_config cfg = {.exe = m->opts.payload, .argv = m->linux_argv, .argc = argc,
                               .root = m->opts.linux_root, .root_rw = m->opts.linux_root_rw,
                               .vcpus = m->opts.vcpus};
    int rc = linux_load(&m->linux_proc, &vm->mem, vm->cr3, &cfg, &vm->entry, &vm->linux_rsp, err, sizeof err);
    if (rc < 0) {
        log_error("%s", err);
        linux_release(&m->linux_proc);      /* what the load took before it failed */
        return rc == -ENOMEM || rc == -EIO ? EXIT_VMM_FAILURE : EXIT_BAD_INPUT;
    }
    vm->lx = &m->linux_proc;
    m->linux_proc.ring.on = m->opts.linux_ring;
    if (linux_ring_start(&m->linux_proc) < 0)
        return EXIT_VMM_FAILURE;
    m->linux_proc.kick = kick_vcpu;
    m->linux_proc.kick_ctx = vm;
    hypercall_init(&vm->hc, &vm->mem, vm->cr3, &m->stats, STDOUT_FILENO);
    return 0;
}

static void undo_guest_image(struct vmm *m)
{
    if (m->vm.lx) {
        linux_ring_stop(&m->linux_proc);
        linux_release(&m->linux_proc);
    }
    m->vm.lx = NULL;
    if (m->linux_argv) {
        int n = 0;
        while (m->linux_argv[n])
            n++;
        free(m->linux_argv[n + 1]);
    }
    free(m->linux_argv);
    m->linux_argv = NULL;
}

static int step_guest_image(struct vmm *m)
{
    struct vm *vm = &m->vm;
    char err[256];
    if (m->opts.linux_mode)
        return linux_image(m);
    if (elf_load(m->image, m->image_len, vm->mem.host, vm->mem.size, AROM_LOAD_MIN, &m->info,
                 err, sizeof err) < 0) {
        log_error("%s: %s", m->opts.payload, err);
        return EXIT_BAD_INPUT;
    }
    vm->entry = m->info.entry;
    cpu_setup_system_area(&vm->mem, m->opts.vcpus);
    if (pagetable_build(vm->mem.host, vm->mem.size, m->opts.vcpus, &vm->cr3) < 0) {
        log_error("cannot build page tables for %llu bytes of RAM", (unsigned long long)vm->mem.size);
        return EXIT_VMM_FAILURE;
    }
    uint64_t heap = (m->info.load_end + AROM_PAGE_SIZE - 1) & ~(AROM_PAGE_SIZE - 1);
    if (cpu_setup_boot_info(&vm->mem, m->opts.vcpus, heap, m->opts.args) < 0) {
        log_error("guest arguments do not fit the boot info page");
        return EXIT_BAD_INPUT;
    }
    hypercall_init(&vm->hc, &vm->mem, vm->cr3, &m->stats, STDOUT_FILENO);
    return 0;
}

static int step_vcpus(struct vmm *m)
{
    struct vm *vm = &m->vm;
    vm->vcpus = calloc(m->opts.vcpus, sizeof *vm->vcpus);
    if (!vm->vcpus) {
        log_error("out of memory for %u vCPUs", m->opts.vcpus);
        return EXIT_VMM_FAILURE;
    }
    for (unsigned i = 0; i < m->opts.vcpus; i++) {
        m->vcpus_created = i + 1;
        if (vcpu_create(&vm->vcpus[i], vm, i) < 0)
            return EXIT_VMM_FAILURE;
    }
    vm->nvcpus = m->opts.vcpus;
    return 0;
}

static void undo_vcpus(struct vmm *m)
{
    for (unsigned i = 0; i < m->vcpus_created; i++)
        vcpu_destroy(&m->vm.vcpus[i]);
    free(m->vm.vcpus);
    m->vm.vcpus = NULL;
    m->vm.nvcpus = 0;
}

static int step_tiering(struct vmm *m)
{
    if (!m->opts.tiering_on)
        return 0;
    struct tiering_config cfg = m->opts.tiering;
    cfg.vm = vm_tiering_ops(&m->vm);
    char err[512];
    int rc = tiering_create(&m->tiering, m->vm.mem.host, m->vm.mem.fd, m->vm.mem.size, &cfg, err, sizeof err);
    if (rc == 0)
        rc = tiering_start(m->tiering, err, sizeof err);
    if (rc < 0) {
        log_error("tiering: %s", err);
        return rc == -EINVAL ? EXIT_BAD_INPUT : EXIT_VMM_FAILURE;
    }
    hc_tiering_register(&m->vm.hc, m->tiering);
    return 0;
}

/* --run-dir: the API socket is RUN_DIR/vms/NAME.sock, where aromd looks. */
static int registered_socket(struct vmm *m)
{
    char path[OPTIONS_SOCK_PATH_MAX], err[256];
    if (run_dir_sock(m->opts.run_dir, m->name, path, sizeof path)) {
        log_error("--run-dir %s: the socket path is over %d bytes", m->opts.run_dir, OPTIONS_SOCK_PATH_MAX - 1);
        return EXIT_BAD_INPUT;
    }
    if (run_dir_make(m->opts.run_dir, "vms", err, sizeof err)) {
        log_error("--run-dir: %s", err);
        return EXIT_BAD_INPUT;
    }
    m->opts.api_sock = strdup(path);
    return m->opts.api_sock ? 0 : EXIT_VMM_FAILURE;
}

/* The operator API, once there is a VM to show (its own thread). */
static int step_api(struct vmm *m)
{
    if (m->opts.run_dir) {
        int rc = registered_socket(m);
        if (rc)
            return rc;
    }
    if (!m->opts.api_sock)
        return 0;
    m->api = (struct api_vm){.vm = &m->vm, .tiering = m->tiering, .opts = &m->opts, .stats = &m->stats,
                             .name = m->name, .uuid = m->uuid};
    char err[256];
    int rc = api_vm_start(&m->api, err, sizeof err);
    if (rc < 0) {
        log_error("%s", err);
        return rc == -EINVAL ? EXIT_BAD_INPUT : EXIT_VMM_FAILURE;
    }
    return 0;
}

/* After the stats are written: a client may read the final figures up to here. */
static void undo_api(struct vmm *m)
{
    if (m->opts.api_sock)
        api_vm_stop(&m->api);
}

/* After the vCPUs are joined: stop the threads, audit, keep stats readable. */
static void undo_tiering(struct vmm *m)
{
    tiering_destroy(m->tiering);
    m->tiering = NULL;
}

/* SIGINT/SIGTERM/SIGHUP/SIGUSR2 arrive on a signalfd in the main thread
 * (a Linux guest that handles one gets it instead: vmm/linux_signal.c). This is the
 * first step, before any thread exists: every thread created later (vCPUs,
 * the tiering threads) inherits the blocked mask, so the kernel cannot
 * deliver SIGTERM to one of them and kill the process; vCPU threads
 * unblock only the kick signal. */
static int step_signals(struct vmm *m)
{
    /* A shell starts background jobs with SIGINT ignored; the VMM wants it. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    /* A closed console or stats pipe is an error on that write, not death. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigdelset(&set, VCPU_KICK_SIGNAL);
    m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (m->signal_fd < 0) {
        log_error("signalfd: %s", strerror(errno));
        return EXIT_VMM_FAILURE;
    }
    return vcpu_install_kick_signal() < 0 ? EXIT_VMM_FAILURE : 0;
}

static void undo_signals(struct vmm *m)
{
    close(m->signal_fd);
}

/* Hooks, libvirt's order: prepare begin before any resource, start begin
 * once the VM is ready, started begin once it runs, stopped end once it
 * stopped, release end REASON once everything is released. A failing
 * prepare or start hook aborts the launch; later ones are logged. */
static void run_hook_logged(struct vmm *m, const char *op, const char *subop, const char *extra)
{
    char err[HOOKS_STDERR_MAX + 512];
    if (hooks_run(&m->hooks, op, subop, extra, false, err, sizeof err) < 0)
        log_warn("%s", err);
}

static int run_hook_gate(struct vmm *m, const char *op)
{
    char err[HOOKS_STDERR_MAX + 512];
    if (hooks_run(&m->hooks, op, "begin", NULL, true, err, sizeof err) == 0)
        return 0;
    log_error("%s: the launch is aborted", err);
    return EXIT_VMM_FAILURE;
}

static int step_prepare(struct vmm *m)
{
    m->release_reason = "failed";
    m->hook_xml = m->opts.domain_text ? strdup(m->opts.domain_text) : domain_xml_format(&m->opts, m->name, m->uuid);
    if (!m->hook_xml) {
        log_error("out of memory for the domain XML");
        return EXIT_VMM_FAILURE;
    }
    hooks_init(&m->hooks, m->opts.hooks_dir, m->name, m->hook_xml, m->opts.hook_timeout_s);
    return run_hook_gate(m, "prepare");
}

static void undo_release(struct vmm *m)
{
    run_hook_logged(m, "release", "end", m->release_reason);
    free(m->hook_xml);
    m->hook_xml = NULL;
}

static int step_start(struct vmm *m)
{
    return run_hook_gate(m, "start");
}

static void undo_stopped(struct vmm *m)
{
    run_hook_logged(m, "stopped", "end", NULL);
}

/* Why the VM ended, in libvirt's words, for release end REASON. */
static const char *stop_reason(int status)
{
    return status == EXIT_GUEST_CRASH ? "crashed" : status > 128 ? "destroyed"
         : status == EXIT_VMM_FAILURE ? "failed" : "shutdown";
}

static int step_run(struct vmm *m)
{
    struct vm *vm = &m->vm;
    if (vm_start_vcpus(vm) < 0)
        vm_stop(vm, EXIT_VMM_FAILURE);
    else
        run_hook_logged(m, "started", "begin", NULL);
    struct pollfd fds[2] = {{.fd = vm->stop_efd, .events = POLLIN}, {.fd = m->signal_fd, .events = POLLIN}};
    while (!vm_stopping(vm)) {
        /* A Linux guest's signals: kicked again every 50 ms until taken. */
        if (poll(fds, 2, vm->lx ? 50 : -1) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            vm_stop(vm, EXIT_VMM_FAILURE);
            break;
        }
        if (vm->lx)
            linux_signal_rekick(vm->lx);
        if (vm->lx && linux_shutdown_overdue(vm->lx)) {
            log_info("the program did not exit within %u s of the shutdown's SIGTERM: stopping the VM",
                     LINUX_SHUTDOWN_GRACE_MS / 1000);
            vm_stop(vm, 0);
        }
        struct signalfd_siginfo si;
        if ((fds[1].revents & POLLIN) && read(m->signal_fd, &si, sizeof si) == sizeof si) {
            if (vm->lx && linux_signal_host(vm->lx, (int)si.ssi_signo)) {
                log_info("signal %u: passed to the program", si.ssi_signo);
                continue;
            }
            log_info("signal %u: stopping the VM", si.ssi_signo);
            if (vm->lx)
                vm->lx->term_signal = (int)si.ssi_signo;
            vm_stop(vm, 128 + (int)si.ssi_signo);
        }
    }
    vm_join_vcpus(vm);
    m->stats.t_end_ns = clock_now_ns();
    m->release_reason = stop_reason(vm->exit_status);
    if (m->tiering) {
        tiering_stop(m->tiering);
        if (tiering_audit(m->tiering) && vm->exit_status == 0)
            vm->exit_status = EXIT_VMM_FAILURE;   /* LtRAM changed outside migration */
    }
    return 0;
}

static int step_stats(struct vmm *m)
{
    if (!m->opts.stats_json)
        return 0;
    json_object *o = stats_to_json(&m->stats);
    json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(o, "name", json_object_new_string(m->name));
    json_object_object_add(o, "uuid", json_object_new_string(m->uuid));
    json_object_object_add(o, "payload", json_object_new_string(m->opts.payload));
    json_object_object_add(o, "vcpus", json_object_new_int((int)m->opts.vcpus));
    json_object_object_add(o, "mem_bytes", json_object_new_uint64(m->opts.mem));
    json_object_object_add(o, "exit_status", json_object_new_int(m->vm.exit_status));
    if (m->tiering)
        json_object_object_add(o, "tiering", tiering_stats_json(m->tiering, false));
    if (m->vm.lx)
        json_object_object_add(o, "linux", linux_stats_json(m->vm.lx));
    int rc = stats_write_json(o, m->opts.stats_json);
    json_object_put(o);
    return rc < 0 ? EXIT_VMM_FAILURE : 0;
}

static const struct step {
    const char *name;
    int (*init)(struct vmm *m);
    void (*undo)(struct vmm *m);
} steps[] = {
    {"signals", step_signals, undo_signals},      /* first: every thread inherits the mask */
    {"prepare hooks", step_prepare, undo_release},
    {"load payload", step_payload, undo_payload},
    {"create VM", step_vm, undo_vm},
    {"set up guest image", step_guest_image, undo_guest_image},
    {"create vCPUs", step_vcpus, undo_vcpus},
    {"tiering", step_tiering, undo_tiering},
    {"operator API", step_api, undo_api},
    {"start hooks", step_start, undo_stopped},
    {"run", step_run, NULL},
    {"write stats", step_stats, NULL},
};

/* The name and UUID the API, aromd and the stats show: given, or vm-PID
 * and a random (version 4) UUID. */
static void set_identity(struct vmm *m)
{
    if (m->opts.name)
        snprintf(m->name, sizeof m->name, "%s", m->opts.name);
    else
        snprintf(m->name, sizeof m->name, "vm-%d", (int)getpid());
    if (m->opts.uuid) {
        snprintf(m->uuid, sizeof m->uuid, "%s", m->opts.uuid);
        return;
    }
    unsigned char b[16] = {0};
    if (getrandom(b, sizeof b, 0) != sizeof b)
        log_warn("getrandom: %s; the UUID is not random", strerror(errno));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(m->uuid, sizeof m->uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int parse_options(struct vmm *m, int argc, char **argv)
{
    char err[512];
    options_init(&m->opts);
    if (options_parse_argv(&m->opts, argc, argv, err, sizeof err) < 0) {
        log_error("%s", err);
        return EXIT_BAD_INPUT;
    }
    if (m->opts.help) {
        options_usage(stdout);
        return -1;
    }
    if (m->opts.version) {
        printf("arom-vmm %s\n", PACKAGE_VERSION);
        return -1;
    }
    if (options_validate(&m->opts, err, sizeof err) < 0) {
        log_error("%s", err);
        return EXIT_BAD_INPUT;
    }
    log_set_quiet(m->opts.quiet);
    if (m->opts.domain_notes[0])
        log_info("domain XML: arom has no use for: %s", m->opts.domain_notes);
    set_identity(m);
    return 0;
}

int main(int argc, char **argv)
{
    static struct vmm m;          /* large (stats tables); lives for the whole run */
    stats_init(&m.stats);
    m.signal_fd = -1;
    int status = parse_options(&m, argc, argv);
    size_t done = 0;
    if (status == 0) {
        for (; done < sizeof steps / sizeof steps[0]; done++) {
            status = steps[done].init(&m);
            if (status) {
                log_error("stopped at step '%s'", steps[done].name);
                done++;             /* undo the failed step's partial work too */
                break;
            }
        }
        if (!status)
            status = m.vm.exit_status;
    }
    while (done > 0) {
        done--;
        if (steps[done].undo)
            steps[done].undo(&m);
    }
    if (status == -1)
        status = 0;
    options_free(&m.opts);
    stats_destroy(&m.stats);
    return status;
}
