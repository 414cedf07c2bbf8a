/* kvload: a GET/SET load generator for bench/linux-memcached.sh and
 * bench/linux-redis.sh, speaking memcached's text protocol or Redis' RESP
 * (Debian packages no memcached client, and redis-benchmark cannot mix GETs
 * and SETs in one run). Fills KEYS keys ("key:%012d", the names
 * redis-benchmark -r draws) of SIZE bytes, then sends OPS requests over
 * random keys, SETPCT percent of them sets (the rest gets), PIPE requests in
 * flight on one connection. Every reply is parsed, so hits are counted, not
 * assumed. Prints
 *   fill N/s            sets per second while filling
 *   ops N/s             requests per second in the mixed phase
 *   gets G sets S hits H
 *   kvload memcached|redis [--no-fill] PORT KEYS SIZE OPS PIPE [SETPCT]   (SETPCT defaults to 0)
 * --no-fill skips the fill (the keys are there from an earlier run), so a
 * caller can pause between the two phases. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum proto { MEMCACHED, REDIS };

struct replies {
    enum proto proto;
    char buf[1 << 16];
    size_t len;        /* bytes in buf */
    size_t skip;       /* value bytes (and their CRLF) still to pass over */
    long gets, sets, hits;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One complete reply line. memcached: END closes a get, STORED a set, VALUE
 * opens a hit. Redis: a bulk string answers a get ($-1: a miss), +OK a set. */
static int reply_line(struct replies *r, const char *line)
{
    long bytes;
    if (r->proto == MEMCACHED && strcmp(line, "END") == 0)
        r->gets++;
    else if (r->proto == MEMCACHED && strcmp(line, "STORED") == 0)
        r->sets++;
    else if (r->proto == MEMCACHED && sscanf(line, "VALUE %*s %*u %ld", &bytes) == 1 && bytes >= 0) {
        r->hits++;
        r->skip = (size_t)bytes + 2;
    } else if (r->proto == REDIS && strcmp(line, "+OK") == 0)
        r->sets++;
    else if (r->proto == REDIS && strcmp(line, "$-1") == 0)
        r->gets++;
    else if (r->proto == REDIS && sscanf(line, "$%ld", &bytes) == 1 && bytes >= 0) {
        r->gets++, r->hits++;
        r->skip = (size_t)bytes + 2;
    } else {
        fprintf(stderr, "kvload: unexpected reply \"%s\"\n", line);
        return -1;
    }
    return 0;
}

/* Read and parse replies until `want` requests have been answered. */
static int await_replies(int fd, struct replies *r, long want)
{
    while (r->gets + r->sets < want) {
        ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - r->len - 1);
        if (n <= 0) {
            perror("kvload: read");
            return -1;
        }
        r->len += (size_t)n;
        size_t at = 0;
        for (;;) {
            if (r->skip) {
                size_t s = r->skip < r->len - at ? r->skip : r->len - at;
                at += s, r->skip -= s;
                if (r->skip)
                    break;
            }
            char *eol = memchr(r->buf + at, '\n', r->len - at);
            if (!eol)
                break;
            *eol = '\0';
            if (eol > r->buf + at && eol[-1] == '\r')
                eol[-1] = '\0';
            if (reply_line(r, r->buf + at) < 0)
                return -1;
            at = (size_t)(eol - r->buf) + 1;
        }
        memmove(r->buf, r->buf + at, r->len - at);
        r->len -= at;
        if (r->len == sizeof r->buf - 1) {
            fprintf(stderr, "kvload: reply line too long\n");
            return -1;
        }
    }
    return 0;
}

static unsigned long long next_random(unsigned long long *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

#define KEY_LEN 16   /* "key:" and 12 digits */

static size_t put_set(enum proto p, char *req, long key, const char *value, long size)
{
    size_t len = p == MEMCACHED ? (size_t)sprintf(req, "set key:%012ld 0 0 %ld\r\n", key, size)
                                : (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%012ld\r\n$%ld\r\n",
                                                  KEY_LEN, key, size);
    memcpy(req + len, value, (size_t)size);
    memcpy(req + len + (size_t)size, "\r\n", 2);
    return len + (size_t)size + 2;
}

static size_t put_get(enum proto p, char *req, long key)
{
    return p == MEMCACHED ? (size_t)sprintf(req, "get key:%012ld\r\n", key)
                          : (size_t)sprintf(req, "*2\r\n$3\r\nGET\r\n$%d\r\nkey:%012ld\r\n", KEY_LEN, key);
}

static int send_all(int fd, const char *req, size_t len)
{
    if (write(fd, req, len) == (ssize_t)len)
        return 0;
    perror("kvload: write");
    return -1;
}

int main(int argc, char **argv)
{
    const char *usage = "usage: kvload memcached|redis [--no-fill] PORT KEYS SIZE OPS PIPE [SETPCT]\n";
    if (argc < 2 || (strcmp(argv[1], "memcached") && strcmp(argv[1], "redis"))) {
        fputs(usage, stderr);
        return 2;
    }
    enum proto proto = strcmp(argv[1], "redis") == 0 ? REDIS : MEMCACHED;
    argc--, argv++;
    int fill = !(argc > 1 && strcmp(argv[1], "--no-fill") == 0);
    if (!fill)
        argc--, argv++;
    if (argc != 6 && argc != 7) {
        fputs(usage, stderr);
        return 2;
    }
    int port = atoi(argv[1]);
    long keys = atol(argv[2]), size = atol(argv[3]), ops = atol(argv[4]), pipe = atol(argv[5]);
    long setpct = argc == 7 ? atol(argv[6]) : 0;
    if (port <= 0 || keys <= 0 || keys > 999999999999L || size <= 0 || size > (1 << 20) || ops < 0 ||
        pipe <= 0 || pipe > 1024 || setpct < 0 || setpct > 100) {
        fprintf(stderr, "kvload: PORT, KEYS (12 digits), PIPE (<= 1024) positive, SIZE 1..1 MiB, SETPCT 0..100\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("kvload: connect");
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *value = malloc((size_t)size), *req = malloc((size_t)(pipe * (size + 64)));
    struct replies *r = calloc(1, sizeof *r);
    if (!value || !req || !r)
        return 1;
    memset(value, 'v', (size_t)size);
    r->proto = proto;

    double t0 = now();
    for (long k = 0; fill && k < keys;) {
        size_t len = 0;
        for (long b = 0; b < pipe && k < keys; b++, k++)
            len += put_set(proto, req + len, k, value, size);
        if (send_all(fd, req, len) < 0 || await_replies(fd, r, k) < 0)
            return 1;
    }
    double t1 = now();
    *r = (struct replies){.proto = proto};
    unsigned long long x = 88172645463325252ull;
    for (long o = 0; o < ops;) {
        size_t len = 0;
        for (long b = 0; b < pipe && o < ops; b++, o++) {
            long key = (long)(next_random(&x) % (unsigned long long)keys);
            if ((long)(next_random(&x) % 100) < setpct)
                len += put_set(proto, req + len, key, value, size);
            else
                len += put_get(proto, req + len, key);
        }
        if (send_all(fd, req, len) < 0 || await_replies(fd, r, o) < 0)
            return 1;
    }
    double t2 = now();
    if (fill)
        printf("fill %.0f/s\n", (double)keys / (t1 - t0));
    printf("ops %.0f/s\ngets %ld sets %ld hits %ld\n",
           ops ? (double)ops / (t2 - t1) : 0.0, r->gets, r->sets, r->hits);
    free(value), free(req), free(r);
    close(fd);
    return 0;
}
