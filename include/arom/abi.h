/*
 * The arom guest ABI: the one contract between arom-vmm (host) and payloads
 * built with guest-tools (guest). Both sides include this header; nothing in
 * it may depend on host or guest libraries.
 *
 * Memory map (guest-physical == guest-virtual, identity mapped):
 *   0x000000 - 0x000fff  not present (NULL dereferences fault)
 *   0x001000 - 0x001fff  boot info page (read-only to the payload)
 *   0x002000 - 0x00ffff  GDT, TSS, IDT, exception stubs (supervisor only)
 *   0x010000 - 0x0fffff  page tables (supervisor only)
 *   0x100000 - 0x3fffff  per-vCPU stacks, each below a not-present guard page
 *   0x400000 - ...       payload image (AROM_LOAD_MIN), then the heap
 *
 * Entry: every vCPU starts at the ELF entry point in 64-bit mode at CPL3
 * with IOPL=3, RSP at the top of its own stack, RDI = AROM_BOOT_INFO_GPA,
 * RSI = vCPU id. SSE is enabled, interrupts are off, rdtsc is allowed.
 *
 * End of a run: AROM_HC_EXIT from any vCPU ends the VM with its status.
 * AROM_HC_VCPU_DONE ends only the calling vCPU; when the last running vCPU
 * is done, the VM ends with that vCPU's status. An unhandled exception ends
 * the VM (arom-vmm exits 125 and prints the vector, RIP, RSP and CR2).
 *
 * Hypercalls: `outl(AROM_HC_PORT_BASE + nr, gpa)` where gpa is the
 * guest-physical address of the request struct for call nr. The struct must
 * lie below 4 GiB (the runtime keeps requests on the stack) and wholly in
 * guest RAM. The host writes the result into the struct's `ret` field:
 * 0 or a positive value on success, a negative AROM_E* code on failure.
 */
#ifndef AROM_ABI_H
#define AROM_ABI_H

#include <stdint.h>

#define AROM_ABI_VERSION        2
#define AROM_BOOT_MAGIC         0x4d4f5241u /* "AROM" */

#define AROM_PAGE_SIZE          4096ull
#define AROM_BOOT_INFO_GPA      0x1000ull
#define AROM_LOAD_MIN           0x400000ull  /* lowest address a payload may load at */
#define AROM_STACK_AREA         0x100000ull
#define AROM_STACK_SIZE         0x10000ull   /* 64 KiB per vCPU */
#define AROM_STACK_STRIDE       (AROM_STACK_SIZE + AROM_PAGE_SIZE) /* + guard page */
#define AROM_MAX_VCPUS          32
#define AROM_CMDLINE_MAX        2048

/* (In the I/O permission bitmap every port is allowed: some hosts, e.g.
 * PVM, check the bitmap at CPL3 even with IOPL=3.) */

/* A guest-physical address. On the host side it is never dereferenced
 * directly: it goes through the checked translation in vmm/guest_mem.h. */
typedef uint64_t arom_gpa_t;

struct arom_boot_info {
    uint32_t magic;          /* AROM_BOOT_MAGIC */
    uint32_t abi_version;    /* AROM_ABI_VERSION */
    uint32_t vcpus;          /* number of vCPUs started */
    uint32_t reserved0;
    uint64_t ram_size;       /* bytes of guest RAM, starting at GPA 0 */
    uint64_t heap_start;     /* first free byte after the image, page aligned */
    uint64_t heap_end;       /* end of guest RAM */
    uint64_t tsc_hz;         /* 0 if unknown */
    uint32_t cmdline_len;    /* bytes, excluding the terminating NUL */
    uint32_t reserved1;
    char     cmdline[AROM_CMDLINE_MAX]; /* NUL-terminated argument string */
};

/* Error codes returned in `ret` (negated). */
#define AROM_EINVAL   22   /* malformed request or argument */
#define AROM_EFAULT   14   /* a pointer/length outside guest RAM */
#define AROM_ENOSPC   28   /* a table or tier is full */
#define AROM_ENOSYS   38   /* no such hypercall */
#define AROM_EAGAIN   11   /* try again later (e.g. out of tokens) */

#define AROM_HC_PORT_BASE  0x500
enum arom_hypercall {
    AROM_HC_PUTS = 0,        /* struct arom_hc_puts */
    AROM_HC_EXIT = 1,        /* struct arom_hc_exit: ends the whole VM */
    AROM_HC_TIME = 2,        /* struct arom_hc_time: host CLOCK_MONOTONIC */
    AROM_HC_REPORT = 3,      /* struct arom_hc_report: record a metric */
    AROM_HC_VCPU_DONE = 4,   /* struct arom_hc_exit: this vCPU stops, VM runs on */
    AROM_HC_HINT = 5,        /* struct arom_hc_hint: tiering hint for a range */
    AROM_HC_TIER_STATS = 6,  /* struct arom_hc_tier_stats: read tiering counters */
    AROM_HC_TIER_QUERY = 7,  /* struct arom_hc_tier_query: where a range lives */
    AROM_HC_MAX
};

/* Exception stubs report here (from guest CPL0, see vmm/cpu_setup.c). */
#define AROM_EXCEPTION_PORT 0x4ff

#define AROM_PUTS_MAX      (1u << 20)
#define AROM_REPORT_KEY_MAX 64

struct arom_hc_puts {
    arom_gpa_t data;
    uint64_t len;            /* <= AROM_PUTS_MAX */
    int64_t ret;             /* bytes written */
};

struct arom_hc_exit {
    int32_t status;
    uint32_t pad;
    int64_t ret;
};

struct arom_hc_time {
    uint64_t ns;             /* out: host monotonic time in ns */
    int64_t ret;
};

struct arom_hc_report {
    arom_gpa_t key;          /* not NUL-terminated; [A-Za-z0-9_.-] only */
    uint64_t key_len;        /* 1 .. AROM_REPORT_KEY_MAX */
    double value;
    int64_t ret;
};

enum arom_hint_kind {
    AROM_HINT_READ_MOSTLY = 1, /* demote the range to LtRAM now (as capacity allows) */
    AROM_HINT_PIN_DRAM = 2,    /* keep the range on DRAM, never demote it */
    AROM_HINT_UNPIN = 3,       /* undo PIN_DRAM */
    AROM_HINT_DEMOTE = 4,      /* demote now, unless pinned (tests and benchmarks) */
    AROM_HINT_WP_PROBE = 5,    /* benchmarks: write-protect DRAM pages in place, so the
                                  next store measures the bare userfaultfd round trip */
};

struct arom_hc_hint {
    arom_gpa_t addr;         /* page aligned */
    uint64_t len;            /* multiple of the page size */
    uint32_t kind;           /* enum arom_hint_kind */
    uint32_t pad;
    int64_t ret;             /* pages acted on */
};

struct arom_hc_tier_stats {
    uint64_t dram_pages;     /* guest pages whose tier is DRAM (touched or not) */
    uint64_t ltram_pages;    /* guest pages resident on LtRAM */
    uint64_t promotions;
    uint64_t demotions;
    uint64_t dram_resident_pages; /* DRAM pages actually backed by host memory */
    uint64_t dram_budget_pages;   /* the VM's DRAM budget */
    uint64_t epochs;         /* tiering daemon epochs so far (0: daemon off) */
    int64_t ret;
};

struct arom_hc_tier_query {
    arom_gpa_t addr;         /* page aligned */
    uint64_t len;            /* multiple of the page size */
    uint64_t ltram_pages;    /* out: pages of the range on LtRAM */
    uint64_t dram_pages;     /* out: pages of the range on DRAM */
    int64_t ret;
};

#endif /* AROM_ABI_H */
