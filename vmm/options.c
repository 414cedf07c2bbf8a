#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arom/abi.h"
#include "vmm/layout.h"
#include "vmm/options.h"

enum opt_type { OPT_SIZE, OPT_UINT, OPT_STR, OPT_FLAG, OPT_CONFIG, OPT_DOUBLE, OPT_DURATION };

struct opt_desc {
    const char *name;
    enum opt_type type;
    size_t offset;
    uint64_t min, max;        /* OPT_SIZE / OPT_UINT bounds */
    const char *metavar;
    const char *help;
    bool cli_only;            /* meaningless in a config file */
};

#define OFF(f) offsetof(struct vmm_options, f)

static const struct opt_desc opt_table[] = {
    {"mem", OPT_SIZE, OFF(mem), LAYOUT_MIN_RAM, LAYOUT_MAX_RAM, "SIZE",
     "guest RAM (K/M/G suffixes, multiple of 2M; default 256M)", false},
    {"vcpus", OPT_UINT, OFF(vcpus), 1, AROM_MAX_VCPUS, "N", "number of vCPUs (default 1)", false},
    {"config", OPT_CONFIG, 0, 0, 0, "FILE", "read settings from a JSON object; the CLI overrides it", true},
    {"stats-json", OPT_STR, OFF(stats_json), 0, 0, "FILE", "write a JSON summary at exit ('-' = stdout)", false},
    {"payload", OPT_STR, OFF(payload), 0, 0, "FILE", "the ELF payload (usually given positionally)", false},
    {"args", OPT_STR, OFF(args), 0, 0, "STRING", "guest argument string (usually after the payload)", false},
    {"quiet", OPT_FLAG, OFF(quiet), 0, 0, NULL, "no informational messages", false},
    {"ltram", OPT_STR, OFF(ltram), 0, 0, "SIZE|file:PATH|off",
     "LtRAM tier: emulated of SIZE (default: as large as --mem), a file, or off", false},
    {"ltram-size", OPT_SIZE, OFF(ltram_size), 4096, 1ull << 40, "SIZE", "capacity of a file: LtRAM backend", false},
    {"ltram-profile", OPT_STR, OFF(ltram_profile), 0, 0, "NAME",
     "device preset: nor-flash, optane, fefet (default), vrram, sttmram, dram", false},
    {"ltram-read-ns", OPT_STR, OFF(ltram_read_ns), 0, 0, "NS", "override the profile's read latency", false},
    {"ltram-write-ns", OPT_STR, OFF(ltram_write_ns), 0, 0, "NS", "override the write latency per write unit", false},
    {"ltram-write-unit", OPT_STR, OFF(ltram_write_unit), 0, 0, "BYTES", "override the write unit", false},
    {"ltram-erase-ns", OPT_STR, OFF(ltram_erase_ns), 0, 0, "NS", "override the erase latency per block", false},
    {"ltram-erase-block", OPT_STR, OFF(ltram_erase_block), 0, 0, "BYTES", "override the erase block", false},
    {"ltram-endurance", OPT_STR, OFF(ltram_endurance), 0, 0, "N", "override write cycles per frame (0 = unlimited)", false},
    {"ltram-delay-scale", OPT_DOUBLE, OFF(ltram_delay_scale), 0, 1000, "X",
     "scale the injected LtRAM write latency (0 = none; default 1)", false},
    {"ltram-prefault", OPT_FLAG, OFF(ltram_prefault), 0, 0, NULL,
     "allocate all LtRAM frames at start (benchmarks: no first-touch cost in demotions)", false},
    {"tokens", OPT_FLAG, OFF(tokens), 0, 0, NULL, "pace demotions with the endurance token bucket (default on; --tokens=off)", false},
    {"token-lifetime", OPT_DURATION, OFF(token_lifetime_s), 0, 0, "DURATION",
     "target device lifetime for the token rate (default 5y)", false},
    {"token-rate", OPT_DOUBLE, OFF(token_rate), 0, 1e12, "PER_S", "token rate (default frames x endurance / lifetime)", false},
    {"token-cap", OPT_UINT, OFF(token_cap), 1, 1u << 30, "N",
     "token bucket capacity (default: the larger of 512 and the LtRAM frames)", false},
    {"dram-budget", OPT_STR, OFF(dram_budget), 0, 0, "SIZE|PCT%", "DRAM the VM may use (default 100%)", false},
    {"map-limit", OPT_UINT, OFF(map_limit), 16, 1u << 30, "N",
     "host mappings before demotion stops (default from vm.max_map_count)", false},
    {"churn-ms", OPT_UINT, OFF(churn_ms), 1, 3600000, "MS", "testing: a host thread demotes guest RAM every MS", false},
    {"audit-ms", OPT_UINT, OFF(audit_ms), 1, 3600000, "MS", "audit LtRAM checksums every MS (always at exit)", false},
    {"daemon", OPT_STR, OFF(daemon), 0, 0, "auto|on|off",
     "tiering daemon: track accesses, keep DRAM within --dram-budget (auto: on when a budget is given)", false},
    {"epoch-ms", OPT_UINT, OFF(epoch_ms), 50, 60000, "MS", "tiering daemon epoch (default 1000)", false},
    {"access-tracking", OPT_STR, OFF(access_tracking), 0, 0, "auto|page_idle|uffd|off",
     "how the daemon samples accessed pages (default auto: page_idle if the host has it)", false},
    {"access-samples", OPT_UINT, OFF(access_samples), 0, 1u << 20, "N",
     "pages sampled for access per GiB per epoch (default 256)", false},
    {"help", OPT_FLAG, OFF(help), 0, 0, NULL, "show this help", true},
    {"version", OPT_FLAG, OFF(version), 0, 0, NULL, "show the version", true},
};

#define NOPTS (sizeof opt_table / sizeof opt_table[0])

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

void options_init(struct vmm_options *o)
{
    memset(o, 0, sizeof *o);
    o->mem = 256ull << 20;
    o->vcpus = 1;
    o->ltram_delay_scale = 1.0;
    o->tokens = true;
    o->token_lifetime_s = 5 * 365.25 * 86400;
    o->epoch_ms = 1000;
    o->access_samples = 256;
}

void options_free(struct vmm_options *o)
{
    for (size_t i = 0; i < NOPTS; i++) {
        if (opt_table[i].type == OPT_STR) {
            char **p = (char **)((char *)o + opt_table[i].offset);
            free(*p);
            *p = NULL;
        }
    }
}

int parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    case 'T': shift = 40; end++; break;
    default: break;
    }
    if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
        end += strlen(end);
    else if (!shift && !strcmp(end, "B"))
        end++;
    if (*end)
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

int parse_duration(const char *s, double *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || v < 0)
        return -EINVAL;
    static const struct { const char *suffix; double mult; } units[] = {
        {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"y", 365.25 * 86400},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (!strcmp(end, units[i].suffix)) {
            if (!isfinite(v * units[i].mult))
                return -ERANGE;         /* "1e308y": infinity would turn pacing off */
            *out = v * units[i].mult;
            return 0;
        }
    }
    return -EINVAL;
}

int parse_budget(const char *s, uint64_t total, uint64_t *out)
{
    size_t len = s ? strlen(s) : 0;
    if (len > 1 && s[len - 1] == '%') {
        char *end;
        errno = 0;
        double pct = strtod(s, &end);
        if (errno || end != s + len - 1 || !isdigit((unsigned char)*s) || pct > 100)
            return pct > 100 ? -ERANGE : -EINVAL;
        *out = (uint64_t)((double)total * pct / 100.0);
        return 0;
    }
    uint64_t v;
    int rc = parse_size(s, &v);
    if (rc < 0)
        return rc;
    if (v > total)
        return -ERANGE;
    *out = v;
    return 0;
}

static const struct opt_desc *find_opt(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (!strcmp(opt_table[i].name, name))
            return &opt_table[i];
    return NULL;
}

static int set_number(const struct opt_desc *d, struct vmm_options *o, const char *value,
                      char *err, size_t errlen)
{
    uint64_t v;
    int rc;
    if (d->type == OPT_SIZE) {
        rc = parse_size(value, &v);
    } else {
        char *end;
        errno = 0;
        v = strtoull(value, &end, 10);
        rc = (!isdigit((unsigned char)*value) || *end) ? -EINVAL : (errno ? -ERANGE : 0);
    }
    if (rc < 0)
        return fail(err, errlen, "--%s: '%s' is not a valid %s", d->name, value,
                    d->type == OPT_SIZE ? "size (e.g. 512M, 2G)" : "number");
    if (v < d->min || v > d->max)
        return fail(err, errlen, "--%s: %s is out of range (%llu..%llu)", d->name, value,
                    (unsigned long long)d->min, (unsigned long long)d->max);
    void *field = (char *)o + d->offset;
    if (d->type == OPT_SIZE)
        *(uint64_t *)field = v;
    else
        *(unsigned *)field = (unsigned)v;
    return 0;
}

static int set_opt(const struct opt_desc *d, struct vmm_options *o, const char *value,
                   char *err, size_t errlen)
{
    void *field = (char *)o + d->offset;
    switch (d->type) {
    case OPT_SIZE:
    case OPT_UINT:
        return set_number(d, o, value, err, errlen);
    case OPT_STR: {
        char *copy = strdup(value);
        if (!copy)
            return fail(err, errlen, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case OPT_DOUBLE:
    case OPT_DURATION: {
        double v;
        char *end;
        int rc = 0;
        if (d->type == OPT_DURATION) {
            rc = parse_duration(value, &v);
        } else {
            errno = 0;
            v = strtod(value, &end);
            rc = (errno || end == value || *end) ? -EINVAL : 0;
        }
        if (rc == -ERANGE)
            return fail(err, errlen, "--%s: '%s' is out of range", d->name, value);
        if (rc < 0 || v != v)
            return fail(err, errlen, "--%s: '%s' is not a valid %s", d->name, value,
                        d->type == OPT_DURATION ? "duration (e.g. 90s, 12h, 5y)" : "number");
        if (d->type == OPT_DOUBLE && (v < (double)d->min || v > (double)d->max))
            return fail(err, errlen, "--%s: %s is out of range (%llu..%llu)", d->name, value,
                        (unsigned long long)d->min, (unsigned long long)d->max);
        *(double *)field = v;
        return 0;
    }
    case OPT_FLAG:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "on"))
            *(bool *)field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "off"))
            *(bool *)field = false;
        else
            return fail(err, errlen, "--%s: expected true or false, got '%s'", d->name, value);
        return 0;
    case OPT_CONFIG:
        break;
    }
    return fail(err, errlen, "--%s cannot be set here", d->name);
}

int options_set(struct vmm_options *o, const char *name, const char *value, char *err, size_t errlen)
{
    const struct opt_desc *d = find_opt(name);
    if (!d)
        return fail(err, errlen, "unknown option '--%s' (see --help)", name);
    return set_opt(d, o, value, err, errlen);
}

/* JSON value as option text: strings as-is, integers in decimal, booleans. */
static int json_value_text(const struct opt_desc *d, json_object *v, char *buf, size_t len,
                           const char **text)
{
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
        if (d->type != OPT_SIZE && d->type != OPT_UINT && d->type != OPT_DOUBLE && d->type != OPT_DURATION)
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

int options_apply_json(struct vmm_options *o, const char *json, const char *origin,
                       char *err, size_t errlen)
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

/* Read at most CONFIG_MAX_BYTES + 1 bytes: a larger file is refused
 * without reading it all, and a NUL inside it is an error rather than the
 * end of the text (JSON after it would be silently ignored). */
static int apply_config_file(struct vmm_options *o, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, errlen, "--config %s: %s", path, strerror(errno));
    char *text = malloc(CONFIG_MAX_BYTES + 2);
    if (!text) {
        fclose(f);
        return fail(err, errlen, "out of memory");
    }
    size_t n = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
    int rc;
    if (ferror(f))
        rc = fail(err, errlen, "--config %s: %s", path, strerror(errno));
    else if (n == 0)
        rc = fail(err, errlen, "--config %s: empty", path);
    else if (n > CONFIG_MAX_BYTES)
        rc = fail(err, errlen, "--config %s: larger than 1 MiB", path);
    else if (memchr(text, '\0', n))
        rc = fail(err, errlen, "--config %s: contains a NUL byte at offset %zu", path,
                  (size_t)((char *)memchr(text, '\0', n) - text));
    else {
        text[n] = '\0';
        rc = options_apply_json(o, text, path, err, errlen);
    }
    free(text);
    fclose(f);
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
static const struct opt_desc *cli_option(int argc, char **argv, int *i, const char **value,
                                         char *err, size_t errlen)
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

int options_parse_argv(struct vmm_options *o, int argc, char **argv, char *err, size_t errlen)
{
    /* Pass 1: the config file, so everything on the command line overrides it. */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        if (argv[i][0] != '-' || argv[i][1] != '-')
            break;
        const char *value;
        const struct opt_desc *d = cli_option(argc, argv, &i, &value, err, errlen);
        if (!d)
            return -EINVAL;
        if (d->type == OPT_CONFIG) {
            int rc = apply_config_file(o, value, err, errlen);
            if (rc < 0)
                return rc;
        }
    }
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
        if (d->type == OPT_CONFIG)
            continue;
        int rc = set_opt(d, o, value, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (i < argc) {
        int rc = set_opt(find_opt("payload"), o, argv[i++], err, errlen);
        if (rc < 0)
            return rc;
        if (i < argc && !strcmp(argv[i], "--"))
            i++;
        if (i < argc) {
            char *joined = join_args(i, argc, argv);
            if (!joined)
                return fail(err, errlen, "out of memory");
            free(o->args);
            o->args = joined;
        }
    }
    return 0;
}

int options_validate(const struct vmm_options *o, char *err, size_t errlen)
{
    if (!o->payload || !*o->payload)
        return fail(err, errlen, "no payload given (usage: arom-vmm [options] PAYLOAD.elf [-- args])");
    if (o->mem % LAYOUT_RAM_ALIGN)
        return fail(err, errlen, "--mem must be a multiple of 2M (got %llu bytes)",
                    (unsigned long long)o->mem);
    if (o->args && strlen(o->args) >= AROM_CMDLINE_MAX)
        return fail(err, errlen, "guest arguments longer than %d bytes", AROM_CMDLINE_MAX - 1);
    uint64_t budget;
    if (o->dram_budget && parse_budget(o->dram_budget, o->mem, &budget) < 0)
        return fail(err, errlen, "--dram-budget: '%s' is not a size or percentage within --mem",
                    o->dram_budget);
    if (o->token_lifetime_s <= 0)
        return fail(err, errlen, "--token-lifetime must be positive");
    if (o->daemon && strcmp(o->daemon, "auto") && strcmp(o->daemon, "on") && strcmp(o->daemon, "off"))
        return fail(err, errlen, "--daemon: expected auto, on or off, got '%s'", o->daemon);
    const char *acc = o->access_tracking;
    if (acc && strcmp(acc, "auto") && strcmp(acc, "page_idle") && strcmp(acc, "uffd") && strcmp(acc, "off"))
        return fail(err, errlen, "--access-tracking: expected auto, page_idle, uffd or off, got '%s'", acc);
    return 0;
}

void options_usage(FILE *f)
{
    fprintf(f, "usage: arom-vmm [options] PAYLOAD.elf [--] [guest args...]\n\noptions:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_desc *d = &opt_table[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", d->name, d->metavar ? " " : "",
                 d->metavar ? d->metavar : "");
        fprintf(f, "  %-26s %s\n", left, d->help);
    }
    fprintf(f, "\nA config file holds the same settings as a JSON object, e.g.\n"
               "  {\"mem\": \"1G\", \"vcpus\": 2, \"payload\": \"hello.elf\"}\n"
               "Exit status: the guest's exit status; 2 bad usage or payload; 1 VMM failure;\n"
               "125 the guest crashed (unhandled exception or triple fault).\n");
}
