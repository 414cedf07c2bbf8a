#include <errno.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "vmm/stats.h"

void stats_init(struct vmm_stats *s)
{
    memset(s, 0, sizeof *s);
    s->t_start_ns = clock_now_ns();
    pthread_mutex_init(&s->metrics_lock, NULL);
}

void stats_destroy(struct vmm_stats *s)
{
    pthread_mutex_destroy(&s->metrics_lock);
}

void stats_count_exit(struct vmm_stats *s, uint32_t reason)
{
    s->exits[reason < STATS_EXIT_REASONS ? reason : STATS_EXIT_REASONS]++;
}

void stats_count_hypercall(struct vmm_stats *s, unsigned nr)
{
    if (nr < AROM_HC_MAX)
        s->hypercalls[nr]++;
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&s->t_first_hypercall_ns, &zero, clock_now_ns());
}

static struct metric *find_metric(struct vmm_stats *s, const char *key, size_t len)
{
    for (unsigned i = 0; i < s->nmetrics; i++)
        if (strlen(s->metrics[i].key) == len && !memcmp(s->metrics[i].key, key, len))
            return &s->metrics[i];
    return NULL;
}

int stats_report(struct vmm_stats *s, const char *key, size_t key_len, double value)
{
    if (key_len == 0 || key_len > AROM_REPORT_KEY_MAX)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&s->metrics_lock);
    struct metric *m = find_metric(s, key, key_len);
    if (!m && s->nmetrics < STATS_MAX_METRICS) {
        m = &s->metrics[s->nmetrics++];
        memcpy(m->key, key, key_len);
        m->key[key_len] = 0;
    }
    if (m) {
        m->value = value;
        m->count++;
    } else {
        rc = -ENOSPC;
    }
    pthread_mutex_unlock(&s->metrics_lock);
    return rc;
}

int stats_metric(struct vmm_stats *s, const char *key, double *value)
{
    pthread_mutex_lock(&s->metrics_lock);
    struct metric *m = find_metric(s, key, strlen(key));
    if (m)
        *value = m->value;
    pthread_mutex_unlock(&s->metrics_lock);
    return m ? 0 : -ENOENT;
}

static const char *const exit_names[STATS_EXIT_REASONS] = {
    [KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_EXCEPTION] = "exception", [KVM_EXIT_IO] = "io",
    [KVM_EXIT_HYPERCALL] = "hypercall", [KVM_EXIT_DEBUG] = "debug", [KVM_EXIT_HLT] = "hlt",
    [KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window",
    [KVM_EXIT_SHUTDOWN] = "shutdown", [KVM_EXIT_FAIL_ENTRY] = "fail_entry", [KVM_EXIT_INTR] = "intr",
    [KVM_EXIT_INTERNAL_ERROR] = "internal_error", [KVM_EXIT_SYSTEM_EVENT] = "system_event",
};

static const char *const hypercall_names[AROM_HC_MAX] = {
    [AROM_HC_PUTS] = "puts", [AROM_HC_EXIT] = "exit", [AROM_HC_TIME] = "time",
    [AROM_HC_REPORT] = "report", [AROM_HC_VCPU_DONE] = "vcpu_done", [AROM_HC_HINT] = "hint",
    [AROM_HC_TIER_STATS] = "tier_stats", [AROM_HC_TIER_QUERY] = "tier_query",
};

static json_object *exits_json(struct vmm_stats *s)
{
    json_object *o = json_object_new_object();
    for (unsigned r = 0; r <= STATS_EXIT_REASONS; r++) {
        uint64_t n = s->exits[r];
        if (!n)
            continue;
        char name[32];
        if (r == STATS_EXIT_REASONS)
            snprintf(name, sizeof name, "other");
        else if (exit_names[r])
            snprintf(name, sizeof name, "%s", exit_names[r]);
        else
            snprintf(name, sizeof name, "reason_%u", r);
        json_object_object_add(o, name, json_object_new_uint64(n));
    }
    return o;
}

static double seconds_between(uint64_t from, uint64_t to)
{
    return (from && to >= from) ? (double)(to - from) / 1e9 : 0.0;
}

json_object *stats_to_json(struct vmm_stats *s)
{
    json_object *o = json_object_new_object();
    uint64_t end = s->t_end_ns ? s->t_end_ns : clock_now_ns();
    json_object_object_add(o, "run_time_s", json_double(seconds_between(s->t_start_ns, end)));
    json_object_object_add(o, "guest_time_s",
                           json_double(seconds_between(s->t_guest_start_ns, end)));
    if (s->t_first_hypercall_ns)
        json_object_object_add(o, "launch_to_first_hypercall_s",
                               json_double(seconds_between(s->t_start_ns, s->t_first_hypercall_ns)));
    json_object_object_add(o, "exits", exits_json(s));

    json_object *hc = json_object_new_object();
    for (unsigned i = 0; i < AROM_HC_MAX; i++)
        json_object_object_add(hc, hypercall_names[i], json_object_new_uint64(s->hypercalls[i]));
    json_object_object_add(hc, "errors", json_object_new_uint64(s->hypercall_errors));
    json_object_object_add(o, "hypercalls", hc);

    json_object *m = json_object_new_object();
    pthread_mutex_lock(&s->metrics_lock);
    for (unsigned i = 0; i < s->nmetrics; i++)
        json_object_object_add(m, s->metrics[i].key, json_double(s->metrics[i].value));
    pthread_mutex_unlock(&s->metrics_lock);
    json_object_object_add(o, "metrics", m);
    return o;
}

int stats_write_json(json_object *obj, const char *path)
{
    const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f) {
        int e = errno;
        log_error("--stats-json %s: %s", path, strerror(e));
        return -e;
    }
    int bad = fprintf(f, "%s\n", text) < 0;
    if (f != stdout)
        bad |= fclose(f) != 0;
    else
        bad |= fflush(f) != 0;
    if (bad) {
        log_error("--stats-json %s: write failed", path);
        return -EIO;
    }
    return 0;
}
