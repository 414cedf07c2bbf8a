/* aromd's inventory: the VMs registered under the run directory, their
 * last views (GET /v1/vm and /v1/tiering), the demand figures drawn from
 * them, and the host-wide budget plan. The poll loop (inventory_refresh)
 * talks to the VMs without the lock and swaps its findings in under it;
 * the HTTP thread reads under it. json-c objects are not thread-safe, so
 * every stored view is touched only with the lock held. */
#ifndef AROM_HOST_INVENTORY_H
#define AROM_HOST_INVENTORY_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "host/budget.h"
#include "host/registry.h"

#define INVENTORY_TIMEOUT_MS 1000   /* one request to a VM */

struct host_vm {
    struct vm_entry e;
    json_object *vm, *tiering;      /* last views; tiering NULL when off */
    bool reachable;                 /* answered the last poll */
    char error[160];                /* why not */
    bool pinned;                    /* the operator fixed its budget (PATCH /v1/vms/NAME) */
    uint64_t pinned_budget;
    struct vm_demand demand;
    struct budget_result plan;
    uint64_t budget_sets, budget_errors;
};

/* A VM of another hypervisor that libvirt reported (contrib/libvirt/):
 * listed and counted at its whole RAM in DRAM, never steered. */
#define INVENTORY_EXTERNAL_MAX 1024

struct external_vm {
    char name[REGISTRY_NAME_MAX];
    char driver[32];            /* "qemu" */
    char uuid[40];
    uint64_t mem;
};

struct inventory {
    pthread_mutex_t lock;           /* poll loop writes, HTTP thread reads */
    pthread_mutex_t steer;          /* one budget writer at a time: the loop's plan or a pin */
    char run_dir[4096];
    bool steering;                  /* an allowance is set: aromd sets budgets */
    uint64_t allowance;             /* bytes of DRAM for all VMs */
    uint64_t host_dram;             /* MemTotal */
    struct host_vm *vms;            /* sorted by name */
    size_t n;
    enum budget_regime regime;
    struct external_vm *external;   /* lock */
    size_t n_external;
    uint64_t polls, vms_found, vms_dropped, stale_removed;
};

int inventory_init(struct inventory *inv, const char *run_dir, bool steering, uint64_t allowance);
void inventory_fini(struct inventory *inv);
/* One poll: list the registry, fetch every VM's views, drop VMs that are
 * gone (removing stale sockets), divide the allowance and set the budgets
 * that changed. */
void inventory_refresh(struct inventory *inv);
/* The VM called name (lock held), or NULL. */
struct host_vm *inventory_find(struct inventory *inv, const char *name);
/* Fix name's budget (value: bytes, "512M" or "25%", passed to the VM,
 * which validates it) or, with value NULL, hand it back to the plan.
 * The HTTP status, *answer the body to send (the VM's on its errors). */
int inventory_pin(struct inventory *inv, const char *name, json_object *value, json_object **answer);

/* Add or replace (e->name), or remove (NULL e) a reported VM: 0, -ENOENT
 * (removing one not there), -EEXIST (an arom VM has the name), -ENOSPC. */
int inventory_external(struct inventory *inv, const char *name, const struct external_vm *e);

/* The host's MemTotal in bytes, 0 when unknown. */
uint64_t host_mem_total(void);

#endif
