/* arom budget, arom stop: changes to a running VM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lib/clock.h"
#include "lib/json.h"

/* "auto" -> null, digits -> an integer, anything else a string the VM judges. */
static json_object *budget_value(const char *arg)
{
    if (!strcmp(arg, "auto"))
        return NULL;
    if (arg[0] && strspn(arg, "0123456789") == strlen(arg) && strlen(arg) < 20)
        return json_object_new_uint64(strtoull(arg, NULL, 10));
    return json_object_new_string(arg);
}

static int print_budget(const struct cli *c, const char *name, json_object *answer, const char *via, bool pinned)
{
    double b = cli_num(answer, "dram_budget_bytes");
    if (c->json) {
        json_object *o = json_object_new_object();
        json_add_str(o, "name", name);
        json_add_str(o, "via", via);
        json_add_bool(o, "pinned", pinned);
        if (pinned || !strcmp(via, "vm"))
            json_add_u64(o, "dram_budget_bytes", (uint64_t)b);
        cli_print_json(o);
        json_object_put(o);
    } else if (!pinned && !strcmp(via, "aromd")) {
        printf("%s: DRAM budget handed back to aromd's plan\n", name);
    } else {
        char s[32];
        cli_size(s, sizeof s, b);
        printf("%s: DRAM budget %s (%s)\n", name, s,
               pinned ? "pinned by aromd: its plan leaves it there until 'auto'" : "set on the VM; aromd is not running");
    }
    return CLI_OK;
}

int cmd_budget(struct cli *c, int argc, char **argv)
{
    char *pos[2], sock[108], err[200], path[128];
    int rc = cli_args(c, argc, argv, NULL, pos, 2, 2, "budget NAME SIZE|PCT%|auto [--json]");
    if (rc || (rc = cli_vm_sock(c, pos[0], sock, sizeof sock)))
        return rc;
    json_object *body = json_object_new_object(), *answer = NULL;
    json_object_object_add(body, "dram_budget", budget_value(pos[1]));
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    struct http_endpoint ep;
    http_endpoint_parse(&ep, c->aromd);     /* checked in main */
    snprintf(path, sizeof path, "/v1/vms/%s", pos[0]);
    int st = http_json(&ep, "PATCH", path, text, CLI_TIMEOUT_MS, &answer, err, sizeof err);
    const char *via = "aromd";
    /* No aromd, or one that does not hold the VM (another run directory): the VM itself. */
    if (st == -ECONNREFUSED || st == -ENOENT || st == 404) {
        json_object_put(answer);
        answer = NULL;
        if (!strcmp(pos[1], "auto")) {
            fprintf(stderr, "arom: budget %s auto: needs aromd (at %s) to plan the budget\n", pos[0], c->aromd);
            json_object_put(body);
            return CLI_FAILED;
        }
        via = "vm";
        http_endpoint_unix(&ep, sock);
        st = http_json(&ep, "PATCH", "/v1/tiering", text, CLI_TIMEOUT_MS, &answer, err, sizeof err);
    }
    json_object_put(body);
    rc = st == 200 ? print_budget(c, pos[0], answer, via, !strcmp(via, "aromd") && strcmp(pos[1], "auto"))
                   : cli_api_failure("budget", st, answer, err);
    json_object_put(answer);
    return rc;
}

/* Wait for pid to exit: true when it did within timeout_s. */
static bool wait_exit(pid_t pid, double timeout_s)
{
    uint64_t end = clock_now_ns() + (uint64_t)(timeout_s * 1e9);
    while (kill(pid, 0) == 0 || errno != ESRCH) {
        if (clock_now_ns() > end)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    return true;
}

int cmd_stop(struct cli *c, int argc, char **argv)
{
    double timeout = 30;
    const struct cli_opt opts[] = {{"--timeout", &timeout, 0, 3600}, {0}};
    char *pos[1], sock[108], err[200];
    int rc = cli_args(c, argc, argv, opts, pos, 1, 1, "stop NAME [--timeout S] [--json]");
    if (rc || (rc = cli_vm_sock(c, pos[0], sock, sizeof sock)))
        return rc;
    struct http_endpoint ep;
    json_object *vm = NULL, *answer = NULL;
    http_endpoint_unix(&ep, sock);
    int st = http_json(&ep, "GET", "/v1/vm", NULL, CLI_TIMEOUT_MS, &vm, err, sizeof err);
    pid_t pid = (pid_t)cli_num(vm, "pid");
    json_object_put(vm);
    if (st == 200)
        st = http_json(&ep, "PUT", "/v1/actions", "{\"action\": \"shutdown\"}", CLI_TIMEOUT_MS, &answer, err,
                       sizeof err);
    if (st != 202) {
        rc = cli_api_failure("stop", st, answer, err);
        json_object_put(answer);
        return rc;
    }
    json_object_put(answer);
    uint64_t t0 = clock_now_ns();
    bool gone = pid > 0 && wait_exit(pid, timeout);
    double s = (double)(clock_now_ns() - t0) / 1e9;
    if (c->json) {
        json_object *o = json_object_new_object();
        json_add_str(o, "name", pos[0]);
        json_add_i64(o, "pid", pid);
        json_add_bool(o, "stopped", gone);
        json_add_double(o, "seconds", s);
        cli_print_json(o);
        json_object_put(o);
    } else if (gone) {
        printf("%s: stopped (pid %d, %.1f s)\n", pos[0], (int)pid, s);
    }
    if (!gone)
        fprintf(stderr, "arom: stop %s: pid %d still runs after %.0f s\n", pos[0], (int)pid, timeout);
    return gone ? CLI_OK : CLI_FAILED;
}
