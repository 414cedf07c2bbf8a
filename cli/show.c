/* arom ls, status, top: views of running VMs, fetched from their own
 * sockets (so they work without aromd). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/clock.h"
#include "lib/json.h"

#define BAR 24

static const char *str(json_object *o, const char *key, const char *dflt)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : dflt;
}

/* All VMs under the run directory, fetched: *out malloc'd. CLI_OK or CLI_FAILED. */
static int fetch_all(const struct cli *c, struct vm_views **out, size_t *n)
{
    struct vm_entry *e;
    char err[256];
    *out = NULL;
    if (registry_scan(c->run_dir, &e, n, err, sizeof err) < 0) {
        fprintf(stderr, "arom: %s\n", err);
        return CLI_FAILED;
    }
    *out = calloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; *out && i < *n; i++)
        cli_fetch(&e[i], &(*out)[i]);
    free(e);
    return *out ? CLI_OK : CLI_FAILED;
}

static void free_all(struct vm_views *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cli_views_free(&v[i]);
    free(v);
}

static json_object *views_json(struct vm_views *v)
{
    json_object *o = json_object_new_object();
    json_add_str(o, "name", v->e.name);
    json_add_str(o, "socket", v->e.sock);
    json_add_bool(o, "reachable", v->ok);
    if (!v->ok)
        json_add_str(o, "error", v->error);
    json_object_object_add(o, "vm", json_object_get(v->vm));
    json_object_object_add(o, "tiering", json_object_get(v->tiering));
    return o;
}

static void sizes(struct vm_views *v, char mem[16], char dram[16], char lt[16], char budget[16])
{
    json_object *t = v->tiering;
    cli_size(mem, 16, cli_num(v->vm, "mem_bytes"));
    cli_size(dram, 16, t ? cli_num(t, "dram_resident_bytes") : cli_num(v->vm, "mem_bytes"));
    cli_size(lt, 16, cli_num(t, "pages.ltram") * 4096);
    if (t)
        cli_size(budget, 16, cli_num(t, "dram_budget_bytes"));
    else
        strcpy(budget, "-");
}

int cmd_ls(struct cli *c, int argc, char **argv)
{
    struct vm_views *v;
    size_t n;
    int rc = cli_args(c, argc, argv, NULL, NULL, 0, 0, "ls [--json]");
    if (rc || (rc = fetch_all(c, &v, &n)))
        return rc;
    if (c->json) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(a, views_json(&v[i]));
        json_object_object_add(o, "vms", a);
        cli_print_json(o);
        json_object_put(o);
    } else {
        printf("%-20s %-11s %8s %5s %7s %7s %7s %7s %8s %8s\n", "NAME", "STATE", "PID", "VCPUS", "MEM", "DRAM",
               "LTRAM", "BUDGET", "SLOWDOWN", "UPTIME");
        for (size_t i = 0; i < n; i++) {
            if (!v[i].ok) {
                printf("%-20s %-11s %s\n", v[i].e.name, "unreachable", v[i].error);
                continue;
            }
            char mem[16], dram[16], lt[16], budget[16], slow[16] = "-";
            sizes(&v[i], mem, dram, lt, budget);
            if (v[i].tiering)
                snprintf(slow, sizeof slow, "%.2f%%", cli_num(v[i].tiering, "daemon.slowdown_pct"));
            printf("%-20s %-11s %8.0f %5.0f %7s %7s %7s %7s %8s %7.0fs\n", v[i].e.name, str(v[i].vm, "state", "?"),
                   cli_num(v[i].vm, "pid"), cli_num(v[i].vm, "vcpus"), mem, dram, lt, budget, slow,
                   cli_num(v[i].vm, "uptime_s"));
        }
    }
    free_all(v, n);
    return CLI_OK;
}

static void print_status(struct vm_views *v)
{
    json_object *t = v->tiering;
    char mem[16], dram[16], lt[16], budget[16], written[16];
    sizes(v, mem, dram, lt, budget);
    printf("%s: %s, pid %.0f, %.0f vCPU(s), up %.0f s\n", v->e.name, str(v->vm, "state", "?"), cli_num(v->vm, "pid"),
           cli_num(v->vm, "vcpus"), cli_num(v->vm, "uptime_s"));
    printf("  payload   %s %s\n", str(v->vm, "payload", ""), str(v->vm, "args", ""));
    printf("  uuid      %s\n  api       %s\n", str(v->vm, "uuid", ""), v->e.sock);
    if (!t) {
        printf("  memory    %s guest RAM, all DRAM (tiering off)\n", mem);
        return;
    }
    cli_size(written, sizeof written, cli_num(t, "ltram.bytes_written"));
    printf("  memory    %s guest RAM: %s DRAM, %s LtRAM; DRAM budget %s\n", mem, dram, lt, budget);
    printf("  tiering   %.0f promotions (p50 %.0f us, p99 %.0f us), %.0f demotions\n", cli_num(t, "promotions"),
           cli_num(t, "promotion_latency.p50_us"), cli_num(t, "promotion_latency.p99_us"), cli_num(t, "demotions"));
    printf("  LtRAM     %s profile, %s written, wear max %.0f mean %.2f, %.0f tokens\n", str(json_object_object_get(t, "ltram"), "profile", "?"),
           written, cli_num(t, "ltram.wear.max"), cli_num(t, "ltram.wear.mean"), cli_num(t, "tokens.level"));
    json_object *d = json_object_object_get(t, "daemon");
    if (cli_num(d, "enabled"))
        printf("  daemon    epoch %.0f ms, slowdown %.2f%% (target %.2f%%), %s, over budget %.0f s\n",
               cli_num(d, "epoch_ms"), cli_num(d, "guard.slowdown_pct"), cli_num(d, "guard.max_slowdown_pct"),
               str(json_object_object_get(d, "guard"), "verdict", "?"), cli_num(d, "over_budget_s"));
    else
        printf("  daemon    off (no budget, no demotions but by API)\n");
}

int cmd_status(struct cli *c, int argc, char **argv)
{
    char *pos[1];
    struct vm_views v;
    struct vm_entry e;
    int rc = cli_args(c, argc, argv, NULL, pos, 1, 1, "status NAME [--json]");
    if (rc || (rc = cli_vm_sock(c, pos[0], e.sock, sizeof e.sock)))
        return rc;
    snprintf(e.name, sizeof e.name, "%s", pos[0]);
    cli_fetch(&e, &v);
    if (!v.ok) {
        fprintf(stderr, "arom: status %s: %s\n", pos[0], v.error);
        cli_views_free(&v);
        return CLI_FAILED;
    }
    if (c->json) {
        json_object *o = views_json(&v);
        cli_print_json(o);
        json_object_put(o);
    } else {
        print_status(&v);
    }
    cli_views_free(&v);
    return CLI_OK;
}

/* [####====      ]: DRAM then LtRAM as shares of guest RAM. */
static void bar(char *b, double mem, double dram, double lt)
{
    int d = mem > 0 ? (int)(BAR * dram / mem + 0.5) : 0, l = mem > 0 ? (int)(BAR * lt / mem + 0.5) : 0;
    d = d > BAR ? BAR : d;
    l = l > BAR - d ? BAR - d : l;
    memset(b, '#', (size_t)d);
    memset(b + d, '=', (size_t)l);
    memset(b + d + l, ' ', (size_t)(BAR - d - l));
    b[BAR] = '\0';
}

/* Counters of the previous refresh, to turn them into rates. */
struct prev {
    char name[REGISTRY_NAME_MAX];
    double promotions, demotions;
};

static double rate(const struct prev *p, size_t np, const char *name, double now, bool promo, double dt)
{
    for (size_t i = 0; i < np; i++)
        if (!strcmp(p[i].name, name) && dt > 0)
            return (now - (promo ? p[i].promotions : p[i].demotions)) / dt;
    return 0;
}

static void top_frame(const struct cli *c, struct vm_views *v, size_t n, const struct prev *p, size_t np, double dt)
{
    json_object *frame = c->json ? json_object_new_array() : NULL;
    if (!c->json) {
        if (isatty(STDOUT_FILENO))
            fputs("\033[H\033[2J", stdout);
        time_t now = time(NULL);
        char when[32];
        strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
        printf("arom top - %s - %zu VM(s) under %s    # DRAM  = LtRAM\n", when, n, c->run_dir);
        printf("%-16s %-9s %-*s %7s %7s %7s %9s %9s %8s\n", "NAME", "STATE", BAR + 2, "MEMORY", "DRAM", "LTRAM",
               "BUDGET", "PROMO/S", "DEMOTE/S", "SLOWDOWN");
    }
    for (size_t i = 0; i < n; i++) {
        json_object *t = v[i].tiering;
        double mem = cli_num(v[i].vm, "mem_bytes"), dram = t ? cli_num(t, "dram_resident_bytes") : mem;
        double lt = cli_num(t, "pages.ltram") * 4096;
        double pr = rate(p, np, v[i].e.name, cli_num(t, "promotions"), true, dt);
        double dr = rate(p, np, v[i].e.name, cli_num(t, "demotions"), false, dt);
        if (frame) {
            json_object *o = json_object_new_object();
            json_add_str(o, "name", v[i].e.name);
            json_add_bool(o, "reachable", v[i].ok);
            JSON_U64S(o, {"mem_bytes", (uint64_t)mem}, {"dram_resident_bytes", (uint64_t)dram},
                      {"ltram_resident_bytes", (uint64_t)lt},
                      {"dram_budget_bytes", (uint64_t)cli_num(t, "dram_budget_bytes")});
            json_add_double(o, "promotions_per_s", pr);
            json_add_double(o, "demotions_per_s", dr);
            json_add_double(o, "slowdown_pct", cli_num(t, "daemon.slowdown_pct"));
            json_object_array_add(frame, o);
            continue;
        }
        if (!v[i].ok) {
            printf("%-16s %-9s %s\n", v[i].e.name, "unreach.", v[i].error);
            continue;
        }
        char b[BAR + 1], mems[16], drams[16], lts[16], budget[16], slow[16] = "-";
        sizes(&v[i], mems, drams, lts, budget);
        bar(b, mem, dram, lt);
        if (t)
            snprintf(slow, sizeof slow, "%.2f%%", cli_num(t, "daemon.slowdown_pct"));
        printf("%-16s %-9s [%s] %7s %7s %7s %9.0f %9.0f %8s\n", v[i].e.name, str(v[i].vm, "state", "?"), b, drams,
               lts, budget, pr, dr, slow);
    }
    if (frame) {
        json_object *o = json_object_new_object();
        json_add_double(o, "time", (double)time(NULL));
        json_object_object_add(o, "vms", frame);
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    }
    fflush(stdout);
}

int cmd_top(struct cli *c, int argc, char **argv)
{
    double interval = 1, count = 0;
    const struct cli_opt opts[] = {{"--interval", &interval, 0.1, 3600}, {"--count", &count, 0, 1e9}, {0}};
    int rc = cli_args(c, argc, argv, opts, NULL, 0, 0, "top [--interval S] [--count N] [--json]");
    if (rc)
        return rc;
    struct prev *p = NULL;
    size_t np = 0;
    uint64_t last = 0;
    for (double k = 0; count == 0 || k < count; k++) {
        struct vm_views *v;
        size_t n;
        if ((rc = fetch_all(c, &v, &n)))
            break;
        uint64_t now = clock_now_ns();
        top_frame(c, v, n, p, np, last ? (double)(now - last) / 1e9 : 0);
        last = now;
        free(p);
        p = calloc(n ? n : 1, sizeof *p);
        np = p ? n : 0;
        for (size_t i = 0; i < np; i++) {
            snprintf(p[i].name, sizeof p[i].name, "%s", v[i].e.name);
            p[i].promotions = cli_num(v[i].tiering, "promotions");
            p[i].demotions = cli_num(v[i].tiering, "demotions");
        }
        free_all(v, n);
        if (count == 0 || k + 1 < count)
            nanosleep(&(struct timespec){.tv_sec = (time_t)interval,
                                         .tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9)}, NULL);
    }
    free(p);
    return rc;
}
