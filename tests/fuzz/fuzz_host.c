/* libFuzzer target: what aromd parses from others (host/): requests to
 * its endpoint (host/host_api.c routes over an inventory), answers from
 * VMs (http_parse_reply of host/http_client.c) and its config file
 * (aromd_options_json).
 *
 * Input: byte 0 selects
 *   0..159    a request: the method (byte 0 % 5: GET PATCH PUT POST DELETE),
 *             then the path up to the first '\n' and the body after it, to
 *             an inventory of two VMs ("a1", "b.2") whose sockets do not
 *             exist (so a proxy or pin reaches the client's error path)
 *   160..223  the rest as a VM's raw HTTP answer
 *   224..255  the rest as aromd's JSON config
 *
 * Invariants (abort() on violation, besides ASan/UBSan/LSan):
 *  - endpoint statuses are documented ones (200 400 404 405 409 413 415
 *    500 502 503); every body parses as a JSON object, a non-2xx one with a
 *    non-empty string "error"; 405 sets allow; unknown paths 404;
 *  - a parsed reply has a status of 100..599 and a body within the input,
 *    NUL-terminated at its length;
 *  - a config either applies (interval within its bounds, listen an
 *    endpoint) or fails with a message, and never half-applies a bad key. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/aromd_options.h"
#include "host/host_api.h"
#include "host/http_client.h"
#include "lib/log.h"

#define FUZZ_TARGET "fuzz_host"
#include "tests/fuzz/violation.h"

static void check_response(const struct api_response *r)
{
    static const unsigned ok[] = {200, 400, 404, 405, 409, 413, 415, 500, 502, 503};
    size_t i = 0;
    while (i < sizeof ok / sizeof ok[0] && ok[i] != r->status)
        i++;
    if (i == sizeof ok / sizeof ok[0])
        violation("status %u", r->status);
    if ((r->status == 405) != (r->allow != NULL))
        violation("405 and allow disagree (%u)", r->status);
    if (!r->content_type || strncmp(r->content_type, "application/json", 16))
        return;                 /* /metrics */
    json_object *o = json_tokener_parse(r->body);
    json_object *e;
    if (!json_object_is_type(o, json_type_object))
        violation("a body that is not an object: %s", r->body);
    if (r->status >= 300 && (!json_object_object_get_ex(o, "error", &e) || !json_object_is_type(e, json_type_string) ||
                             !json_object_get_string_len(e)))
        violation("an error without a message: %s", r->body);
    json_object_put(o);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "PATCH", "PUT", "POST", "DELETE"};
    static struct inventory inv;
    static struct host_vm vms[2];
    static struct host_api h = {.inv = &inv, .interval_ms = 1000, .listen = "fuzz"};
    if (!inv.run_dir[0]) {
        inventory_init(&inv, "/nonexistent-arom-fuzz", true, 1ull << 30);
        snprintf(vms[0].e.name, sizeof vms[0].e.name, "a1");
        snprintf(vms[0].e.sock, sizeof vms[0].e.sock, "/nonexistent-arom-fuzz/vms/a1.sock");
        snprintf(vms[1].e.name, sizeof vms[1].e.name, "b.2");
        snprintf(vms[1].e.sock, sizeof vms[1].e.sock, "/nonexistent-arom-fuzz/vms/b.2.sock");
        inv.vms = vms;
        inv.n = 2;
    }
    const char *method = methods[data[0] % 5];
    const uint8_t *nl = memchr(data + 1, '\n', size - 1);
    size_t plen = nl ? (size_t)(nl - data - 1) : size - 1;
    char *path = malloc(plen + 1);
    memcpy(path, data + 1, plen);
    path[plen] = '\0';          /* MHD hands over a C string: cut at a NUL like it would */
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t blen = nl ? size - (size_t)(nl + 1 - data) : 0;
    char *copy = malloc(blen ? blen : 1);  /* exactly blen bytes, so ASan sees overreads */
    memcpy(copy, body, blen);
    struct api_response r;
    host_api_handle(&h, method, path, copy, blen, &r);
    check_response(&r);
    api_response_free(&r);
    vms[0].pinned = vms[1].pinned = false;
    if (inv.n_external > 64) {  /* keep the table small; a fresh one now and then */
        free(inv.external);
        inv.external = NULL;
        inv.n_external = 0;
    }
    free(copy);
    free(path);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1);
    memcpy(raw, data, size);
    raw[size] = '\0';
    struct http_reply r;
    if (http_parse_reply(raw, size, &r) == 0) {
        if (r.status < 100 || r.status > 599)
            violation("reply status %u", r.status);
        if (r.len > size || r.body != raw || r.body[r.len] != '\0')
            violation("reply body outside the input");
    }
    free(raw);
}

static void fuzz_config(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[512];
    memcpy(text, data, size);
    text[size] = '\0';
    struct aromd_options o;
    aromd_options_init(&o);
    if (aromd_options_json(&o, text, "fuzz", err, sizeof err) == 0) {
        struct http_endpoint ep;
        if (o.interval_ms < AROMD_INTERVAL_MIN || o.interval_ms > AROMD_INTERVAL_MAX)
            violation("interval %u", o.interval_ms);
        if (http_endpoint_parse(&ep, o.listen))
            violation("listen '%s' accepted", o.listen);
    } else if (!err[0]) {
        violation("a config refused without a message");
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet++)
        log_set_quiet(true);
    if (size < 1)
        return 0;
    if (data[0] < 160)
        fuzz_request(data, size);
    else if (data[0] < 224)
        fuzz_reply(data + 1, size - 1);
    else
        fuzz_config(data + 1, size - 1);
    return 0;
}
