/* The operator API's backend for the running VM: identity and state, the
 * tiering figures, run-time settings and actions (pause, resume, shutdown,
 * demote, audit), and the server that serves them (--api-sock). */
#ifndef AROM_VMM_API_VM_H
#define AROM_VMM_API_VM_H

#include "tiering/tiering.h"
#include "vmm/api.h"
#include "vmm/api_server.h"
#include "vmm/options.h"
#include "vmm/vm.h"

#define API_PAUSE_TIMEOUT_MS 5000

struct api_vm {
    struct vm *vm;
    struct tiering *tiering;            /* NULL with --ltram off */
    const struct vmm_options *opts;
    const struct vmm_stats *stats;
    const char *name, *uuid;
    struct api_backend backend;
    struct api_server server;
};

/* Serve a->opts->api_sock. 0 or -errno with err. */
int api_vm_start(struct api_vm *a, char *err, size_t errlen);
void api_vm_stop(struct api_vm *a);
/* The VM's state word: starting, running, pausing, paused, stopping. */
const char *api_vm_state(struct vm *vm);

#endif
