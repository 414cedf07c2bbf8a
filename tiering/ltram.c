/* The LtRAM device: backing store, write model, wear and audit. */
#include "tiering/ltram.h"

#include "lib/clock.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Below this, sleeping would overshoot by the timer slack (~50 µs), so spin. */
#define SPIN_LIMIT_NS 200000ull

struct ltram {
    enum ltram_backend backend;
    int fd;
    uint8_t *base;
    uint32_t nframes;
    struct ltram_profile prof;
    double delay_scale;
    uint64_t frame_units;      /* write units per frame write */
    uint64_t frame_erases;     /* erase blocks per frame write */
    uint64_t frame_model_ns;   /* modeled time of one frame write, saturated */
    uint32_t *wear;
    uint64_t *csum;
    uint64_t frames_written_ever, writes, host_bytes, media_bytes, erases;
    uint64_t modeled_ns_total, delay_ns_total, audit_failures;
};

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t div_ceil(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* Precompute the per-frame cost so the write path is a few multiplies. */
static void model_init(struct ltram *lt)
{
    const struct ltram_profile *p = &lt->prof;
    lt->frame_units = div_ceil(LTRAM_FRAME_SIZE, p->write_unit);
    lt->frame_erases = p->erase_block ? div_ceil(LTRAM_FRAME_SIZE, p->erase_block) : 0;
    lt->frame_model_ns = sat_add(sat_mul(lt->frame_units, p->write_ns),
                                 sat_mul(lt->frame_erases, p->erase_ns));
}

/* Open or create the file, size it, and settle the capacity. Only a
 * regular file will do: the guest maps frames from the fd and the VMM
 * writes them through its own mapping, and only a file's page cache is one
 * memory seen by both (each mapping of /dev/zero, say, is a new object: a
 * demoted page would read back as zeros). Whether the file's filesystem
 * supports userfaultfd write-protection is checked by the caller. A file
 * that cannot be used as given is bad input (-EINVAL); the host running
 * out of memory or descriptors is not. */
static int open_file(const char *path, uint64_t *capacity, int *fd_out, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int rc = errno == EMFILE || errno == ENFILE || errno == ENOMEM ? -errno : -EINVAL;
        return errf(err, errlen, rc, "cannot open LtRAM file '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return errf(err, errlen, -EINVAL, "cannot stat LtRAM file '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return errf(err, errlen, -EINVAL, "LtRAM file '%s' is not a regular file (a device's mappings "
                    "need not be one memory); use a file on tmpfs, e.g. /dev/shm", path);
    }
    if (*capacity == 0) {
        *capacity = (uint64_t)st.st_size & ~(uint64_t)(LTRAM_FRAME_SIZE - 1);
        if (*capacity == 0) {
            close(fd);
            return errf(err, errlen, -EINVAL, "LtRAM file '%s' is %lld bytes, smaller than one "
                        "4 KiB frame", path, (long long)st.st_size);
        }
    } else if ((uint64_t)st.st_size < *capacity && ftruncate(fd, (off_t)*capacity) < 0) {
        int e = errno;
        close(fd);
        return errf(err, errlen, -EINVAL, "cannot size LtRAM file '%s' to %llu bytes: %s", path,
                    (unsigned long long)*capacity, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

static int open_memfd(uint64_t capacity, int *fd_out, char *err, size_t errlen)
{
    int fd = memfd_create("arom-ltram", MFD_CLOEXEC);
    if (fd < 0)
        return errf(err, errlen, -errno, "cannot create the emulated LtRAM memfd: %s", strerror(errno));
    if (ftruncate(fd, (off_t)capacity) < 0) {
        int rc = -errno;
        close(fd);
        return errf(err, errlen, rc, "cannot size the emulated LtRAM to %llu bytes: %s",
                    (unsigned long long)capacity, strerror(-rc));
    }
    *fd_out = fd;
    return 0;
}

/* Round to whole frames; 0 stays 0 (the file backend sizes itself). */
static int check_capacity(uint64_t *capacity, char *err, size_t errlen)
{
    uint64_t frames = *capacity / LTRAM_FRAME_SIZE;
    if (*capacity == 0)
        return 0;
    if (frames == 0)
        return errf(err, errlen, -EINVAL, "LtRAM capacity %llu bytes is smaller than one 4 KiB frame",
                    (unsigned long long)*capacity);
    if (frames > UINT32_MAX)
        return errf(err, errlen, -EINVAL, "LtRAM capacity %llu bytes exceeds 2^32 frames",
                    (unsigned long long)*capacity);
    *capacity = frames * LTRAM_FRAME_SIZE;
    return 0;
}

static int open_backing(struct ltram *lt, const char *spec, uint64_t capacity, char *err, size_t errlen)
{
    const char *path = NULL;
    int rc;

    if (strcmp(spec, "emulated") == 0) {
        lt->backend = LTRAM_EMULATED;
        if (capacity == 0)
            return errf(err, errlen, -EINVAL, "emulated LtRAM needs a capacity");
        rc = open_memfd(capacity, &lt->fd, err, errlen);
    } else if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
        lt->backend = LTRAM_FILE;
        path = spec + 5;
        rc = open_file(path, &capacity, &lt->fd, err, errlen);
        if (rc == 0)   /* capacity may have come from the file's size */
            rc = check_capacity(&capacity, err, errlen);
    } else {
        return errf(err, errlen, -EINVAL, "unknown LtRAM backend '%s' (want 'emulated' or 'file:PATH')",
                    spec);
    }
    if (rc < 0)
        return rc;

    void *base = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, lt->fd, 0);
    if (base == MAP_FAILED) {
        rc = -errno;
        if (path && rc != -ENOMEM)
            rc = -EINVAL;       /* the file cannot be mapped as asked */
        return errf(err, errlen, rc, "cannot mmap LtRAM %s%s%s (%llu bytes): %s",
                    path ? "file '" : "memfd", path ? path : "", path ? "'" : "",
                    (unsigned long long)capacity, strerror(-rc));
    }
    lt->base = base;
    lt->nframes = (uint32_t)(capacity / LTRAM_FRAME_SIZE);
    return 0;
}

int ltram_prefault(struct ltram *lt, char *err, size_t errlen)
{
    uint64_t bytes = (uint64_t)lt->nframes * LTRAM_FRAME_SIZE;
    if (fallocate(lt->fd, 0, 0, (off_t)bytes) < 0 && errno != EOPNOTSUPP)
        return errf(err, errlen, -errno, "cannot allocate %llu bytes of LtRAM: %s",
                    (unsigned long long)bytes, strerror(errno));
    if (madvise(lt->base, bytes, MADV_POPULATE_WRITE) < 0 && errno != EINVAL)
        return errf(err, errlen, -errno, "cannot populate LtRAM: %s", strerror(errno));
    return 0;
}

static int check_profile(const struct ltram_profile *p, char *err, size_t errlen)
{
    if (p->write_unit == 0)
        return errf(err, errlen, -EINVAL, "LtRAM profile '%s': write unit must be at least 1 byte",
                    p->name);
    return 0;
}

int ltram_open(struct ltram **out, const char *spec, uint64_t capacity,
               const struct ltram_profile *prof, char *err, size_t errlen)
{
    struct ltram_profile def;
    int rc;

    if (!out || !spec)
        return errf(err, errlen, -EINVAL, "ltram_open: missing argument");
    *out = NULL;
    if (!prof) {
        if (ltram_profile_lookup(LTRAM_DEFAULT_PROFILE, &def) < 0)
            return errf(err, errlen, -ENOENT, "default LtRAM profile missing");
        prof = &def;
    }
    if ((rc = check_profile(prof, err, errlen)) < 0 || (rc = check_capacity(&capacity, err, errlen)) < 0)
        return rc;

    struct ltram *lt = calloc(1, sizeof *lt);
    if (!lt)
        return errf(err, errlen, -ENOMEM, "out of memory for the LtRAM device");
    lt->fd = -1;
    lt->prof = *prof;
    lt->delay_scale = 1.0;
    model_init(lt);

    rc = open_backing(lt, spec, capacity, err, errlen);
    if (rc == 0) {
        lt->wear = calloc(lt->nframes, sizeof *lt->wear);
        lt->csum = calloc(lt->nframes, sizeof *lt->csum);
        if (!lt->wear || !lt->csum)
            rc = errf(err, errlen, -ENOMEM, "out of memory for LtRAM wear/checksum tables (%u frames)",
                      lt->nframes);
    }
    if (rc < 0) {
        ltram_close(lt);
        return rc;
    }
    *out = lt;
    return 0;
}

void ltram_close(struct ltram *lt)
{
    if (!lt)
        return;
    if (lt->base)
        munmap(lt->base, (size_t)lt->nframes * LTRAM_FRAME_SIZE);
    if (lt->fd >= 0)
        close(lt->fd);
    free(lt->wear);
    free(lt->csum);
    free(lt);
}

enum ltram_backend ltram_backend(const struct ltram *lt)
{
    return lt->backend;
}

const struct ltram_profile *ltram_get_profile(const struct ltram *lt)
{
    return &lt->prof;
}

int ltram_fd(const struct ltram *lt)
{
    return lt->fd;
}

uint64_t ltram_file_offset(const struct ltram *lt)
{
    (void)lt;
    return 0;
}

uint32_t ltram_frames(const struct ltram *lt)
{
    return lt->nframes;
}

void *ltram_frame_ptr(struct ltram *lt, uint32_t frame)
{
    if (frame >= lt->nframes)
        return NULL;
    return lt->base + (size_t)frame * LTRAM_FRAME_SIZE;
}

/* Real delay of ns nanoseconds: spin for short ones (sleep granularity
 * would dominate), sleep to an absolute deadline for long ones (robust to
 * signals). */
static void inject_delay(uint64_t ns)
{
    uint64_t deadline = sat_add(clock_now_ns(), ns);
    if (ns < SPIN_LIMIT_NS) {
        while (clock_now_ns() < deadline)
            ;
        return;
    }
    struct timespec ts = {
        .tv_sec = (time_t)(deadline / 1000000000ull),
        .tv_nsec = (long)(deadline % 1000000000ull),
    };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int ltram_write_frames(struct ltram *lt, uint32_t first, uint32_t n, const void *src)
{
    if (!lt || !src)
        return -EINVAL;
    if (n == 0)
        return 0;
    if (first >= lt->nframes || n > lt->nframes - first)
        return -EINVAL;

    uint8_t *dst = lt->base + (size_t)first * LTRAM_FRAME_SIZE;
    memcpy(dst, src, (size_t)n * LTRAM_FRAME_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t f = first + i;
        if (lt->wear[f] == 0)
            lt->frames_written_ever++;
        if (lt->wear[f] < UINT32_MAX)
            lt->wear[f]++;
        lt->csum[f] = ltram_checksum_page(dst + (size_t)i * LTRAM_FRAME_SIZE);
    }
    lt->writes += n;
    lt->host_bytes += (uint64_t)n * LTRAM_FRAME_SIZE;
    lt->media_bytes += (uint64_t)n * lt->frame_units * lt->prof.write_unit;
    lt->erases += (uint64_t)n * lt->frame_erases;

    uint64_t model = sat_mul(n, lt->frame_model_ns);
    uint64_t delay = lt->delay_scale > 0 ? (uint64_t)fmin((double)model * lt->delay_scale, 0x1p63) : 0;
    lt->modeled_ns_total = sat_add(lt->modeled_ns_total, model);
    lt->delay_ns_total = sat_add(lt->delay_ns_total, delay);
    if (delay)
        inject_delay(delay);
    return 0;
}

void ltram_set_delay_scale(struct ltram *lt, double scale)
{
    lt->delay_scale = isfinite(scale) && scale > 0 ? scale : 0;
}

uint32_t ltram_wear(const struct ltram *lt, uint32_t frame)
{
    return frame < lt->nframes ? lt->wear[frame] : 0;
}

const uint32_t *ltram_wear_array(const struct ltram *lt)
{
    return lt->wear;
}

uint64_t ltram_audit(struct ltram *lt, uint32_t first, uint32_t n, uint32_t *first_bad)
{
    uint64_t bad = 0;
    if (first_bad)
        *first_bad = UINT32_MAX;
    uint32_t end = first < lt->nframes && n <= lt->nframes - first ? first + n : lt->nframes;
    for (uint32_t f = first; f < end; f++) {
        if (lt->wear[f] == 0 || ltram_checksum_page(lt->base + (size_t)f * LTRAM_FRAME_SIZE) == lt->csum[f])
            continue;
        if (bad++ == 0 && first_bad)
            *first_bad = f;
    }
    lt->audit_failures += bad;
    return bad;
}

void ltram_wear_scan(const struct ltram *lt, uint32_t first, uint32_t n, struct ltram_stats *out)
{
    for (uint32_t f = first; f < lt->nframes && f - first < n; f++) {
        uint64_t w = lt->wear[f];
        out->wear_min = w < out->wear_min ? w : out->wear_min;
        out->wear_max = w > out->wear_max ? w : out->wear_max;
        out->wear_mean += (double)w;
        out->retired += lt->prof.endurance && w >= lt->prof.endurance;
    }
}

void ltram_wear_finish(const struct ltram *lt, struct ltram_stats *out)
{
    if (!lt->nframes)
        out->wear_min = 0;
    out->wear_mean = lt->nframes ? out->wear_mean / lt->nframes : 0;
}

void ltram_get_counters(const struct ltram *lt, struct ltram_stats *out)
{
    out->frames = lt->nframes;
    out->frames_written_ever = lt->frames_written_ever;
    out->writes = lt->writes;
    out->host_bytes = lt->host_bytes;
    out->media_bytes = lt->media_bytes;
    out->erases = lt->erases;
    out->modeled_ns_total = lt->modeled_ns_total;
    out->delay_ns_total = lt->delay_ns_total;
    out->audit_failures = lt->audit_failures;
}

void ltram_get_stats(const struct ltram *lt, struct ltram_stats *out)
{
    *out = (struct ltram_stats){.wear_min = UINT64_MAX};
    ltram_wear_scan(lt, 0, lt->nframes, out);
    ltram_wear_finish(lt, out);
    ltram_get_counters(lt, out);
}

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull

/* One xxHash64 round: a bijection of acc for a fixed word, and of the word
 * for a fixed acc, which is what makes single-word changes always visible. */
static inline uint64_t mix_round(uint64_t acc, uint64_t word)
{
    return rotl64(acc + word * P2, 31) * P1;
}

uint64_t ltram_checksum_page(const void *p)
{
    const uint8_t *b = p;
    uint64_t a = P1 + P2, c = P2, d = 0, e = (uint64_t)0 - P1;

    /* Four independent lanes keep the multipliers busy in parallel. */
    for (size_t i = 0; i < LTRAM_FRAME_SIZE; i += 32) {
        uint64_t w[4];
        memcpy(w, b + i, sizeof w);
        a = mix_round(a, w[0]);
        c = mix_round(c, w[1]);
        d = mix_round(d, w[2]);
        e = mix_round(e, w[3]);
    }
    uint64_t h = rotl64(a, 1) + rotl64(c, 7) + rotl64(d, 12) + rotl64(e, 18);
    h ^= h >> 33;   /* xxHash64 avalanche: bijective */
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

double ltram_modeled_read_ns(const struct ltram *lt)
{
    return (double)lt->prof.read_ns;
}
