/* arom run: launch arom-vmm in the background, registered under the run
 * directory (its API on RUN_DIR/vms/NAME.sock, its output in
 * RUN_DIR/logs/NAME.log), and return once the VM answers its API. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/run_dir.h"
#include "vmm/domain_xml.h"
#include "vmm/options.h"

#define START_TIMEOUT_S 30

/* The value of --opt in args (--opt V or --opt=V), or NULL. */
static const char *arg_value(int argc, char **argv, const char *opt)
{
    size_t n = strlen(opt);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], opt) && i + 1 < argc)
            return argv[i + 1];
        if (!strncmp(argv[i], opt, n) && argv[i][n] == '=')
            return argv[i] + n + 1;
    }
    return NULL;
}

/* arom-vmm: $AROM_VMM, else next to this program, else from PATH. */
static void vmm_path(char *buf, size_t len)
{
    const char *env = getenv("AROM_VMM");
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return;
    }
    if (n > 0) {
        self[n] = '\0';
        snprintf(buf, len, "%s/arom-vmm", dirname(self));
        if (access(buf, X_OK) == 0)
            return;
    }
    snprintf(buf, len, "arom-vmm");
}

/* The name a --domain-xml FILE or --domain NAME gives the VM: 1 found,
 * 0 none, CLI_USAGE (said why) when the XML cannot be read. */
static int domain_name(int argc, char **argv, char *name, size_t len)
{
    const char *dom = arg_value(argc, argv, "--domain"), *file = arg_value(argc, argv, "--domain-xml");
    if (dom) {
        snprintf(name, len, "%s", dom);
        return 1;
    }
    if (!file)
        return 0;
    FILE *f = fopen(file, "r");
    static char xml[DOMAIN_XML_MAX + 1];
    size_t n = f ? fread(xml, 1, DOMAIN_XML_MAX, f) : 0;
    if (f)
        fclose(f);
    xml[n] = '\0';
    struct domain_def d;
    char err[512];
    if (!f || domain_xml_parse(xml, n, file, &d, err, sizeof err) < 0) {
        fprintf(stderr, "arom: run: --domain-xml %s: %s\n", file, f ? err : strerror(errno));
        return -CLI_USAGE;
    }
    for (size_t i = 0; i < d.n; i++)
        if (!strcmp(d.s[i].key, "name"))
            snprintf(name, len, "%s", d.s[i].value);
    return 1;
}

static void random_name(char *name, size_t len)
{
    unsigned v = (unsigned)getpid() ^ (unsigned)clock_now_ns();
    FILE *f = fopen("/dev/urandom", "r");
    if (f) {
        if (fread(&v, sizeof v, 1, f) != 1)
            v ^= (unsigned)time(NULL);
        fclose(f);
    }
    snprintf(name, len, "vm-%06x", v & 0xffffff);
}

/* The log's last lines, to stderr: why the VMM stopped. */
static void tail(const char *path)
{
    FILE *f = fopen(path, "r");
    char lines[8][512];
    size_t k = 0;
    while (f && fgets(lines[k % 8], sizeof lines[0], f))
        k++;
    for (size_t i = k > 8 ? k - 8 : 0; i < k; i++)
        fprintf(stderr, "  %s", lines[i % 8]);
    if (f)
        fclose(f);
}

static pid_t spawn(const char *vmm, char **args, const char *log)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();                   /* the VM outlives this shell's job control */
    int null = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (null < 0 || out < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(127);
    execvp(vmm, args);
    fprintf(stderr, "arom run: %s: %s\n", vmm, strerror(errno));
    _exit(127);
}

/* The pid of the VM answering on sock, or 0 when none does. */
static pid_t serving_pid(const struct http_endpoint *ep)
{
    json_object *vm;
    char err[160];
    pid_t pid = http_json(ep, "GET", "/v1/vm", NULL, 500, &vm, err, sizeof err) == 200 ? (pid_t)cli_num(vm, "pid") : 0;
    json_object_put(vm);
    return pid;
}

/* Wait for our VMM (pid) to answer on sock, or to exit: *status -1
 * (serving), its exit status, or -2 (neither in time). */
static void await(pid_t pid, const struct http_endpoint *ep, int *status)
{
    uint64_t end = clock_now_ns() + START_TIMEOUT_S * 1000000000ull;
    *status = -2;               /* neither within the time */
    while (clock_now_ns() < end) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            return;
        }
        if (serving_pid(ep) == pid) {
            *status = -1;
            return;
        }
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
}

static int report(const struct cli *c, const char *name, pid_t pid, const char *sock, const char *log, int status)
{
    if (status == -1) {
        if (c->json) {
            json_object *o = json_object_new_object();
            json_add_str(o, "name", name);
            json_add_i64(o, "pid", pid);
            json_add_str(o, "socket", sock);
            json_add_str(o, "log", log);
            cli_print_json(o);
            json_object_put(o);
        } else {
            printf("%s: started, pid %d\n  api %s\n  log %s\n", name, (int)pid, sock, log);
        }
        return CLI_OK;
    }
    if (status == 0) {
        printf("%s: ran and exited (status 0) before it could be listed; log %s\n", name, log);
        return CLI_OK;
    }
    if (status == -2)
        fprintf(stderr, "arom: run %s: no answer on %s within %d s (pid %d runs on); log %s\n", name, sock,
                START_TIMEOUT_S, (int)pid, log);
    else
        fprintf(stderr, "arom: run %s: arom-vmm exited with status %d; the end of %s:\n", name, status, log);
    tail(log);
    return status == 2 ? CLI_USAGE : CLI_FAILED;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: arom run [--name NAME] [arom-vmm options] PAYLOAD [guest args]\n");
        return CLI_USAGE;
    }
    if (arg_value(argc, argv, "--api-sock") || arg_value(argc, argv, "--run-dir")) {
        fprintf(stderr, "arom: run: the VM registers under --run-dir %s: leave out --api-sock and --run-dir\n",
                c->run_dir);
        return CLI_USAGE;
    }
    char name[REGISTRY_NAME_MAX], sock[108], log[4200], vmm[4096], err[256], from_domain[REGISTRY_NAME_MAX];
    const char *given = arg_value(argc, argv, "--name");
    int dn = given ? 0 : domain_name(argc, argv, from_domain, sizeof from_domain);
    if (dn < 0)
        return -dn;
    if (dn > 0)
        given = from_domain;    /* the VMM takes it from the domain too */
    if (given && !options_valid_name(given)) {
        fprintf(stderr, "arom: run: --name '%s': 1..63 of letters, digits, . _ - (not starting with . or -)\n", given);
        return CLI_USAGE;
    }
    if (given)
        snprintf(name, sizeof name, "%s", given);
    else
        random_name(name, sizeof name);
    if (registry_sock(c->run_dir, name, sock, sizeof sock)) {
        fprintf(stderr, "arom: run: --run-dir %s: too long for a socket path\n", c->run_dir);
        return CLI_USAGE;
    }
    struct http_endpoint ep;
    http_endpoint_unix(&ep, sock);
    pid_t other = serving_pid(&ep);
    if (other) {
        fprintf(stderr, "arom: run: a VM named %s runs (pid %d): choose another --name\n", name, (int)other);
        return CLI_USAGE;
    }
    if (run_dir_make(c->run_dir, "logs", err, sizeof err)) {
        fprintf(stderr, "arom: run: %s\n", err);
        return CLI_FAILED;
    }
    snprintf(log, sizeof log, "%s/logs/%s.log", c->run_dir, name);
    /* arom-vmm, its identity and registration, the daemon on (so aromd can
     * steer it) unless the command line or a domain decides, then the
     * operator's args. */
    bool decide = arg_value(argc, argv, "--daemon") || arg_value(argc, argv, "--ltram") || dn > 0;
    char **args = calloc((size_t)argc + 8, sizeof *args);
    if (!args)
        return CLI_FAILED;
    vmm_path(vmm, sizeof vmm);
    int k = 0;
    args[k++] = vmm;
    args[k++] = "--run-dir";
    args[k++] = (char *)c->run_dir;
    if (!arg_value(argc, argv, "--name")) {
        args[k++] = "--name";
        args[k++] = name;
    }
    if (!decide) {
        args[k++] = "--daemon";
        args[k++] = "on";
    }
    for (int i = 1; i < argc; i++)
        args[k++] = argv[i];
    pid_t pid = spawn(vmm, args, log);
    free(args);
    if (pid < 0) {
        fprintf(stderr, "arom: run: fork: %s\n", strerror(errno));
        return CLI_FAILED;
    }
    int status;
    await(pid, &ep, &status);
    return report(c, name, pid, sock, log, status);
}
