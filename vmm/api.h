/* The per-VM operator API (docs/API.md, docs/openapi.yaml): HTTP/1.1 and
 * JSON. This part is routing and validation only, a request in and a
 * response out, over struct api_backend: the VMM plugs its VM in
 * (vmm/api_vm.c), unit tests and the fuzzer a fake. The transport, a unix
 * socket served by libmicrohttpd, is vmm/api_server.c. */
#ifndef AROM_VMM_API_H
#define AROM_VMM_API_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "tiering/tiering.h"

#define API_MAX_BODY 16384      /* bytes; larger bodies get 413 */

enum api_action_kind { API_PAUSE, API_RESUME, API_SHUTDOWN, API_DEMOTE, API_AUDIT };

struct api_action {
    enum api_action_kind kind;
    uint64_t gpa, len;          /* demote: page-aligned, inside guest RAM */
};

/* What the routes need of a VM. Every call is made on the API's thread;
 * json results belong to the caller. Errors are -errno with a message:
 * -EINVAL 400, -ENOTSUP/-EALREADY/-ESHUTDOWN 409, -ENOSPC 507, -EAGAIN 503,
 * -ETIMEDOUT 504, anything else 500. */
struct api_backend {
    void *ctx;
    uint64_t mem_bytes;                             /* guest RAM: bounds and "25%" budgets */
    json_object *(*vm)(void *ctx);                  /* GET /v1/vm */
    json_object *(*tiering)(void *ctx);             /* GET /v1/tiering; NULL: tiering is off */
    /* PATCH /v1/tiering; -ENOTSUP when tiering or its daemon is off */
    int (*update)(void *ctx, const struct tiering_settings *s, char *err, size_t errlen);
    /* *result: the response body (an object), may stay NULL */
    int (*action)(void *ctx, const struct api_action *a, json_object **result, char *err, size_t errlen);
};

struct api_response {
    unsigned status;
    char *body;                 /* malloc'd, NUL-terminated */
    const char *content_type;
    const char *allow;          /* with 405: the methods the path takes */
};

/* Serve one request: method, path (no query string), body of len bytes
 * (not NUL-terminated; may hold anything). r must be freed. */
void api_handle(const struct api_backend *b, const char *method, const char *path, const char *body,
                size_t len, struct api_response *r);
void api_response_free(struct api_response *r);
/* The response for errno rc with message msg (for the transport too). */
void api_error(struct api_response *r, unsigned status, const char *msg);
unsigned api_status_of(int rc);

/* Helpers for routes (aromd's too). */
/* r: status and o as the JSON body (o is consumed). */
void api_respond_json(struct api_response *r, unsigned status, json_object *o);
/* A request body: one JSON object (no NUL byte, nothing after it,
 * nesting <= 7), or NULL with err. */
json_object *api_parse_body(const char *body, size_t len, char *err, size_t errlen);
/* The bytes of s that "%.*s" may print for at most max without cutting a
 * UTF-8 character (messages quote requests and must stay UTF-8). */
int api_utf8_prefix(const char *s, int max);

#endif
