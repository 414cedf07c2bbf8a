#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "lib/parse.h"
#include "vmm/options.h"

static void test_parse_size(void)
{
    uint64_t v;
    CU_ASSERT_EQUAL(parse_size("4096", &v), 0);
    CU_ASSERT_EQUAL(v, 4096);
    CU_ASSERT_EQUAL(parse_size("64K", &v), 0);
    CU_ASSERT_EQUAL(v, 64ull << 10);
    CU_ASSERT_EQUAL(parse_size("512M", &v), 0);
    CU_ASSERT_EQUAL(v, 512ull << 20);
    CU_ASSERT_EQUAL(parse_size("2g", &v), 0);
    CU_ASSERT_EQUAL(v, 2ull << 30);
    CU_ASSERT_EQUAL(parse_size("1GiB", &v), 0);
    CU_ASSERT_EQUAL(v, 1ull << 30);
    CU_ASSERT_EQUAL(parse_size("3MB", &v), 0);
    CU_ASSERT_EQUAL(v, 3ull << 20);
    CU_ASSERT_EQUAL(parse_size("1T", &v), 0);
    CU_ASSERT_EQUAL(v, 1ull << 40);
}

static void test_parse_size_rejects(void)
{
    uint64_t v = 7;
    const char *bad[] = {"", "M", "-1", " 1", "1 ", "1X", "1.5G", "1MM", "0x10", "1Gi", "1iB", NULL};
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(parse_size(bad[i], &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_size("99999999999999999999", &v), -ERANGE);
    CU_ASSERT_EQUAL(parse_size("17179869184G", &v), -ERANGE);       /* 2^34 G overflows */
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_EQUAL(parse_size(NULL, &v), -EINVAL);
}

static int parse(struct vmm_options *o, char *err, int argc, char **argv)
{
    options_init(o);
    return options_parse_argv(o, argc, argv, err, 256);
}

static void test_argv_basic(void)
{
    struct vmm_options o;
    char err[256] = "";
    char *argv[] = {"arom-vmm", "--mem", "1G", "--vcpus=2", "--quiet", "p.elf", "--", "a=1", "b", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&o, err, 9, argv), 0);
    CU_ASSERT_EQUAL(o.mem, 1ull << 30);
    CU_ASSERT_EQUAL(o.vcpus, 2);
    CU_ASSERT(o.quiet);
    CU_ASSERT_STRING_EQUAL(o.payload, "p.elf");
    CU_ASSERT_STRING_EQUAL(o.args, "a=1 b");
    CU_ASSERT_EQUAL(options_validate(&o, err, sizeof err), 0);
    options_free(&o);
}

static void test_argv_args_without_separator(void)
{
    struct vmm_options o;
    char err[256];
    char *argv[] = {"arom-vmm", "p.elf", "--mem", "x", NULL};   /* after the payload: guest args */
    CU_ASSERT_EQUAL_FATAL(parse(&o, err, 4, argv), 0);
    CU_ASSERT_STRING_EQUAL(o.args, "--mem x");
    CU_ASSERT_EQUAL(o.mem, 256ull << 20);
    options_free(&o);
}

static void test_argv_errors(void)
{
    struct vmm_options o;
    char err[256];
    char *a1[] = {"arom-vmm", "--bogus", "p.elf", NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 3, a1), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bogus"));
    options_free(&o);
    char *a2[] = {"arom-vmm", "--mem", NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 2, a2), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
    options_free(&o);
    char *a3[] = {"arom-vmm", "--vcpus", "0", "p.elf", NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 4, a3), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    options_free(&o);
    char *a4[] = {"arom-vmm", "--vcpus", "3x", "p.elf", NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 4, a4), -EINVAL);
    options_free(&o);
    char *a5[] = {"arom-vmm", "--mem", "1G", NULL};               /* no payload */
    CU_ASSERT_EQUAL(parse(&o, err, 3, a5), 0);
    CU_ASSERT_EQUAL(options_validate(&o, err, sizeof err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "payload"));
    options_free(&o);
    char *a6[] = {"arom-vmm", "--mem", "9M", "p.elf", NULL};      /* not 2 MiB aligned */
    CU_ASSERT_EQUAL(parse(&o, err, 4, a6), 0);
    CU_ASSERT_EQUAL(options_validate(&o, err, sizeof err), -EINVAL);
    options_free(&o);
    char *a7[] = {"arom-vmm", "--mem", "1M", "p.elf", NULL};      /* below the minimum */
    CU_ASSERT_EQUAL(parse(&o, err, 4, a7), -EINVAL);
    options_free(&o);
}

static void test_json_config(void)
{
    struct vmm_options o;
    char err[256];
    options_init(&o);
    CU_ASSERT_EQUAL(options_apply_json(&o, "{\"mem\": \"512M\", \"vcpus\": 2, \"quiet\": true,"
                                           " \"payload\": \"x.elf\", \"args\": \"n=1\"}", "t", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.mem, 512ull << 20);
    CU_ASSERT_EQUAL(o.vcpus, 2);
    CU_ASSERT(o.quiet);
    CU_ASSERT_STRING_EQUAL(o.payload, "x.elf");
    CU_ASSERT_STRING_EQUAL(o.args, "n=1");
    CU_ASSERT_EQUAL(options_apply_json(&o, "{\"mem\": 33554432}", "t", err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.mem, 32ull << 20);
    options_free(&o);
}

/* "args" as an array: one argument per string, spaces kept; a later
 * string form or the command line's arguments replace it. */
static void test_json_args_array(void)
{
    struct vmm_options o;
    char err[256];
    options_init(&o);
    CU_ASSERT_EQUAL(options_apply_json(&o, "{\"args\": [\"--port\", \"a b\", \"\"]}", "t", err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o.args_list);
    CU_ASSERT_STRING_EQUAL(o.args_list[0], "--port");
    CU_ASSERT_STRING_EQUAL(o.args_list[1], "a b");
    CU_ASSERT_STRING_EQUAL(o.args_list[2], "");
    CU_ASSERT_PTR_NULL(o.args_list[3]);
    CU_ASSERT_STRING_EQUAL(o.args, "--port a b ");
    CU_ASSERT_EQUAL(options_apply_json(&o, "{\"args\": \"x y\"}", "t", err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(o.args_list);
    CU_ASSERT_EQUAL(options_apply_json(&o, "{\"args\": [\"a\", 3]}", "cfg", err, sizeof err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"args\"[1] is not a string"));
    CU_ASSERT_PTR_NULL(o.args_list);
    CU_ASSERT_STRING_EQUAL(o.args, "x y");              /* the refused array changed nothing */
    options_free(&o);
}

static void test_json_errors(void)
{
    struct vmm_options o;
    char err[256];
    const char *bad[] = {
        "{", "[1,2]", "42", "{\"nope\": 1}", "{\"vcpus\": \"two\"}", "{\"vcpus\": -1}",
        "{\"quiet\": \"yes\"}", "{\"mem\": 1.5}", "{\"mem\": []}", "{\"help\": true}",
        "{\"config\": \"x\"}", "{\"vcpus\": 99}", NULL,
    };
    for (int i = 0; bad[i]; i++) {
        options_init(&o);
        err[0] = 0;
        CU_ASSERT_EQUAL(options_apply_json(&o, bad[i], "cfg.json", err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "cfg.json"));
        CU_ASSERT_EQUAL(o.vcpus, 1);            /* nothing half-applied from a rejected value */
        options_free(&o);
    }
}

static void test_cli_overrides_config_file(void)
{
    char path[] = "/tmp/arom-opts-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char *json = "{\"mem\": \"64M\", \"vcpus\": 4, \"payload\": \"from-file.elf\"}";
    CU_ASSERT_EQUAL(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    struct vmm_options o;
    char err[256];
    /* --vcpus comes before --config on the command line and still wins. */
    char *argv[] = {"arom-vmm", "--vcpus", "2", "--config", path, NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 5, argv), 0);
    CU_ASSERT_EQUAL(o.vcpus, 2);
    CU_ASSERT_EQUAL(o.mem, 64ull << 20);
    CU_ASSERT_STRING_EQUAL(o.payload, "from-file.elf");
    options_free(&o);
    char *argv2[] = {"arom-vmm", "--config", "/nonexistent/arom.json", "p.elf", NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 4, argv2), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/arom.json"));
    options_free(&o);
    unlink(path);
}

/* Write a config file of exactly these bytes; returns its path (static). */
static const char *config_file(const void *bytes, size_t n)
{
    static char path[32];
    snprintf(path, sizeof path, "/tmp/arom-opts-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, bytes, n), (ssize_t)n);
    close(fd);
    return path;
}

static int parse_config(const char *path, char *err)
{
    struct vmm_options o;
    char *argv[] = {"arom-vmm", "--config", (char *)path, "p.elf", NULL};
    int rc = parse(&o, err, 4, argv);
    options_free(&o);
    unlink(path);
    return rc;
}

static void test_config_file_limits(void)
{
    char err[256];
    /* JSON after a NUL byte must not be silently ignored. */
    static const char nul[] = "{\"vcpus\":2}\0{\"vcpus\":999}";
    CU_ASSERT_EQUAL(parse_config(config_file(nul, sizeof nul - 1), err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "NUL"));
    /* Over 1 MiB: refused (whitespace, so only the size check can refuse it). */
    size_t big = (1u << 20) + 16;
    char *text = malloc(big);
    CU_ASSERT_FATAL(text != NULL);
    memset(text, ' ', big);
    memcpy(text, "{}", 2);
    CU_ASSERT_EQUAL(parse_config(config_file(text, big), err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "1 MiB"));
    /* Exactly 1 MiB of valid JSON is fine. */
    CU_ASSERT_EQUAL(parse_config(config_file(text, 1u << 20), err), 0);
    free(text);
    CU_ASSERT_EQUAL(parse_config(config_file("", 0), err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
}

static void test_duration_overflow(void)
{
    double v = 7;
    CU_ASSERT_EQUAL(parse_duration("5y", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 5 * 365.25 * 86400, 1);
    CU_ASSERT_EQUAL(parse_duration("1e308y", &v), -ERANGE);   /* would be +inf: pacing off */
    CU_ASSERT_EQUAL(parse_duration("1e999", &v), -ERANGE);
    CU_ASSERT_EQUAL(parse_duration("inf", &v), -EINVAL);
    struct vmm_options o;
    char err[256];
    char *argv[] = {"arom-vmm", "--token-lifetime", "1e308y", "p.elf", NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 4, argv), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    options_free(&o);
}

/* One profile override through the option table; the resolved profile. */
static int override(const char *opt, const char *value, struct ltram_profile *out, char *err)
{
    struct vmm_options o;
    char *argv[] = {"arom-vmm", (char *)opt, (char *)value, "p.elf", NULL};
    int rc = parse(&o, err, 4, argv);
    if (rc == 0)
        rc = options_validate(&o, err, 256);
    *out = o.tiering.profile;
    options_free(&o);
    return rc;
}

static void test_profile_overrides(void)
{
    static const struct { const char *opt, *value; size_t field; uint64_t want; } ok[] = {
        {"--ltram-write-ns", "250", offsetof(struct ltram_profile, write_ns), 250},
        {"--ltram-write-ns", "2us", offsetof(struct ltram_profile, write_ns), 2000},
        {"--ltram-erase-ns", "18ms", offsetof(struct ltram_profile, erase_ns), 18000000},
        {"--ltram-read-ns", "100ns", offsetof(struct ltram_profile, read_ns), 100},
        {"--ltram-endurance", "100000", offsetof(struct ltram_profile, endurance), 100000},
        {"--ltram-endurance", "1e4", offsetof(struct ltram_profile, endurance), 10000},
        {"--ltram-endurance", "0", offsetof(struct ltram_profile, endurance), 0},
    };
    char err[256];
    struct ltram_profile p, preset;
    CU_ASSERT_FATAL(ltram_profile_lookup(LTRAM_DEFAULT_PROFILE, &preset) == 0);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CU_ASSERT_EQUAL(override(ok[i].opt, ok[i].value, &p, err), 0);
        uint64_t got;
        memcpy(&got, (char *)&p + ok[i].field, sizeof got);
        CU_ASSERT_EQUAL(got, ok[i].want);
        CU_ASSERT_EQUAL(p.write_unit, preset.write_unit);       /* the rest is the preset's */
    }
    CU_ASSERT_EQUAL(override("--ltram-write-unit", "8K", &p, err), 0);
    CU_ASSERT_EQUAL(p.write_unit, 8192);
    CU_ASSERT_EQUAL(override("--ltram-write-unit", "256", &p, err), 0);
    CU_ASSERT_EQUAL(p.write_unit, 256);
    CU_ASSERT_EQUAL(override("--ltram-erase-block", "4KiB", &p, err), 0);
    CU_ASSERT_EQUAL(p.erase_block, 4096);
    CU_ASSERT_EQUAL(override("--ltram-erase-block", "0", &p, err), 0);
    CU_ASSERT_EQUAL(p.erase_block, 0);
    CU_ASSERT_EQUAL(override("--ltram-profile", "nor-flash", &p, err), 0);
    CU_ASSERT_STRING_EQUAL(p.name, "nor-flash");
}

static void test_profile_override_junk(void)
{
    static const struct { const char *opt, *value; } junk[] = {
        {"--ltram-write-ns", ""}, {"--ltram-write-ns", "abc"}, {"--ltram-write-ns", "12x"},
        {"--ltram-write-ns", "-5"}, {"--ltram-write-ns", " 5"}, {"--ltram-write-ns", "1.5us"},
        {"--ltram-read-ns", "11s"}, {"--ltram-erase-ns", "99999999999999999999"},
        {"--ltram-erase-ns", "20000ms"}, {"--ltram-write-unit", "0"}, {"--ltram-write-unit", "4G"},
        {"--ltram-write-unit", "K"}, {"--ltram-endurance", "1e"}, {"--ltram-endurance", "1e10"},
        {"--ltram-endurance", "5000000000"}, {"--ltram-endurance", "lots"},
        {"--ltram-profile", "floppy"},
    };
    char err[256];
    struct ltram_profile p;
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(override(junk[i].opt, junk[i].value, &p, err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, junk[i].opt));      /* the message names the option */
    }
}

/* A budget in % of --mem resolves whatever the order; the daemon follows it. */
static void test_budget_resolved_once(void)
{
    struct vmm_options o;
    char err[256];
    char *a1[] = {"arom-vmm", "--dram-budget", "25%", "--mem", "1G", "p.elf", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&o, err, 6, a1), 0);
    CU_ASSERT_EQUAL(options_validate(&o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(o.tiering.dram_budget, 256ull << 20);
    CU_ASSERT(o.tiering.daemon && o.tiering_on);
    options_free(&o);
    char *a2[] = {"arom-vmm", "--dram-budget", "2G", "--mem", "1G", "p.elf", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&o, err, 6, a2), 0);
    CU_ASSERT_EQUAL(options_validate(&o, err, sizeof err), -EINVAL);   /* more than --mem */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--dram-budget"));
    options_free(&o);
    char *a3[] = {"arom-vmm", "--dram-budget", "150%", "p.elf", NULL};
    CU_ASSERT_EQUAL(parse(&o, err, 4, a3), -EINVAL);
    options_free(&o);
    char *a4[] = {"arom-vmm", "--ltram", "off", "--daemon", "off", "p.elf", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&o, err, 6, a4), 0);
    CU_ASSERT_EQUAL(options_validate(&o, err, sizeof err), 0);
    CU_ASSERT(!o.tiering_on && !o.tiering.daemon);
    CU_ASSERT_EQUAL(o.tiering.dram_budget, o.mem);                   /* no budget: all of RAM */
    options_free(&o);
}

int register_options_tests(void)
{
    static const struct unit_test tests[] = {
        {"parse_size accepts suffixes", test_parse_size},
        {"parse_size rejects junk and overflow", test_parse_size_rejects},
        {"argv options, payload and guest args", test_argv_basic},
        {"args after the payload belong to the guest", test_argv_args_without_separator},
        {"argv errors", test_argv_errors},
        {"JSON config", test_json_config},
        {"JSON config errors", test_json_errors},
        {"JSON config: args as an array", test_json_args_array},
        {"CLI overrides config file", test_cli_overrides_config_file},
        {"config file: NUL bytes, size limit, empty", test_config_file_limits},
        {"durations that overflow are refused", test_duration_overflow},
        {"LtRAM profile overrides", test_profile_overrides},
        {"LtRAM profile overrides: junk refused", test_profile_override_junk},
        {"budget resolved once against --mem", test_budget_resolved_once},
    };
    return ADD_SUITE("options", tests);
}
