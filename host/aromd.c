/* aromd: the arom host daemon (docs/AROMD.md). A poll loop over the VMs
 * registered under the run directory (host/inventory.c), the host
 * endpoint on the API transport (host/host_api.c), and signals through a
 * signalfd so the loop is the only place that acts on them. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"
#include "host/aromd_options.h"
#include "host/host_api.h"
#include "host/http_client.h"
#include "host/inventory.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/run_dir.h"
#include "vmm/api_server.h"

enum { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2 };

static int start_server(struct api_server *s, const char *listen, struct host_api *h)
{
    struct http_endpoint ep;
    char err[256];
    http_endpoint_parse(&ep, listen);   /* validated with the options */
    int rc = ep.path[0] ? api_server_start(s, "--listen", ep.path, host_api_handle, h, err, sizeof err)
                        : api_server_start_tcp(s, "--listen", ep.addr, ep.port, host_api_handle, h, err, sizeof err);
    if (rc < 0)
        log_error("%s", err);
    return rc;
}

/* Block until the next poll is due or a signal comes: false to stop. */
static bool wait_next(int sfd, unsigned interval_ms)
{
    struct pollfd p = {.fd = sfd, .events = POLLIN};
    if (poll(&p, 1, (int)interval_ms) <= 0)
        return true;
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) != sizeof si)
        return true;
    if (si.ssi_signo == SIGHUP)
        return true;            /* poll now */
    log_info("signal %u: stopping", si.ssi_signo);
    return false;
}

static int run(const struct aromd_options *o)
{
    uint64_t host = host_mem_total(), allowance = 0;
    if (o->host_dram.set && share_bytes(&o->host_dram, host, &allowance)) {
        log_error("--host-dram: more than the host's DRAM (%llu bytes)", (unsigned long long)host);
        return EXIT_USAGE;
    }
    char err[256];
    if (run_dir_make(o->run_dir, "vms", err, sizeof err)) {
        log_error("--run-dir %s", err);
        return EXIT_FAILURE_;
    }
    struct inventory inv;
    if (inventory_init(&inv, o->run_dir, o->host_dram.set, allowance))
        return EXIT_FAILURE_;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);    /* before the server's thread starts: it inherits the mask */
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    struct host_api h = {.inv = &inv, .interval_ms = o->interval_ms, .started_ns = clock_now_ns(), .listen = o->listen};
    struct api_server srv;
    int rc = sfd < 0 ? -errno : start_server(&srv, o->listen, &h);
    if (rc < 0) {
        if (sfd < 0)
            log_error("signalfd: %s", strerror(-rc));
        else
            close(sfd);
        inventory_fini(&inv);
        return rc == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_;     /* -EINVAL: the address is the operator's to fix */
    }
    if (o->host_dram.set)
        log_info("serving %s; VMs under %s/vms; %llu MiB of DRAM for VMs (host: %llu MiB)", o->listen, o->run_dir,
                 (unsigned long long)(allowance >> 20), (unsigned long long)(host >> 20));
    else
        log_info("serving %s; VMs under %s/vms; no --host-dram: observing only", o->listen, o->run_dir);
    do
        inventory_refresh(&inv);
    while (wait_next(sfd, o->interval_ms));
    api_server_stop(&srv);
    close(sfd);
    inventory_fini(&inv);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct aromd_options o;
    char err[512];
    aromd_options_init(&o);
    if (aromd_options_parse(&o, argc, argv, err, sizeof err)) {
        log_error("%s (see aromd --help)", err);
        return EXIT_USAGE;
    }
    if (o.help) {
        aromd_usage(stdout);
        return EXIT_OK;
    }
    if (o.version) {
        printf("aromd %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    log_set_quiet(o.quiet);
    return run(&o);
}
