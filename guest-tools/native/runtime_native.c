/*
 * runtime_native.c: the arom.h runtime for ordinary Linux processes. The
 * same payload sources that run inside arom-vmm build as NAME-native host
 * binaries (see the native section of guest-tools/local.mk), the
 * virtualization-overhead reference of the benchmarks.
 *
 * What replaces what:
 *   boot (start.S, runtime.c)  main() below: options, a synthetic boot info,
 *                              one thread per extra vCPU, then the payload's
 *                              main (renamed arom_payload_main at compile time)
 *   hypercalls (hypercall.c)   libc: write(1), exit(), clock_gettime(); the
 *                              tiering calls return -AROM_ENOSYS (tiering off)
 *   arom_vcpu_id()             a thread-local instead of the stack pointer
 *   boot info page             arom__native_boot_info (arom.h, AROM_NATIVE)
 * Reused unchanged from the guest runtime: printf.c (printf, panic),
 * alloc.c (the bump allocator, over an mmap'ed heap here), workers.c
 * (arom_run_on_all on the vCPU threads, the default arom_secondary_main)
 * and the argument parsers of string.c (its libc subset is renamed away by
 * the build rule, so libc's memcpy and friends are the ones in use).
 *
 * Usage: NAME-native [--vcpus N] [--mem SIZE] [--stats-json FILE] [--] ARGS...
 * The options mirror arom-vmm's and override the environment:
 *   AROM_VCPUS=N               vCPUs, i.e. threads (default 1, at most 32)
 *   AROM_NATIVE_HEAP=SIZE      heap for arom_alloc (default 8G; MAP_NORESERVE,
 *                              so only touched pages cost memory)
 *   AROM_NATIVE_REPORT=FILE    write {"metrics": {...}, ...} there at exit,
 *                              like arom-vmm --stats-json ('-' = stdout)
 * ARGS are joined with spaces into the boot info command line and split
 * again exactly as the guest runtime does: argv[0] is "payload".
 * Every arom_report() also prints "report KEY VALUE" on stderr.
 * Exit status: the payload's, 70 on a panic, 2 on bad options, 1 when the
 * host side fails (no heap, no thread, report file not written).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arom.h"

#define NATIVE_DEFAULT_HEAP (8 * AROM_GiB)
#define NATIVE_MAX_METRICS 256          /* as arom-vmm (STATS_MAX_METRICS) */
#define EXIT_NATIVE_FAILURE 1           /* as arom-vmm's EXIT_VMM_FAILURE */
#define EXIT_BAD_INPUT 2

int arom_payload_main(int argc, char **argv); /* the payload's main, renamed */

struct arom_boot_info arom__native_boot_info;

static const char *prog = "arom-native";
static uint64_t t_start_ns;

/* ---- vCPUs ---------------------------------------------------------------- */

static __thread unsigned native_vcpu = ~0u;
static unsigned vcpus_running;

unsigned arom_vcpu_id(void)
{
    return native_vcpu;
}

static void *vcpu_thread(void *arg)
{
    native_vcpu = (unsigned)(uintptr_t)arg;
    arom__vcpu_done(arom_secondary_main(native_vcpu));
}

/* ---- metrics ---------------------------------------------------------------- */

static struct {
    char key[AROM_REPORT_KEY_MAX + 1];
    double value;
} metrics[NATIVE_MAX_METRICS];
static unsigned nmetrics;
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *report_path;

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The VMM's --stats-json shape, reduced to what a host process knows.
 * Returns the status to exit with. */
static int write_report(int status)
{
    if (!report_path)
        return status;
    FILE *f = strcmp(report_path, "-") ? fopen(report_path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, report_path, strerror(errno));
        return EXIT_NATIVE_FAILURE;
    }
    double run_s = (double)(arom_time_ns() - t_start_ns) / 1e9;

    fprintf(f, "{\n  \"native\": true,\n  \"payload\": ");
    json_string(f, prog);
    fprintf(f, ",\n  \"vcpus\": %u,\n  \"mem_bytes\": %llu,\n  \"exit_status\": %d,\n"
               "  \"run_time_s\": %.15g,\n  \"metrics\": {",
            arom__native_boot_info.vcpus, (unsigned long long)arom__native_boot_info.ram_size,
            status, run_s);
    pthread_mutex_lock(&metrics_lock);
    for (unsigned i = 0; i < nmetrics; i++)
        fprintf(f, "%s\n    \"%s\": %.15g", i ? "," : "", metrics[i].key, metrics[i].value);
    pthread_mutex_unlock(&metrics_lock);
    fprintf(f, "%s}\n}\n", nmetrics ? "\n  " : "");

    int bad = ferror(f);
    if (f == stdout ? fflush(f) != 0 : fclose(f) != 0)
        bad = 1;
    if (bad) {
        fprintf(stderr, "%s: writing %s failed\n", prog, report_path);
        return EXIT_NATIVE_FAILURE;
    }
    return status;
}

/* ---- the calls that are hypercalls in the guest ------------------------------ */

int64_t arom_puts(const char *s, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(STDOUT_FILENO, s + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;      /* as the VMM: a closed stdout is not the payload's problem */
        done += (size_t)n;
    }
    return (int64_t)done;
}

void arom_exit(int status)
{
    static int exiting;
    /* The first exit ends the run, as AROM_HC_EXIT ends the VM; a vCPU that
     * exits at the same time waits to be taken down with the process. */
    if (__atomic_exchange_n(&exiting, 1, __ATOMIC_ACQ_REL))
        for (;;)
            pause();
    exit(write_report(status));
}

void arom__vcpu_done(int status)
{
    /* The last vCPU to finish ends the run with its status. */
    if (__atomic_sub_fetch(&vcpus_running, 1, __ATOMIC_ACQ_REL) == 0)
        arom_exit(status);
    pthread_exit(NULL);
}

void arom_vcpu_done(void)
{
    arom__vcpu_done(0);
}

uint64_t arom_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool valid_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* Same checks and errors as the VMM's AROM_HC_REPORT; a key reported again
 * keeps its place and takes the new value. */
int64_t arom_report(const char *key, double value)
{
    size_t len = strlen(key);
    if (len == 0 || len > AROM_REPORT_KEY_MAX)
        return -AROM_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!valid_key_char(key[i]))
            return -AROM_EINVAL;
    if (__builtin_isnan(value) || __builtin_isinf(value))
        return -AROM_EINVAL;

    int64_t rc = 0;
    pthread_mutex_lock(&metrics_lock);
    unsigned i = 0;
    while (i < nmetrics && strcmp(metrics[i].key, key) != 0)
        i++;
    if (i == nmetrics) {
        if (nmetrics < NATIVE_MAX_METRICS)
            memcpy(metrics[nmetrics++].key, key, len + 1);
        else
            rc = -AROM_ENOSPC;
    }
    if (rc == 0)
        metrics[i].value = value;
    pthread_mutex_unlock(&metrics_lock);

    if (rc == 0) {
        char line[AROM_REPORT_KEY_MAX + 64];
        int n = snprintf(line, sizeof line, "report %s %.15g\n", key, value);
        if (write(STDERR_FILENO, line, (size_t)n) < 0) {
            /* nothing to do: stderr is gone */
        }
    }
    return rc;
}

/* No tiering in a host process: the payloads take ENOSYS as "tiering off". */
int64_t arom_hint(void *addr, size_t len, unsigned kind)
{
    (void)addr;
    (void)len;
    (void)kind;
    return -AROM_ENOSYS;
}

int64_t arom_tier_stats(struct arom_hc_tier_stats *out)
{
    memset(out, 0, sizeof *out);
    out->ret = -AROM_ENOSYS;
    return -AROM_ENOSYS;
}

int64_t arom_tier_query(const void *addr, size_t len, uint64_t *ltram_pages, uint64_t *dram_pages)
{
    (void)addr;
    (void)len;
    if (ltram_pages)
        *ltram_pages = 0;
    if (dram_pages)
        *dram_pages = 0;
    return -AROM_ENOSYS;
}

/* ---- start-up ------------------------------------------------------------------ */

static AROM_NORETURN AROM_PRINTF(1, 2) void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s [--vcpus N] [--mem SIZE] [--stats-json FILE] [--] [ARGS...]\n",
            prog);
    exit(EXIT_BAD_INPUT);
}

static uint64_t parse_size(const char *what, const char *s, uint64_t min, uint64_t max)
{
    uint64_t v;
    if (arom_parse_u64(s, &v) != 0 || v < min || v > max)
        usage_error("bad %s '%s' (want %llu..%llu)", what, s, (unsigned long long)min,
                    (unsigned long long)max);
    return v;
}

/* The value of option argv[*i] ("--name=value" or "--name value") if it is
 * `name`, else NULL. */
static const char *option(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i] + 2;
    size_t len = strlen(name);
    if (strncmp(a, name, len) != 0)
        return NULL;
    if (a[len] == '=')
        return a + len + 1;
    if (a[len] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        usage_error("option --%s needs a value", name);
    return argv[++*i];
}

/* As the guest runtime does: a copy of the argument string, split in place. */
static char *argv_store[AROM_MAX_ARGS + 1];
static char cmdline_copy[AROM_CMDLINE_MAX];

static int build_argv(const struct arom_boot_info *bi)
{
    memcpy(cmdline_copy, bi->cmdline, bi->cmdline_len + 1);
    return arom__split_cmdline(cmdline_copy, argv_store);
}

int main(int argc, char **argv)
{
    struct arom_boot_info *bi = &arom__native_boot_info;
    const char *env;
    uint64_t vcpus = 1, heap = NATIVE_DEFAULT_HEAP;

    t_start_ns = arom_time_ns();
    native_vcpu = 0;
    if (argc > 0 && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    if ((env = getenv("AROM_VCPUS")) && *env)
        vcpus = parse_size("AROM_VCPUS", env, 1, AROM_MAX_VCPUS);
    if ((env = getenv("AROM_NATIVE_HEAP")) && *env)
        heap = parse_size("AROM_NATIVE_HEAP", env, AROM_PAGE_SIZE, 1ull << 46);
    if ((env = getenv("AROM_NATIVE_REPORT")) && *env)
        report_path = env;

    /* Options first, as arom-vmm's; the first other word starts the args. */
    int i = 1;
    for (; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strncmp(argv[i], "--", 2) != 0)
            break;
        if ((v = option(argc, argv, &i, "vcpus")))
            vcpus = parse_size("--vcpus", v, 1, AROM_MAX_VCPUS);
        else if ((v = option(argc, argv, &i, "mem")))
            heap = parse_size("--mem", v, AROM_PAGE_SIZE, 1ull << 46);
        else if ((v = option(argc, argv, &i, "stats-json")))
            report_path = v;
        else
            usage_error("unknown option '%s'", argv[i]);
    }

    /* The boot info command line: the args joined with single spaces. */
    size_t len = 0;
    for (int a = i; a < argc; a++) {
        size_t n = strlen(argv[a]);
        if (len + (a > i) + n >= AROM_CMDLINE_MAX)
            usage_error("arguments longer than %d bytes", AROM_CMDLINE_MAX - 1);
        if (a > i)
            bi->cmdline[len++] = ' ';
        memcpy(bi->cmdline + len, argv[a], n);
        len += n;
    }
    bi->cmdline[len] = '\0';
    bi->cmdline_len = (uint32_t)len;

    heap = AROM_ALIGN_UP(heap, AROM_PAGE_SIZE);
    void *base = mmap(NULL, heap, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        fprintf(stderr, "%s: mapping a %llu-byte heap: %s\n", prog, (unsigned long long)heap,
                strerror(errno));
        return EXIT_NATIVE_FAILURE;
    }
    bi->magic = AROM_BOOT_MAGIC;
    bi->abi_version = AROM_ABI_VERSION;
    bi->vcpus = (uint32_t)vcpus;
    bi->ram_size = heap;
    bi->heap_start = (uint64_t)(uintptr_t)base;
    bi->heap_end = bi->heap_start + heap;
    bi->tsc_hz = 0; /* as arom-vmm today: unknown */

    /* Every vCPU starts at once: vCPU 0 runs main on this thread, the
     * others arom_secondary_main (the worker pool, or return at once). */
    vcpus_running = (unsigned)vcpus;
    for (unsigned v = 1; v < vcpus; v++) {
        pthread_t t;
        int rc = pthread_create(&t, NULL, vcpu_thread, (void *)(uintptr_t)v);
        if (rc != 0) {
            fprintf(stderr, "%s: starting vCPU %u: %s\n", prog, v, strerror(rc));
            return EXIT_NATIVE_FAILURE;
        }
        pthread_detach(t);
    }

    int pargc = build_argv(bi);
    arom_exit(arom_payload_main(pargc, argv_store));
}
