/* The arom CLI (man/arom.1): one command per file group.
 *   arom.c     dispatch, common options, talking to a VM
 *   launch.c   arom run
 *   show.c     arom ls, status, top
 *   control.c  arom budget, stop */
#ifndef AROM_CLI_CLI_H
#define AROM_CLI_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/http_client.h"
#include "host/registry.h"

/* Exit statuses (documented in arom --help and man/arom.1). */
enum {
    CLI_OK = 0,
    CLI_FAILED = 1,         /* the VM or aromd failed or did not answer */
    CLI_USAGE = 2,          /* bad command line or value */
    CLI_NO_VM = 3,          /* no VM of that name */
};

#define CLI_TIMEOUT_MS 3000

struct cli {
    const char *run_dir;    /* --run-dir, $AROM_RUN_DIR, or /run/arom */
    const char *aromd;      /* --aromd, $AROMD, or 127.0.0.1:9470 */
    bool json;
    const char *self;       /* argv[0], to find arom-vmm next to it */
};

/* One VM's views, fetched from its socket. */
struct vm_views {
    struct vm_entry e;
    json_object *vm, *tiering;
    bool ok;
    char error[200];
};

/* A command's numeric option: --name VALUE, within [min, max]. */
struct cli_opt {
    const char *name;
    double *value;
    double min, max;
};
/* Parse a command's arguments (argv[0] the command): --json, opts, and
 * between npos_min and npos_max positionals into pos. CLI_OK or CLI_USAGE
 * (said why, with synopsis). */
int cli_args(struct cli *c, int argc, char **argv, const struct cli_opt *opts, char **pos, int npos_min,
             int npos_max, const char *synopsis);

/* The socket of VM name, or CLI_NO_VM/CLI_USAGE with a message. */
int cli_vm_sock(struct cli *c, const char *name, char *sock, size_t len);
/* Fetch e's views into v (v->ok or v->error). */
void cli_fetch(const struct vm_entry *e, struct vm_views *v);
void cli_views_free(struct vm_views *v);
/* The number at path of o, 0 when absent. */
double cli_num(json_object *o, const char *path);
/* "512M", "1.5G": bytes for humans. */
void cli_size(char *buf, size_t len, double bytes);
void cli_print_json(json_object *o);
/* Print the error of an API answer (or err) and return the exit status it maps to. */
int cli_api_failure(const char *what, int rc, json_object *answer, const char *err);

int cmd_run(struct cli *c, int argc, char **argv);
int cmd_ls(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_top(struct cli *c, int argc, char **argv);
int cmd_budget(struct cli *c, int argc, char **argv);
int cmd_stop(struct cli *c, int argc, char **argv);

#endif
