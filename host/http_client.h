/* A small HTTP/1.1 client for the operator surface: aromd polling VMs'
 * APIs, the arom CLI talking to VMs and to aromd. One request per
 * connection (Connection: close), a deadline on the whole exchange, and
 * a cap on the answer, so a stuck or hostile peer cannot hang or bloat
 * its caller. */
#ifndef AROM_HOST_HTTP_CLIENT_H
#define AROM_HOST_HTTP_CLIENT_H

#include <json-c/json.h>
#include <stddef.h>

#define HTTP_MAX_REPLY (8u << 20)   /* bytes; a VM's /metrics is ~10 KiB */

/* Where a server listens: a unix socket path, or an IPv4 address and port. */
struct http_endpoint {
    char path[108];             /* unix socket; "" for TCP */
    char addr[16];
    unsigned port;
};

/* "unix:PATH", "/abs/path" or "ADDR:PORT" (IPv4). 0 or -EINVAL. */
int http_endpoint_parse(struct http_endpoint *ep, const char *spec);
void http_endpoint_unix(struct http_endpoint *ep, const char *path);

struct http_reply {
    unsigned status;
    char *body;                 /* malloc'd, NUL-terminated */
    size_t len;
};

/* Send method path with body (JSON, may be NULL) and read the answer
 * within timeout_ms. 0, or -errno with err: -ECONNREFUSED/-ENOENT nobody
 * listens, -ETIMEDOUT, -EPROTO a malformed answer. r->body must be freed. */
int http_request(const struct http_endpoint *ep, const char *method, const char *path, const char *body,
                 int timeout_ms, struct http_reply *r, char *err, size_t errlen);
void http_reply_free(struct http_reply *r);
/* Split raw, len bytes NUL-terminated (as read: status line, headers,
 * body), into r in place: r->body is raw. 0 or -EPROTO (not HTTP/1.x, a
 * chunked or short body). */
int http_parse_reply(char *raw, size_t len, struct http_reply *r);

/* http_request for a JSON API: *out the parsed body (any status; NULL if
 * it is not JSON), the status returned (>= 100) or -errno. */
int http_json(const struct http_endpoint *ep, const char *method, const char *path, const char *body,
              int timeout_ms, json_object **out, char *err, size_t errlen);

#endif
