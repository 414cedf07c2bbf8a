#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/http_client.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/parse.h"

void http_endpoint_unix(struct http_endpoint *ep, const char *path)
{
    *ep = (struct http_endpoint){0};
    snprintf(ep->path, sizeof ep->path, "%s", path);
}

int http_endpoint_parse(struct http_endpoint *ep, const char *spec)
{
    *ep = (struct http_endpoint){0};
    if (!strncmp(spec, "unix:", 5) || spec[0] == '/') {
        const char *p = spec[0] == '/' ? spec : spec + 5;
        if (!*p || strlen(p) >= sizeof ep->path)
            return -EINVAL;
        memcpy(ep->path, p, strlen(p) + 1);
        return 0;
    }
    const char *colon = strrchr(spec, ':');
    uint64_t port;
    struct in_addr a;
    if (!colon || (size_t)(colon - spec) >= sizeof ep->addr || parse_u64(colon + 1, &port) || !port || port > 65535)
        return -EINVAL;
    memcpy(ep->addr, spec, (size_t)(colon - spec));
    ep->addr[colon - spec] = '\0';
    if (inet_pton(AF_INET, ep->addr, &a) != 1)
        return -EINVAL;
    ep->port = (unsigned)port;
    return 0;
}

static int remaining_ms(uint64_t deadline)
{
    uint64_t now = clock_now_ns();
    return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/* Wait for events on fd until the deadline: 0 or -ETIMEDOUT/-errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, remaining_ms(deadline));
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static int connect_ep(const struct http_endpoint *ep, uint64_t deadline)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (ep->path[0]) {
        struct sockaddr_un *u = (struct sockaddr_un *)&ss;
        u->sun_family = AF_UNIX;
        memcpy(u->sun_path, ep->path, sizeof ep->path);
        sl = sizeof *u;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)ep->port);
        if (inet_pton(AF_INET, ep->addr, &in->sin_addr) != 1)
            return -EINVAL;
        sl = sizeof *in;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno, soerr = 0;
        socklen_t len = sizeof soerr;
        if (e == EINPROGRESS || e == EAGAIN) {
            e = -wait_fd(fd, POLLOUT, deadline);
            if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0)
                e = soerr;
        }
        if (e) {
            close(fd);
            return -e;
        }
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc)
                return rc;
            continue;
        }
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read to EOF (the server closes: Connection: close), at most cap bytes. */
static int recv_all(int fd, char **out, size_t *outlen, size_t cap, uint64_t deadline)
{
    size_t len = 0, size = 16384;
    char *buf = malloc(size + 1);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == size) {
            if (size >= cap) {
                free(buf);
                return -EFBIG;
            }
            size = size * 2 < cap ? size * 2 : cap;
            char *b = realloc(buf, size + 1);
            if (!b) {
                free(buf);
                return -ENOMEM;
            }
            buf = b;
        }
        ssize_t n = recv(fd, buf + len, size - len, 0);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0)
            break;
        int rc = errno == EAGAIN || errno == EINTR ? wait_fd(fd, POLLIN, deadline) : -errno;
        if (rc) {
            free(buf);
            return rc;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* The value of header name in the header block h (NUL-terminated), or NULL. */
static const char *header(const char *h, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = strstr(h, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':')
            return l + 3 + n + strspn(l + 3 + n, " \t");
    }
    return NULL;
}

int http_parse_reply(char *raw, size_t len, struct http_reply *r)
{
    unsigned status;
    char *end = strstr(raw, "\r\n\r\n");
    if (!end || strncmp(raw, "HTTP/1.", 7) || sscanf(raw + 7, "%*1[01] %3u", &status) != 1 || status < 100 ||
        status > 599)
        return -EPROTO;
    *end = '\0';
    const char *te = header(raw, "Transfer-Encoding"), *cl = header(raw, "Content-Length");
    size_t body = (size_t)(end + 4 - raw), blen = len - body;
    if (te && strncasecmp(te, "identity", 8))
        return -EPROTO;         /* our servers answer with a length */
    if (cl) {
        uint64_t want;
        char num[24];
        snprintf(num, sizeof num, "%.*s", (int)strcspn(cl, "\r\n \t"), cl);
        if (parse_u64(num, &want) || want > blen)
            return -EPROTO;
        blen = want;
    }
    memmove(raw, raw + body, blen);
    raw[blen] = '\0';
    *r = (struct http_reply){.status = status, .body = raw, .len = blen};
    return 0;
}

static const char *describe(int rc)
{
    switch (rc) {
    case -EPROTO: return "a malformed HTTP answer";
    case -EFBIG: return "an answer over the size limit";
    case -ETIMEDOUT: return "no answer in time";
    default: return strerror(-rc);
    }
}

int http_request(const struct http_endpoint *ep, const char *method, const char *path, const char *body,
                 int timeout_ms, struct http_reply *r, char *err, size_t errlen)
{
    *r = (struct http_reply){0};
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000;
    char head[512], content[80] = "";
    size_t blen = body ? strlen(body) : 0;
    if (body)
        snprintf(content, sizeof content, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAccept: application/json\r\n%s\r\n",
                      method, path, content);
    if (hn < 0 || (size_t)hn >= sizeof head)
        return errf(err, errlen, -EINVAL, "request line too long");
    int fd = connect_ep(ep, deadline);
    if (fd < 0)
        return errf(err, errlen, fd, "%s: %s", ep->path[0] ? ep->path : ep->addr, describe(fd));
    char *raw = NULL;
    size_t len = 0;
    int rc = send_all(fd, head, (size_t)hn, deadline);
    if (!rc && blen)
        rc = send_all(fd, body, blen, deadline);
    if (!rc)
        rc = recv_all(fd, &raw, &len, HTTP_MAX_REPLY, deadline);
    close(fd);
    if (!rc && (rc = http_parse_reply(raw, len, r)) < 0)
        free(raw);
    if (rc < 0)
        return errf(err, errlen, rc, "%s %s: %s", method, path, describe(rc));
    return 0;
}

void http_reply_free(struct http_reply *r)
{
    free(r->body);
    r->body = NULL;
}

int http_json(const struct http_endpoint *ep, const char *method, const char *path, const char *body,
              int timeout_ms, json_object **out, char *err, size_t errlen)
{
    struct http_reply r;
    *out = NULL;
    int rc = http_request(ep, method, path, body, timeout_ms, &r, err, errlen);
    if (rc < 0)
        return rc;
    *out = json_tokener_parse(r.body);
    http_reply_free(&r);
    if (!*out)
        return errf(err, errlen, -EPROTO, "%s %s: the answer is not JSON (status %u)", method, path, r.status);
    return (int)r.status;
}
