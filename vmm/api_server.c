#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "vmm/api_server.h"

#define LISTEN_BACKLOG 16
#define MAX_CONNECTIONS 32
#define IDLE_TIMEOUT_S 10

/* One request's body as it arrives. */
struct request {
    char *body;
    size_t len;
    bool too_big;
};

int api_unix_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return -ENAMETOOLONG;
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct api_response *r)
{
    struct MHD_Response *resp = r->body
        ? MHD_create_response_from_buffer(strlen(r->body), r->body, MHD_RESPMEM_MUST_FREE)
        : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        api_response_free(r);
        return MHD_NO;
    }
    r->body = NULL;             /* MHD frees it */
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct api_response r;
    api_error(&r, status, msg);
    return send_response(c, &r);
}

static enum MHD_Result send_too_large(struct MHD_Connection *c)
{
    char msg[64];
    snprintf(msg, sizeof msg, "the body is over %u bytes", API_MAX_BODY);
    return send_error(c, 413, msg);
}

/* Refuse before reading a body that cannot be served. */
static bool refuse_early(struct MHD_Connection *c, enum MHD_Result *ret)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
        *ret = send_too_large(c);
        return true;
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct && strncasecmp(ct, "application/json", 16)) {
        *ret = send_error(c, 415, "bodies are application/json");
        return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx)
{
    struct api_server *s = cls;
    struct request *rq = *ctx;
    if (!rq) {                  /* headers only so far */
        enum MHD_Result ret;
        if (refuse_early(c, &ret))
            return ret;
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        *ctx = rq;
        return MHD_YES;
    }
    if (*upload_size) {         /* a piece of the body */
        if (!rq->too_big && rq->len + *upload_size <= API_MAX_BODY) {
            char *b = realloc(rq->body, rq->len + *upload_size);
            if (!b)
                return MHD_NO;
            memcpy(b + rq->len, upload, *upload_size);
            rq->body = b;
            rq->len += *upload_size;
        } else {
            rq->too_big = true;     /* chunked, or longer than it said: read on, answer 413 */
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rq->too_big)
        return send_too_large(c);
    struct api_response r;
    s->handle(s->ctx, method, url, rq->body ? rq->body : "", rq->len, &r);
    return send_response(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode why)
{
    struct request *rq = *ctx;
    if (rq)
        free(rq->body);
    free(rq);
    *ctx = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("api: %s", msg);
}

/* Bind path, refusing a live socket or a file that is not a socket. The
 * mode is set before listen(): until then a connect() is refused, so no
 * client ever reaches the socket with looser rights. */
static int bind_unix(struct api_server *s, const char *what, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (!*path || strlen(path) >= sizeof a.sun_path)
        return errf(err, errlen, -EINVAL, "%s: the path must be 1..%zu bytes", what, sizeof a.sun_path - 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return errf(err, errlen, -EINVAL, "%s %s: exists and is not a socket", what, path);
        int fd = api_unix_connect(path);
        if (fd >= 0) {
            close(fd);
            return errf(err, errlen, -EINVAL, "%s %s: another process serves it", what, path);
        }
        unlink(path);           /* stale: left by a process that was killed */
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0)
        return errf(err, errlen, -errno, "%s: socket: %s", what, strerror(errno));
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        return errf(err, errlen, e == EACCES || e == ENOENT || e == ENOTDIR ? -EINVAL : -e,
                    "%s %s: %s", what, path, strerror(e));
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    if (chmod(path, 0600) < 0 || listen(s->fd, LISTEN_BACKLOG) < 0)
        return errf(err, errlen, -errno, "%s %s: %s", what, path, strerror(errno));
    return 0;
}

static int bind_tcp(struct api_server *s, const char *what, const char *addr, unsigned port, char *err,
                    size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port == 0 || port > 65535 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
        return errf(err, errlen, -EINVAL, "%s %s:%u: not an IPv4 address and port", what, addr, port);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0)
        return errf(err, errlen, -errno, "%s: socket: %s", what, strerror(errno));
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->fd, LISTEN_BACKLOG) < 0) {
        int e = errno;
        return errf(err, errlen, e == EADDRINUSE || e == EADDRNOTAVAIL || e == EACCES ? -EINVAL : -e,
                    "%s %s:%u: %s", what, addr, port, strerror(e));
    }
    return 0;
}

/* Serve the bound socket s->fd. */
static int serve(struct api_server *s, const char *what, char *err, size_t errlen)
{
    s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                              on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                              MHD_OPTION_LISTEN_SOCKET, s->fd,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (!s->mhd) {
        api_server_stop(s);
        return errf(err, errlen, -EIO, "%s: libmicrohttpd did not start", what);
    }
    s->fd = -1;                 /* MHD owns the listening socket now */
    return 0;
}

int api_server_start(struct api_server *s, const char *what, const char *path, api_handler *h, void *ctx,
                     char *err, size_t errlen)
{
    *s = (struct api_server){.fd = -1, .handle = h, .ctx = ctx};
    int rc = bind_unix(s, what, path, err, errlen);
    if (rc < 0) {
        api_server_stop(s);
        return rc;
    }
    return serve(s, what, err, errlen);
}

int api_server_start_tcp(struct api_server *s, const char *what, const char *addr, unsigned port,
                         api_handler *h, void *ctx, char *err, size_t errlen)
{
    *s = (struct api_server){.fd = -1, .handle = h, .ctx = ctx};
    int rc = bind_tcp(s, what, addr, port, err, errlen);
    if (rc < 0) {
        api_server_stop(s);
        return rc;
    }
    return serve(s, what, err, errlen);
}

void api_server_stop(struct api_server *s)
{
    if (s->mhd)
        MHD_stop_daemon(s->mhd);    /* joins its thread; in-flight requests finish */
    s->mhd = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->path[0])
        unlink(s->path);
    s->path[0] = '\0';
}
