#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/cpu_stat.h"

int cpu_stat_parse(const char *line, long ticks_per_s, struct cpu_stat *s)
{
    unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
    if (ticks_per_s <= 0 ||
        sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq,
               &softirq, &steal) != 8)
        return -EINVAL;
    uint64_t ns = 1000000000ull / (uint64_t)ticks_per_s;
    s->busy_ns = (user + nice + sys + irq + softirq) * ns;
    s->steal_ns = steal * ns;
    return 0;
}

int cpu_stat_read(struct cpu_stat *s)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -errno;
    char line[256];
    int rc = fgets(line, sizeof line, f) ? cpu_stat_parse(line, sysconf(_SC_CLK_TCK), s) : -EIO;
    fclose(f);
    return rc;
}

uint64_t cpu_stat_steal_share(const struct cpu_stat *a, const struct cpu_stat *b, uint64_t run_ns)
{
    if (b->steal_ns <= a->steal_ns || b->busy_ns <= a->busy_ns)
        return 0;
    double busy = (double)(b->busy_ns - a->busy_ns), share = (double)run_ns / busy;
    return (uint64_t)((double)(b->steal_ns - a->steal_ns) * (share < 1 ? share : 1));
}
