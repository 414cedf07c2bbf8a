/* Files for tests/integration/linux.sh: reads ROOT/data.txt, lists the
 * root, and tries to leave it ("..", a symlink pointing out) and to write. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *path, int flags)
{
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        printf("open %s: %s\n", path, strerror(errno));
        return;
    }
    char buf[64] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    printf("open %s: ok \"%s\"\n", path, buf);
    close(fd);
}

int main(void)
{
    try_open("/data.txt", O_RDONLY);
    try_open("data.txt", O_RDONLY);
    try_open("/../../../../etc/passwd", O_RDONLY);
    try_open("/escape", O_RDONLY);                  /* a symlink to /etc/passwd: resolved inside */
    try_open("/new.txt", O_WRONLY | O_CREAT);
    struct stat st = {0};
    int rc = stat("/data.txt", &st);
    printf("stat /data.txt: %s size %lld\n", rc == 0 ? "ok" : strerror(errno), (long long)st.st_size);
    DIR *d = opendir("/");
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        entries += e->d_name[0] != '.';
    printf("entries in /: %d\n", entries);
    return 0;
}
