#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arom/abi.h"
#include "lib/err.h"
#include "vmm/domain_xml.h"
#include "vmm/layout.h"
#include "vmm/libvirt_source.h"
#include "vmm/options.h"

enum opt_type {
    OPT_SIZE,       /* uint64_t bytes: 512M */
    OPT_U32,        /* unsigned: decimal */
    OPT_U64,        /* uint64_t: decimal */
    OPT_COUNT,      /* uint64_t: decimal or 1e5 */
    OPT_NS,         /* uint64_t nanoseconds: 250, 2us, 18ms */
    OPT_DOUBLE,     /* double */
    OPT_DURATION,   /* double seconds: 90s, 12h, 5y */
    OPT_FLAG,       /* bool */
    OPT_STR,        /* char *, owned */
    OPT_ENUM,       /* int, one of the '|'-separated names */
    OPT_SHARE,      /* struct share: SIZE or PCT% */
    OPT_LTRAM,      /* --ltram SIZE|file:PATH|off */
    OPT_PROFILE,    /* char[32]: a preset's name */
    OPT_PATH,       /* char[256]: a path, inline */
    OPT_CONFIG,     /* --config FILE */
    OPT_DOMAIN,     /* --domain-xml FILE */
    OPT_LIBVIRT,    /* char *, applied with the config files (--libvirt, --domain) */
};

struct opt_desc {
    const char *name;
    enum opt_type type;
    size_t offset;
    double min, max;          /* numeric bounds */
    const char *metavar;      /* OPT_ENUM: the names, '|'-separated, in enum order */
    const char *help;
    bool cli_only;            /* meaningless in a config file */
    unsigned set_bit;         /* a profile override: its LTRAM_SET_* bit */
};

#define OFF(f) offsetof(struct vmm_options, f)
#define TOFF(f) offsetof(struct vmm_options, tiering.f)
#define OVR(f) offsetof(struct vmm_options, overrides.f)
#define NS_MAX 1e10           /* 10 s: bounds the device model's delay arithmetic */

static const struct opt_desc opt_table[] = {
    {.name = "mem", .type = OPT_SIZE, .offset = OFF(mem), .min = LAYOUT_MIN_RAM, .max = LAYOUT_MAX_RAM, .metavar = "SIZE",
     .help = "guest RAM (K/M/G suffixes, multiple of 2M; default 256M)"},
    {.name = "vcpus", .type = OPT_U32, .offset = OFF(vcpus), .min = 1, .max = AROM_MAX_VCPUS, .metavar = "N",
     .help = "number of vCPUs (default 1)"},
    {.name = "config", .type = OPT_CONFIG, .metavar = "FILE",
     .help = "read settings from a JSON object; the CLI overrides it", .cli_only = true},
    {.name = "domain-xml", .type = OPT_DOMAIN, .metavar = "FILE",
     .help = "read the VM from libvirt domain XML (docs/LIBVIRT.md); the CLI overrides it", .cli_only = true},
    {.name = "libvirt", .type = OPT_LIBVIRT, .offset = OFF(libvirt_uri), .metavar = "URI",
     .help = "with --domain: read the VM from this libvirt connection (qemu:///system, test:///node.xml)",
     .cli_only = true},
    {.name = "domain", .type = OPT_LIBVIRT, .offset = OFF(libvirt_domain), .metavar = "NAME",
     .help = "the libvirt domain to run (with --libvirt)", .cli_only = true},
    {.name = "hooks-dir", .type = OPT_STR, .offset = OFF(hooks_dir), .metavar = "DIR|off",
     .help = "run libvirt-style lifecycle hooks DIR/arom, DIR/arom.d/* (default /etc/libvirt/hooks)"},
    {.name = "hook-timeout", .type = OPT_DURATION, .offset = OFF(hook_timeout_s), .min = 0.1, .max = 3600,
     .metavar = "DURATION", .help = "how long one hook may run before it is killed (default 30s)"},
    {.name = "stats-json", .type = OPT_STR, .offset = OFF(stats_json), .metavar = "FILE",
     .help = "write a JSON summary at exit ('-' = stdout)"},
    {.name = "name", .type = OPT_STR, .offset = OFF(name), .metavar = "NAME",
     .help = "the VM's name for the API and aromd: letters, digits, . _ - (default vm-PID)"},
    {.name = "uuid", .type = OPT_STR, .offset = OFF(uuid), .metavar = "UUID",
     .help = "the VM's UUID (default: a random one)"},
    {.name = "api-sock", .type = OPT_STR, .offset = OFF(api_sock), .metavar = "PATH",
     .help = "serve the operator API (HTTP/1.1 + JSON, docs/API.md) on this unix socket, mode 0600"},
    {.name = "run-dir", .type = OPT_STR, .offset = OFF(run_dir), .metavar = "DIR",
     .help = "register with aromd: serve the API on DIR/vms/NAME.sock (aromd's default DIR: /run/arom)"},
    {.name = "linux", .type = OPT_FLAG, .offset = OFF(linux_mode),
     .help = "the payload is an unmodified Linux x86-64 program; its system calls are served by the VMM"},
    {.name = "linux-root", .type = OPT_STR, .offset = OFF(linux_root), .metavar = "DIR",
     .help = "with --linux: the files the program may open, resolved inside DIR (default: none)"},
    {.name = "linux-root-rw", .type = OPT_FLAG, .offset = OFF(linux_root_rw),
     .help = "with --linux: let it write under --linux-root (default read-only)"},
    {.name = "linux-calls", .type = OPT_STR, .offset = OFF(linux_calls), .metavar = "exit|ring",
     .help = "with --linux: system calls as VM exits (default) or, on PVM, through a ring served by a "
             "VMM thread (experimental)"},
    {.name = "payload", .type = OPT_STR, .offset = OFF(payload), .metavar = "FILE",
     .help = "the ELF payload (usually given positionally)"},
    {.name = "args", .type = OPT_STR, .offset = OFF(args), .metavar = "STRING",
     .help = "guest argument string (usually after the payload; in a config file also an array of strings, "
             "one argument each)"},
    {.name = "quiet", .type = OPT_FLAG, .offset = OFF(quiet), .help = "no informational messages"},
    {.name = "ltram", .type = OPT_LTRAM, .min = 4096, .max = 1099511627776.0, .metavar = "SIZE|file:PATH|off",
     .help = "LtRAM tier: emulated of SIZE (default: as large as --mem), a file on tmpfs, or off"},
    {.name = "ltram-size", .type = OPT_SIZE, .offset = OFF(ltram_file_size), .min = 4096, .max = 1099511627776.0, .metavar = "SIZE",
     .help = "capacity of a file: LtRAM backend (default: the file's size)"},
    {.name = "ltram-profile", .type = OPT_PROFILE, .offset = OFF(profile), .metavar = "NAME",
     .help = "device preset: nor-flash, optane, fefet (default), vrram, sttmram, dram"},
    {.name = "ltram-read-ns", .type = OPT_NS, .offset = OVR(read_ns), .max = NS_MAX, .metavar = "NS",
     .help = "override the profile's read latency (250, 2us)", .set_bit = LTRAM_SET_READ_NS},
    {.name = "ltram-write-ns", .type = OPT_NS, .offset = OVR(write_ns), .max = NS_MAX, .metavar = "NS",
     .help = "override the write latency per write unit", .set_bit = LTRAM_SET_WRITE_NS},
    {.name = "ltram-write-unit", .type = OPT_SIZE, .offset = OVR(write_unit), .min = 1, .max = 1 << 30, .metavar = "BYTES",
     .help = "override the write unit (256, 4K)", .set_bit = LTRAM_SET_WRITE_UNIT},
    {.name = "ltram-erase-ns", .type = OPT_NS, .offset = OVR(erase_ns), .max = NS_MAX, .metavar = "NS",
     .help = "override the erase latency per block", .set_bit = LTRAM_SET_ERASE_NS},
    {.name = "ltram-erase-block", .type = OPT_SIZE, .offset = OVR(erase_block), .max = 1 << 30, .metavar = "BYTES",
     .help = "override the erase block (0 = none)", .set_bit = LTRAM_SET_ERASE_BLOCK},
    {.name = "ltram-endurance", .type = OPT_COUNT, .offset = OVR(endurance), .max = 4294967295.0, .metavar = "N",
     .help = "override write cycles per frame (100000 or 1e5; 0 = unlimited)", .set_bit = LTRAM_SET_ENDURANCE},
    {.name = "ltram-delay-scale", .type = OPT_DOUBLE, .offset = TOFF(delay_scale), .max = 1000, .metavar = "X",
     .help = "scale the injected LtRAM write latency (0 = none; default 1)"},
    {.name = "ltram-prefault", .type = OPT_FLAG, .offset = TOFF(prefault),
     .help = "allocate all LtRAM frames at start (benchmarks: no first-touch cost in demotions)"},
    {.name = "tokens", .type = OPT_FLAG, .offset = TOFF(tokens),
     .help = "pace demotions with the endurance token bucket (default on; --tokens=off)"},
    {.name = "token-lifetime", .type = OPT_DURATION, .offset = TOFF(token_lifetime_s), .min = 1, .max = 1000 * 365.25 * 86400, .metavar = "DURATION",
     .help = "target device lifetime for the token rate (default 5y; 1s..1000y)"},
    {.name = "token-rate", .type = OPT_DOUBLE, .offset = TOFF(token_rate), .max = 1e12, .metavar = "PER_S",
     .help = "token rate (default frames x endurance / lifetime)"},
    {.name = "token-cap", .type = OPT_U64, .offset = TOFF(token_cap), .min = 1, .max = 1 << 30, .metavar = "N",
     .help = "token bucket capacity (default: the larger of 512 and the LtRAM frames)"},
    {.name = "dram-budget", .type = OPT_SHARE, .offset = OFF(dram_budget), .metavar = "SIZE|PCT%",
     .help = "DRAM the VM may use (default 100%)"},
    {.name = "map-limit", .type = OPT_U64, .offset = TOFF(map_limit), .min = 16, .max = 1 << 30, .metavar = "N",
     .help = "host mappings before demotion stops (default from vm.max_map_count)"},
    {.name = "churn-ms", .type = OPT_U32, .offset = TOFF(churn_ms), .min = 1, .max = 3600000, .metavar = "MS",
     .help = "testing: a host thread demotes guest RAM every MS"},
    {.name = "audit-ms", .type = OPT_U32, .offset = TOFF(audit_ms), .min = 1, .max = 3600000, .metavar = "MS",
     .help = "audit LtRAM checksums every MS (always at exit)"},
    {.name = "daemon", .type = OPT_ENUM, .offset = OFF(daemon), .metavar = "auto|on|off",
     .help = "tiering daemon: track accesses, keep DRAM within --dram-budget (auto: on when a budget is given)"},
    {.name = "epoch-ms", .type = OPT_U32, .offset = TOFF(epoch_ms), .min = TIERING_EPOCH_MS_MIN, .max = TIERING_EPOCH_MS_MAX, .metavar = "MS",
     .help = "tiering daemon epoch (default 1000)"},
    {.name = "access-tracking", .type = OPT_ENUM, .offset = TOFF(access), .metavar = "auto|page_idle|uffd|off",
     .help = "how the daemon samples accessed pages (default auto: page_idle if the host has it)"},
    {.name = "access-samples", .type = OPT_U32, .offset = TOFF(samples_per_gib), .max = 1 << 20, .metavar = "N",
     .help = "pages sampled for access per GiB per epoch (default 256)"},
    {.name = "max-slowdown", .type = OPT_DOUBLE, .offset = TOFF(max_slowdown_pct), .min = TIERING_SLOWDOWN_MIN, .max = TIERING_SLOWDOWN_MAX, .metavar = "PCT",
     .help = "slowdown guard: the most vCPU time tiering may cost; over it demotion pauses (default 2)"},
    {.name = "exit-cost-us", .type = OPT_DOUBLE, .offset = TOFF(exit_cost_us), .min = TIERING_EXIT_COST_MIN, .max = TIERING_EXIT_COST_MAX, .metavar = "US",
     .help = "what one VM exit costs the guest, for the guard (default: 23 on PVM, 2 on VMX/SVM)"},
    {.name = "daemon-trace", .type = OPT_PATH, .offset = TOFF(trace_path), .metavar = "FILE",
     .help = "write one JSON line per daemon epoch (costs, demotions, the guard's verdict)"},
    {.name = "help", .type = OPT_FLAG, .offset = OFF(help), .help = "show this help", .cli_only = true},
    {.name = "version", .type = OPT_FLAG, .offset = OFF(version),
     .help = "show the version", .cli_only = true},
};

#define NOPTS (sizeof opt_table / sizeof opt_table[0])

/* Every option error is bad input. */
#define fail(err, errlen, ...) errf(err, errlen, -EINVAL, __VA_ARGS__)

void options_init(struct vmm_options *o)
{
    memset(o, 0, sizeof *o);
    o->mem = 256ull << 20;
    o->vcpus = 1;
    o->tiering.delay_scale = 1.0;
    o->tiering.tokens = true;
    o->tiering.token_lifetime_s = 5 * 365.25 * 86400;
    o->tiering.epoch_ms = 1000;
    o->tiering.access = TIERING_ACCESS_AUTO;
    o->tiering.samples_per_gib = 256;
    o->tiering.max_slowdown_pct = 2;
    o->tiering.exit_cost_us = 0;      /* 0: the host's default (options_validate) */
    o->hook_timeout_s = 30;
    snprintf(o->profile, sizeof o->profile, "%s", LTRAM_DEFAULT_PROFILE);
}

static void free_args_list(struct vmm_options *o)
{
    for (char **a = o->args_list; a && *a; a++)
        free(*a);
    free(o->args_list);
    o->args_list = NULL;
}

void options_free(struct vmm_options *o)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (opt_table[i].type == OPT_STR || opt_table[i].type == OPT_LIBVIRT) {
            char **p = (char **)((char *)o + opt_table[i].offset);
            free(*p);
            *p = NULL;
        }
    }
    free(o->domain_text);
    o->domain_text = NULL;
    free_args_list(o);
}

static const struct opt_desc *find_opt(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (!strcmp(opt_table[i].name, name))
            return &opt_table[i];
    return NULL;
}

/* Index of value among the '|'-separated names, or -1. */
static int enum_index(const char *names, const char *value)
{
    size_t len = strlen(value);
    int i = 0;
    for (const char *p = names; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, value, n))
            return i;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static const char *kind_of(enum opt_type t)
{
    switch (t) {
    case OPT_SIZE: return "size (e.g. 512M, 2G)";
    case OPT_COUNT: return "count (e.g. 100000 or 1e5)";
    case OPT_NS: return "duration (e.g. 250, 2us, 18ms)";
    case OPT_DURATION: return "duration (e.g. 90s, 12h, 5y)";
    default: return "number";
    }
}

/* The numeric types: parse, bound, store. */
static int set_number(const struct opt_desc *d, void *field, const char *value, char *err, size_t errlen)
{
    uint64_t u = 0;
    double v = 0;
    int rc;
    bool is_double = d->type == OPT_DOUBLE || d->type == OPT_DURATION;
    switch (d->type) {
    case OPT_SIZE: rc = parse_size(value, &u); break;
    case OPT_COUNT: rc = parse_count(value, &u); break;
    case OPT_NS: rc = parse_ns(value, &u); break;
    case OPT_DOUBLE: rc = parse_double(value, &v); break;
    case OPT_DURATION: rc = parse_duration(value, &v); break;
    default: rc = parse_u64(value, &u); break;
    }
    if (rc == -ERANGE)
        return fail(err, errlen, "--%s: '%s' is out of range", d->name, value);
    if (rc < 0)
        return fail(err, errlen, "--%s: '%s' is not a valid %s", d->name, value, kind_of(d->type));
    if (!is_double)
        v = (double)u;
    if (v < d->min || v > d->max)
        return fail(err, errlen, "--%s: %s is out of range (%.15g..%.15g)", d->name, value, d->min, d->max);
    if (is_double)
        *(double *)field = v;
    else if (d->type == OPT_U32)
        *(unsigned *)field = (unsigned)u;
    else
        *(uint64_t *)field = u;
    return 0;
}

/* --ltram SIZE (emulated of that capacity), file:PATH or off. */
static int set_ltram(const struct opt_desc *d, struct vmm_options *o, const char *value, char *err, size_t errlen)
{
    struct tiering_config *c = &o->tiering;
    if (!strcmp(value, "off")) {
        o->ltram_off = true;
        return 0;
    }
    if (!strncmp(value, "file:", 5)) {
        if (!value[5])
            return fail(err, errlen, "--ltram: file: needs a path");
        if (strlen(value) >= sizeof c->ltram_spec)
            return fail(err, errlen, "--ltram: path too long");
        snprintf(c->ltram_spec, sizeof c->ltram_spec, "%s", value);
        o->ltram_off = false;
        o->ltram_file = true;
        return 0;
    }
    uint64_t v;
    if (parse_size(value, &v) < 0 || v < d->min || v > d->max)
        return fail(err, errlen, "--ltram: '%s' is not a size (4K..1T), file:PATH or off", value);
    o->ltram_off = o->ltram_file = false;
    o->ltram_size = v;
    return 0;
}

static int set_opt(const struct opt_desc *d, struct vmm_options *o, const char *value, char *err, size_t errlen)
{
    void *field = (char *)o + d->offset;
    int rc = 0;
    switch (d->type) {
    case OPT_SIZE:
    case OPT_U32:
    case OPT_U64:
    case OPT_COUNT:
    case OPT_NS:
    case OPT_DOUBLE:
    case OPT_DURATION:
        rc = set_number(d, field, value, err, errlen);
        break;
    case OPT_STR: {
        char *copy = strdup(value);
        if (!copy)
            return fail(err, errlen, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    case OPT_FLAG:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "on"))
            *(bool *)field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "off"))
            *(bool *)field = false;
        else
            return fail(err, errlen, "--%s: expected true or false, got '%s'", d->name, value);
        break;
    case OPT_ENUM: {
        int i = enum_index(d->metavar, value);
        if (i < 0)
            return fail(err, errlen, "--%s: expected %s, got '%s'", d->name, d->metavar, value);
        *(int *)field = i;
        break;
    }
    case OPT_SHARE:
        rc = parse_share(value, field);
        if (rc < 0)
            return fail(err, errlen, "--%s: '%s' is not a size or a percentage (0..100%%)", d->name, value);
        break;
    case OPT_LTRAM:
        return set_ltram(d, o, value, err, errlen);
    case OPT_PROFILE: {
        struct ltram_profile p;
        if (ltram_profile_lookup(value, &p) < 0)
            return fail(err, errlen, "--%s: unknown profile '%s' (known: %s)", d->name, value, ltram_profile_names());
        snprintf(field, sizeof o->profile, "%s", value);
        break;
    }
    case OPT_PATH:
        if (!*value || strlen(value) >= sizeof o->tiering.trace_path)
            return fail(err, errlen, "--%s: '%s' is not a usable path", d->name, value);
        snprintf(field, sizeof o->tiering.trace_path, "%s", value);
        break;
    case OPT_LIBVIRT:
        free(*(char **)field);
        if (!(*(char **)field = strdup(value)))
            return fail(err, errlen, "out of memory");
        break;
    case OPT_CONFIG:
    case OPT_DOMAIN:
        return fail(err, errlen, "--%s cannot be set here", d->name);
    }
    if (rc == 0)
        o->overrides.set |= d->set_bit;
    return rc;
}

/* JSON value as option text: strings as-is, numbers in decimal, booleans. */
static int json_value_text(const struct opt_desc *d, json_object *v, char *buf, size_t len, const char **text)
{
    bool numeric = d->type == OPT_SIZE || d->type == OPT_U32 || d->type == OPT_U64 || d->type == OPT_COUNT ||
                   d->type == OPT_NS || d->type == OPT_DOUBLE || d->type == OPT_DURATION ||
                   d->type == OPT_SHARE || d->type == OPT_LTRAM;
    switch (json_object_get_type(v)) {
    case json_type_string:
        if (d->type == OPT_FLAG)
            return -EINVAL;
        *text = json_object_get_string(v);
        return 0;
    case json_type_double:
        if (d->type != OPT_DOUBLE && d->type != OPT_DURATION)
            return -EINVAL;
        snprintf(buf, len, "%.17g", json_object_get_double(v));
        *text = buf;
        return 0;
    case json_type_int:
        if (!numeric)
            return -EINVAL;
        if (json_object_get_int64(v) < 0)
            return -ERANGE;
        snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
        *text = buf;
        return 0;
    case json_type_boolean:
        if (d->type != OPT_FLAG)
            return -EINVAL;
        *text = json_object_get_boolean(v) ? "true" : "false";
        return 0;
    default:
        return -EINVAL;
    }
}

static char *join_args(int from, int argc, char **argv);

/* "args": [...] in a config file: each string one argument (a Linux
 * program's argv keeps its spaces); o->args is their join, for payloads
 * that take one string. */
static int apply_args_array(const struct opt_desc *d, struct vmm_options *o, json_object *arr, const char *origin,
                            char *err, size_t errlen)
{
    size_t n = json_object_array_length(arr);
    char **list = calloc(n + 1, sizeof *list);
    if (!list)
        return fail(err, errlen, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_string))
            rc = fail(err, errlen, "%s: \"args\"[%zu] is not a string (%s)", origin, i,
                      json_type_to_name(json_object_get_type(e)));
        else if (!(list[i] = strdup(json_object_get_string(e))))
            rc = fail(err, errlen, "out of memory");
    }
    char *joined = rc ? NULL : join_args(0, (int)n, list);
    char inner[256];
    if (!rc && !joined)
        rc = fail(err, errlen, "out of memory");
    else if (!rc && (rc = set_opt(d, o, joined, inner, sizeof inner)) < 0)
        fail(err, errlen, "%s: %s", origin, inner);
    free(joined);
    free_args_list(o);
    o->args_list = list;
    if (rc < 0)
        free_args_list(o);
    return rc;
}

int options_apply_json(struct vmm_options *o, const char *json, const char *origin, char *err, size_t errlen)
{
    enum json_tokener_error jerr;
    json_object *root = json_tokener_parse_verbose(json, &jerr);
    if (!root)
        return fail(err, errlen, "%s: invalid JSON: %s", origin, json_tokener_error_desc(jerr));
    int rc = 0;
    if (!json_object_is_type(root, json_type_object)) {
        rc = fail(err, errlen, "%s: expected a JSON object of settings", origin);
        goto out;
    }
    json_object_object_foreach(root, key, val) {
        const struct opt_desc *d = find_opt(key);
        if (!d || d->cli_only) {
            rc = fail(err, errlen, "%s: unknown setting \"%s\"", origin, key);
            goto out;
        }
        if (!strcmp(key, "args") && json_object_is_type(val, json_type_array)) {
            if ((rc = apply_args_array(d, o, val, origin, err, errlen)) < 0)
                goto out;
            continue;
        }
        if (!strcmp(key, "args"))
            free_args_list(o);          /* a string: split at spaces, as on the kernel command line */
        char num[32];
        const char *text;
        if (json_value_text(d, val, num, sizeof num, &text) < 0) {
            rc = fail(err, errlen, "%s: \"%s\" has the wrong type (%s)", origin, key,
                      json_type_to_name(json_object_get_type(val)));
            goto out;
        }
        char inner[256];
        rc = set_opt(d, o, text, inner, sizeof inner);
        if (rc < 0) {
            fail(err, errlen, "%s: %s", origin, inner);
            goto out;
        }
    }
out:
    json_object_put(root);
    return rc;
}

#define CONFIG_MAX_BYTES (1 << 20)

/* The text of a settings file (--config, --domain-xml) into *text: at most
 * CONFIG_MAX_BYTES + 1 bytes are read, so a larger file is refused without
 * reading it all, and a NUL inside it is an error rather than the end of
 * the text (settings after it would be silently ignored). */
static int read_settings_file(const char *opt, const char *path, char **text, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    *text = NULL;
    if (!f)
        return fail(err, errlen, "--%s %s: %s", opt, path, strerror(errno));
    char *t = malloc(CONFIG_MAX_BYTES + 2);
    if (!t) {
        fclose(f);
        return fail(err, errlen, "out of memory");
    }
    size_t n = fread(t, 1, CONFIG_MAX_BYTES + 1, f);
    const char *nul = memchr(t, '\0', n);
    int rc = 0;
    if (ferror(f))
        rc = fail(err, errlen, "--%s %s: %s", opt, path, strerror(errno));
    else if (n == 0)
        rc = fail(err, errlen, "--%s %s: empty", opt, path);
    else if (n > CONFIG_MAX_BYTES)
        rc = fail(err, errlen, "--%s %s: larger than 1 MiB", opt, path);
    else if (nul)
        rc = fail(err, errlen, "--%s %s: contains a NUL byte at offset %zu", opt, path, (size_t)(nul - t));
    fclose(f);
    if (rc) {
        free(t);
        return rc;
    }
    t[n] = '\0';
    *text = t;
    return 0;
}

static int apply_config_file(struct vmm_options *o, const char *path, char *err, size_t errlen)
{
    char *text;
    int rc = read_settings_file("config", path, &text, err, errlen);
    if (rc == 0)
        rc = options_apply_json(o, text, path, err, errlen);
    free(text);
    return rc;
}

int options_apply_domain(struct vmm_options *o, const char *xml, const char *origin, char *err, size_t errlen)
{
    struct domain_def d;
    int rc = domain_xml_parse(xml, strlen(xml), origin, &d, err, errlen);
    for (size_t i = 0; rc == 0 && i < d.n; i++) {
        char inner[256];
        if ((rc = set_opt(find_opt(d.s[i].key), o, d.s[i].value, inner, sizeof inner)) < 0)
            fail(err, errlen, "%s: %s", origin, inner);
    }
    if (rc < 0)
        return rc;
    free(o->domain_text);
    if (!(o->domain_text = strdup(xml)))
        return fail(err, errlen, "out of memory");
    snprintf(o->domain_notes, sizeof o->domain_notes, "%s", d.notes);
    return 0;
}

static int apply_domain_file(struct vmm_options *o, const char *path, char *err, size_t errlen)
{
    char *text;
    int rc = read_settings_file("domain-xml", path, &text, err, errlen);
    if (rc == 0)
        rc = options_apply_domain(o, text, path, err, errlen);
    free(text);
    return rc;
}

/* --libvirt URI --domain NAME, after the command line named both. */
static int apply_libvirt(struct vmm_options *o, char *err, size_t errlen)
{
    if (!o->libvirt_uri && !o->libvirt_domain)
        return 0;
    if (!o->libvirt_uri || !o->libvirt_domain)
        return fail(err, errlen, "--libvirt URI and --domain NAME go together");
    char *xml, origin[512];
    int rc = libvirt_domain_xml(o->libvirt_uri, o->libvirt_domain, &xml, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(origin, sizeof origin, "%s domain %s", o->libvirt_uri, o->libvirt_domain);
    rc = options_apply_domain(o, xml, origin, err, errlen);
    free(xml);
    return rc;
}

/* Join argv[from..argc) with single spaces. */
static char *join_args(int from, int argc, char **argv)
{
    size_t len = 1;
    for (int i = from; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(1, len);
    if (!s)
        return NULL;
    for (int i = from; i < argc; i++) {
        if (i > from)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* Split "--name=value" / "--name value"; returns the option or NULL. */
static const struct opt_desc *cli_option(int argc, char **argv, int *i, const char **value, char *err, size_t errlen)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    char name[64];
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    if (nlen >= sizeof name) {
        fail(err, errlen, "unknown option '%s' (see --help)", argv[*i]);
        return NULL;
    }
    memcpy(name, arg, nlen);
    name[nlen] = 0;
    const struct opt_desc *d = find_opt(name);
    if (!d) {
        fail(err, errlen, "unknown option '--%s' (see --help)", name);
        return NULL;
    }
    if (eq) {
        *value = eq + 1;
    } else if (d->type == OPT_FLAG) {
        *value = "true";
    } else if (*i + 1 < argc) {
        *value = argv[++*i];
    } else {
        fail(err, errlen, "option '--%s' needs a value (%s)", name, d->metavar);
        return NULL;
    }
    return d;
}

/* One pass over the options before the payload: the config files only
 * (config_pass), or everything else. *next: the first argument after the
 * options (past a "--"). 0 or -EINVAL. */
static int options_pass(struct vmm_options *o, int argc, char **argv, bool config_pass, int *next,
                        char *err, size_t errlen)
{
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (argv[i][0] != '-' || argv[i][1] != '-')
            break;
        const char *value;
        const struct opt_desc *d = cli_option(argc, argv, &i, &value, err, errlen);
        if (!d)
            return -EINVAL;
        int rc = 0;
        bool early = d->type == OPT_CONFIG || d->type == OPT_DOMAIN || d->type == OPT_LIBVIRT;
        if (config_pass && d->type == OPT_CONFIG)
            rc = apply_config_file(o, value, err, errlen);
        else if (config_pass && d->type == OPT_DOMAIN)
            rc = apply_domain_file(o, value, err, errlen);
        else if (config_pass == early)
            rc = set_opt(d, o, value, err, errlen);
        if (rc < 0)
            return rc;
    }
    *next = i;
    return 0;
}

int options_parse_argv(struct vmm_options *o, int argc, char **argv, char *err, size_t errlen)
{
    /* The config file first, so everything on the command line overrides it. */
    int i;
    int rc = options_pass(o, argc, argv, true, &i, err, errlen);
    if (rc == 0)
        rc = apply_libvirt(o, err, errlen);
    if (rc == 0)
        rc = options_pass(o, argc, argv, false, &i, err, errlen);
    if (rc < 0)
        return rc;
    if (i < argc) {
        rc = set_opt(find_opt("payload"), o, argv[i++], err, errlen);
        if (rc < 0)
            return rc;
        if (i < argc && !strcmp(argv[i], "--"))
            i++;
        if (i < argc) {
            o->guest_argv = argv + i;
            o->guest_argc = argc - i;
            char *joined = join_args(i, argc, argv);
            if (!joined)
                return fail(err, errlen, "out of memory");
            free(o->args);
            o->args = joined;
            free_args_list(o);          /* the command line's arguments win */
        }
    }
    return 0;
}

/* The tiering config from what the options said. */
/* What one VM exit costs a guest on this host, in us, for the slowdown
 * guard: ~23 on PVM (KVM without VMX/SVM, as on nested hosts: measured by
 * bench/probes), ~2 with hardware virtualization (kvm_intel, kvm_amd). */
static double host_exit_cost_us(void)
{
    if (access("/sys/module/kvm_intel", F_OK) == 0 || access("/sys/module/kvm_amd", F_OK) == 0)
        return 2;
    return 23;      /* PVM, or unknown: the costly case keeps the guard safe */
}

static int resolve_tiering(struct vmm_options *o, char *err, size_t errlen)
{
    struct tiering_config *c = &o->tiering;
    o->tiering_on = !o->ltram_off;
    if (!c->exit_cost_us)
        c->exit_cost_us = host_exit_cost_us();
    if (o->ltram_file) {
        c->ltram_capacity = o->ltram_file_size;
    } else {
        snprintf(c->ltram_spec, sizeof c->ltram_spec, "emulated");
        c->ltram_capacity = o->ltram_size ? o->ltram_size : o->mem;
    }
    ltram_profile_lookup(o->profile, &c->profile);     /* checked when set */
    ltram_profile_apply(&c->profile, &o->overrides);
    c->dram_budget = o->mem;
    if (o->dram_budget.set && share_bytes(&o->dram_budget, o->mem, &c->dram_budget) < 0)
        return fail(err, errlen, "--dram-budget: %llu bytes is more than --mem (%llu)",
                    (unsigned long long)o->dram_budget.bytes, (unsigned long long)o->mem);
    c->daemon = o->daemon == DAEMON_ON || (o->daemon == DAEMON_AUTO && o->dram_budget.set);
    c->pinned_below = LAYOUT_SYSTEM_END;
    return 0;
}

bool options_valid_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= OPTIONS_NAME_MAX && s[0] != '.' && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* 8-4-4-4-12 hex digits. */
static bool valid_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}

static int validate_identity(const struct vmm_options *o, char *err, size_t errlen)
{
    if (o->name && !options_valid_name(o->name))
        return fail(err, errlen, "--name '%s': 1..%d letters, digits, '.', '_' or '-', not starting with '.' or '-'",
                    o->name, OPTIONS_NAME_MAX);
    if (o->uuid && !valid_uuid(o->uuid))
        return fail(err, errlen, "--uuid '%s' is not a UUID (8-4-4-4-12 hex digits)", o->uuid);
    if (o->run_dir && o->api_sock)
        return fail(err, errlen, "--run-dir and --api-sock both name the API socket: give one");
    if (o->run_dir && !*o->run_dir)
        return fail(err, errlen, "--run-dir: empty path");
    if (o->api_sock && (!*o->api_sock || strlen(o->api_sock) >= OPTIONS_SOCK_PATH_MAX))
        return fail(err, errlen, "--api-sock: the path must be 1..%d bytes", OPTIONS_SOCK_PATH_MAX - 1);
    return 0;
}

int options_validate(struct vmm_options *o, char *err, size_t errlen)
{
    if (validate_identity(o, err, errlen) < 0)
        return -EINVAL;
    if (!o->payload || !*o->payload)
        return fail(err, errlen, "no payload given (usage: arom-vmm [options] PAYLOAD.elf [-- args])");
    if (o->mem % LAYOUT_RAM_ALIGN)
        return fail(err, errlen, "--mem must be a multiple of 2M (got %llu bytes)", (unsigned long long)o->mem);
    if (o->args && strlen(o->args) >= AROM_CMDLINE_MAX)
        return fail(err, errlen, "guest arguments longer than %d bytes", AROM_CMDLINE_MAX - 1);
    if (!o->linux_mode && (o->linux_root || o->linux_root_rw || o->linux_calls))
        return fail(err, errlen, "--linux-root, --linux-root-rw and --linux-calls go with --linux");
    const char *calls = o->linux_calls ? o->linux_calls : "exit";
    if (strcmp(calls, "ring") && strcmp(calls, "exit"))
        return fail(err, errlen, "--linux-calls: '%s' is not exit or ring", calls);
    /* The ring's stub returns to the program itself, which only PVM's CPL3 entry allows (it checks: at
     * CPL0 it takes the exit). */
    o->linux_ring = !strcmp(calls, "ring");
    return resolve_tiering(o, err, errlen);
}

void options_usage(FILE *f)
{
    fprintf(f, "usage: arom-vmm [options] PAYLOAD.elf [--] [guest args...]\n\noptions:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_desc *d = &opt_table[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", d->name, d->metavar ? " " : "", d->metavar ? d->metavar : "");
        if (strlen(left) >= 26)     /* too wide for the column: help on the next line */
            fprintf(f, "  %s\n  %-26s %s\n", left, "", d->help);
        else
            fprintf(f, "  %-26s %s\n", left, d->help);
    }
    fprintf(f, "\nA config file holds the same settings as a JSON object, e.g.\n"
               "  {\"mem\": \"1G\", \"vcpus\": 2, \"payload\": \"hello.elf\"}\n"
               "Exit status: the guest's exit status; 2 bad usage or payload; 1 VMM failure;\n"
               "125 the guest crashed (unhandled exception or triple fault).\n");
}
