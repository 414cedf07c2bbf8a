/* Unix sockets for tests/integration/linux.sh: a server and a client
 * thread over a path inside the root; then a path with ".." (it must stay
 * inside the root) and the abstract namespace (refused). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *path;

static int addr(struct sockaddr_un *u, const char *p)
{
    *u = (struct sockaddr_un){.sun_family = AF_UNIX};
    snprintf(u->sun_path, sizeof u->sun_path, "%s", p);
    return socket(AF_UNIX, SOCK_STREAM, 0);
}

static void *client(void *arg)
{
    (void)arg;
    struct sockaddr_un u;
    int c = addr(&u, path);
    usleep(100000);
    if (connect(c, (struct sockaddr *)&u, sizeof u) < 0) {
        printf("connect: %s\n", strerror(errno));
        return NULL;
    }
    char b[8] = "";
    if (write(c, "ping", 4) != 4 || read(c, b, 4) != 4)
        printf("client: %s\n", strerror(errno));
    printf("client got %s\n", b);
    close(c);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_un u;
    path = argc > 1 ? argv[1] : "/s.sock";
    int s = addr(&u, path);
    if (bind(s, (struct sockaddr *)&u, sizeof u) < 0) {
        printf("bind: %s\n", strerror(errno));
        return 1;
    }
    listen(s, 1);
    pthread_t t;
    pthread_create(&t, NULL, client, NULL);
    int c = accept(s, NULL, NULL);
    char b[8] = "";
    if (read(c, b, 4) != 4 || write(c, "pong", 4) != 4)
        printf("server: %s\n", strerror(errno));
    printf("server got %s\n", b);
    pthread_join(t, NULL);
    int x = addr(&u, "/../../dotdot.sock");
    printf("bind /../../dotdot.sock: %s\n", bind(x, (struct sockaddr *)&u, sizeof u) < 0 ? strerror(errno) : "ok");
    x = addr(&u, "");
    memcpy(u.sun_path, "\0abstract", 9);
    printf("bind abstract: %s\n", bind(x, (struct sockaddr *)&u, sizeof u) < 0 ? strerror(errno) : "ok");
    return 0;
}
