/* The API's transport: HTTP/1.1 on a unix socket (mode 0600, as
 * Firecracker's and Cloud Hypervisor's), served by libmicrohttpd on its
 * own thread, so requests never run on a vCPU or the tiering threads. */
#ifndef AROM_VMM_API_SERVER_H
#define AROM_VMM_API_SERVER_H

#include <stddef.h>

#include "vmm/api.h"

struct api_server {
    struct MHD_Daemon *mhd;
    int fd;
    char path[108];             /* sun_path */
    const struct api_backend *backend;
};

/* A socket path that already exists is refused unless it is a stale
 * socket (nobody listens). 0 or -errno, err says why (-EINVAL: the
 * operator can fix it). */
int api_server_start(struct api_server *s, const char *path, const struct api_backend *b, char *err,
                     size_t errlen);
/* Stop serving and remove the socket. Safe on a server never started. */
void api_server_stop(struct api_server *s);

/* Connect to the unix socket path: fd or -errno (clients: aromd, arom). */
int api_unix_connect(const char *path);

#endif
