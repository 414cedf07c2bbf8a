#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/log.h"
#include "vmm/api_vm.h"
#include "vmm/linux.h"

const char *api_vm_state(struct vm *vm)
{
    if (vm_stopping(vm))
        return "stopping";
    if (!__atomic_load_n(&vm->stats->t_guest_start_ns, __ATOMIC_RELAXED))   /* set by the first vCPU */
        return "starting";
    if (vm_paused(vm))
        return vm_fully_paused(vm) ? "paused" : "pausing";
    return "running";
}

static json_object *vm_view(void *ctx)
{
    struct api_vm *a = ctx;
    json_object *o = json_object_new_object();
    json_add_str(o, "name", a->name);
    json_add_str(o, "uuid", a->uuid);
    json_add_i64(o, "pid", getpid());
    const char *state = api_vm_state(a->vm);
    json_add_str(o, "state", state);
    json_add_bool(o, "paused", !strcmp(state, "paused"));
    json_add_u64(o, "vcpus", a->opts->vcpus);
    json_add_u64(o, "vcpus_running", atomic_load(&a->vm->running_vcpus));
    json_add_u64(o, "mem_bytes", a->opts->mem);
    json_add_double(o, "uptime_s", (clock_now_ns() - a->stats->t_start_ns) / 1e9);
    json_add_str(o, "payload", a->opts->payload);
    json_add_str(o, "args", a->opts->args ? a->opts->args : "");
    json_add_bool(o, "tiering", a->tiering != NULL);
    json_add_str(o, "api_socket", a->opts->api_sock);
    json_add_str(o, "version", PACKAGE_VERSION);
    return o;
}

static json_object *tiering_view(void *ctx)
{
    struct api_vm *a = ctx;
    return a->tiering ? tiering_stats_json(a->tiering, true) : NULL;
}

/* -ENOTSUP with the reason when the VM runs without tiering. */
static int tiering_off(const struct api_vm *a, char *err, size_t errlen)
{
    return a->tiering ? 0 : errf(err, errlen, -ENOTSUP, "tiering is off (the VM runs with --ltram off)");
}

static int update(void *ctx, const struct tiering_settings *s, char *err, size_t errlen)
{
    struct api_vm *a = ctx;
    int rc = tiering_off(a, err, errlen);
    if (rc == 0)
        rc = tiering_update(a->tiering, s, err, errlen);
    if (rc == 0 && (s->set & TIERING_SET_BUDGET))
        log_info("api: DRAM budget set to %llu bytes", (unsigned long long)s->dram_budget);
    return rc;
}

static json_object *state_result(struct vm *vm)
{
    json_object *o = json_object_new_object();
    json_add_str(o, "state", api_vm_state(vm));
    return o;
}

static int action(void *ctx, const struct api_action *act, json_object **result, char *err, size_t errlen)
{
    struct api_vm *a = ctx;
    int rc = 0;
    switch (act->kind) {
    case API_PAUSE:
        rc = vm_pause(a->vm, API_PAUSE_TIMEOUT_MS);
        if (rc == -EALREADY)
            return errf(err, errlen, rc, "the VM is already paused");
        if (rc == -ETIMEDOUT)
            return errf(err, errlen, rc, "a vCPU did not stop within %u ms (the VM stays pausing until resumed)",
                        API_PAUSE_TIMEOUT_MS);
        break;
    case API_RESUME:
        if (vm_stopping(a->vm))
            return errf(err, errlen, -ESHUTDOWN, "the VM is stopping");
        if (vm_resume(a->vm) < 0)
            return errf(err, errlen, -EALREADY, "the VM is not paused");
        break;
    case API_SHUTDOWN:
        if (vm_stopping(a->vm))
            return errf(err, errlen, -ESHUTDOWN, "the VM is already stopping");
        if (a->vm->lx && linux_signal_shutdown(a->vm->lx, LINUX_SHUTDOWN_GRACE_MS)) {
            log_info("api: shutdown requested: SIGTERM to the program, which handles it (the VM stops in %u s "
                     "if it has not exited; a second shutdown stops it now)", LINUX_SHUTDOWN_GRACE_MS / 1000);
            break;
        }
        log_info("api: shutdown requested: stopping the VM");
        vm_stop(a->vm, 0);
        break;
    case API_DEMOTE: {
        if ((rc = tiering_off(a, err, errlen)) < 0)
            return rc;
        if (vm_stopping(a->vm))
            return errf(err, errlen, -ESHUTDOWN, "the VM is stopping");
        int64_t n = tiering_hint(a->tiering, act->gpa / AROM_PAGE_SIZE, act->len / AROM_PAGE_SIZE, TIERING_HINT_DEMOTE);
        if (n < 0)
            return errf(err, errlen, (int)n, "demote: %s", n == -ENOSPC ? "LtRAM is full"
                        : n == -EAGAIN ? "no endurance tokens or host mappings left; try later" : strerror((int)-n));
        *result = json_object_new_object();
        json_add_u64(*result, "pages_demoted", (uint64_t)n);
        return 0;
    }
    case API_AUDIT:
        if ((rc = tiering_off(a, err, errlen)) < 0)
            return rc;
        *result = json_object_new_object();
        json_add_u64(*result, "mismatches", tiering_audit(a->tiering));
        return 0;
    }
    if (rc == -ESHUTDOWN)
        return errf(err, errlen, rc, "the VM is stopping");
    if (rc < 0)
        return errf(err, errlen, rc, "%s", strerror(-rc));
    *result = state_result(a->vm);
    return 0;
}

static void serve_request(void *ctx, const char *method, const char *path, const char *body, size_t len,
                          struct api_response *r)
{
    api_handle(ctx, method, path, body, len, r);
}

int api_vm_start(struct api_vm *a, char *err, size_t errlen)
{
    a->backend = (struct api_backend){.ctx = a, .mem_bytes = a->opts->mem, .vm = vm_view,
                                      .tiering = tiering_view, .update = update, .action = action};
    return api_server_start(&a->server, "--api-sock", a->opts->api_sock, serve_request, &a->backend, err, errlen);
}

void api_vm_stop(struct api_vm *a)
{
    api_server_stop(&a->server);
}
