/* The host's CPU time, from /proc/stat's "cpu" line, for one figure: how
 * much time the hypervisor under this machine (a nested host's L0) stole
 * from it. A vCPU thread whose CPU is stolen is neither running nor waiting
 * by its schedstat, so the slowdown guard would read it as blocked. */
#ifndef AROM_LIB_CPU_STAT_H
#define AROM_LIB_CPU_STAT_H

#include <stdint.h>

struct cpu_stat {
    uint64_t busy_ns;           /* user, nice, system, irq, softirq: all CPUs */
    uint64_t steal_ns;          /* all CPUs */
};

/* Parse the "cpu ..." line; ticks_per_s is USER_HZ. 0 or -EINVAL. */
int cpu_stat_parse(const char *line, long ticks_per_s, struct cpu_stat *s);
/* Read /proc/stat. 0 or -errno. */
int cpu_stat_read(struct cpu_stat *s);
/* Of the steal between a and b, the part that fell on threads that ran
 * run_ns in that time (steal lands on busy CPUs, in proportion). */
uint64_t cpu_stat_steal_share(const struct cpu_stat *a, const struct cpu_stat *b, uint64_t run_ns);

#endif
