/* mcload: a memcached text-protocol load generator for bench/linux-memcached.sh
 * (Debian packages none): fill KEYS keys of SIZE bytes, then GETS gets of
 * random keys, PIPE requests in flight on one connection. Prints
 * "fill N/s" and "get N/s" (requests per second).
 *   mcload PORT KEYS SIZE GETS PIPE */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Read until `count` occurrences of `end` have arrived. */
static void await(int fd, const char *end, long count)
{
    static char buf[1 << 16];
    size_t elen = strlen(end), keep = 0;
    while (count > 0) {
        ssize_t n = read(fd, buf + keep, sizeof buf - keep - 1);
        if (n <= 0) {
            perror("mcload: read");
            exit(1);
        }
        size_t len = keep + (size_t)n;
        buf[len] = '\0';
        char *p = buf;
        for (char *q; count > 0 && (q = strstr(p, end)); p = q + elen)
            count--;
        keep = len - (size_t)(p - buf) < elen ? len - (size_t)(p - buf) : elen - 1;
        memmove(buf, buf + len - keep, keep);
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mcload PORT KEYS SIZE GETS PIPE\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long keys = atol(argv[2]), size = atol(argv[3]), gets = atol(argv[4]), pipe = atol(argv[5]);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("mcload: connect");
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *value = malloc((size_t)size + 1), *req = malloc((size_t)(pipe * (size + 64)));
    memset(value, 'v', (size_t)size);
    double t0 = now();
    for (long k = 0; k < keys;) {
        size_t len = 0;
        long batch = 0;
        for (; batch < pipe && k < keys; batch++, k++) {
            len += (size_t)sprintf(req + len, "set key:%ld 0 0 %ld\r\n", k, size);
            memcpy(req + len, value, (size_t)size);
            len += (size_t)size;
            memcpy(req + len, "\r\n", 2);
            len += 2;
        }
        if (write(fd, req, len) != (ssize_t)len)
            return 1;
        await(fd, "STORED\r\n", batch);
    }
    double t1 = now();
    unsigned long long x = 88172645463325252ull;
    for (long g = 0; g < gets;) {
        size_t len = 0;
        long batch = 0;
        for (; batch < pipe && g < gets; batch++, g++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            len += (size_t)sprintf(req + len, "get key:%llu\r\n", x % (unsigned long long)keys);
        }
        if (write(fd, req, len) != (ssize_t)len)
            return 1;
        await(fd, "END\r\n", batch);
    }
    double t2 = now();
    printf("fill %.0f/s\nget %.0f/s\n", (double)keys / (t1 - t0), (double)gets / (t2 - t1));
    return 0;
}
