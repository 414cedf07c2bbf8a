#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/aromd_options.h"
#include "host/http_client.h"
#include "lib/err.h"

void aromd_options_init(struct aromd_options *o)
{
    *o = (struct aromd_options){.interval_ms = AROMD_INTERVAL_MS};
    strcpy(o->listen, AROMD_LISTEN);
    strcpy(o->run_dir, AROMD_RUN_DIR);
}

/* One setting by name, from the command line or the config file. */
static int set(struct aromd_options *o, const char *key, const char *value, char *err, size_t errlen)
{
    if (!strcmp(key, "listen")) {
        struct http_endpoint ep;
        if (strlen(value) >= sizeof o->listen || http_endpoint_parse(&ep, value))
            return errf(err, errlen, -EINVAL, "listen: '%s' is not ADDR:PORT (IPv4) or unix:PATH", value);
        strcpy(o->listen, value);
    } else if (!strcmp(key, "run-dir") || !strcmp(key, "run_dir")) {
        if (!*value || strlen(value) >= sizeof o->run_dir - 80)
            return errf(err, errlen, -EINVAL, "run-dir: the path must be 1..%zu bytes", sizeof o->run_dir - 81);
        strcpy(o->run_dir, value);
    } else if (!strcmp(key, "host-dram") || !strcmp(key, "host_dram")) {
        if (parse_share(value, &o->host_dram) || (!o->host_dram.pct && !o->host_dram.bytes))
            return errf(err, errlen, -EINVAL, "host-dram: '%s' is not a size (\"8G\") or a share of the host's DRAM (\"50%%\")",
                        value);
    } else if (!strcmp(key, "interval-ms") || !strcmp(key, "interval_ms")) {
        uint64_t ms;
        if (parse_u64(value, &ms) || ms < AROMD_INTERVAL_MIN || ms > AROMD_INTERVAL_MAX)
            return errf(err, errlen, -EINVAL, "interval-ms: '%s' is not a whole number of %u..%u", value,
                        AROMD_INTERVAL_MIN, AROMD_INTERVAL_MAX);
        o->interval_ms = (unsigned)ms;
    } else {
        return errf(err, errlen, -EINVAL, "unknown setting '%s'", key);
    }
    return 0;
}

int aromd_options_json(struct aromd_options *o, const char *json, const char *origin, char *err, size_t errlen)
{
    static const char *const keys[] = {"listen", "run_dir", "host_dram", "interval_ms", NULL};
    json_object *root = json_tokener_parse(json);
    int rc = 0;
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return errf(err, errlen, -EINVAL, "%s: not a JSON object", origin);
    }
    json_object_object_foreach(root, key, val) {
        if (rc)
            break;
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key))
            i++;
        char e[256];
        if (!keys[i]) {
            rc = errf(err, errlen, -EINVAL, "%s: unknown setting '%s' (known: listen, run_dir, host_dram, interval_ms)",
                      origin, key);
        } else if (val == NULL && !strcmp(key, "host_dram")) {
            o->host_dram = (struct share){0};     /* null: observe only */
        } else if (!json_object_is_type(val, json_type_string) && !json_object_is_type(val, json_type_int)) {
            rc = errf(err, errlen, -EINVAL, "%s: %s: must be a string or an integer", origin, key);
        } else if (set(o, key, json_object_get_string(val), e, sizeof e)) {
            rc = errf(err, errlen, -EINVAL, "%s: %s", origin, e);
        }
    }
    json_object_put(root);
    return rc;
}

static int apply_config(struct aromd_options *o, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errf(err, errlen, -EINVAL, "--config %s: %s", path, strerror(errno));
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    bool big = !feof(f);
    fclose(f);
    if (big)
        return errf(err, errlen, -EINVAL, "--config %s: over %zu bytes", path, sizeof buf - 1);
    buf[n] = '\0';
    return aromd_options_json(o, buf, path, err, errlen);
}

static const struct option longopts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"run-dir", required_argument, NULL, 'r'},
    {"host-dram", required_argument, NULL, 'm'},
    {"interval-ms", required_argument, NULL, 'i'},
    {"config", required_argument, NULL, 'c'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {0},
};

int aromd_options_parse(struct aromd_options *o, int argc, char **argv, char *err, size_t errlen)
{
    for (int pass = 0; pass < 2; pass++) {      /* the config file first, then the rest over it */
        optind = 0;
        opterr = 0;
        for (int c; (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1;) {
            int rc = 0;
            if (c == '?' || c == ':')
                return errf(err, errlen, -EINVAL, "%s: %s", argv[optind - 1],
                            c == '?' ? "unknown option" : "needs a value");
            if (pass == 0 ? c != 'c' : c == 'c')
                continue;
            switch (c) {
            case 'c': rc = apply_config(o, optarg, err, errlen); break;
            case 'q': o->quiet = true; break;
            case 'h': o->help = true; break;
            case 'V': o->version = true; break;
            default: {
                const char *key = longopts[0].name;
                for (const struct option *l = longopts; l->name; l++)
                    if (l->val == c)
                        key = l->name;
                rc = set(o, key, optarg, err, errlen);
            }
            }
            if (rc)
                return rc;
        }
        if (optind < argc)
            return errf(err, errlen, -EINVAL, "unexpected argument '%s'", argv[optind]);
    }
    return 0;
}

void aromd_usage(FILE *f)
{
    fprintf(f,
            "usage: aromd [options]\n\n"
            "The arom host daemon: finds the VMs registered under the run directory, serves the\n"
            "host's JSON status endpoint and metrics, and divides a host DRAM allowance among VMs.\n\n"
            "options:\n"
            "  --listen ADDR:PORT|unix:PATH  where to serve HTTP (default " AROMD_LISTEN ")\n"
            "  --run-dir DIR                 where VMs register: DIR/vms/NAME.sock (default " AROMD_RUN_DIR ")\n"
            "  --host-dram SIZE|PCT%%         DRAM for all VMs, divided by demand (default: none, observe only)\n"
            "  --interval-ms MS              poll and re-plan every MS (%u..%u, default %u)\n"
            "  --config FILE                 settings as a JSON object (listen, run_dir, host_dram,\n"
            "                                interval_ms); the command line overrides it\n"
            "  --quiet                       no informational messages\n"
            "  --help, --version\n\n"
            "Exit status: 0 stopped by SIGTERM or SIGINT; 1 failure; 2 bad usage or config.\n",
            AROMD_INTERVAL_MIN, AROMD_INTERVAL_MAX, AROMD_INTERVAL_MS);
}
