/* The per-VM API's routes: method and path to a handler, bodies parsed and
 * validated strictly (one JSON object, known fields only, typed values,
 * bounds), errors as {"error": "..."} with the status the errno maps to. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/parse.h"
#include "vmm/api.h"
#include "vmm/api_metrics.h"

#define JSON_TYPE "application/json"
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define MAX_DEPTH 8             /* request bodies are flat objects */

unsigned api_status_of(int rc)
{
    switch (rc) {
    case -EINVAL: return 400;
    case -ENOTSUP:
    case -EALREADY:
    case -ESHUTDOWN: return 409;
    case -EAGAIN: return 503;
    case -ETIMEDOUT: return 504;
    case -ENOSPC: return 507;
    default: return 500;
    }
}

void api_respond_json(struct api_response *r, unsigned status, json_object *o)
{
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    *r = (struct api_response){.status = status, .body = strdup(text ? text : "{}"), .content_type = JSON_TYPE};
    json_object_put(o);
    if (!r->body)
        r->status = 500;        /* the transport sends an empty 500 */
}

void api_error(struct api_response *r, unsigned status, const char *msg)
{
    json_object *o = json_object_new_object();
    json_add_str(o, "error", msg);
    api_respond_json(r, status, o);
}

void api_response_free(struct api_response *r)
{
    free(r->body);
    r->body = NULL;
}

/* Body -> one JSON object. NUL bytes, trailing text, deep nesting and
 * anything but an object are errors. */
json_object *api_parse_body(const char *body, size_t len, char *err, size_t errlen)
{
    if (!len) {
        snprintf(err, errlen, "a JSON object body is required");
        return NULL;
    }
    if (memchr(body, '\0', len)) {
        snprintf(err, errlen, "the body holds a NUL byte");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        snprintf(err, errlen, "malformed JSON: %s",
                 jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr));
        json_object_put(o);
        return NULL;
    }
    for (; used < len; used++) {
        if (!strchr(" \t\r\n", body[used])) {
            snprintf(err, errlen, "malformed JSON: text after the object");
            json_object_put(o);
            return NULL;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        snprintf(err, errlen, "the body must be a JSON object");
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* The bytes of s that "%.*s" may print for at most max: a sequence cut at
 * max never ends in part of a UTF-8 character (the message quotes the
 * request and must stay UTF-8). */
int api_utf8_prefix(const char *s, int max)
{
    int n = (int)strnlen(s, (size_t)max);
    if (n == max)
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    return n;
}

/* Every key of o is one of names (NULL-terminated). */
static bool known_fields(json_object *o, const char *const *names, char *err, size_t errlen)
{
    json_object_object_foreach(o, key, val) {
        (void)val;
        size_t i = 0;
        while (names[i] && strcmp(names[i], key))
            i++;
        if (!names[i]) {
            snprintf(err, errlen, "unknown field '%.*s'", api_utf8_prefix(key, 64), key);
            return false;
        }
    }
    return true;
}

/* A whole number: a JSON integer >= 0, or a string ("64K", "0x100000"). */
static bool get_u64(json_object *v, const char *name, bool sizes, uint64_t *out, char *err, size_t errlen)
{
    int rc = -EINVAL;
    if (json_object_is_type(v, json_type_int)) {
        rc = parse_u64(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), out);
    } else if (sizes && json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (!strncmp(s, "0x", 2) && s[2] && strspn(s + 2, "0123456789abcdefABCDEF") == strlen(s + 2)) {
            rc = strlen(s + 2) > 16 ? -ERANGE : 0;
            *out = strtoull(s + 2, NULL, 16);
        } else {
            rc = parse_size(s, out);
        }
    }
    if (rc == 0)
        return true;
    snprintf(err, errlen, "%s: %s", name, rc == -ERANGE ? "too large"
             : sizes ? "must be a non-negative integer or a size string (\"64K\", \"0x100000\")"
                     : "must be a non-negative integer");
    return false;
}

static bool get_double(json_object *v, const char *name, double *out, char *err, size_t errlen)
{
    /* json-c's tokener takes NaN and Infinity even in strict mode: refuse them here. */
    if ((json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) &&
        isfinite(json_object_get_double(v))) {
        *out = json_object_get_double(v);
        return true;
    }
    snprintf(err, errlen, "%s: must be a finite number", name);
    return false;
}

/* "dram_budget": bytes, a size string or a percentage of guest RAM. */
static bool get_budget(const struct api_backend *b, json_object *v, uint64_t *out, char *err, size_t errlen)
{
    struct share sh;
    bool fits;
    if (json_object_is_type(v, json_type_string) && parse_share(json_object_get_string(v), &sh) == 0) {
        fits = share_bytes(&sh, b->mem_bytes, out) == 0;
    } else if (json_object_is_type(v, json_type_int)) {
        if (!get_u64(v, "dram_budget", false, out, err, errlen))
            return false;
        fits = *out <= b->mem_bytes;
    } else {
        snprintf(err, errlen, "dram_budget: must be bytes (an integer), a size (\"512M\") or a share (\"25%%\")");
        return false;
    }
    if (!fits)
        snprintf(err, errlen, "dram_budget: more than guest RAM (%llu bytes)", (unsigned long long)b->mem_bytes);
    return fits;
}

static void get_vm(const struct api_backend *b, const char *body, size_t len, struct api_response *r)
{
    api_respond_json(r, 200, b->vm(b->ctx));
}

static void get_tiering(const struct api_backend *b, const char *body, size_t len, struct api_response *r)
{
    json_object *t = b->tiering(b->ctx);
    bool on = t != NULL;
    if (!on)
        t = json_object_new_object();
    json_add_bool(t, "enabled", on);
    api_respond_json(r, 200, t);
}

/* A body parser: o (an object) into out, or false with err. */
typedef bool body_parser(const struct api_backend *b, json_object *o, void *out, char *err, size_t errlen);

/* Parse the body with parser into out; on failure answer 400 and return false. */
static bool parse_request(const struct api_backend *b, const char *body, size_t len, body_parser *parser,
                          void *out, struct api_response *r)
{
    char err[256];
    json_object *o = api_parse_body(body, len, err, sizeof err);
    bool ok = o && parser(b, o, out, err, sizeof err);
    json_object_put(o);
    if (!ok)
        api_error(r, 400, err);
    return ok;
}

static bool parse_settings(const struct api_backend *b, json_object *o, void *out, char *err, size_t errlen)
{
    struct tiering_settings *s = out;
    static const char *const names[] = {"dram_budget", "epoch_ms", "max_slowdown_pct", "exit_cost_us", NULL};
    if (!known_fields(o, names, err, errlen))
        return false;
    *s = (struct tiering_settings){0};
    json_object *v;
    uint64_t u;
    if (json_object_object_get_ex(o, "dram_budget", &v)) {
        if (!get_budget(b, v, &s->dram_budget, err, errlen))
            return false;
        s->set |= TIERING_SET_BUDGET;
    }
    if (json_object_object_get_ex(o, "epoch_ms", &v)) {
        if (!get_u64(v, "epoch_ms", false, &u, err, errlen))
            return false;
        s->epoch_ms = u > TIERING_EPOCH_MS_MAX ? TIERING_EPOCH_MS_MAX + 1 : (unsigned)u;   /* tiering_update bounds it */
        s->set |= TIERING_SET_EPOCH;
    }
    if (json_object_object_get_ex(o, "max_slowdown_pct", &v)) {
        if (!get_double(v, "max_slowdown_pct", &s->max_slowdown_pct, err, errlen))
            return false;
        s->set |= TIERING_SET_SLOWDOWN;
    }
    if (json_object_object_get_ex(o, "exit_cost_us", &v)) {
        if (!get_double(v, "exit_cost_us", &s->exit_cost_us, err, errlen))
            return false;
        s->set |= TIERING_SET_EXIT_COST;
    }
    return true;
}

static void patch_tiering(const struct api_backend *b, const char *body, size_t len, struct api_response *r)
{
    struct tiering_settings s;
    if (!parse_request(b, body, len, parse_settings, &s, r))
        return;
    char err[256];
    int rc = b->update(b->ctx, &s, err, sizeof err);
    if (rc < 0) {
        api_error(r, api_status_of(rc), err);
        return;
    }
    get_tiering(b, NULL, 0, r);
}

static bool parse_action(const struct api_backend *b, json_object *o, void *out, char *err, size_t errlen)
{
    struct api_action *a = out;
    static const char *const names[] = {"action", "gpa", "len", NULL};
    static const char *const kinds[] = {[API_PAUSE] = "pause", [API_RESUME] = "resume",
                                        [API_SHUTDOWN] = "shutdown", [API_DEMOTE] = "demote",
                                        [API_AUDIT] = "audit"};
    if (!known_fields(o, names, err, errlen))
        return false;
    json_object *v;
    if (!json_object_object_get_ex(o, "action", &v) || !json_object_is_type(v, json_type_string)) {
        snprintf(err, errlen, "action: required, one of pause, resume, shutdown, demote, audit");
        return false;
    }
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k], json_object_get_string(v)))
        k++;
    if (k == sizeof kinds / sizeof kinds[0]) {
        snprintf(err, errlen, "action: '%.*s' is not one of pause, resume, shutdown, demote, audit",
                 api_utf8_prefix(json_object_get_string(v), 32), json_object_get_string(v));
        return false;
    }
    *a = (struct api_action){.kind = (enum api_action_kind)k};
    bool has_gpa = json_object_object_get_ex(o, "gpa", NULL), has_len = json_object_object_get_ex(o, "len", NULL);
    if (a->kind != API_DEMOTE) {
        if (!has_gpa && !has_len)
            return true;
        snprintf(err, errlen, "gpa and len belong to the demote action only");
        return false;
    }
    if (!has_gpa || !has_len) {
        snprintf(err, errlen, "demote: gpa and len are required");
        return false;
    }
    json_object_object_get_ex(o, "gpa", &v);
    if (!get_u64(v, "gpa", true, &a->gpa, err, errlen))
        return false;
    json_object_object_get_ex(o, "len", &v);
    if (!get_u64(v, "len", true, &a->len, err, errlen))
        return false;
    if (a->gpa % 4096 || a->len % 4096 || !a->len) {
        snprintf(err, errlen, "demote: gpa and len must be multiples of 4096, len > 0");
        return false;
    }
    if (a->gpa >= b->mem_bytes || a->len > b->mem_bytes - a->gpa) {
        snprintf(err, errlen, "demote: [0x%llx, +0x%llx) is not inside guest RAM (0x%llx bytes)",
                 (unsigned long long)a->gpa, (unsigned long long)a->len, (unsigned long long)b->mem_bytes);
        return false;
    }
    return true;
}

static void put_actions(const struct api_backend *b, const char *body, size_t len, struct api_response *r)
{
    struct api_action a;
    if (!parse_request(b, body, len, parse_action, &a, r))
        return;
    char err[256];
    json_object *result = NULL;
    int rc = b->action(b->ctx, &a, &result, err, sizeof err);
    if (rc < 0) {
        json_object_put(result);
        api_error(r, api_status_of(rc), err);
        return;
    }
    api_respond_json(r, a.kind == API_SHUTDOWN ? 202 : 200, result ? result : json_object_new_object());
}

static void get_metrics(const struct api_backend *b, const char *body, size_t len, struct api_response *r)
{
    struct api_view v = {.vm = b->vm(b->ctx), .tiering = b->tiering(b->ctx)};
    char *text = api_metrics_text(&v, 1);
    json_object_put(v.vm);
    json_object_put(v.tiering);
    if (!text) {
        api_error(r, 500, "out of memory");
        return;
    }
    *r = (struct api_response){.status = 200, .body = text, .content_type = PROM_TYPE};
}

typedef void handler(const struct api_backend *b, const char *body, size_t len, struct api_response *r);

static const struct route {
    const char *path;
    handler *get, *patch, *put;
    const char *allow;
} routes[] = {
    {"/v1/vm", get_vm, NULL, NULL, "GET"},
    {"/v1/tiering", get_tiering, patch_tiering, NULL, "GET, PATCH"},
    {"/v1/actions", NULL, NULL, put_actions, "PUT"},
    {"/metrics", get_metrics, NULL, NULL, "GET"},
};

void api_handle(const struct api_backend *b, const char *method, const char *path, const char *body,
                size_t len, struct api_response *r)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *rt = &routes[i];
        if (strcmp(rt->path, path))
            continue;
        handler *h = !strcmp(method, "GET") ? rt->get : !strcmp(method, "PATCH") ? rt->patch
                   : !strcmp(method, "PUT") ? rt->put : NULL;
        if (!h) {
            char msg[96];
            snprintf(msg, sizeof msg, "%.*s is not allowed on %s (allowed: %s)", api_utf8_prefix(method, 16), method,
                     rt->path, rt->allow);
            api_error(r, 405, msg);
            r->allow = rt->allow;
            return;
        }
        h(b, body, len, r);
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "no such resource: %.*s", api_utf8_prefix(path, 64), path);
    api_error(r, 404, msg);
}
