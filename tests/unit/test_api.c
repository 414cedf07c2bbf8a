/* The operator API's routing and validation (vmm/api.c) over a fake
 * backend, its Prometheus text (vmm/api_metrics.c, lib/prom.c) and the
 * helpers under it (json_path_number, latency_count_le). */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/prom.h"
#include "tests/unit/suites.h"
#include "tiering/latency.h"
#include "vmm/api.h"
#include "vmm/api_metrics.h"

#define MIB (1ull << 20)
#define MEM (256 * MIB)                 /* the fake VM's guest RAM */

/* ---- the fake backend ---------------------------------------------------- */

struct fake {
    bool tiering_on;
    int update_rc, action_rc;           /* what update/action return (< 0: with errmsg) */
    const char *errmsg;
    unsigned update_calls, action_calls;
    struct tiering_settings last_s;
    struct api_action last_a;
    const char *name;                   /* the vm view's "name" */
    struct api_backend b;
};

static json_object *fake_vm(void *ctx)
{
    struct fake *f = ctx;
    json_object *o = json_object_new_object();
    json_add_str(o, "name", f->name);
    json_add_str(o, "uuid", "00000000-0000-4000-8000-000000000001");
    json_add_str(o, "state", "running");
    json_add_bool(o, "paused", false);
    json_add_u64(o, "vcpus", 2);
    json_add_u64(o, "mem_bytes", MEM);
    json_add_double(o, "uptime_s", 12.5);
    json_add_str(o, "payload", "guest-tools/payloads/memcheck.elf");
    json_add_str(o, "version", "0.1");
    return o;
}

static json_object *obj(json_object *parent, const char *key)
{
    json_object *o = json_object_new_object();
    json_object_object_add(parent, key, o);
    return o;
}

/* A small tiering view with every kind of figure the metrics table reads:
 * top-level, nested, scaled, and the promotion latency histogram. */
static json_object *fake_tiering(void *ctx)
{
    struct fake *f = ctx;
    if (!f->tiering_on)
        return NULL;
    json_object *t = json_object_new_object();
    JSON_U64S(t, {"dram_resident_bytes", 200 * MIB}, {"dram_budget_bytes", 192 * MIB}, {"promotions", 5},
              {"demotions", 7}, {"audit_failures", 0});
    JSON_U64S(obj(t, "pages"), {"ltram", 3}, {"dram", 65533});
    json_object *lt = obj(t, "ltram");
    JSON_U64S(lt, {"capacity_bytes", 64 * MIB}, {"frames_used", 3}, {"bytes_written", 12288},
              {"media_bytes_written", 16384});
    json_object *wear = obj(lt, "wear");
    json_add_u64(wear, "max", 2);
    json_add_double(wear, "mean", 0.5);
    json_object *d = obj(t, "daemon");
    json_add_u64(d, "epochs", 10);
    json_object *g = obj(d, "guard");
    json_add_double(g, "slowdown_pct", 1.5);
    json_add_double(g, "max_slowdown_pct", 5);
    json_object *lat = obj(t, "promotion_latency");
    json_add_u64(lat, "count", 3);
    json_add_double(lat, "sum_us", 30);
    json_object *bk = json_object_new_array();
    static const double le[] = {5, 10}, cnt[] = {1, 2};
    for (int i = 0; i < 2; i++) {
        json_object *e = json_object_new_object();
        json_add_double(e, "le_us", le[i]);
        json_add_double(e, "count", cnt[i]);
        json_object_array_add(bk, e);
    }
    json_object_object_add(lat, "buckets", bk);
    return t;
}

static int fake_update(void *ctx, const struct tiering_settings *s, char *err, size_t errlen)
{
    struct fake *f = ctx;
    f->update_calls++;
    f->last_s = *s;
    if (f->update_rc < 0)
        snprintf(err, errlen, "%s", f->errmsg ? f->errmsg : "fake update failed");
    return f->update_rc;
}

static int fake_action(void *ctx, const struct api_action *a, json_object **result, char *err, size_t errlen)
{
    struct fake *f = ctx;
    f->action_calls++;
    f->last_a = *a;
    if (f->action_rc < 0) {
        snprintf(err, errlen, "%s", f->errmsg ? f->errmsg : "fake action failed");
        return f->action_rc;
    }
    *result = json_object_new_object();
    if (a->kind == API_DEMOTE)
        json_add_u64(*result, "pages_demoted", a->len / 4096);
    else
        json_add_str(*result, "state", "running");
    return 0;
}

static void fake_init(struct fake *f, bool tiering_on)
{
    *f = (struct fake){.tiering_on = tiering_on, .name = "t1"};
    f->b = (struct api_backend){.ctx = f, .mem_bytes = MEM, .vm = fake_vm, .tiering = fake_tiering,
                                .update = fake_update, .action = fake_action};
}

/* ---- helpers ------------------------------------------------------------- */

/* One request with a NUL-terminated body (NULL: none); the parsed JSON
 * body, or NULL when it is not JSON (the caller puts it). */
static json_object *req(struct fake *f, const char *method, const char *path, const char *body,
                        struct api_response *r)
{
    api_handle(&f->b, method, path, body, body ? strlen(body) : 0, r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->body);
    return json_tokener_parse(r->body);
}

/* An error response: status, a JSON object body whose "error" string
 * mentions `mention` (NULL: any message). */
static void check_error(const struct api_response *r, unsigned status, const char *mention)
{
    CU_ASSERT_EQUAL(r->status, status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->body);
    CU_ASSERT_PTR_NOT_NULL(r->content_type);
    if (r->content_type)
        CU_ASSERT_STRING_EQUAL(r->content_type, "application/json");
    json_object *o = json_tokener_parse(r->body), *e;
    CU_ASSERT_FATAL(o && json_object_is_type(o, json_type_object));
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string));
    CU_ASSERT(json_object_get_string_len(e) > 0);
    if (mention && !strstr(json_object_get_string(e), mention)) {
        fprintf(stderr, "# error \"%s\" does not mention \"%s\"\n", json_object_get_string(e), mention);
        CU_FAIL("the error text does not mention the field");
    }
    json_object_put(o);
}

/* One request expected to fail with status, the error mentioning `mention`. */
static void expect_error(struct fake *f, const char *method, const char *path, const char *body, unsigned status,
                         const char *mention)
{
    struct api_response r;
    json_object_put(req(f, method, path, body, &r));
    if (r.status != status)
        fprintf(stderr, "# %s %s '%s': %u %s (want %u)\n", method, path, body ? body : "", r.status, r.body, status);
    check_error(&r, status, mention);
    api_response_free(&r);
}

static void expect_bad_patch(const char *body, const char *mention)
{
    struct fake f;
    fake_init(&f, true);
    expect_error(&f, "PATCH", "/v1/tiering", body, 400, mention);
    CU_ASSERT_EQUAL(f.update_calls, 0);
}

static void expect_bad_action(const char *body, const char *mention)
{
    struct fake f;
    fake_init(&f, true);
    expect_error(&f, "PUT", "/v1/actions", body, 400, mention);
    CU_ASSERT_EQUAL(f.action_calls, 0);
}

static bool get_bool(json_object *o, const char *key, bool *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
        return false;
    *out = json_object_get_boolean(v);
    return true;
}

/* A PATCH /v1/tiering that must succeed: the settings update received. */
static struct tiering_settings patch_ok(const char *body)
{
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    json_object *o = req(&f, "PATCH", "/v1/tiering", body, &r);
    if (r.status != 200)
        fprintf(stderr, "# PATCH '%s': %u %s\n", body, r.status, r.body);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(f.update_calls, 1);
    bool on = false;
    CU_ASSERT(o && get_bool(o, "enabled", &on) && on);    /* the response is the tiering view */
    json_object_put(o);
    api_response_free(&r);
    return f.last_s;
}

/* A PUT /v1/actions that must succeed with status: the action received. */
static struct api_action action_ok(const char *body, unsigned status)
{
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    json_object *o = req(&f, "PUT", "/v1/actions", body, &r);
    if (r.status != status)
        fprintf(stderr, "# PUT '%s': %u %s\n", body, r.status, r.body);
    CU_ASSERT_EQUAL(r.status, status);
    CU_ASSERT_EQUAL(f.action_calls, 1);
    CU_ASSERT(o && json_object_is_type(o, json_type_object));
    json_object_put(o);
    api_response_free(&r);
    return f.last_a;
}

/* ---- routing ------------------------------------------------------------- */

static void test_get_vm(void)
{
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    json_object *o = req(&f, "GET", "/v1/vm", NULL, &r), *v;
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/json");
    CU_ASSERT_PTR_NULL(r.allow);
    CU_ASSERT_FATAL(o && json_object_is_type(o, json_type_object));
    CU_ASSERT(json_object_object_get_ex(o, "name", &v) && !strcmp(json_object_get_string(v), "t1"));
    CU_ASSERT(json_object_object_get_ex(o, "mem_bytes", &v) && json_object_get_uint64(v) == MEM);
    CU_ASSERT_EQUAL(f.update_calls + f.action_calls, 0);
    json_object_put(o);
    api_response_free(&r);
}

static void test_get_tiering_on(void)
{
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    json_object *o = req(&f, "GET", "/v1/tiering", NULL, &r), *v;
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/json");
    bool on = false;
    CU_ASSERT(o && get_bool(o, "enabled", &on) && on);
    CU_ASSERT(o && json_object_object_get_ex(o, "promotions", &v) && json_object_get_int(v) == 5);
    json_object_put(o);
    api_response_free(&r);
}

static void test_get_tiering_off(void)
{
    struct fake f;
    fake_init(&f, false);
    struct api_response r;
    json_object *o = req(&f, "GET", "/v1/tiering", NULL, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    bool on = true;
    CU_ASSERT(o && get_bool(o, "enabled", &on) && !on);
    CU_ASSERT(o && json_object_object_length(o) == 1);    /* nothing but "enabled" */
    json_object_put(o);
    api_response_free(&r);
}

static void test_not_found(void)
{
    struct fake f;
    fake_init(&f, true);
    const char *paths[] = {"/v1/vm/", "/v2/vm", "/", "", "/V1/vm", "/v1/vm/x", "/metrics/", "/v1/tiering?x=1", NULL};
    for (int i = 0; paths[i]; i++)
        expect_error(&f, "GET", paths[i], NULL, 404, "no such resource");
    expect_error(&f, "PATCH", "/v1/nothing", "{}", 404, "/v1/nothing");
    CU_ASSERT_EQUAL(f.update_calls + f.action_calls, 0);
}

static void test_method_not_allowed(void)
{
    static const struct { const char *method, *path, *allow; } cases[] = {
        {"POST", "/v1/vm", "GET"},
        {"PATCH", "/v1/vm", "GET"},
        {"GET", "/v1/actions", "PUT"},
        {"POST", "/v1/actions", "PUT"},
        {"DELETE", "/v1/tiering", "GET, PATCH"},
        {"PUT", "/v1/tiering", "GET, PATCH"},
        {"PUT", "/metrics", "GET"},
        {"get", "/v1/vm", "GET"},       /* methods are case-sensitive */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f;
        fake_init(&f, true);
        struct api_response r;
        json_object_put(req(&f, cases[i].method, cases[i].path, "{\"action\":\"pause\"}", &r));
        check_error(&r, 405, cases[i].method);
        CU_ASSERT_PTR_NOT_NULL(r.allow);
        if (r.allow)
            CU_ASSERT_STRING_EQUAL(r.allow, cases[i].allow);
        CU_ASSERT_EQUAL(f.update_calls + f.action_calls, 0);
        api_response_free(&r);
    }
}

/* ---- PATCH /v1/tiering --------------------------------------------------- */

static void test_patch_budget_integer(void)
{
    struct tiering_settings s = patch_ok("{\"dram_budget\": 134217728}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_BUDGET);
    CU_ASSERT_EQUAL(s.dram_budget, 128 * MIB);
    s = patch_ok("{\"dram_budget\": 0}");
    CU_ASSERT_EQUAL(s.dram_budget, 0);
    s = patch_ok("{\"dram_budget\": 268435456}");       /* all of guest RAM */
    CU_ASSERT_EQUAL(s.dram_budget, MEM);
}

static void test_patch_budget_size(void)
{
    struct tiering_settings s = patch_ok("{\"dram_budget\": \"64M\"}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_BUDGET);
    CU_ASSERT_EQUAL(s.dram_budget, 64 * MIB);
    s = patch_ok("{\"dram_budget\": \"256M\"}");
    CU_ASSERT_EQUAL(s.dram_budget, MEM);
}

static void test_patch_budget_percent(void)
{
    struct tiering_settings s = patch_ok("{\"dram_budget\": \"25%\"}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_BUDGET);
    CU_ASSERT_EQUAL(s.dram_budget, MEM / 4);             /* of the backend's mem_bytes */
    s = patch_ok("{\"dram_budget\": \"100%\"}");
    CU_ASSERT_EQUAL(s.dram_budget, MEM);
    s = patch_ok("{\"dram_budget\": \"0%\"}");
    CU_ASSERT_EQUAL(s.dram_budget, 0);
}

static void test_patch_budget_invalid(void)
{
    expect_bad_patch("{\"dram_budget\": \"150%\"}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": -1}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": -134217728}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": 1.5}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": 1e8}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": \"512M\"}", "dram_budget");    /* more than guest RAM */
    expect_bad_patch("{\"dram_budget\": 268439552}", "dram_budget");   /* guest RAM + 4K, as an integer */
    expect_bad_patch("{\"dram_budget\": 99999999999999999999999}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": \"lots\"}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": \"\"}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": true}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": null}", "dram_budget");
    expect_bad_patch("{\"dram_budget\": [1]}", "dram_budget");
}

static void test_patch_epoch(void)
{
    struct tiering_settings s = patch_ok("{\"epoch_ms\": 500}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_EPOCH);
    CU_ASSERT_EQUAL(s.epoch_ms, 500);
    /* out of range values go to the backend, which bounds them (never wrapped) */
    s = patch_ok("{\"epoch_ms\": 4294967796}");
    CU_ASSERT(s.epoch_ms > TIERING_EPOCH_MS_MAX);
    expect_bad_patch("{\"epoch_ms\": \"500\"}", "epoch_ms");
    expect_bad_patch("{\"epoch_ms\": -5}", "epoch_ms");
    expect_bad_patch("{\"epoch_ms\": 2.5}", "epoch_ms");
}

static void test_patch_slowdown(void)
{
    struct tiering_settings s = patch_ok("{\"max_slowdown_pct\": 5}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_SLOWDOWN);
    CU_ASSERT_DOUBLE_EQUAL(s.max_slowdown_pct, 5.0, 1e-12);
    s = patch_ok("{\"max_slowdown_pct\": 2.5}");
    CU_ASSERT_DOUBLE_EQUAL(s.max_slowdown_pct, 2.5, 1e-12);
    s = patch_ok("{\"exit_cost_us\": 0.75}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_EXIT_COST);
    CU_ASSERT_DOUBLE_EQUAL(s.exit_cost_us, 0.75, 1e-12);
    expect_bad_patch("{\"max_slowdown_pct\": \"5\"}", "max_slowdown_pct");
    expect_bad_patch("{\"max_slowdown_pct\": false}", "max_slowdown_pct");
    expect_bad_patch("{\"exit_cost_us\": {}}", "exit_cost_us");
}

static void test_patch_set_bits(void)
{
    struct tiering_settings s = patch_ok("{}");
    CU_ASSERT_EQUAL(s.set, 0);
    s = patch_ok("{\"dram_budget\": \"50%\", \"max_slowdown_pct\": 3}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_BUDGET | TIERING_SET_SLOWDOWN);
    CU_ASSERT_EQUAL(s.dram_budget, MEM / 2);
    CU_ASSERT_DOUBLE_EQUAL(s.max_slowdown_pct, 3, 1e-12);
    CU_ASSERT_EQUAL(s.epoch_ms, 0);                      /* fields not given stay zero */
    s = patch_ok("{\"dram_budget\": \"1M\", \"epoch_ms\": 200, \"max_slowdown_pct\": 1.5, \"exit_cost_us\": 2}");
    CU_ASSERT_EQUAL(s.set, TIERING_SET_BUDGET | TIERING_SET_EPOCH | TIERING_SET_SLOWDOWN | TIERING_SET_EXIT_COST);
    CU_ASSERT_EQUAL(s.dram_budget, MIB);
    CU_ASSERT_EQUAL(s.epoch_ms, 200);
    CU_ASSERT_DOUBLE_EQUAL(s.exit_cost_us, 2, 1e-12);
}

static void test_patch_unknown_field(void)
{
    expect_bad_patch("{\"dram_budget\": \"25%\", \"bogus\": 1}", "bogus");
    expect_bad_patch("{\"DRAM_BUDGET\": 4096}", "DRAM_BUDGET");
    expect_bad_patch("{\"action\": \"pause\"}", "action");
}

static void test_patch_malformed(void)
{
    /* (json-c's strict mode still takes single-quoted keys: not pinned
     * here; NaN and Infinity are refused by the fields, test_patch_not_finite) */
    const char *bad[] = {"{", "{\"epoch_ms\": }", "{\"epoch_ms\": 500,}", "{epoch_ms: 500}", "{\"epoch_ms\": '5'}",
                         "{\"epoch_ms\": 0x10}", "{\"epoch_ms\": +5}", "{\"epoch_ms\": .5}", "{\"a\": \"\\x41\"}",
                         "/* c */ {}", "\xef\xbb\xbf{}", "nul", "   ", NULL};
    for (int i = 0; bad[i]; i++)
        expect_bad_patch(bad[i], "JSON");
}

/* json-c takes NaN and Infinity literals: the numeric fields refuse them. */
static void test_patch_not_finite(void)
{
    expect_bad_patch("{\"max_slowdown_pct\": NaN}", "finite");
    expect_bad_patch("{\"exit_cost_us\": Infinity}", "finite");
    expect_bad_patch("{\"max_slowdown_pct\": -Infinity}", "finite");
}

static void test_patch_empty_body(void)
{
    expect_bad_patch(NULL, "body");
    expect_bad_patch("", "body");
}

static void test_patch_nul_byte(void)
{
    static const char body[] = "{\"epoch_ms\": 500}\0{}", mid[] = "{\"epoch_ms\"\0: 500}";
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    api_handle(&f.b, "PATCH", "/v1/tiering", body, sizeof body - 1, &r);
    check_error(&r, 400, "NUL");
    api_response_free(&r);
    api_handle(&f.b, "PATCH", "/v1/tiering", mid, sizeof mid - 1, &r);
    check_error(&r, 400, "NUL");
    api_response_free(&r);
    CU_ASSERT_EQUAL(f.update_calls, 0);
}

static void test_patch_trailing(void)
{
    expect_bad_patch("{\"epoch_ms\": 500} x", "JSON");
    expect_bad_patch("{\"epoch_ms\": 500}{}", "JSON");
    expect_bad_patch("{\"epoch_ms\": 500}}", "JSON");
    /* trailing white space is fine */
    struct tiering_settings s = patch_ok("{\"epoch_ms\": 500}\r\n\t ");
    CU_ASSERT_EQUAL(s.epoch_ms, 500);
    /* and a body that is not NUL-terminated is read to len only */
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    static const char body[] = "{\"epoch_ms\": 500}garbage";
    api_handle(&f.b, "PATCH", "/v1/tiering", body, strlen("{\"epoch_ms\": 500}"), &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(f.last_s.epoch_ms, 500);
    api_response_free(&r);
}

static void test_patch_not_object(void)
{
    expect_bad_patch("[1]", "object");
    expect_bad_patch("[{\"epoch_ms\": 500}]", "object");
    expect_bad_patch("\"epoch_ms\"", "object");
    expect_bad_patch("null ", "object");
    expect_bad_patch("null", "JSON");       /* json-c wants a delimiter after a bare literal */
    expect_bad_patch("500", "JSON");
}

/* {"x": [[...[1]...]]} with `arrays` arrays: the object's depth plus theirs. */
static void nested_body(char *body, size_t cap, int arrays)
{
    size_t n = (size_t)snprintf(body, cap, "{\"x\": ");
    for (int i = 0; i < arrays && n + 1 < cap; i++)
        body[n++] = '[';
    n += (size_t)snprintf(body + n, cap - n, "1");
    for (int i = 0; i < arrays && n + 1 < cap; i++)
        body[n++] = ']';
    snprintf(body + n, cap - n, "}");
}

static void test_patch_deep_nesting(void)
{
    char body[128];
    nested_body(body, sizeof body, 6);          /* depth 7: parses, then is an unknown field */
    expect_bad_patch(body, "unknown field 'x'");
    /* json-c's limit of 8 admits 7 levels: depth 8 is already refused */
    nested_body(body, sizeof body, 7);
    expect_bad_patch(body, "nesting too deep");
    nested_body(body, sizeof body, 8);          /* depth 9 */
    expect_bad_patch(body, "nesting too deep");
    nested_body(body, sizeof body, 40);
    expect_bad_patch(body, "JSON");
    expect_bad_patch("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}", "JSON");
}

static void test_patch_backend_errors(void)
{
    static const struct { int rc; unsigned status; } cases[] = {
        {-EINVAL, 400}, {-ENOTSUP, 409}, {-EIO, 500}, {-EALREADY, 409},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f;
        fake_init(&f, true);
        f.update_rc = cases[i].rc;
        f.errmsg = "epoch_ms: 5 is outside 50..60000";
        expect_error(&f, "PATCH", "/v1/tiering", "{\"epoch_ms\": 5}", cases[i].status, "epoch_ms: 5 is outside");
        CU_ASSERT_EQUAL(f.update_calls, 1);
    }
    /* tiering off: the backend says -ENOTSUP */
    struct fake f;
    fake_init(&f, false);
    f.update_rc = -ENOTSUP;
    f.errmsg = "tiering is off";
    expect_error(&f, "PATCH", "/v1/tiering", "{\"dram_budget\": \"25%\"}", 409, "tiering is off");
}

/* ---- PUT /v1/actions ----------------------------------------------------- */

static void test_actions_each(void)
{
    static const struct { const char *name; enum api_action_kind kind; unsigned status; } cases[] = {
        {"pause", API_PAUSE, 200}, {"resume", API_RESUME, 200}, {"audit", API_AUDIT, 200},
        {"shutdown", API_SHUTDOWN, 202},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"action\": \"%s\"}", cases[i].name);
        struct api_action a = action_ok(body, cases[i].status);
        CU_ASSERT_EQUAL(a.kind, cases[i].kind);
        CU_ASSERT_EQUAL(a.gpa, 0);
        CU_ASSERT_EQUAL(a.len, 0);
    }
}

static void test_action_shutdown_202(void)
{
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    json_object *o = req(&f, "PUT", "/v1/actions", "{\"action\":\"shutdown\"}", &r), *v;
    CU_ASSERT_EQUAL(r.status, 202);
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/json");
    CU_ASSERT(o && json_object_object_get_ex(o, "state", &v));      /* the backend's result is the body */
    json_object_put(o);
    api_response_free(&r);
}

static void test_demote_integer(void)
{
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    json_object *o = req(&f, "PUT", "/v1/actions", "{\"action\": \"demote\", \"gpa\": 2097152, \"len\": 1048576}", &r), *v;
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(f.action_calls, 1);
    CU_ASSERT_EQUAL(f.last_a.kind, API_DEMOTE);
    CU_ASSERT_EQUAL(f.last_a.gpa, 2 * MIB);
    CU_ASSERT_EQUAL(f.last_a.len, MIB);
    CU_ASSERT(o && json_object_object_get_ex(o, "pages_demoted", &v) && json_object_get_int(v) == 256);
    json_object_put(o);
    api_response_free(&r);
    /* the last page of guest RAM, and all of it */
    struct api_action a = action_ok("{\"action\": \"demote\", \"gpa\": 268431360, \"len\": 4096}", 200);
    CU_ASSERT_EQUAL(a.gpa, MEM - 4096);
    a = action_ok("{\"action\": \"demote\", \"gpa\": 0, \"len\": 268435456}", 200);
    CU_ASSERT_EQUAL(a.len, MEM);
}

static void test_demote_strings(void)
{
    struct api_action a = action_ok("{\"action\": \"demote\", \"gpa\": \"0x200000\", \"len\": \"2M\"}", 200);
    CU_ASSERT_EQUAL(a.kind, API_DEMOTE);
    CU_ASSERT_EQUAL(a.gpa, 2 * MIB);
    CU_ASSERT_EQUAL(a.len, 2 * MIB);
    a = action_ok("{\"len\": \"0x1000\", \"gpa\": \"0xFFFF000\", \"action\": \"demote\"}", 200);
    CU_ASSERT_EQUAL(a.gpa, 0xffff000);
    CU_ASSERT_EQUAL(a.len, 4096);
    a = action_ok("{\"action\": \"demote\", \"gpa\": \"64K\", \"len\": \"4096\"}", 200);
    CU_ASSERT_EQUAL(a.gpa, 65536);
    CU_ASSERT_EQUAL(a.len, 4096);
}

static void test_demote_invalid(void)
{
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 4097, \"len\": 4096}", "4096");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 4096, \"len\": 100}", "4096");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": \"0x1001\", \"len\": \"4K\"}", "4096");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 4096, \"len\": 0}", "len > 0");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 268435456, \"len\": 4096}", "guest RAM");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 268431360, \"len\": 8192}", "guest RAM");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 0, \"len\": \"512M\"}", "guest RAM");
    /* gpa + len wraps past 2^64 */
    expect_bad_action("{\"action\": \"demote\", \"gpa\": \"0xfffffffffffff000\", \"len\": 8192}", "guest RAM");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 18446744073709547520, \"len\": 4096}", "guest RAM");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 4096, \"len\": \"0xfffffffffffff000\"}", "guest RAM");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": \"0x10000000000000000\", \"len\": 4096}", "gpa: too large");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": -4096, \"len\": 4096}", "gpa");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 4096.0, \"len\": 4096}", "gpa");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": \"0x\", \"len\": 4096}", "gpa");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": \"0xg000\", \"len\": 4096}", "gpa");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 4096, \"len\": true}", "len");
    expect_bad_action("{\"action\": \"demote\", \"gpa\": 4096}", "len");
    expect_bad_action("{\"action\": \"demote\", \"len\": 4096}", "gpa");
    expect_bad_action("{\"action\": \"demote\"}", "gpa and len are required");
    expect_bad_action("{\"action\": \"pause\", \"gpa\": 4096}", "gpa");
    expect_bad_action("{\"action\": \"audit\", \"len\": 4096}", "len");
}

static void test_action_unknown(void)
{
    expect_bad_action("{\"action\": \"reboot\"}", "reboot");
    expect_bad_action("{\"action\": \"Pause\"}", "Pause");
    expect_bad_action("{\"action\": \"\"}", "action");
    expect_bad_action("{\"action\": 1}", "action");
    expect_bad_action("{\"action\": null}", "action");
    expect_bad_action("{}", "action");
    expect_bad_action("{\"action\": \"pause\", \"force\": true}", "force");
    expect_bad_action("[\"pause\"]", "object");
    expect_bad_action("", "body");
    expect_bad_action("{\"action\": \"pause\"", "JSON");
}

static bool utf8_valid(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        size_t n = *u < 0x80 ? 0 : (*u & 0xe0) == 0xc0 ? 1 : (*u & 0xf0) == 0xe0 ? 2 : (*u & 0xf8) == 0xf0 ? 3 : 9;
        if (n == 9)
            return false;
        for (size_t k = 1; k <= n; k++)
            if ((u[k] & 0xc0) != 0x80)
                return false;
        u += n + 1;
    }
    return true;
}

/* Error messages quote a bounded prefix of the request: never half a
 * UTF-8 character (found by fuzz-api). */
static void test_error_utf8_prefix(void)
{
    static const char *const cases[][3] = {
        {"PUT", "/v1/actions", "{\"action\": \"a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                               "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\"}"},
        {"PATCH", "/v1/tiering", "{\"kk\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
                                 "\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\": 1}"},
        {"GET", "/v1/a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL},
        {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9X\xc3\xa9", "/v1/vm", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f;
        fake_init(&f, true);
        struct api_response r;
        json_object_put(req(&f, cases[i][0], cases[i][1], cases[i][2], &r));
        CU_ASSERT(r.status == 400 || r.status == 404 || r.status == 405);
        CU_ASSERT(utf8_valid(r.body));
        check_error(&r, r.status, NULL);
        api_response_free(&r);
    }
}

static void test_action_backend_errors(void)
{
    static const struct { int rc; unsigned status; } cases[] = {
        {-ENOSPC, 507}, {-EAGAIN, 503}, {-ETIMEDOUT, 504}, {-EALREADY, 409}, {-ESHUTDOWN, 409},
        {-ENOTSUP, 409}, {-EINVAL, 400}, {-EIO, 500}, {-1, 500},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f;
        fake_init(&f, true);
        f.action_rc = cases[i].rc;
        f.errmsg = "demote: LtRAM is full";
        expect_error(&f, "PUT", "/v1/actions", "{\"action\": \"demote\", \"gpa\": \"1M\", \"len\": \"1M\"}",
                     cases[i].status, "LtRAM is full");
        CU_ASSERT_EQUAL(f.action_calls, 1);
        CU_ASSERT_EQUAL(api_status_of(cases[i].rc), cases[i].status);
    }
    CU_ASSERT_EQUAL(api_status_of(0), 500);
}

/* ---- GET /metrics -------------------------------------------------------- */

static bool name_char(int c, bool first)
{
    return isalpha(c) || c == '_' || c == ':' || (!first && isdigit(c));
}

/* One sample line of the text exposition format: name{k="v",...} value.
 * Its metric name goes to name (cap bytes). */
static bool sample_line(const char *s, char *name, size_t cap)
{
    size_t n = 0;
    if (!name_char((unsigned char)s[0], true))
        return false;
    while (name_char((unsigned char)s[n], n == 0))
        n++;
    if (n >= cap)
        return false;
    memcpy(name, s, n);
    name[n] = '\0';
    s += n;
    if (*s == '{') {
        s++;
        for (bool first = true; *s != '}'; first = false) {
            if (!first && *s++ != ',')
                return false;
            if (!isalpha((unsigned char)*s) && *s != '_')
                return false;
            while (isalnum((unsigned char)*s) || *s == '_')
                s++;
            if (*s++ != '=' || *s++ != '"')
                return false;
            for (; *s != '"'; s++) {
                if (!*s || *s == '\n')
                    return false;
                if (*s == '\\' && !strchr("\\\"n", *++s))
                    return false;
            }
            s++;
        }
        s++;
    }
    if (*s++ != ' ')
        return false;
    if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf"))
        return true;
    char *end;
    strtod(s, &end);
    return *s && end != s && !*end && !isspace((unsigned char)*s);
}

/* The family a sample belongs to: its name less a histogram suffix. */
static void family_of(const char *sample, const char *const *families, size_t nf, char *out, size_t cap)
{
    snprintf(out, cap, "%s", sample);
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < 3; i++) {
        size_t ls = strlen(sample), lx = strlen(suffixes[i]);
        if (ls <= lx || strcmp(sample + ls - lx, suffixes[i]))
            continue;
        for (size_t f = 0; f < nf; f++)
            if (strlen(families[f]) == ls - lx && !strncmp(families[f], sample, ls - lx))
                snprintf(out, cap, "%s", families[f]);
    }
}

#define MAX_FAMILIES 64

struct expo {
    unsigned bad_lines;
    size_t nfam;
    char fam[MAX_FAMILIES][80];
    unsigned help[MAX_FAMILIES], type[MAX_FAMILIES], samples[MAX_FAMILIES];
    unsigned ungrouped;                 /* samples not right after their family's lines */
};

static size_t fam_index(struct expo *e, const char *name)
{
    for (size_t i = 0; i < e->nfam; i++)
        if (!strcmp(e->fam[i], name))
            return i;
    if (e->nfam == MAX_FAMILIES)
        return MAX_FAMILIES - 1;
    snprintf(e->fam[e->nfam], sizeof e->fam[0], "%s", name);
    return e->nfam++;
}

/* Check text line by line: HELP, TYPE or a sample, each sample inside the
 * block of its family; counts per family. */
static void check_exposition(const char *text, struct expo *e)
{
    memset(e, 0, sizeof *e);
    size_t len = strlen(text);
    CU_ASSERT(len > 0 && text[len - 1] == '\n');
    char *copy = strdup(text), *save = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    const char *names[MAX_FAMILIES];
    long current = -1;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[128], kind[32];
        int used = 0;
        if (!strncmp(line, "# HELP ", 7)) {
            if (sscanf(line + 7, "%127s%n", name, &used) != 1 || line[7 + used] != ' ') {
                e->bad_lines++;
                continue;
            }
            e->help[fam_index(e, name)]++;
            current = (long)fam_index(e, name);
        } else if (!strncmp(line, "# TYPE ", 7)) {
            if (sscanf(line + 7, "%127s %31s%n", name, kind, &used) != 2 || line[7 + used] ||
                (strcmp(kind, "counter") && strcmp(kind, "gauge") && strcmp(kind, "histogram"))) {
                e->bad_lines++;
                continue;
            }
            size_t f = fam_index(e, name);
            e->type[f]++;
            if (strcmp(kind, "counter") == 0 && (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
                e->bad_lines++;
            current = (long)f;
        } else if (line[0] == '#') {
            e->bad_lines++;
        } else if (sample_line(line, name, sizeof name)) {
            for (size_t i = 0; i < e->nfam; i++)
                names[i] = e->fam[i];
            char fam[128];
            family_of(name, names, e->nfam, fam, sizeof fam);
            size_t f = fam_index(e, fam);
            e->samples[f]++;
            if ((long)f != current)
                e->ungrouped++;
        } else {
            fprintf(stderr, "# not an exposition line: '%s'\n", line);
            e->bad_lines++;
        }
    }
    free(copy);
}

static unsigned samples_of(const struct expo *e, const char *family)
{
    for (size_t i = 0; i < e->nfam; i++)
        if (!strcmp(e->fam[i], family))
            return e->samples[i];
    return 0;
}

static void check_families_once(const struct expo *e)
{
    CU_ASSERT_EQUAL(e->bad_lines, 0);
    CU_ASSERT_EQUAL(e->ungrouped, 0);
    for (size_t i = 0; i < e->nfam; i++) {
        if (e->help[i] != 1 || e->type[i] != 1)
            fprintf(stderr, "# family %s: %u HELP, %u TYPE\n", e->fam[i], e->help[i], e->type[i]);
        CU_ASSERT_EQUAL(e->help[i], 1);
        CU_ASSERT_EQUAL(e->type[i], 1);
    }
}

static void test_metrics_get(void)
{
    struct fake f;
    fake_init(&f, true);
    struct api_response r;
    api_handle(&f.b, "GET", "/metrics", NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
    CU_ASSERT(r.content_type && !strncmp(r.content_type, "text/plain", 10));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "# TYPE arom_promotions_total counter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\narom_promotions_total{vm=\"t1\"} 5\n"));
    /* arom_vm_info{vm="t1",...} 1 */
    const char *info = strstr(r.body, "\narom_vm_info{vm=\"t1\",");
    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    const char *eol = strchr(info + 1, '\n');
    CU_ASSERT_FATAL(eol && eol - info > 3);
    CU_ASSERT(!strncmp(eol - 3, "} 1", 3));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "arom_ltram_resident_bytes{vm=\"t1\"} 12288\n"));   /* 3 pages */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "arom_slowdown_ratio{vm=\"t1\"} 0.015\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "arom_promotion_duration_seconds_bucket{vm=\"t1\",le=\"+Inf\"} 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "arom_promotion_duration_seconds_bucket{vm=\"t1\",le=\"1e-05\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "arom_promotion_duration_seconds_count{vm=\"t1\"} 3\n"));
    struct expo e;
    check_exposition(r.body, &e);
    check_families_once(&e);
    CU_ASSERT_EQUAL(samples_of(&e, "arom_vm_info"), 1);
    CU_ASSERT_EQUAL(samples_of(&e, "arom_promotions_total"), 1);
    CU_ASSERT_EQUAL(samples_of(&e, "arom_promotion_duration_seconds"), 5);   /* 2 + Inf buckets, sum, count */
    api_response_free(&r);
}

static void test_metrics_tiering_off(void)
{
    struct fake f;
    fake_init(&f, false);
    struct api_response r;
    api_handle(&f.b, "GET", "/metrics", NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
    CU_ASSERT_PTR_NULL(strstr(r.body, "arom_promotions_total"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "arom_vm_vcpus{vm=\"t1\"} 2\n"));
    struct expo e;
    check_exposition(r.body, &e);
    check_families_once(&e);
    CU_ASSERT_EQUAL(samples_of(&e, "arom_vm_info"), 1);
    api_response_free(&r);
}

static void test_metrics_two_views(void)
{
    struct fake f1, f2;
    fake_init(&f1, true);
    fake_init(&f2, true);
    f2.name = "t2";
    struct api_view v[2] = {{fake_vm(&f1), fake_tiering(&f1)}, {fake_vm(&f2), fake_tiering(&f2)}};
    char *text = api_metrics_text(v, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    struct expo e;
    check_exposition(text, &e);
    check_families_once(&e);
    CU_ASSERT(e.nfam >= 20);
    for (size_t i = 0; i < e.nfam; i++) {
        unsigned want = !strcmp(e.fam[i], "arom_promotion_duration_seconds") ? 10 : 2;
        if (e.samples[i] != want)
            fprintf(stderr, "# family %s: %u samples (want %u)\n", e.fam[i], e.samples[i], want);
        CU_ASSERT_EQUAL(e.samples[i], want);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "arom_demotions_total{vm=\"t1\"} 7\narom_demotions_total{vm=\"t2\"} 7\n"));
    free(text);
    /* one view with tiering off: its tiering families have one sample */
    json_object_put(v[1].tiering);
    v[1].tiering = NULL;
    text = api_metrics_text(v, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    check_exposition(text, &e);
    check_families_once(&e);
    CU_ASSERT_EQUAL(samples_of(&e, "arom_vm_info"), 2);
    CU_ASSERT_EQUAL(samples_of(&e, "arom_promotions_total"), 1);
    free(text);
    /* no views at all: still valid text */
    text = api_metrics_text(NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    check_exposition(text, &e);
    check_families_once(&e);
    free(text);
    for (int i = 0; i < 2; i++) {
        json_object_put(v[i].vm);
        json_object_put(v[i].tiering);
    }
}

/* A VM name with every character the format escapes still gives valid text. */
static void test_metrics_escaped_name(void)
{
    struct fake f;
    fake_init(&f, true);
    f.name = "a\\b\"c\nd";
    struct api_response r;
    api_handle(&f.b, "GET", "/metrics", NULL, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "arom_promotions_total{vm=\"a\\\\b\\\"c\\nd\"} 5\n"));
    struct expo e;
    check_exposition(r.body, &e);
    check_families_once(&e);
    api_response_free(&r);
}

/* ---- lib/prom.c ---------------------------------------------------------- */

static void test_prom_label(void)
{
    char l[128] = "";
    CU_ASSERT(prom_label(l, sizeof l, "vm", "a\\b\"c\nd"));
    CU_ASSERT_STRING_EQUAL(l, "vm=\"a\\\\b\\\"c\\nd\"");
    CU_ASSERT(prom_label(l, sizeof l, "le", "+Inf"));
    CU_ASSERT_STRING_EQUAL(l, "vm=\"a\\\\b\\\"c\\nd\",le=\"+Inf\"");
    char small[16] = "";
    CU_ASSERT(prom_label(small, sizeof small, "k", "v"));
    CU_ASSERT_FALSE(prom_label(small, sizeof small, "key", "too long a value"));
    CU_ASSERT_STRING_EQUAL(small, "k=\"v\"");                /* left as it was */
    char empty[8] = "";
    CU_ASSERT(prom_label(empty, sizeof empty, "k", ""));
    CU_ASSERT_STRING_EQUAL(empty, "k=\"\"");
    /* a value too long is cut (to 511 bytes), never inside a UTF-8 character */
    char value[700], big[1024];
    for (int odd = 0; odd < 2; odd++) {
        memset(value, 'a', (size_t)odd);
        for (int i = odd; i + 2 < (int)sizeof value; i += 2)
            memcpy(value + i, "\xc3\xa9", 2);
        value[odd + (sizeof value - 2 - odd) / 2 * 2] = '\0';
        big[0] = '\0';
        CU_ASSERT(prom_label(big, sizeof big, "k", value));
        size_t n = strlen(big);
        CU_ASSERT(n > 500 && n < 520 && big[n - 1] == '"');
        CU_ASSERT(((unsigned char)big[n - 2] & 0xc0) == 0x80);   /* the value ends in a whole character */
        CU_ASSERT(((unsigned char)big[n - 3] & 0xe0) == 0xc0);
    }
}

static void test_prom_sample(void)
{
    struct prom p = {0};
    prom_family(&p, "x_total", "counter", "Help with a \\ and a\nnewline.");
    prom_sample(&p, "x_total", "", NAN);
    prom_sample(&p, "x_total", "k=\"v\"", INFINITY);
    prom_sample(&p, "x_total", "", -INFINITY);
    prom_sample(&p, "x_total", "", 0.1);
    prom_sample(&p, "x_total", "", 1e15);
    char *t = prom_finish(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, "# HELP x_total Help with a \\\\ and a\\nnewline.\n"
                              "# TYPE x_total counter\n"
                              "x_total NaN\n"
                              "x_total{k=\"v\"} +Inf\n"
                              "x_total -Inf\n"
                              "x_total 0.1\n"
                              "x_total 1e+15\n");
    free(t);
    CU_ASSERT_PTR_NULL(p.buf);
    t = prom_finish(&p);                    /* nothing written: "" */
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, "");
    free(t);
}

/* ---- lib/json.c, tiering/latency.c -------------------------------------- */

static void test_json_path_number(void)
{
    json_object *o = json_tokener_parse("{\"a\": {\"b\": {\"c\": 42.5}, \"s\": \"7\", \"t\": true, \"f\": false,"
                                        " \"n\": null, \"arr\": [1]}, \"top\": -3}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    double d = -1;
    CU_ASSERT(json_path_number(o, "a.b.c", &d));
    CU_ASSERT_DOUBLE_EQUAL(d, 42.5, 1e-12);
    CU_ASSERT(json_path_number(o, "top", &d));
    CU_ASSERT_DOUBLE_EQUAL(d, -3, 1e-12);
    d = -1;
    CU_ASSERT_FALSE(json_path_number(o, "a.x.c", &d));     /* missing part */
    CU_ASSERT_FALSE(json_path_number(o, "a.b.c.d", &d));   /* past a number */
    CU_ASSERT_FALSE(json_path_number(o, "missing", &d));
    CU_ASSERT_FALSE(json_path_number(o, "a.b", &d));       /* an object */
    CU_ASSERT_FALSE(json_path_number(o, "a.s", &d));       /* a string, even a numeric one */
    CU_ASSERT_FALSE(json_path_number(o, "a.n", &d));
    CU_ASSERT_FALSE(json_path_number(o, "a.arr", &d));
    CU_ASSERT_FALSE(json_path_number(o, "a.arr.0", &d));
    CU_ASSERT_DOUBLE_EQUAL(d, -1, 0);                      /* untouched */
    CU_ASSERT(json_path_number(o, "a.t", &d));
    CU_ASSERT_DOUBLE_EQUAL(d, 1, 0);
    CU_ASSERT(json_path_number(o, "a.f", &d));
    CU_ASSERT_DOUBLE_EQUAL(d, 0, 0);
    CU_ASSERT_FALSE(json_path_number(NULL, "a", &d));
    char long_key[300];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    CU_ASSERT_FALSE(json_path_number(o, long_key, &d));
    json_object_put(o);
}

static void test_latency_count_le(void)
{
    static struct latency_hist h;
    memset(&h, 0, sizeof h);
    CU_ASSERT_EQUAL(latency_count_le(&h, 0), 0);
    CU_ASSERT_EQUAL(latency_count_le(&h, UINT64_MAX), 0);
    /* 100 is in the bucket [96, 103], 1000 in [960, 1023], 1000000 in [983040, 1048575] */
    static const uint64_t v[] = {0, 5, 100, 1000, 1000000};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        latency_record(&h, v[i]);
    CU_ASSERT_EQUAL(h.count, 5);
    CU_ASSERT_EQUAL(latency_count_le(&h, 0), 1);
    CU_ASSERT_EQUAL(latency_count_le(&h, 4), 1);
    CU_ASSERT_EQUAL(latency_count_le(&h, 5), 2);
    CU_ASSERT_EQUAL(latency_count_le(&h, 99), 2);           /* below 100's bucket edge */
    CU_ASSERT_EQUAL(latency_count_le(&h, 102), 2);
    CU_ASSERT_EQUAL(latency_count_le(&h, 103), 3);          /* at it */
    CU_ASSERT_EQUAL(latency_count_le(&h, 1022), 3);
    CU_ASSERT_EQUAL(latency_count_le(&h, 1023), 4);
    CU_ASSERT_EQUAL(latency_count_le(&h, 999999), 4);
    /* ns >= the largest sample: all, though its bucket's edge is higher */
    CU_ASSERT_EQUAL(latency_count_le(&h, 1000000), 5);
    CU_ASSERT_EQUAL(latency_count_le(&h, 1048575), 5);
    CU_ASSERT_EQUAL(latency_count_le(&h, UINT64_MAX), 5);
    /* monotonic in ns */
    uint64_t last = 0;
    for (uint64_t ns = 1; ns < (1u << 21); ns = ns * 3 / 2 + 1) {
        uint64_t c = latency_count_le(&h, ns);
        CU_ASSERT(c >= last && c <= h.count);
        last = c;
    }
}

int register_api_tests(void)
{
    static const struct unit_test tests[] = {
        {"GET /v1/vm: 200 and the vm view", test_get_vm},
        {"GET /v1/tiering, tiering on: enabled true", test_get_tiering_on},
        {"GET /v1/tiering, tiering off: enabled false", test_get_tiering_off},
        {"unknown paths: 404", test_not_found},
        {"wrong methods: 405 with Allow", test_method_not_allowed},
        {"PATCH dram_budget: an integer", test_patch_budget_integer},
        {"PATCH dram_budget: a size string", test_patch_budget_size},
        {"PATCH dram_budget: a share of guest RAM", test_patch_budget_percent},
        {"PATCH dram_budget: 150%, negative, float, over RAM: 400", test_patch_budget_invalid},
        {"PATCH epoch_ms", test_patch_epoch},
        {"PATCH max_slowdown_pct, exit_cost_us: int and float", test_patch_slowdown},
        {"PATCH: the set bits match the fields given", test_patch_set_bits},
        {"PATCH: unknown field 400, update not called", test_patch_unknown_field},
        {"PATCH: malformed JSON 400", test_patch_malformed},
        {"PATCH: NaN and Infinity refused (400)", test_patch_not_finite},
        {"PATCH: empty body 400", test_patch_empty_body},
        {"PATCH: NUL byte in the body 400", test_patch_nul_byte},
        {"PATCH: text after the object 400", test_patch_trailing},
        {"PATCH: an array or scalar body 400", test_patch_not_object},
        {"PATCH: nesting deeper than 8 400", test_patch_deep_nesting},
        {"PATCH: backend -EINVAL 400, -ENOTSUP 409", test_patch_backend_errors},
        {"PUT actions: each action", test_actions_each},
        {"PUT actions: shutdown 202", test_action_shutdown_202},
        {"PUT demote: integers", test_demote_integer},
        {"PUT demote: hex and size strings", test_demote_strings},
        {"PUT demote: unaligned, empty, outside RAM, overflow, misplaced: 400", test_demote_invalid},
        {"PUT actions: unknown action 400", test_action_unknown},
        {"PUT actions: backend errors to 507/503/504/409", test_action_backend_errors},
        {"error messages never cut a UTF-8 character", test_error_utf8_prefix},
        {"GET /metrics: text, families, grammar", test_metrics_get},
        {"GET /metrics: tiering off", test_metrics_tiering_off},
        {"metrics of two VMs: each family once, two samples", test_metrics_two_views},
        {"metrics: a VM name needing escapes", test_metrics_escaped_name},
        {"prom_label escapes backslash, quote, newline", test_prom_label},
        {"prom_sample: NaN, +Inf, -Inf; HELP escaping", test_prom_sample},
        {"json_path_number: paths, types", test_json_path_number},
        {"latency_count_le: cumulative bucket counts", test_latency_count_le},
    };
    return ADD_SUITE("api", tests);
}
