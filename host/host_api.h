/* aromd's operator endpoint (docs/AROMD.md): HTTP/1.1 + JSON, bound to
 * 127.0.0.1 by default, served by the API transport (vmm/api_server.c).
 *   GET   /v1/host        capacity and use across VMs, LtRAM wear, tokens, the plan
 *   GET   /v1/vms         every VM, summarised
 *   GET   /v1/vms/NAME    that VM's views, fetched from it now, and aromd's plan for it
 *   PATCH /v1/vms/NAME    {"dram_budget": SIZE|PCT|BYTES} pins its budget, null unpins
 *   PUT   /v1/external/NAME   a VM another hypervisor runs (libvirt's hook); DELETE forgets it
 *   GET   /metrics        every VM's figures (label vm) and aromd's own */
#ifndef AROM_HOST_HOST_API_H
#define AROM_HOST_HOST_API_H

#include <stdint.h>

#include "host/inventory.h"
#include "vmm/api.h"

struct host_api {
    struct inventory *inv;
    unsigned interval_ms;
    uint64_t started_ns;
    const char *listen;
};

/* An api_handler (vmm/api_server.h): ctx is a struct host_api. */
void host_api_handle(void *ctx, const char *method, const char *path, const char *body, size_t len,
                     struct api_response *r);

#endif
