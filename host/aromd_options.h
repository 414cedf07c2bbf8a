/* aromd's settings: the command line over an optional JSON config file
 * (host/aromd.json is the shipped default). */
#ifndef AROM_HOST_AROMD_OPTIONS_H
#define AROM_HOST_AROMD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/parse.h"

#define AROMD_LISTEN "127.0.0.1:9470"
#define AROMD_RUN_DIR "/run/arom"
#define AROMD_INTERVAL_MS 1000
#define AROMD_INTERVAL_MIN 100
#define AROMD_INTERVAL_MAX 60000

struct aromd_options {
    char listen[160];           /* ADDR:PORT or unix:PATH */
    char run_dir[256];
    struct share host_dram;     /* unset: observe only, set no budgets */
    unsigned interval_ms;
    bool quiet, help, version;
};

void aromd_options_init(struct aromd_options *o);
/* Apply a config file's JSON text (origin names it in errors). 0 or -EINVAL with err. */
int aromd_options_json(struct aromd_options *o, const char *json, const char *origin, char *err, size_t errlen);
/* The command line, after the --config file it names. 0 or -EINVAL with err. */
int aromd_options_parse(struct aromd_options *o, int argc, char **argv, char *err, size_t errlen);
void aromd_usage(FILE *f);

#endif
