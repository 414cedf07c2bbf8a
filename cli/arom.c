#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"
#include "host/aromd_options.h"
#include "lib/json.h"
#include "lib/parse.h"

int cli_args(struct cli *c, int argc, char **argv, const struct cli_opt *opts, char **pos, int npos_min,
             int npos_max, const char *synopsis)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const struct cli_opt *o = opts;
        while (o && o->name && strcmp(o->name, argv[i]))
            o++;
        if (!strcmp(argv[i], "--json")) {
            c->json = true;
        } else if (o && o->name) {
            double v;
            if (i + 1 == argc || parse_double(argv[i + 1], &v) || v < o->min || v > o->max) {
                fprintf(stderr, "arom: %s: needs a number of %g..%g\nusage: arom %s\n", o->name, o->min, o->max,
                        synopsis);
                return CLI_USAGE;
            }
            *o->value = v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "arom: %s: unknown option\nusage: arom %s\n", argv[i], synopsis);
            return CLI_USAGE;
        } else if (n == npos_max) {
            fprintf(stderr, "arom: unexpected argument '%s'\nusage: arom %s\n", argv[i], synopsis);
            return CLI_USAGE;
        } else {
            pos[n++] = argv[i];
        }
    }
    if (n < npos_min) {
        fprintf(stderr, "usage: arom %s\n", synopsis);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_vm_sock(struct cli *c, const char *name, char *sock, size_t len)
{
    if (registry_sock(c->run_dir, name, sock, len)) {
        fprintf(stderr, "arom: '%s' is not a VM name (letters, digits, . _ -)\n", name);
        return CLI_USAGE;
    }
    struct http_endpoint ep;
    http_endpoint_unix(&ep, sock);
    struct http_reply r;
    char err[200];
    int rc = http_request(&ep, "GET", "/v1/vm", NULL, CLI_TIMEOUT_MS, &r, err, sizeof err);
    if (rc == -ENOENT || rc == -ECONNREFUSED) {
        fprintf(stderr, "arom: no VM '%s' under %s (arom ls lists them)\n", name, c->run_dir);
        return CLI_NO_VM;
    }
    if (rc == 0)
        http_reply_free(&r);
    return CLI_OK;
}

void cli_fetch(const struct vm_entry *e, struct vm_views *v)
{
    struct http_endpoint ep;
    *v = (struct vm_views){.e = *e};
    http_endpoint_unix(&ep, e->sock);
    int rc = http_json(&ep, "GET", "/v1/vm", NULL, CLI_TIMEOUT_MS, &v->vm, v->error, sizeof v->error);
    if (rc == 200)
        rc = http_json(&ep, "GET", "/v1/tiering", NULL, CLI_TIMEOUT_MS, &v->tiering, v->error, sizeof v->error);
    if (rc > 0 && rc != 200)
        snprintf(v->error, sizeof v->error, "status %d", rc);
    v->ok = rc == 200;
    if (v->ok && !cli_num(v->tiering, "enabled")) {
        json_object_put(v->tiering);
        v->tiering = NULL;
    }
}

void cli_views_free(struct vm_views *v)
{
    json_object_put(v->vm);
    json_object_put(v->tiering);
    v->vm = v->tiering = NULL;
}

double cli_num(json_object *o, const char *path)
{
    double v = 0;
    return o && json_path_number(o, path, &v) ? v : 0;
}

void cli_size(char *buf, size_t len, double bytes)
{
    static const char units[] = "BKMGT";
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u == 0 || bytes >= 100 || bytes == (double)(uint64_t)bytes)
        snprintf(buf, len, "%.0f%c", bytes, units[u]);
    else
        snprintf(buf, len, "%.1f%c", bytes, units[u]);
}

void cli_print_json(json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int cli_api_failure(const char *what, int rc, json_object *answer, const char *err)
{
    json_object *e;
    if (rc < 0) {
        fprintf(stderr, "arom: %s: %s\n", what, err);
        return CLI_FAILED;
    }
    fprintf(stderr, "arom: %s: %s (HTTP %d)\n", what,
            answer && json_object_object_get_ex(answer, "error", &e) ? json_object_get_string(e) : "failed", rc);
    return rc == 400 ? CLI_USAGE : rc == 404 ? CLI_NO_VM : CLI_FAILED;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: arom [--run-dir DIR] [--aromd ADDR] [--json] COMMAND [ARGS]\n\n"
            "commands:\n"
            "  run [--name NAME] [arom-vmm options] PAYLOAD [guest args]\n"
            "                          launch a VM in the background, registered under the run directory\n"
            "  ls                      list the VMs: state, memory, DRAM and LtRAM, budget, slowdown\n"
            "  status NAME             one VM in detail\n"
            "  top [--interval S] [--count N]\n"
            "                          a live view of all VMs: DRAM vs LtRAM, promotions/s, budget\n"
            "  budget NAME SIZE|PCT%%|auto\n"
            "                          set the VM's DRAM budget (through aromd when it runs: pinned;\n"
            "                          'auto' hands it back to aromd's plan)\n"
            "  stop NAME [--timeout S] shut the VM down (final stats written) and wait for it to exit\n\n"
            "options:\n"
            "  --run-dir DIR   where VMs register (default $AROM_RUN_DIR or " AROMD_RUN_DIR ")\n"
            "  --aromd ADDR    aromd's endpoint, ADDR:PORT or unix:PATH (default $AROMD or " AROMD_LISTEN ")\n"
            "  --json          machine-readable output (also after the command, but for run)\n"
            "  --help, --version\n\n"
            "Exit status: 0 done; 1 the VM or aromd failed or did not answer; 2 bad usage or value;\n"
            "3 no such VM.\n");
}

static const struct command {
    const char *name;
    int (*run)(struct cli *c, int argc, char **argv);
} commands[] = {
    {"run", cmd_run}, {"ls", cmd_ls}, {"status", cmd_status}, {"top", cmd_top},
    {"budget", cmd_budget}, {"stop", cmd_stop},
};

int main(int argc, char **argv)
{
    struct cli c = {.run_dir = getenv("AROM_RUN_DIR"), .aromd = getenv("AROMD"), .self = argv[0]};
    if (!c.run_dir || !*c.run_dir)
        c.run_dir = AROMD_RUN_DIR;
    if (!c.aromd || !*c.aromd)
        c.aromd = AROMD_LISTEN;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--version")) {
            printf("arom %s\n", PACKAGE_VERSION);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            c.json = true;
        } else if ((!strcmp(a, "--run-dir") || !strcmp(a, "--aromd")) && i + 1 < argc && argv[i + 1][0]) {
            *(a[2] == 'r' ? &c.run_dir : &c.aromd) = argv[++i];
        } else {
            fprintf(stderr, "arom: %s: unknown option or missing value (see arom --help)\n", a);
            return CLI_USAGE;
        }
    }
    struct http_endpoint ep;
    if (http_endpoint_parse(&ep, c.aromd)) {
        fprintf(stderr, "arom: --aromd %s: not ADDR:PORT (IPv4) or unix:PATH\n", c.aromd);
        return CLI_USAGE;
    }
    if (i == argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(argv[i], commands[k].name))
            return commands[k].run(&c, argc - i, argv + i);
    fprintf(stderr, "arom: unknown command '%s' (see arom --help)\n", argv[i]);
    return CLI_USAGE;
}
