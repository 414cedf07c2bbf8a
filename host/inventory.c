#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/http_client.h"
#include "host/inventory.h"
#include "lib/json.h"
#include "lib/log.h"

#define PAGE 4096u

/* What one poll learnt of one VM (no lock: the loop's own). */
struct finding {
    struct vm_entry e;
    json_object *vm, *tiering;
    bool ok;
    char error[160];
};

/* A budget to set, decided under the lock and sent without it. */
struct budget_set {
    char name[REGISTRY_NAME_MAX];
    char sock[108];
    uint64_t budget;
};

uint64_t host_mem_total(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    unsigned long long kb = 0;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024;
}

int inventory_init(struct inventory *inv, const char *run_dir, bool steering, uint64_t allowance)
{
    *inv = (struct inventory){.steering = steering, .allowance = allowance, .host_dram = host_mem_total()};
    if (strlen(run_dir) >= sizeof inv->run_dir)
        return -ENAMETOOLONG;
    strcpy(inv->run_dir, run_dir);
    pthread_mutex_init(&inv->lock, NULL);
    pthread_mutex_init(&inv->steer, NULL);
    return 0;
}

static void vm_clear(struct host_vm *v)
{
    json_object_put(v->vm);
    json_object_put(v->tiering);
    v->vm = v->tiering = NULL;
}

void inventory_fini(struct inventory *inv)
{
    for (size_t i = 0; i < inv->n; i++)
        vm_clear(&inv->vms[i]);
    free(inv->vms);
    inv->vms = NULL;
    inv->n = 0;
    free(inv->external);
    inv->external = NULL;
    inv->n_external = 0;
    pthread_mutex_destroy(&inv->lock);
    pthread_mutex_destroy(&inv->steer);
}

struct host_vm *inventory_find(struct inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->n; i++)
        if (!strcmp(inv->vms[i].e.name, name))
            return &inv->vms[i];
    return NULL;
}

/* GET one view; false with f->error. */
static bool fetch_view(struct finding *f, const struct http_endpoint *ep, const char *path, json_object **out,
                       int *rc)
{
    char err[160];
    *rc = http_json(ep, "GET", path, NULL, INVENTORY_TIMEOUT_MS, out, err, sizeof err);
    if (*rc == 200 && json_object_is_type(*out, json_type_object))
        return true;
    if (*rc >= 0)
        snprintf(err, sizeof err, "GET %s: status %d", path, *rc);
    snprintf(f->error, sizeof f->error, "%s", err);
    json_object_put(*out);
    *out = NULL;
    return false;
}

/* Fetch e's views. False when the VM is gone for good (no socket, or a
 * stale one, now removed): it is dropped, not listed. */
static bool find(struct inventory *inv, const struct vm_entry *e, struct finding *f)
{
    *f = (struct finding){.e = *e};
    struct http_endpoint ep;
    http_endpoint_unix(&ep, e->sock);
    int rc;
    if (!fetch_view(f, &ep, "/v1/vm", &f->vm, &rc)) {
        if (rc == -ENOENT)
            return false;
        if (registry_drop_stale(e->sock, rc)) {
            log_info("VM %s: its socket is stale (nobody listens); removed it", e->name);
            inv->stale_removed++;
            return false;
        }
        return true;
    }
    if (!fetch_view(f, &ep, "/v1/tiering", &f->tiering, &rc)) {
        json_object_put(f->vm);
        f->vm = NULL;
        return true;
    }
    f->ok = true;
    return true;
}

static double num(json_object *o, const char *path)
{
    double v = 0;
    return o && json_path_number(o, path, &v) && v > 0 ? v : 0;
}

static bool tiering_steerable(json_object *t)
{
    double on = 0;
    return t && json_path_number(t, "daemon.enabled", &on) && on > 0;
}

/* The demand figures of v from its views. */
static void demand_of(struct host_vm *v)
{
    struct vm_demand *d = &v->demand;
    json_object *t = v->tiering;
    uint64_t mem = (uint64_t)num(v->vm, "mem_bytes");
    bool tiered = t && num(t, "pages.total") > 0;
    *d = (struct vm_demand){
        .kind = !v->reachable || !tiering_steerable(t) ? BUDGET_FIXED : v->pinned ? BUDGET_PINNED : BUDGET_STEERED,
        .mem = mem,
        .floor = (uint64_t)(num(t, "pages.pinned_system") + num(t, "daemon.write_hot_pages")) * PAGE,
        .budget = v->pinned ? v->pinned_budget : (uint64_t)num(t, "dram_budget_bytes"),
        .resident = tiered ? (uint64_t)num(t, "dram_resident_bytes") : mem,
        .slowdown_pct = num(t, "daemon.guard.slowdown_pct"),
        .target_pct = num(t, "daemon.guard.max_slowdown_pct"),
    };
}

static const char *view_str(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* Merge f into the new table slot v, carrying over what aromd knows of
 * the same VM (same pid) from old. */
static void merge(struct host_vm *v, struct finding *f, struct host_vm *old)
{
    bool same = old && (!f->ok || !old->vm || !strcmp(view_str(old->vm, "pid"), view_str(f->vm, "pid")));
    *v = same ? *old : (struct host_vm){0};
    if (old && !same) {
        log_info("VM %s: a new VMM (pid %s) under the name", f->e.name, view_str(f->vm, "pid"));
        vm_clear(old);
    }
    v->e = f->e;
    v->reachable = f->ok;
    snprintf(v->error, sizeof v->error, "%s", f->ok ? "" : f->error);
    if (f->ok) {
        json_object_put(v->vm);
        json_object_put(v->tiering);
        json_object *en;
        bool on = json_object_object_get_ex(f->tiering, "enabled", &en) && json_object_get_boolean(en);
        v->vm = f->vm;
        v->tiering = on ? f->tiering : NULL;
        if (!on)
            json_object_put(f->tiering);
    }
    if (old)
        *old = (struct host_vm){0};     /* moved */
}

/* Swap the findings in (lock held); returns the budgets to set. */
static size_t apply_findings(struct inventory *inv, struct finding *f, size_t n, struct budget_set *sets)
{
    struct host_vm *next = calloc(n ? n : 1, sizeof *next);
    if (!next) {
        for (size_t i = 0; i < n; i++) {
            json_object_put(f[i].vm);
            json_object_put(f[i].tiering);
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct host_vm *old = inventory_find(inv, f[i].e.name);
        if (!old)
            inv->vms_found++;
        merge(&next[i], &f[i], old);
    }
    for (size_t i = 0; i < inv->n; i++) {
        if (inv->vms[i].e.name[0]) {
            log_info("VM %s: gone (its socket was removed); dropped", inv->vms[i].e.name);
            inv->vms_dropped++;
            vm_clear(&inv->vms[i]);
        }
    }
    free(inv->vms);
    inv->vms = next;
    inv->n = n;
    inv->polls++;

    /* The plan covers the arom VMs, then the reported ones at their whole RAM. */
    size_t all = n + inv->n_external;
    struct vm_demand *dem = calloc(all ? all : 1, sizeof *dem);
    struct budget_result *plan = calloc(all ? all : 1, sizeof *plan);
    for (size_t i = 0; i < n; i++)
        demand_of(&next[i]);
    size_t k = 0;
    if (!inv->steering || !dem || !plan) {
        free(dem);
        free(plan);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        dem[i] = next[i].demand;
    for (size_t i = 0; i < inv->n_external; i++)
        dem[n + i] = (struct vm_demand){.kind = BUDGET_FIXED, .mem = inv->external[i].mem,
                                        .resident = inv->external[i].mem};
    inv->regime = budget_divide(inv->allowance, dem, all, plan);
    for (size_t i = 0; i < n; i++) {
        next[i].plan = plan[i];
        if (dem[i].kind == BUDGET_STEERED && budget_changed(dem[i].budget, plan[i].budget, dem[i].mem)) {
            sets[k] = (struct budget_set){.budget = plan[i].budget};
            memcpy(sets[k].name, next[i].e.name, sizeof sets[k].name);
            memcpy(sets[k].sock, next[i].e.sock, sizeof sets[k].sock);
            k++;
        }
    }
    free(dem);
    free(plan);
    return k;
}

/* PATCH one VM's budget: the HTTP status or -errno, *answer its body. */
static int patch_budget(const char *sock, json_object *value, json_object **answer, char *err, size_t errlen)
{
    struct http_endpoint ep;
    http_endpoint_unix(&ep, sock);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "dram_budget", json_object_get(value));
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    int rc = http_json(&ep, "PATCH", "/v1/tiering", text, INVENTORY_TIMEOUT_MS, answer, err, errlen);
    json_object_put(body);
    return rc;
}

static void set_budgets(struct inventory *inv, const struct budget_set *sets, size_t k)
{
    pthread_mutex_lock(&inv->steer);
    for (size_t i = 0; i < k; i++) {
        pthread_mutex_lock(&inv->lock);
        struct host_vm *v = inventory_find(inv, sets[i].name);
        bool still = v && !v->pinned;
        pthread_mutex_unlock(&inv->lock);
        if (!still)
            continue;
        char err[160];
        json_object *answer = NULL, *value = json_object_new_uint64(sets[i].budget);
        int rc = patch_budget(sets[i].sock, value, &answer, err, sizeof err);
        json_object_put(value);
        pthread_mutex_lock(&inv->lock);
        if ((v = inventory_find(inv, sets[i].name))) {
            if (rc == 200) {
                v->budget_sets++;
                json_object_put(v->tiering);
                v->tiering = json_object_get(answer);
                v->demand.budget = sets[i].budget;
            } else {
                v->budget_errors++;
                if (rc >= 0)
                    snprintf(err, sizeof err, "PATCH /v1/tiering: status %d (%s)", rc, view_str(answer, "error"));
                log_warn("VM %s: setting its budget to %llu bytes: %s", sets[i].name,
                         (unsigned long long)sets[i].budget, err);
            }
        }
        pthread_mutex_unlock(&inv->lock);
        json_object_put(answer);
    }
    pthread_mutex_unlock(&inv->steer);
}

void inventory_refresh(struct inventory *inv)
{
    struct vm_entry *e;
    size_t n;
    char err[256];
    if (registry_scan(inv->run_dir, &e, &n, err, sizeof err) < 0) {
        log_warn("%s", err);
        return;
    }
    struct finding *f = calloc(n ? n : 1, sizeof *f);
    struct budget_set *sets = calloc(n ? n : 1, sizeof *sets);
    size_t found = 0, k = 0;
    if (f && sets) {
        for (size_t i = 0; i < n; i++)
            if (find(inv, &e[i], &f[found]))
                found++;
        pthread_mutex_lock(&inv->lock);
        k = apply_findings(inv, f, found, sets);
        pthread_mutex_unlock(&inv->lock);
        set_budgets(inv, sets, k);
    } else {
        log_warn("poll: out of memory");
    }
    free(f);
    free(sets);
    free(e);
}

int inventory_pin(struct inventory *inv, const char *name, json_object *value, json_object **answer)
{
    *answer = NULL;
    pthread_mutex_lock(&inv->steer);
    pthread_mutex_lock(&inv->lock);
    struct host_vm *v = inventory_find(inv, name);
    char sock[108] = "";
    if (v)
        memcpy(sock, v->e.sock, sizeof sock);
    if (v && !value)
        v->pinned = false;      /* the next poll plans it again */
    pthread_mutex_unlock(&inv->lock);
    int status = v ? 200 : 404;
    char err[160];
    if (v && value) {
        int rc = patch_budget(sock, value, answer, err, sizeof err);
        double b;
        if (rc == 200 && json_path_number(*answer, "dram_budget_bytes", &b)) {
            pthread_mutex_lock(&inv->lock);
            if ((v = inventory_find(inv, name))) {
                v->pinned = true;
                v->pinned_budget = v->demand.budget = (uint64_t)b;
                v->demand.kind = BUDGET_PINNED;         /* shown at once; the next plan counts it */
            }
            pthread_mutex_unlock(&inv->lock);
        }
        status = rc >= 0 ? rc : 502;
        if (rc < 0) {
            *answer = json_object_new_object();
            json_add_str(*answer, "error", err);
        }
    }
    pthread_mutex_unlock(&inv->steer);
    return status;
}

int inventory_external(struct inventory *inv, const char *name, const struct external_vm *e)
{
    pthread_mutex_lock(&inv->lock);
    size_t i = 0;
    while (i < inv->n_external && strcmp(inv->external[i].name, name))
        i++;
    int rc = 0;
    if (!e) {
        if (i == inv->n_external)
            rc = -ENOENT;
        else
            inv->external[i] = inv->external[--inv->n_external];
    } else if (inventory_find(inv, name)) {
        rc = -EEXIST;
    } else if (i == inv->n_external) {
        struct external_vm *x = inv->n_external < INVENTORY_EXTERNAL_MAX
            ? realloc(inv->external, (inv->n_external + 1) * sizeof *x) : NULL;
        if (!x) {
            rc = -ENOSPC;
        } else {
            inv->external = x;
            x[inv->n_external++] = *e;
        }
    } else {
        inv->external[i] = *e;
    }
    pthread_mutex_unlock(&inv->lock);
    return rc;
}
