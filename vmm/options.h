/* arom-vmm settings: one table describes every option once, and both the
 * command line (--name VALUE) and the JSON config file ("name": value) set
 * them through it, so the two can never disagree. CLI overrides the file. */
#ifndef AROM_OPTIONS_H
#define AROM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vmm_options {
    uint64_t mem;             /* guest RAM bytes */
    unsigned vcpus;
    char *payload;            /* path of the ELF payload */
    char *args;               /* guest argument string */
    char *stats_json;         /* path or "-" */
    bool quiet;
    bool help;
    bool version;

    /* tiering (see docs/TIERING.md) */
    char *ltram;              /* "off", SIZE (emulated), "file:PATH"; NULL = emulated, RAM-sized */
    uint64_t ltram_size;      /* capacity for file: backends (0 = the file's size) */
    char *ltram_profile;
    char *ltram_read_ns, *ltram_write_ns, *ltram_write_unit;   /* profile overrides */
    char *ltram_erase_ns, *ltram_erase_block, *ltram_endurance;
    double ltram_delay_scale;
    bool ltram_prefault;
    bool tokens;
    double token_lifetime_s;
    double token_rate;
    unsigned token_cap;
    char *dram_budget;        /* SIZE or PCT% of guest RAM */
    unsigned map_limit;
    unsigned churn_ms;
    unsigned audit_ms;
    char *daemon;             /* "auto" (on with --dram-budget), "on", "off" */
    unsigned epoch_ms;
    char *access_tracking;    /* "auto", "page_idle", "uffd", "off" */
    unsigned access_samples;  /* per GiB per epoch */
};

/* Defaults (no allocation). */
void options_init(struct vmm_options *o);
void options_free(struct vmm_options *o);

/* Parse argv: options, then PAYLOAD, then guest args (an optional "--"
 * separates them). --config FILE is applied first, whatever its position.
 * Returns 0 or -EINVAL with a message in err. */
int options_parse_argv(struct vmm_options *o, int argc, char **argv, char *err, size_t errlen);

/* Apply a JSON object (text) of settings; unknown keys are errors. */
int options_apply_json(struct vmm_options *o, const char *json, const char *origin,
                       char *err, size_t errlen);

/* Set one option by name from text, as the CLI does. */
int options_set(struct vmm_options *o, const char *name, const char *value,
                char *err, size_t errlen);

/* Check cross-option constraints (RAM size limits, vCPU count, payload). */
int options_validate(const struct vmm_options *o, char *err, size_t errlen);

/* "512M", "2G", "4096", "64KiB": bytes. -EINVAL on junk, -ERANGE on overflow. */
int parse_size(const char *s, uint64_t *out);
/* "90", "90s", "15m", "12h", "30d", "5y": seconds. -EINVAL on junk. */
int parse_duration(const char *s, double *out);
/* "512M" or "25%" of total: bytes. -EINVAL on junk, -ERANGE if > total. */
int parse_budget(const char *s, uint64_t total, uint64_t *out);

void options_usage(FILE *f);

#endif
