/* libFuzzer target: arom-vmm's option and config parser (vmm/options.c and
 * the number parsers of lib/parse.c under it) and the libvirt domain XML
 * parser it applies (vmm/domain_xml.c). Each input is used four ways:
 *
 *  (a) as a NUL-separated argv list (after "arom-vmm"): options_init,
 *      options_parse_argv, options_validate, options_free. A --config value
 *      is never opened as given (the fuzzer must not read arbitrary files,
 *      let alone block on /dev/stdin): it names the config file of (c),
 *      or - by its first letter - a missing file ('n'), a directory ('d')
 *      or an empty file ('z'); a --domain-xml value the same way, and a
 *      --libvirt URI is always libvirt's built-in test:///default (no
 *      daemon, no file);
 *  (b) as JSON text (a NUL-terminated copy) for options_apply_json, then
 *      options_validate;
 *  (c) written to a config file (created once in /tmp, rewritten each
 *      input) and parsed as "arom-vmm --config FILE p.elf";
 *  (d) as domain XML (the same NUL-terminated copy) for
 *      options_apply_domain, then options_validate;
 * and each argv word also goes through every lib/parse.h parser (share_bytes
 * with the totals arom-vmm can pass and totals near 2^64, where doubles
 * round: a bug found that way is fixed, its input in the corpus).
 *
 * Invariants (abort() on violation): no crash, no leak (ASan/LSan: the
 * harness frees all it allocates); every failing call returns -EINVAL and
 * leaves a non-empty, NUL-terminated message; a successful validate leaves
 * values within the documented bounds; options_free always succeeds, clears
 * the strings and may be called again; the parsers return 0, -EINVAL or
 * -ERANGE, write *out only on success, and keep their documented ranges. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arom/abi.h"
#include "lib/parse.h"
#include "vmm/layout.h"
#include "vmm/options.h"

#define FUZZ_TARGET "fuzz_options"
#include "tests/fuzz/violation.h"

#define MAX_ARGS 64

/* The config file of (c): created once in /tmp and unlinked at once, so
 * that nothing is left behind however the process ends (libFuzzer does not
 * run atexit handlers); the parser opens it by its /proc/self/fd name. */
static int cfg_fd = -1;
static char cfg_path[64];
static int cfg_ready;
static FILE *devnull;        /* where --help's usage text goes */

#define CHECK(cond, ...) do { if (!(cond)) violation(__VA_ARGS__); } while (0)

static void setup(void)
{
    char tmpl[] = "/tmp/arom-fuzz-options-XXXXXX";
    cfg_fd = mkstemp(tmpl);
    if (cfg_fd < 0) {
        perror("fuzz_options: mkstemp");
        abort();
    }
    unlink(tmpl);
    snprintf(cfg_path, sizeof cfg_path, "/proc/self/fd/%d", cfg_fd);
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        abort();
    cfg_ready = 1;
}

static void write_cfg(const uint8_t *data, size_t size)
{
    if (ftruncate(cfg_fd, 0) < 0) {
        perror("fuzz_options: truncating the config file");
        abort();
    }
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(cfg_fd, data + done, size - done, (off_t)done);
        if (n <= 0) {
            perror("fuzz_options: writing the config file");
            abort();
        }
        done += (size_t)n;
    }
}

/* A failing call: -EINVAL and a message; a successful one leaves err alone. */
static void check_rc(int rc, const char *err, size_t errlen, const char *what)
{
    CHECK(memchr(err, 0, errlen), "%s: message not NUL-terminated", what);
    if (rc == 0)
        return;
    CHECK(rc == -EINVAL, "%s returned %d (want 0 or -EINVAL; message \"%s\")", what, rc, err);
    CHECK(err[0], "%s failed (%d) with an empty message", what, rc);
}

/* What options_validate() promises once it said 0. */
static void check_valid(const struct vmm_options *o)
{
    CHECK(o->payload && *o->payload, "validated without a payload");
    CHECK(o->mem >= LAYOUT_MIN_RAM && o->mem <= LAYOUT_MAX_RAM && o->mem % LAYOUT_RAM_ALIGN == 0,
          "validated --mem %llu", (unsigned long long)o->mem);
    CHECK(o->vcpus >= 1 && o->vcpus <= AROM_MAX_VCPUS, "validated --vcpus %u", o->vcpus);
    CHECK(!o->args || strlen(o->args) < AROM_CMDLINE_MAX, "validated guest args of %zu bytes", strlen(o->args));
    const struct tiering_config *c = &o->tiering;
    CHECK(c->dram_budget <= o->mem, "DRAM budget %llu above --mem %llu", (unsigned long long)c->dram_budget,
          (unsigned long long)o->mem);
    CHECK(memchr(c->ltram_spec, 0, sizeof c->ltram_spec), "ltram_spec not NUL-terminated");
    CHECK(isfinite(c->delay_scale) && c->delay_scale >= 0 && c->delay_scale <= 1000, "delay scale %g",
          c->delay_scale);
    CHECK(isfinite(c->token_lifetime_s) && c->token_lifetime_s >= 1, "token lifetime %g", c->token_lifetime_s);
    CHECK(isfinite(c->token_rate) && c->token_rate >= 0 && c->token_rate <= 1e12, "token rate %g", c->token_rate);
    CHECK(c->epoch_ms >= 50 && c->epoch_ms <= 60000, "epoch %u ms", c->epoch_ms);
    CHECK(c->samples_per_gib <= 1u << 20, "access samples %u", c->samples_per_gib);
    CHECK(c->profile.name[0] && memchr(c->profile.name, 0, sizeof c->profile.name), "no LtRAM profile name");
    CHECK(o->tiering_on == !o->ltram_off, "tiering_on %d with ltram_off %d", o->tiering_on, o->ltram_off);
}

static void free_options(struct vmm_options *o)
{
    options_free(o);
    CHECK(!o->payload && !o->args && !o->stats_json, "options_free left a string behind");
    options_free(o);                    /* idempotent */
}

/* argv[1..] as given, then options_validate when parsing succeeded. */
static void run_argv(int argc, char **argv)
{
    struct vmm_options o;
    char err[256];
    memset(err, 0, sizeof err);
    options_init(&o);
    int rc = options_parse_argv(&o, argc, argv, err, sizeof err);
    check_rc(rc, err, sizeof err, "options_parse_argv");
    if (rc == 0 && o.help)
        options_usage(devnull);
    if (rc == 0) {
        memset(err, 0, sizeof err);
        rc = options_validate(&o, err, sizeof err);
        check_rc(rc, err, sizeof err, "options_validate");
        if (rc == 0)
            check_valid(&o);
    }
    free_options(&o);
}

typedef int settings_fn(struct vmm_options *o, const char *text, const char *origin, char *err, size_t errlen);

/* (b) and (d): settings text through fn, then validate. */
static void run_settings(settings_fn *fn, const char *what, const char *text)
{
    struct vmm_options o;
    char err[1024];
    memset(err, 0, sizeof err);
    options_init(&o);
    int rc = fn(&o, text, "fuzz", err, sizeof err);
    check_rc(rc, err, sizeof err, what);
    if (rc == 0) {
        memset(err, 0, sizeof err);
        rc = options_validate(&o, err, sizeof err);
        check_rc(rc, err, sizeof err, "options_validate after settings");
        if (rc == 0)
            check_valid(&o);
    }
    free_options(&o);
}

/* lib/parse.h: 0, -EINVAL or -ERANGE; *out only written on success. */
static void check_parse_rc(int rc, const char *what, const char *s)
{
    CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE, "%s(\"%s\") returned %d", what, s, rc);
}

static void run_parsers(const char *s)
{
    const uint64_t U = 0x5eed5eed5eed5eedull;
    const double D = -12345.5;
    uint64_t u;
    double d;
    int rc;
#define PARSE_U(fn)                                                                    \
    u = U;                                                                             \
    rc = fn(s, &u);                                                                    \
    check_parse_rc(rc, #fn, s);                                                        \
    CHECK(rc == 0 || u == U, #fn "(\"%s\") failed (%d) but wrote *out", s, rc);
    PARSE_U(parse_u64)
    PARSE_U(parse_size)
    PARSE_U(parse_count)
    PARSE_U(parse_ns)
#define PARSE_D(fn)                                                                    \
    d = D;                                                                             \
    rc = fn(s, &d);                                                                    \
    check_parse_rc(rc, #fn, s);                                                        \
    CHECK(rc == 0 || d == D, #fn "(\"%s\") failed (%d) but wrote *out", s, rc);        \
    CHECK(rc != 0 || isfinite(d), #fn "(\"%s\") = %g is not finite", s, d);
    PARSE_D(parse_double)
    PARSE_D(parse_duration)
    CHECK(rc != 0 || d >= 0, "parse_duration(\"%s\") = %g < 0", s, d);

    struct share sh;
    memset(&sh, 0x5e, sizeof sh);
    struct share junk = sh;
    rc = parse_share(s, &sh);
    check_parse_rc(rc, "parse_share", s);
    if (rc < 0) {
        CHECK(!memcmp(&sh, &junk, sizeof sh), "parse_share(\"%s\") failed (%d) but wrote *out", s, rc);
        return;
    }
    CHECK(!sh.pct || (isfinite(sh.percent) && sh.percent >= 0 && sh.percent <= 100),
          "parse_share(\"%s\") = %g%%", s, sh.percent);
    /* The totals arom-vmm passes (--mem: 0 .. 64 GiB), and totals beyond
     * 2^53, where a double cannot hold every integer. */
    static const uint64_t totals[] = {0, 1, 8ull << 20, 256ull << 20, LAYOUT_MAX_RAM,
                                      UINT64_MAX, (1ull << 60) - 1};
    size_t ntotals = sizeof totals / sizeof totals[0];
    for (size_t i = 0; i < ntotals; i++) {
        u = U;
        rc = share_bytes(&sh, totals[i], &u);
        CHECK(rc == 0 || rc == -ERANGE, "share_bytes(\"%s\", %llu) returned %d", s,
              (unsigned long long)totals[i], rc);
        CHECK(rc != 0 || u <= totals[i], "share_bytes(\"%s\", %llu) = %llu, more than the total", s,
              (unsigned long long)totals[i], (unsigned long long)u);
        CHECK(rc == 0 || u == U, "share_bytes(\"%s\") failed but wrote *out", s);
    }
}

/* What a --config value may name: see the header. Returns a static string. */
static const char *config_target(const char *value)
{
    switch (value[0]) {
    case 0: return "";
    case 'n': return "/nonexistent/arom-fuzz.json";
    case 'd': return "/";
    case 'z': return "/dev/null";
    default: return cfg_path;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cfg_ready)
        setup();
    write_cfg(data, size);

    /* (a) argv */
    char *text = malloc(size + 1);
    char **argv = malloc((MAX_ARGS + 2) * sizeof *argv);
    char *owned[MAX_ARGS + 1];
    int nowned = 0;
    if (!text || !argv)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    int argc = 0;
    argv[argc++] = "arom-vmm";
    for (size_t i = 0; i < size && argc <= MAX_ARGS;) {
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    /* Options that name files or connections: never as given. */
    static const char *const named[] = {"--config", "--domain-xml", "--libvirt"};
    for (int i = 1; i < argc; i++) {
        for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
            size_t n = strlen(named[k]);
            if (strncmp(argv[i], named[k], n) || (argv[i][n] && argv[i][n] != '='))
                continue;
            const char *value = argv[i][n] ? argv[i] + n + 1 : i + 1 < argc ? argv[i + 1] : NULL;
            if (!value)
                break;
            const char *target = k == 2 ? "test:///default" : config_target(value);
            if (!argv[i][n]) {
                argv[++i] = (char *)target;
            } else {
                char *s = malloc(n + strlen(target) + 2);
                if (!s)
                    abort();
                sprintf(s, "%s=%s", named[k], target);
                argv[i] = owned[nowned++] = s;
            }
            break;
        }
    }
    run_argv(argc, argv);
    for (int i = 1; i < argc; i++)
        run_parsers(argv[i]);

    /* (b) the same bytes as JSON text (up to the first NUL) */
    run_settings(options_apply_json, "options_apply_json", text);

    /* (c) the same bytes as a config file */
    char *cfg_argv[] = {"arom-vmm", "--config", cfg_path, "p.elf", NULL};
    run_argv(4, cfg_argv);

    /* (d) the same bytes as domain XML */
    run_settings(options_apply_domain, "options_apply_domain", text);

    for (int i = 0; i < nowned; i++)
        free(owned[i]);
    free(argv);
    free(text);
    return 0;
}
