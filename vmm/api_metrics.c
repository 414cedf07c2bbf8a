#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/prom.h"
#include "vmm/api_metrics.h"

enum source { VM, TIER };

/* Named the Prometheus way: the arom_ prefix, base units (bytes, seconds,
 * ratios of 1), _total on counters. */
static const struct family {
    const char *name, *type, *help;
    enum source src;
    const char *path;           /* in the view */
    double scale;
} families[] = {
    {"arom_vm_vcpus", "gauge", "vCPUs of the VM.", VM, "vcpus", 1},
    {"arom_vm_memory_bytes", "gauge", "Guest RAM.", VM, "mem_bytes", 1},
    {"arom_vm_uptime_seconds", "gauge", "Time since the VMM started.", VM, "uptime_s", 1},
    {"arom_vm_paused", "gauge", "1 while the operator has the vCPUs paused.", VM, "paused", 1},
    {"arom_dram_resident_bytes", "gauge", "Guest RAM backed by host DRAM.", TIER, "dram_resident_bytes", 1},
    {"arom_dram_budget_bytes", "gauge", "DRAM the tiering daemon keeps the VM within.", TIER, "dram_budget_bytes", 1},
    {"arom_ltram_resident_bytes", "gauge", "Guest RAM on LtRAM.", TIER, "pages.ltram", 4096},
    {"arom_ltram_capacity_bytes", "gauge", "LtRAM device capacity.", TIER, "ltram.capacity_bytes", 1},
    {"arom_ltram_frames_used", "gauge", "LtRAM frames holding guest pages.", TIER, "ltram.frames_used", 1},
    {"arom_promotions_total", "counter", "Pages copied from LtRAM to DRAM on a guest store.", TIER, "promotions", 1},
    {"arom_demotions_total", "counter", "Pages moved from DRAM to LtRAM.", TIER, "demotions", 1},
    {"arom_ltram_bytes_written_total", "counter", "Bytes written to LtRAM by the host.", TIER, "ltram.bytes_written", 1},
    {"arom_ltram_media_bytes_written_total", "counter", "Bytes the LtRAM media wrote (write units, erases).",
     TIER, "ltram.media_bytes_written", 1},
    {"arom_ltram_wear_max_writes", "gauge", "Writes of the most written LtRAM frame.", TIER, "ltram.wear.max", 1},
    {"arom_ltram_wear_mean_writes", "gauge", "Mean writes per LtRAM frame.", TIER, "ltram.wear.mean", 1},
    {"arom_ltram_tokens", "gauge", "Endurance tokens available for demotion.", TIER, "tokens.level", 1},
    {"arom_ltram_tokens_granted_total", "counter", "Endurance tokens spent on demotions.", TIER, "tokens.granted", 1},
    {"arom_host_mappings", "gauge", "Host memory mappings of the VMM process (the engine's running count).", TIER, "mappings.estimated", 1},
    {"arom_host_mappings_limit", "gauge", "The host's vm.max_map_count.", TIER, "mappings.max_map_count", 1},
    {"arom_write_faults_total", "counter", "Guest stores to LtRAM pages served by the host.", TIER,
     "faults.write_faults", 1},
    {"arom_access_faults_total", "counter", "Access-sampling faults served by the host.", TIER, "faults.access_faults", 1},
    {"arom_slowdown_ratio", "gauge", "Share of vCPU time tiering cost the guest (smoothed).", TIER,
     "daemon.guard.slowdown_pct", 0.01},
    {"arom_slowdown_target_ratio", "gauge", "The slowdown guard's target.", TIER, "daemon.guard.max_slowdown_pct", 0.01},
    {"arom_daemon_epochs_total", "counter", "Tiering daemon epochs.", TIER, "daemon.epochs", 1},
    {"arom_over_budget_seconds_total", "counter", "Time DRAM use was over the budget.", TIER, "daemon.over_budget_s", 1},
    {"arom_pingpongs_total", "counter", "Promotions soon after the page's demotion.", TIER, "daemon.pingpongs", 1},
    {"arom_audit_failures_total", "counter", "LtRAM frames whose checksum did not match.", TIER, "audit_failures", 1},
};

static const char *view_str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : "";
}

static void vm_labels(char *labels, size_t cap, const struct api_view *v)
{
    labels[0] = '\0';
    prom_label(labels, cap, "vm", view_str(v->vm, "name"));
}

static void info(struct prom *p, const struct api_view *views, size_t n)
{
    prom_family(p, "arom_vm_info", "gauge", "The VM's identity; always 1.");
    for (size_t i = 0; i < n; i++) {
        char l[1024];
        vm_labels(l, sizeof l, &views[i]);
        prom_label(l, sizeof l, "uuid", view_str(views[i].vm, "uuid"));
        prom_label(l, sizeof l, "state", view_str(views[i].vm, "state"));
        prom_label(l, sizeof l, "version", view_str(views[i].vm, "version"));
        prom_label(l, sizeof l, "payload", view_str(views[i].vm, "payload"));
        prom_sample(p, "arom_vm_info", l, 1);
    }
}

#define PROMOTION_HIST "arom_promotion_duration_seconds"

/* One cumulative bucket: the VM's labels plus le. */
static void bucket(struct prom *p, const char *base, const char *le, double count)
{
    char l[600];
    snprintf(l, sizeof l, "%s", base);
    prom_label(l, sizeof l, "le", le);
    prom_sample(p, PROMOTION_HIST "_bucket", l, count);
}

static void promotion_histogram(struct prom *p, const struct api_view *views, size_t n)
{
    prom_family(p, PROMOTION_HIST, "histogram", "Time from a guest store to an LtRAM page until the vCPU can retry.");
    for (size_t i = 0; i < n; i++) {
        json_object *lat, *bk;
        if (!views[i].tiering || !json_object_object_get_ex(views[i].tiering, "promotion_latency", &lat) ||
            !json_object_object_get_ex(lat, "buckets", &bk) || !json_object_is_type(bk, json_type_array))
            continue;
        double count = 0, sum_us = 0;
        json_path_number(lat, "count", &count);
        json_path_number(lat, "sum_us", &sum_us);
        char base[512];
        vm_labels(base, sizeof base, &views[i]);
        for (size_t b = 0; b < json_object_array_length(bk); b++) {
            double le_us, c;
            json_object *e = json_object_array_get_idx(bk, b);
            if (!json_path_number(e, "le_us", &le_us) || !json_path_number(e, "count", &c))
                continue;
            char le[32];
            snprintf(le, sizeof le, "%g", le_us / 1e6);
            bucket(p, base, le, c);
        }
        bucket(p, base, "+Inf", count);
        prom_sample(p, PROMOTION_HIST "_sum", base, sum_us / 1e6);
        prom_sample(p, PROMOTION_HIST "_count", base, count);
    }
}

char *api_metrics_text(const struct api_view *views, size_t n)
{
    struct prom p = {0};
    info(&p, views, n);
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        const struct family *fm = &families[f];
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            json_object *src = fm->src == VM ? views[i].vm : views[i].tiering;
            double v;
            if (!src || !json_path_number(src, fm->path, &v))
                continue;
            if (!any)
                prom_family(&p, fm->name, fm->type, fm->help);
            any = true;
            char l[512];
            vm_labels(l, sizeof l, &views[i]);
            prom_sample(&p, fm->name, l, v * fm->scale);
        }
    }
    promotion_histogram(&p, views, n);
    return prom_finish(&p);
}
