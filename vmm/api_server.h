/* The API's transport: HTTP/1.1 on a unix socket (mode 0600, as
 * Firecracker's and Cloud Hypervisor's) or a TCP address (aromd), served
 * by libmicrohttpd on its own thread, so requests never run on a vCPU or
 * the tiering threads. What answers is a handler: the VM's routes
 * (api_handle) or aromd's (host/host_api.c). */
#ifndef AROM_VMM_API_SERVER_H
#define AROM_VMM_API_SERVER_H

#include <stddef.h>

#include "vmm/api.h"

/* Answer one request (method, path without query, body of len bytes, not
 * NUL-terminated) into r; called on the server's thread. */
typedef void api_handler(void *ctx, const char *method, const char *path, const char *body, size_t len,
                         struct api_response *r);

struct api_server {
    struct MHD_Daemon *mhd;
    int fd;
    char path[108];             /* sun_path; "" for TCP */
    api_handler *handle;
    void *ctx;
};

/* Serve a unix socket: a path that already exists is refused unless it
 * is a stale socket (nobody listens). what names the option in errors
 * ("--api-sock"). 0 or -errno, err says why (-EINVAL: the operator can
 * fix it). */
int api_server_start(struct api_server *s, const char *what, const char *path, api_handler *h, void *ctx,
                     char *err, size_t errlen);
/* Serve TCP on an IPv4 address and port ("127.0.0.1", 9470). */
int api_server_start_tcp(struct api_server *s, const char *what, const char *addr, unsigned port,
                         api_handler *h, void *ctx, char *err, size_t errlen);
/* Stop serving and remove the socket. Safe on a server never started. */
void api_server_stop(struct api_server *s);

/* Connect to the unix socket path: fd or -errno (clients: aromd, arom). */
int api_unix_connect(const char *path);

#endif
