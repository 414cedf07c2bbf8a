/* arom-vmm settings: one table describes every option once (as kvmtool's
 * BUILD_OPTIONS do), with its type, bounds and the field it sets, and both
 * the command line (--name VALUE) and the JSON config file ("name": value)
 * go through it, so the two can never disagree. CLI overrides the file.
 * Values are parsed once, into typed fields: the tiering options straight
 * into struct tiering_config. options_validate() then resolves what
 * depends on several options (a budget in % of --mem, a profile plus its
 * overrides, the LtRAM capacity, daemon auto) before anything is opened,
 * so a bad value fails before /dev/kvm is touched. */
#ifndef AROM_OPTIONS_H
#define AROM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/parse.h"
#include "tiering/tiering.h"

enum daemon_mode { DAEMON_AUTO, DAEMON_ON, DAEMON_OFF };

struct vmm_options {
    uint64_t mem;             /* guest RAM bytes */
    unsigned vcpus;
    char *payload;            /* path of the ELF payload */
    char *args;               /* guest argument string */
    char *stats_json;         /* path or "-" */
    char *name;               /* the VM's name (API, aromd); default vm-PID */
    char *uuid;               /* the VM's UUID; default random */
    char *api_sock;           /* the operator API's unix socket, or NULL */
    char *run_dir;            /* aromd's run directory: the API socket goes to RUN_DIR/vms/NAME.sock */
    char *libvirt_uri;        /* --libvirt URI --domain NAME: the definition comes from libvirt */
    char *libvirt_domain;
    char *domain_text;        /* the domain XML the VM came from (--domain-xml, --libvirt), or NULL */
    char domain_notes[512];   /* what of it arom ignored */
    char *hooks_dir;          /* libvirt-style lifecycle hooks; NULL: /etc/libvirt/hooks; "off": none */
    bool linux_mode;          /* --linux: the payload is an unmodified Linux program (docs/LINUX.md) */
    char *linux_root;         /* the files it may open; NULL: none */
    bool linux_root_rw;
    char *linux_calls;        /* --linux-calls exit|ring (resolved by options_validate) */
    bool linux_ring;          /* resolved: system calls through the ring (vmm/linux_ring.c) */
    char **guest_argv;        /* the guest arguments as given on the command line (into argv; not owned) */
    char **args_list;         /* a config file's "args" as a JSON array: one string each (owned, NULL-ended) */
    int guest_argc;
    double hook_timeout_s;
    bool quiet;
    bool help;
    bool version;

    /* tiering (docs/TIERING.md): complete after options_validate() */
    bool tiering_on;          /* false with --ltram off */
    struct tiering_config tiering;

    /* inputs options_validate() resolves into `tiering` */
    bool ltram_off, ltram_file;
    uint64_t ltram_size;      /* emulated: --ltram SIZE (0 = --mem); file: --ltram-size */
    uint64_t ltram_file_size; /* --ltram-size (0 = the file's size) */
    char profile[32];
    struct ltram_overrides overrides;
    struct share dram_budget;
    enum daemon_mode daemon;
};

/* Defaults (no allocation). */
void options_init(struct vmm_options *o);
void options_free(struct vmm_options *o);

/* Parse argv: options, then PAYLOAD, then guest args (an optional "--"
 * separates them). --config FILE, --domain-xml FILE and --libvirt URI
 * --domain NAME are applied first, whatever their position.
 * Returns 0 or -EINVAL with a message in err. */
int options_parse_argv(struct vmm_options *o, int argc, char **argv, char *err, size_t errlen);

/* Apply a libvirt domain XML (text) as settings (vmm/domain_xml.h); the
 * text is kept for hooks. 0 or -EINVAL with err. */
int options_apply_domain(struct vmm_options *o, const char *xml, const char *origin, char *err, size_t errlen);

/* Apply a JSON object (text) of settings; unknown keys are errors. */
int options_apply_json(struct vmm_options *o, const char *json, const char *origin,
                       char *err, size_t errlen);

/* Check what spans several options (payload, RAM size, budget within RAM)
 * and resolve them into o->tiering. 0 or -EINVAL with a message. */
int options_validate(struct vmm_options *o, char *err, size_t errlen);

void options_usage(FILE *f);

#define OPTIONS_NAME_MAX 63
#define OPTIONS_SOCK_PATH_MAX 108   /* sun_path */
/* A VM name: 1..63 of [A-Za-z0-9._-], not starting with '.' or '-' (it
 * names sockets and URL paths). */
bool options_valid_name(const char *s);

#endif
