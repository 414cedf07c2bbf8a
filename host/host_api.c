/* aromd's routes over the inventory. Stored views are read with the
 * inventory's lock held (json-c objects are not thread-safe); a proxied
 * GET /v1/vms/NAME and a pin talk to the VM without it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "host/host_api.h"
#include "host/http_client.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/prom.h"
#include "vmm/api_metrics.h"
#include "vmm/options.h"

#define VMS_PREFIX "/v1/vms/"
#define EXTERNAL_PREFIX "/v1/external/"
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

static double num(json_object *o, const char *path)
{
    double v = 0;
    return o && json_path_number(o, path, &v) ? v : 0;
}

static void add_view(json_object *to, const char *key, json_object *from, const char *path)
{
    json_object *v = from;
    char part[64];
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        if (!json_object_object_get_ex(v, part, &v))
            v = NULL;
        p += n + (p[n] == '.');
    }
    json_object_object_add(to, key, json_object_get(v));
}

static const char *kind_name(enum budget_kind k)
{
    static const char *const names[] = {"steered", "pinned", "fixed"};
    return names[k];
}

/* aromd's view of v: steering and plan (lock held). */
static json_object *steering_json(const struct inventory *inv, const struct host_vm *v)
{
    json_object *o = json_object_new_object();
    json_add_str(o, "steering", kind_name(v->demand.kind));
    json_add_bool(o, "pinned", v->pinned);
    json_add_u64(o, "write_hot_bytes", v->demand.floor);
    if (inv->steering && v->demand.kind == BUDGET_STEERED) {
        json_object *p = json_object_new_object();
        JSON_U64S(p, {"min_bytes", v->plan.min}, {"demand_bytes", v->plan.demand}, {"budget_bytes", v->plan.budget});
        json_object_object_add(o, "plan", p);
    } else {
        json_object_object_add(o, "plan", NULL);
    }
    JSON_U64S(o, {"budget_sets", v->budget_sets}, {"budget_errors", v->budget_errors});
    return o;
}

/* One VM in GET /v1/vms (lock held). */
static json_object *summary_json(const struct inventory *inv, const struct host_vm *v)
{
    json_object *o = json_object_new_object();
    json_add_str(o, "name", v->e.name);
    json_add_str(o, "driver", "arom");
    json_add_str(o, "socket", v->e.sock);
    json_add_bool(o, "reachable", v->reachable);
    if (!v->reachable)
        json_add_str(o, "error", v->error);
    add_view(o, "pid", v->vm, "pid");
    add_view(o, "state", v->vm, "state");
    add_view(o, "vcpus", v->vm, "vcpus");
    add_view(o, "mem_bytes", v->vm, "mem_bytes");
    add_view(o, "uptime_s", v->vm, "uptime_s");
    json_add_bool(o, "tiering", v->tiering != NULL);
    json_add_u64(o, "dram_resident_bytes", v->demand.resident);
    json_add_u64(o, "ltram_resident_bytes", (uint64_t)num(v->tiering, "pages.ltram") * 4096);
    add_view(o, "dram_budget_bytes", v->tiering, "dram_budget_bytes");
    add_view(o, "promotions", v->tiering, "promotions");
    add_view(o, "demotions", v->tiering, "demotions");
    add_view(o, "slowdown_pct", v->tiering, "daemon.guard.slowdown_pct");
    add_view(o, "max_slowdown_pct", v->tiering, "daemon.guard.max_slowdown_pct");
    json_object_object_add(o, "aromd", steering_json(inv, v));
    return o;
}

static json_object *external_json(const struct external_vm *e)
{
    json_object *o = json_object_new_object();
    json_add_str(o, "name", e->name);
    json_add_str(o, "driver", e->driver);
    json_add_str(o, "uuid", e->uuid);
    json_add_u64(o, "mem_bytes", e->mem);
    return o;
}

static void get_vms(struct host_api *h, struct api_response *r)
{
    json_object *o = json_object_new_object(), *a = json_object_new_array(), *x = json_object_new_array();
    pthread_mutex_lock(&h->inv->lock);
    for (size_t i = 0; i < h->inv->n; i++)
        json_object_array_add(a, summary_json(h->inv, &h->inv->vms[i]));
    for (size_t i = 0; i < h->inv->n_external; i++)
        json_object_array_add(x, external_json(&h->inv->external[i]));
    pthread_mutex_unlock(&h->inv->lock);
    json_object_object_add(o, "vms", a);
    json_object_object_add(o, "external", x);
    api_respond_json(r, 200, o);
}

/* Sums over the VMs' tiering views (lock held). */
struct totals {
    uint64_t reachable, ram, resident, budgets;
    uint64_t lt_capacity, lt_resident, lt_frames, lt_written, lt_media, tok_level, tok_granted;
    double wear_max, wear_sum, tok_rate;
};

static void add_totals(struct totals *t, const struct host_vm *v)
{
    json_object *tv = v->tiering;
    t->reachable += v->reachable;
    t->ram += v->demand.mem;
    t->resident += v->demand.resident;
    t->budgets += tv ? (uint64_t)num(tv, "dram_budget_bytes") : v->demand.mem;
    t->lt_capacity += (uint64_t)num(tv, "ltram.capacity_bytes");
    t->lt_resident += (uint64_t)num(tv, "pages.ltram") * 4096;
    uint64_t frames = (uint64_t)num(tv, "ltram.frames");
    t->lt_frames += frames;
    t->lt_written += (uint64_t)num(tv, "ltram.bytes_written");
    t->lt_media += (uint64_t)num(tv, "ltram.media_bytes_written");
    if (num(tv, "ltram.wear.max") > t->wear_max)
        t->wear_max = num(tv, "ltram.wear.max");
    t->wear_sum += num(tv, "ltram.wear.mean") * (double)frames;
    t->tok_level += (uint64_t)num(tv, "tokens.level");
    t->tok_granted += (uint64_t)num(tv, "tokens.granted");
    t->tok_rate += num(tv, "tokens.rate_per_s");
}

static void get_host(struct host_api *h, struct api_response *r)
{
    struct inventory *inv = h->inv;
    struct totals t = {0};
    json_object *o = json_object_new_object(), *vms = json_object_new_object(), *dram = json_object_new_object(),
                *lt = json_object_new_object(), *wear = json_object_new_object(), *tok = json_object_new_object();
    json_add_str(o, "version", PACKAGE_VERSION);
    json_add_double(o, "uptime_s", (double)(clock_now_ns() - h->started_ns) / 1e9);
    json_add_str(o, "listen", h->listen);
    json_add_u64(o, "interval_ms", h->interval_ms);
    pthread_mutex_lock(&inv->lock);
    json_add_str(o, "run_dir", inv->run_dir);
    json_add_u64(o, "polls", inv->polls);
    for (size_t i = 0; i < inv->n; i++)
        add_totals(&t, &inv->vms[i]);
    for (size_t i = 0; i < inv->n_external; i++) {     /* other hypervisors: all DRAM */
        t.ram += inv->external[i].mem;
        t.resident += inv->external[i].mem;
        t.budgets += inv->external[i].mem;
    }
    JSON_U64S(vms, {"count", inv->n}, {"external", inv->n_external}, {"reachable", t.reachable},
              {"found_total", inv->vms_found},
              {"dropped_total", inv->vms_dropped}, {"stale_sockets_removed", inv->stale_removed});
    JSON_U64S(dram, {"host_bytes", inv->host_dram}, {"guest_ram_bytes", t.ram}, {"resident_bytes", t.resident},
              {"budgets_bytes", t.budgets});
    json_add_bool(dram, "steering", inv->steering);
    if (inv->steering) {
        json_add_u64(dram, "allowance_bytes", inv->allowance);
        json_add_str(dram, "regime", budget_regime_name(inv->regime));
    } else {
        json_object_object_add(dram, "allowance_bytes", NULL);
        json_object_object_add(dram, "regime", NULL);
    }
    pthread_mutex_unlock(&inv->lock);
    JSON_U64S(lt, {"capacity_bytes", t.lt_capacity}, {"resident_bytes", t.lt_resident}, {"frames", t.lt_frames},
              {"bytes_written", t.lt_written}, {"media_bytes_written", t.lt_media});
    json_add_double(wear, "max", t.wear_max);
    json_add_double(wear, "mean", t.lt_frames ? t.wear_sum / (double)t.lt_frames : 0);
    json_object_object_add(lt, "wear", wear);
    JSON_U64S(tok, {"level", t.tok_level}, {"granted", t.tok_granted});
    json_add_double(tok, "rate_per_s", t.tok_rate);
    json_object_object_add(o, "vms", vms);
    json_object_object_add(o, "dram", dram);
    json_object_object_add(o, "ltram", lt);
    json_object_object_add(o, "tokens", tok);
    api_respond_json(r, 200, o);
}

/* GET /v1/vms/NAME: the VM's own views, fetched now. */
static void get_vm(struct host_api *h, const char *name, struct api_response *r)
{
    char sock[108], err[200], msg[256];
    struct http_endpoint ep;
    pthread_mutex_lock(&h->inv->lock);
    struct host_vm *v = inventory_find(h->inv, name);
    if (v)
        memcpy(sock, v->e.sock, sizeof sock);
    pthread_mutex_unlock(&h->inv->lock);
    if (!v) {
        snprintf(msg, sizeof msg, "no such VM: %s", name);
        api_error(r, 404, msg);
        return;
    }
    http_endpoint_unix(&ep, sock);
    json_object *vm = NULL, *tiering = NULL;
    int rc = http_json(&ep, "GET", "/v1/vm", NULL, INVENTORY_TIMEOUT_MS, &vm, err, sizeof err);
    if (rc == 200)
        rc = http_json(&ep, "GET", "/v1/tiering", NULL, INVENTORY_TIMEOUT_MS, &tiering, err, sizeof err);
    if (rc != 200) {
        if (rc >= 0)
            snprintf(err, sizeof err, "status %d", rc);
        snprintf(msg, sizeof msg, "VM %s does not answer: %s", name, err);
        json_object_put(vm);
        json_object_put(tiering);
        api_error(r, 502, msg);
        return;
    }
    json_object *o = json_object_new_object();
    json_add_str(o, "name", name);
    json_object_object_add(o, "vm", vm);
    json_object_object_add(o, "tiering", tiering);
    pthread_mutex_lock(&h->inv->lock);
    if ((v = inventory_find(h->inv, name)))
        json_object_object_add(o, "aromd", steering_json(h->inv, v));
    pthread_mutex_unlock(&h->inv->lock);
    api_respond_json(r, 200, o);
}

/* PATCH /v1/vms/NAME {"dram_budget": V}: V passed to the VM (which
 * validates it against its RAM) and pinned; null hands it back to aromd. */
static void patch_vm(struct host_api *h, const char *name, const char *body, size_t len, struct api_response *r)
{
    char err[256];
    json_object *o = api_parse_body(body, len, err, sizeof err), *v = NULL;
    bool ok = o != NULL;
    if (ok && (json_object_object_length(o) != 1 || !json_object_object_get_ex(o, "dram_budget", &v))) {
        snprintf(err, sizeof err, "the body is {\"dram_budget\": SIZE, \"PCT%%\", BYTES or null}");
        ok = false;
    }
    if (ok && v && !json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_string)) {
        snprintf(err, sizeof err, "dram_budget: must be bytes (an integer), a size (\"512M\"), a share (\"25%%\") or null");
        ok = false;
    }
    if (!ok) {
        json_object_put(o);
        api_error(r, 400, err);
        return;
    }
    json_object *answer;
    int status = inventory_pin(h->inv, name, v, &answer);
    json_object_put(o);
    if (status == 404) {
        snprintf(err, sizeof err, "no such VM: %s", name);
        api_error(r, 404, err);
        json_object_put(answer);
        return;
    }
    if (!answer) {              /* unpinned */
        answer = json_object_new_object();
        json_add_bool(answer, "pinned", false);
    }
    api_respond_json(r, (unsigned)status, answer);
}

/* PUT /v1/external/NAME {"driver", "uuid", "mem_bytes"}: a VM another
 * hypervisor runs (contrib/libvirt's hook reports QEMU domains that carry
 * arom metadata); DELETE forgets it. */
static bool external_body(json_object *o, struct external_vm *e, char *err, size_t errlen)
{
    json_object_object_foreach(o, key, v) {
        if (!strcmp(key, "driver") && json_object_is_type(v, json_type_string) &&
            json_object_get_string_len(v) > 0 && json_object_get_string_len(v) < (int)sizeof e->driver &&
            strspn(json_object_get_string(v), "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
                (size_t)json_object_get_string_len(v))
            snprintf(e->driver, sizeof e->driver, "%s", json_object_get_string(v));
        else if (!strcmp(key, "uuid") && json_object_is_type(v, json_type_string) &&
                 json_object_get_string_len(v) < (int)sizeof e->uuid &&
                 strspn(json_object_get_string(v), "0123456789abcdefABCDEF-") == (size_t)json_object_get_string_len(v))
            snprintf(e->uuid, sizeof e->uuid, "%s", json_object_get_string(v));
        else if (!strcmp(key, "mem_bytes") && json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
            e->mem = (uint64_t)json_object_get_int64(v);
        else {
            snprintf(err, errlen, "'%.*s': %s", api_utf8_prefix(key, 32), key,
                     strcmp(key, "driver") && strcmp(key, "uuid") && strcmp(key, "mem_bytes")
                         ? "unknown field (known: driver, uuid, mem_bytes)"
                         : "bad value (driver: [a-z0-9_-]{1,31}, uuid: hex and dashes, mem_bytes: bytes)");
            return false;
        }
    }
    if (!e->driver[0])
        snprintf(err, errlen, "driver: required");
    return e->driver[0] != '\0';
}

static void external(struct host_api *h, const char *method, const char *name, const char *body, size_t len,
                     struct api_response *r)
{
    char err[256];
    struct external_vm e = {0};
    snprintf(e.name, sizeof e.name, "%s", name);
    bool put = !strcmp(method, "PUT");
    if (put) {
        json_object *o = api_parse_body(body, len, err, sizeof err);
        bool ok = o && external_body(o, &e, err, sizeof err);
        json_object_put(o);
        if (!ok) {
            api_error(r, 400, err);
            return;
        }
    }
    int rc = inventory_external(h->inv, name, put ? &e : NULL);
    if (rc == -ENOENT || rc == -EEXIST || rc == -ENOSPC) {
        snprintf(err, sizeof err, rc == -ENOENT ? "no reported VM %s" : rc == -EEXIST ? "an arom VM is named %s"
                 : "too many reported VMs (%s)", name);
        api_error(r, rc == -ENOENT ? 404 : rc == -EEXIST ? 409 : 503, err);
        return;
    }
    api_respond_json(r, 200, put ? external_json(&e) : json_object_new_object());
}

/* aromd's own figures after the VMs' (lock held). */
static void host_metrics(struct prom *p, const struct inventory *inv)
{
    uint64_t reachable = 0, sets = 0;
    for (size_t i = 0; i < inv->n; i++) {
        reachable += inv->vms[i].reachable;
        sets += inv->vms[i].budget_sets;
    }
    prom_family(p, "arom_host_vms", "gauge", "VMs registered under the run directory.");
    prom_sample(p, "arom_host_vms", "", (double)inv->n);
    prom_family(p, "arom_host_vms_reachable", "gauge", "Registered VMs that answered the last poll.");
    prom_sample(p, "arom_host_vms_reachable", "", (double)reachable);
    prom_family(p, "arom_host_dram_bytes", "gauge", "The host's DRAM (MemTotal).");
    prom_sample(p, "arom_host_dram_bytes", "", (double)inv->host_dram);
    if (inv->steering) {
        prom_family(p, "arom_host_dram_allowance_bytes", "gauge", "DRAM aromd divides among VMs.");
        prom_sample(p, "arom_host_dram_allowance_bytes", "", (double)inv->allowance);
    }
    prom_family(p, "arom_host_polls_total", "counter", "Polls of the registered VMs.");
    prom_sample(p, "arom_host_polls_total", "", (double)inv->polls);
    prom_family(p, "arom_host_vms_dropped_total", "counter", "VMs dropped because they went away.");
    prom_sample(p, "arom_host_vms_dropped_total", "", (double)inv->vms_dropped);
    prom_family(p, "arom_host_budget_sets_total", "counter", "Budgets aromd set on the VMs it holds now.");
    prom_sample(p, "arom_host_budget_sets_total", "", (double)sets);
}

static void get_metrics(struct host_api *h, struct api_response *r)
{
    struct inventory *inv = h->inv;
    struct prom p = {0};
    pthread_mutex_lock(&inv->lock);
    struct api_view *views = calloc(inv->n ? inv->n : 1, sizeof *views);
    size_t n = 0;
    for (size_t i = 0; views && i < inv->n; i++)
        if (inv->vms[i].vm)
            views[n++] = (struct api_view){.vm = inv->vms[i].vm, .tiering = inv->vms[i].tiering};
    char *vm_text = views ? api_metrics_text(views, n) : NULL;
    host_metrics(&p, inv);
    pthread_mutex_unlock(&inv->lock);
    free(views);
    char *host_text = prom_finish(&p), *text = NULL;
    if (vm_text && host_text && asprintf(&text, "%s%s", vm_text, host_text) < 0)
        text = NULL;
    free(vm_text);
    free(host_text);
    if (!text) {
        api_error(r, 500, "out of memory");
        return;
    }
    *r = (struct api_response){.status = 200, .body = text, .content_type = PROM_TYPE};
}

static void not_allowed(struct api_response *r, const char *method, const char *path, const char *allow)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%.*s is not allowed on %.*s (allowed: %s)", api_utf8_prefix(method, 16), method,
             api_utf8_prefix(path, 64), path, allow);
    api_error(r, 405, msg);
    r->allow = allow;
}

void host_api_handle(void *ctx, const char *method, const char *path, const char *body, size_t len,
                     struct api_response *r)
{
    static const struct {
        const char *path;
        void (*get)(struct host_api *h, struct api_response *r);
    } reads[] = {{"/v1/host", get_host}, {"/v1/vms", get_vms}, {"/metrics", get_metrics}};
    struct host_api *h = ctx;
    bool get = !strcmp(method, "GET");
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        if (strcmp(path, reads[i].path))
            continue;
        if (get)
            reads[i].get(h, r);
        else
            not_allowed(r, method, path, "GET");
        return;
    }
    const char *ext = !strncmp(path, EXTERNAL_PREFIX, strlen(EXTERNAL_PREFIX)) ? path + strlen(EXTERNAL_PREFIX) : NULL;
    if (ext && options_valid_name(ext)) {
        if (!strcmp(method, "PUT") || !strcmp(method, "DELETE"))
            external(h, method, ext, body, len, r);
        else
            not_allowed(r, method, path, "PUT, DELETE");
        return;
    }
    const char *name = !strncmp(path, VMS_PREFIX, strlen(VMS_PREFIX)) ? path + strlen(VMS_PREFIX) : NULL;
    char msg[128];
    if (!name || !options_valid_name(name)) {
        snprintf(msg, sizeof msg, "no such resource: %.*s", api_utf8_prefix(path, 64), path);
        api_error(r, 404, msg);
    } else if (get) {
        get_vm(h, name, r);
    } else if (!strcmp(method, "PATCH")) {
        patch_vm(h, name, body, len, r);
    } else {
        not_allowed(r, method, path, "GET, PATCH");
    }
}
