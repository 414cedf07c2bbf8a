/* The clocks arom reads: one monotonic time base for every timestamp and
 * deadline, and per-thread CPU time for cost accounting. */
#ifndef AROM_LIB_CLOCK_H
#define AROM_LIB_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t clock_now_ns(void);
/* CPU time of the calling thread in ns. */
uint64_t clock_thread_cpu_ns(void);

#endif
