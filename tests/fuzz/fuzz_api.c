/* libFuzzer target: the operator API's routing and request validation
 * (vmm/api.c) and its Prometheus text (vmm/api_metrics.c, lib/prom.c,
 * json_path_number of lib/json.c), over a fake struct api_backend.
 *
 * Input: byte 0 = flags, byte 1 = selector, the rest is the request body
 * (passed as is: not NUL-terminated, may hold anything).
 *   byte 0, bits 0-2  the method: GET PATCH PUT POST DELETE HEAD get ""
 *           bits 3-4  the backend's mem_bytes: 256 MiB, 0, 12 KiB, 2^64 - 4 KiB
 *           bit 5     the backend's action result: an object, or NULL
 *           bit 6     a failing backend also sets *result (must not leak)
 *           bit 7     also: the body as JSON (when it parses) becomes the view
 *                     of api_metrics_text (the object as the vm view, its
 *                     "tiering" member or else itself as the tiering view;
 *                     twice, for two VMs)
 *   byte 1, bits 0-3  the path: the four routes, then near misses
 *           bit 4     tiering on (the tiering view is an object) or off (NULL)
 *           bits 5-7  what update/action return: 0, -EINVAL, -ENOTSUP,
 *                     -EALREADY, -ENOSPC, -EAGAIN, -ETIMEDOUT, -EIO
 *
 * Invariants (abort() on violation, besides ASan/UBSan/LSan):
 *  - the status is a documented one (200 202 400 404 405 409 413 415 500
 *    503 504 507); a path outside the routes is 404, a route with a method
 *    it does not take 405 with `allow` set to the route's methods, else no
 *    `allow`;
 *  - every JSON body parses, whole, as a JSON object; a non-2xx one has a
 *    non-empty string "error"; a backend failure's status is
 *    api_status_of(rc) and its message is the backend's; 202 only for
 *    shutdown; PATCH's 200 is the tiering view with "enabled";
 *  - update is only called on PATCH /v1/tiering, action only on PUT
 *    /v1/actions, at most once, and only with validated values: known set
 *    bits, dram_budget <= mem_bytes, epoch_ms no more than one past
 *    TIERING_EPOCH_MS_MAX; a known action kind; demote with gpa and len
 *    multiples of 4096, len > 0, gpa + len <= mem_bytes without overflow;
 *    no gpa/len for the other actions;
 *  - GET /metrics and api_metrics_text give text/plain exposition text:
 *    every line "# HELP name text", "# TYPE name type" or a sample
 *    name{labels} value, each family's HELP and TYPE once, its samples
 *    right after them;
 *  - when the request (path and body) is valid UTF-8, so is the response
 *    (error messages quote parts of the request, truncated), and so is the
 *    exposition text made from a valid UTF-8 view. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "tiering/tiering.h"
#include "vmm/api.h"
#include "vmm/api_metrics.h"

#define FUZZ_TARGET "fuzz_api"
#include "tests/fuzz/violation.h"

#define CHECK(cond, ...) do { if (!(cond)) violation(__VA_ARGS__); } while (0)

static const char *const methods[8] = {"GET", "PATCH", "PUT", "POST", "DELETE", "HEAD", "get", ""};
static const uint64_t mems[4] = {256ull << 20, 0, 3 * 4096, UINT64_MAX - 4095};
/* The routes (as vmm/api.c has them) and paths that are not. */
static const struct {
    const char *path, *allow;
    bool get, patch, put;
} routes[] = {
    {"/v1/vm", "GET", true, false, false},
    {"/v1/tiering", "GET, PATCH", true, true, false},
    {"/v1/actions", "PUT", false, false, true},
    {"/metrics", "GET", true, false, false},
};
static const char *const paths[16] = {
    "/v1/vm", "/v1/tiering", "/v1/actions", "/metrics",
    "/v1/vm/", "/v2/vm", "/", "", "/v1/tiering/", "/V1/VM", "/metrics?x=1", "/v1/actions/../vm",
    "/v1//vm", "/v1/tiering\n", "/v1/vm\xff", "//metrics",
};
static const int rcs[8] = {0, -EINVAL, -ENOTSUP, -EALREADY, -ENOSPC, -EAGAIN, -ETIMEDOUT, -EIO};

struct fake {
    uint64_t mem;
    bool tiering_on, null_result, result_on_error;
    int rc;
    unsigned updates, actions;
    struct tiering_settings s;
    struct api_action a;
    char msg[64];                       /* the message of a failing call */
};

static json_object *fake_vm(void *ctx)
{
    struct fake *f = ctx;
    json_object *o = json_object_new_object();
    json_add_str(o, "name", "t1");
    json_add_str(o, "uuid", "00000000-0000-4000-8000-000000000001");
    json_add_str(o, "state", "running");
    json_add_bool(o, "paused", false);
    json_add_u64(o, "vcpus", 2);
    json_add_u64(o, "mem_bytes", f->mem);
    json_add_double(o, "uptime_s", 1.25);
    json_add_str(o, "payload", "p.elf");
    json_add_str(o, "version", "0");
    return o;
}

static json_object *fake_tiering(void *ctx)
{
    struct fake *f = ctx;
    if (!f->tiering_on)
        return NULL;
    json_object *t = json_object_new_object();
    JSON_U64S(t, {"dram_resident_bytes", 1 << 20}, {"dram_budget_bytes", 2 << 20}, {"promotions", 3},
              {"demotions", 4});
    json_object *lt = json_object_new_object();
    json_add_u64(lt, "capacity_bytes", 64 << 20);
    json_object_object_add(t, "ltram", lt);
    json_object *lat = json_object_new_object(), *bk = json_object_new_array(), *e = json_object_new_object();
    json_add_u64(lat, "count", 1);
    json_add_double(lat, "sum_us", 7.5);
    json_add_double(e, "le_us", 8);
    json_add_u64(e, "count", 1);
    json_object_array_add(bk, e);
    json_object_object_add(lat, "buckets", bk);
    json_object_object_add(t, "promotion_latency", lat);
    return t;
}

static int fake_update(void *ctx, const struct tiering_settings *s, char *err, size_t errlen)
{
    struct fake *f = ctx;
    f->updates++;
    f->s = *s;
    CHECK(!(s->set & ~(unsigned)(TIERING_SET_BUDGET | TIERING_SET_EPOCH | TIERING_SET_SLOWDOWN |
                                 TIERING_SET_EXIT_COST)), "update with set bits 0x%x", s->set);
    CHECK(!(s->set & TIERING_SET_BUDGET) || s->dram_budget <= f->mem,
          "update with dram_budget %llu > mem_bytes %llu", (unsigned long long)s->dram_budget,
          (unsigned long long)f->mem);
    CHECK(!(s->set & TIERING_SET_EPOCH) || s->epoch_ms <= TIERING_EPOCH_MS_MAX + 1, "update with epoch_ms %u",
          s->epoch_ms);
    if (f->rc < 0)
        snprintf(err, errlen, "%s", f->msg);
    return f->rc;
}

static int fake_action(void *ctx, const struct api_action *a, json_object **result, char *err, size_t errlen)
{
    struct fake *f = ctx;
    f->actions++;
    f->a = *a;
    CHECK(a->kind <= API_AUDIT, "action kind %d", (int)a->kind);
    if (a->kind == API_DEMOTE) {
        CHECK(a->gpa % 4096 == 0 && a->len % 4096 == 0 && a->len > 0, "demote [0x%llx, +0x%llx) unaligned or empty",
              (unsigned long long)a->gpa, (unsigned long long)a->len);
        CHECK(a->gpa < f->mem && a->len <= f->mem - a->gpa, "demote [0x%llx, +0x%llx) outside mem_bytes 0x%llx",
              (unsigned long long)a->gpa, (unsigned long long)a->len, (unsigned long long)f->mem);
    } else {
        CHECK(a->gpa == 0 && a->len == 0, "action %d with gpa/len", (int)a->kind);
    }
    if (f->rc < 0 || !f->null_result) {
        *result = json_object_new_object();
        json_add_u64(*result, "pages", a->len / 4096);
    }
    if (f->rc < 0) {
        if (!f->result_on_error) {
            json_object_put(*result);
            *result = NULL;
        }
        snprintf(err, errlen, "%s", f->msg);
    }
    return f->rc;
}

/* RFC 3629 UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
        if (n == 9 || (n == 1 && c < 0xc2) || i + n >= len + (n ? 0 : 1))
            return false;
        uint32_t cp = n == 0 ? c : n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += n + 1;
    }
    return true;
}

static bool documented(unsigned s)
{
    static const unsigned ok[] = {200, 202, 400, 404, 405, 409, 413, 415, 500, 503, 504, 507};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (s == ok[i])
            return true;
    return false;
}

/* The whole text parses as one JSON value: the object, or NULL. */
static json_object *parse_whole(const char *text)
{
    size_t len = strlen(text);
    json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    bool ok = json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    if (!ok || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* ---- the exposition format ---------------------------------------------- */

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* name[{k="v",...}] value; the name's length in *nlen. */
static bool sample_line(const char *s, size_t len, size_t *nlen)
{
    const char *end = s + len;
    size_t n = 0;
    while (s + n < end && name_char(s[n], n == 0))
        n++;
    if (!n)
        return false;
    *nlen = n;
    s += n;
    if (s < end && *s == '{') {
        s++;
        for (bool first = true; s < end && *s != '}'; first = false) {
            if (!first && *s++ != ',')
                return false;
            if (s >= end || !(name_char(*s, true) && *s != ':'))
                return false;
            while (s < end && name_char(*s, false) && *s != ':')
                s++;
            if (s + 1 >= end || *s++ != '=' || *s++ != '"')
                return false;
            while (s < end && *s != '"') {
                if (*s == '\\') {
                    if (++s >= end || (*s != '\\' && *s != '"' && *s != 'n'))
                        return false;
                }
                s++;
            }
            if (s >= end)
                return false;
            s++;
        }
        if (s >= end)
            return false;
        s++;
    }
    if (s >= end || *s++ != ' ' || s >= end)
        return false;
    size_t vlen = (size_t)(end - s);
    if ((vlen == 3 && !memcmp(s, "NaN", 3)) || (vlen == 4 && (!memcmp(s, "+Inf", 4) || !memcmp(s, "-Inf", 4))))
        return true;
    char num[64], *e;
    if (vlen >= sizeof num || *s == ' ')
        return false;
    memcpy(num, s, vlen);
    num[vlen] = '\0';
    strtod(num, &e);
    return e != num && !*e;
}

#define MAX_FAMILIES 64

static void check_exposition(const char *text)
{
    CHECK(text, "no exposition text");
    size_t total = strlen(text);
    CHECK(total == 0 || text[total - 1] == '\n', "exposition text does not end in a newline");
    char fam[MAX_FAMILIES][64];
    size_t nfam = 0;
    bool help_seen = false;             /* the current family's HELP, awaiting its TYPE */
    const char *line = text;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = (size_t)(nl - line);
        if (len > 7 && (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7))) {
            size_t n = 0;
            while (7 + n < len && name_char(line[7 + n], n == 0))
                n++;
            CHECK(n > 0 && n < sizeof fam[0] && 7 + n < len && line[7 + n] == ' ', "bad comment line '%.*s'",
                  (int)len, line);
            if (line[2] == 'H') {
                for (size_t i = 0; i < nfam; i++)
                    CHECK(strlen(fam[i]) != n || strncmp(fam[i], line + 7, n), "family '%.*s' twice", (int)n,
                          line + 7);
                CHECK(nfam < MAX_FAMILIES, "too many families");
                memcpy(fam[nfam], line + 7, n);
                fam[nfam++][n] = '\0';
                help_seen = true;
            } else {
                CHECK(help_seen && strlen(fam[nfam - 1]) == n && !strncmp(fam[nfam - 1], line + 7, n),
                      "TYPE '%.*s' without its HELP", (int)len, line);
                const char *type = line + 7 + n + 1;
                size_t tl = len - 7 - n - 1;
                CHECK((tl == 7 && !memcmp(type, "counter", 7)) || (tl == 5 && !memcmp(type, "gauge", 5)) ||
                      (tl == 9 && !memcmp(type, "histogram", 9)), "TYPE '%.*s'", (int)len, line);
                help_seen = false;
            }
        } else {
            size_t n = 0;
            CHECK(sample_line(line, len, &n), "not an exposition line: '%.*s'", (int)len, line);
            CHECK(nfam > 0 && !help_seen, "sample before its family: '%.*s'", (int)len, line);
            const char *f = fam[nfam - 1];
            size_t fl = strlen(f);
            bool mine = n == fl && !strncmp(line, f, n);
            static const char *const sfx[] = {"_bucket", "_sum", "_count"};
            for (size_t i = 0; i < 3 && !mine; i++)
                mine = n == fl + strlen(sfx[i]) && !strncmp(line, f, fl) && !strncmp(line + fl, sfx[i], n - fl);
            CHECK(mine, "sample '%.*s' outside its family (after %s)", (int)len, line, f);
        }
        line = nl + 1;
    }
}

/* bit 7: the body as the JSON view of api_metrics_text. */
static void fuzz_metrics(const char *body, size_t len)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success)
        o = NULL;
    json_tokener_free(tok);
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return;
    }
    json_object *t;
    if (!json_object_object_get_ex(o, "tiering", &t) || !json_object_is_type(t, json_type_object))
        t = o;
    bool utf8 = utf8_valid((const unsigned char *)body, len);
    struct api_view v[2] = {{o, t}, {o, NULL}};
    for (size_t n = 1; n <= 2; n++) {
        char *text = api_metrics_text(v, n);
        check_exposition(text);
        CHECK(!utf8 || utf8_valid((const unsigned char *)text, strlen(text)),
              "exposition text of a UTF-8 view is not UTF-8");
        free(text);
    }
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t flags = data[0], sel = data[1];
    const char *method = methods[flags & 7], *path = paths[sel & 15];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    struct fake f = {.mem = mems[(flags >> 3) & 3], .null_result = flags & 0x20, .result_on_error = flags & 0x40,
                     .tiering_on = sel & 0x10, .rc = rcs[sel >> 5]};
    snprintf(f.msg, sizeof f.msg, "fake backend: %d", f.rc);
    struct api_backend b = {.ctx = &f, .mem_bytes = f.mem, .vm = fake_vm, .tiering = fake_tiering,
                            .update = fake_update, .action = fake_action};

    /* The body in a buffer of its own size, so that ASan sees any read past it. */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, body, len);
    struct api_response r;
    memset(&r, 0x5a, sizeof r);
    api_handle(&b, method, path, copy, len, &r);

    int route = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(routes[i].path, path))
            route = i;
    bool get = !strcmp(method, "GET"), patch = !strcmp(method, "PATCH"), put = !strcmp(method, "PUT");
    bool taken = route >= 0 && ((get && routes[route].get) || (patch && routes[route].patch) ||
                                (put && routes[route].put));

    CHECK(documented(r.status), "status %u", r.status);
    CHECK(r.body, "no body (status %u)", r.status);
    CHECK(r.content_type, "no content type (status %u)", r.status);
    CHECK(!utf8_valid((const unsigned char *)path, strlen(path)) || !utf8_valid((const unsigned char *)copy, len) ||
          utf8_valid((const unsigned char *)r.body, strlen(r.body)), "%u: a UTF-8 request got a non-UTF-8 body: %.200s",
          r.status, r.body);
    if (route < 0)
        CHECK(r.status == 404, "%s %s: %u, want 404", method, path, r.status);
    else if (!taken)
        CHECK(r.status == 405 && r.allow && !strcmp(r.allow, routes[route].allow),
              "%s %s: %u allow '%s', want 405 allow '%s'", method, path, r.status, r.status == 405 && r.allow ? r.allow : "",
              routes[route].allow);
    else
        CHECK(r.status != 404 && r.status != 405, "%s %s: %u", method, path, r.status);
    CHECK(r.status == 405 || !r.allow, "allow set with %u", r.status);
    CHECK(f.updates == 0 || (route == 1 && patch), "update called on %s %s", method, path);
    CHECK(f.actions == 0 || (route == 2 && put), "action called on %s %s", method, path);
    CHECK(f.updates + f.actions <= 1, "%u updates, %u actions", f.updates, f.actions);
    if (f.updates + f.actions == 1) {
        if (f.rc < 0)
            CHECK(r.status == api_status_of(f.rc), "backend %d answered %u", f.rc, r.status);
        else
            CHECK(r.status == (f.actions && f.a.kind == API_SHUTDOWN ? 202 : 200), "backend success answered %u",
                  r.status);
    } else {
        CHECK(r.status != 200 || get, "%s %s: 200 without calling the backend", method, path);
        CHECK(r.status != 202, "202 without calling the backend");
    }

    if (!strcmp(r.content_type, "application/json")) {
        json_object *o = parse_whole(r.body), *e;
        CHECK(o, "%u: body is not one JSON object: '%.200s'", r.status, r.body);
        if (r.status >= 300) {
            CHECK(json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string) &&
                  json_object_get_string_len(e) > 0, "%u without an \"error\" string: %.200s", r.status, r.body);
            if (f.updates + f.actions == 1 && f.rc < 0)
                CHECK(!strcmp(json_object_get_string(e), f.msg), "error '%s', the backend said '%s'",
                      json_object_get_string(e), f.msg);
        }
        if (r.status == 200 && route == 1)
            CHECK(json_object_object_get_ex(o, "enabled", &e) && json_object_is_type(e, json_type_boolean) &&
                  json_object_get_boolean(e) == f.tiering_on, "tiering view without the right \"enabled\"");
        json_object_put(o);
    } else {
        CHECK(route == 3 && r.status == 200 && !strncmp(r.content_type, "text/plain", 10),
              "content type '%s' with %u", r.content_type, r.status);
        check_exposition(r.body);
    }
    api_response_free(&r);
    CHECK(!r.body, "api_response_free left the body");
    free(copy);

    if (flags & 0x80)
        fuzz_metrics(body, len);
    return 0;
}
