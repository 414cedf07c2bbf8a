/* Unit tests for tiering/ltram_profile.c and tiering/ltram.c: presets and
 * overrides, both backends, the write path (data, wear, checksums, media
 * bytes, erases, injected delay), the audit and the stats. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "tiering/ltram.h"
#include "tiering/ltram_profile.h"

#define PAGE LTRAM_FRAME_SIZE

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A profile with no delay unless a test asks for one. */
static struct ltram_profile quiet_profile(uint32_t write_unit)
{
    struct ltram_profile p;
    CU_ASSERT_FATAL(ltram_profile_lookup("fefet", &p) == 0);
    p.write_ns = 0;
    p.write_unit = write_unit;
    return p;
}

static struct ltram *open_emulated(uint64_t capacity, const struct ltram_profile *p)
{
    struct ltram *lt = NULL;
    char err[256] = "";
    int rc = ltram_open(&lt, "emulated", capacity, p, err, sizeof err);
    if (rc)
        printf("# ltram_open: %s\n", err);
    CU_ASSERT_FATAL(rc == 0);
    return lt;
}

/* n pages, page i filled with byte (seed + i). */
static uint8_t *pattern(uint32_t n, int seed)
{
    uint8_t *buf = malloc((size_t)n * PAGE);
    CU_ASSERT_FATAL(buf != NULL);
    for (uint32_t i = 0; i < n; i++)
        memset(buf + (size_t)i * PAGE, seed + (int)i, PAGE);
    return buf;
}

/* ---- profiles ------------------------------------------------------------ */

static void test_profile_presets(void)
{
    struct ltram_profile p;
    CU_ASSERT_FATAL(ltram_profile_lookup("nor-flash", &p) == 0);
    CU_ASSERT(strcmp(p.name, "nor-flash") == 0);
    CU_ASSERT(p.read_ns == 490 && p.write_ns == 16000 && p.write_unit == 256);
    CU_ASSERT(p.erase_ns == 18000000 && p.erase_block == 4096 && p.endurance == 100000);
    CU_ASSERT(p.cost_vs_dram > 0.33 && p.cost_vs_dram < 0.34);
    CU_ASSERT(strstr(p.source, "published") != NULL);

    CU_ASSERT_FATAL(ltram_profile_lookup("optane", &p) == 0);
    CU_ASSERT(p.read_ns == 340 && p.write_unit == 256 && p.write_ns == 110);
    CU_ASSERT(p.endurance == 1000000 && p.erase_block == 0);
    CU_ASSERT(strstr(p.source, "assumed") != NULL);

    static const struct { const char *name; uint64_t read_ns; } projected[] = {
        { "sttmram", 72 }, { "vrram", 152 }, { "fefet", 252 },
    };
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_FATAL(ltram_profile_lookup(projected[i].name, &p) == 0);
        CU_ASSERT(p.read_ns == projected[i].read_ns);
        CU_ASSERT(p.write_ns == 2000 && p.write_unit == 4096 && p.endurance == 1000000);
        CU_ASSERT(strstr(p.source, "assumed") != NULL);
    }

    CU_ASSERT_FATAL(ltram_profile_lookup("dram", &p) == 0);
    CU_ASSERT(p.read_ns == 80 && p.write_unit == 64 && p.endurance == 0);
    CU_ASSERT(p.cost_vs_dram == 1.0);

    CU_ASSERT_FATAL(ltram_profile_lookup(LTRAM_DEFAULT_PROFILE, &p) == 0);
    CU_ASSERT(strcmp(p.name, "fefet") == 0);
}

static void test_profile_unknown_and_names(void)
{
    struct ltram_profile p;
    CU_ASSERT(ltram_profile_lookup("floppy", &p) == -ENOENT);
    CU_ASSERT(ltram_profile_lookup("", &p) == -ENOENT);
    CU_ASSERT(ltram_profile_lookup("NOR-FLASH", &p) == -ENOENT);
    CU_ASSERT(ltram_profile_lookup(NULL, &p) == -EINVAL);
    const char *names = ltram_profile_names();
    static const char *const all[] = { "nor-flash", "optane", "fefet", "vrram", "sttmram", "dram" };
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT(strstr(names, all[i]) != NULL);
        CU_ASSERT(ltram_profile_lookup(all[i], &p) == 0);
    }
}

/* ---- backends ------------------------------------------------------------ */

static void test_open_emulated(void)
{
    struct ltram_profile p = quiet_profile(4096);
    struct ltram *lt = open_emulated(10000, &p);   /* rounds down to 2 frames */
    CU_ASSERT(ltram_frames(lt) == 2);
    CU_ASSERT(ltram_backend(lt) == LTRAM_EMULATED);
    CU_ASSERT(ltram_fd(lt) >= 0);
    CU_ASSERT(ltram_file_offset(lt) == 0);
    CU_ASSERT(ltram_frame_ptr(lt, 1) != NULL);
    CU_ASSERT(ltram_frame_ptr(lt, 2) == NULL);
    CU_ASSERT(ltram_modeled_read_ns(lt) == 252);
    ltram_close(lt);

    lt = open_emulated(PAGE, NULL);                /* NULL profile = default */
    CU_ASSERT(ltram_frames(lt) == 1);
    CU_ASSERT(strcmp(ltram_get_profile(lt)->name, LTRAM_DEFAULT_PROFILE) == 0);
    ltram_close(lt);
    ltram_close(NULL);
}

static void test_open_errors(void)
{
    struct ltram *lt = (struct ltram *)1;
    char err[256] = "";
    CU_ASSERT(ltram_open(&lt, "emulated", 4095, NULL, err, sizeof err) == -EINVAL);
    CU_ASSERT(lt == NULL);
    CU_ASSERT(strstr(err, "4095") != NULL);
    CU_ASSERT(ltram_open(&lt, "emulated", 0, NULL, err, sizeof err) == -EINVAL);
    CU_ASSERT(ltram_open(&lt, "tape", PAGE, NULL, err, sizeof err) == -EINVAL);
    CU_ASSERT(strstr(err, "tape") && strstr(err, "file:PATH"));
    CU_ASSERT(ltram_open(&lt, "file:", PAGE, NULL, err, sizeof err) == -EINVAL);
    struct ltram_profile p = quiet_profile(0);
    CU_ASSERT(ltram_open(&lt, "emulated", PAGE, &p, err, sizeof err) == -EINVAL);
    CU_ASSERT(strstr(err, "write unit") != NULL);
    CU_ASSERT(lt == NULL);
}

static void test_open_file(void)
{
    char dir[] = "/tmp/arom-ltram-XXXXXX", path[64], spec[80];
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/lt.img", dir);
    snprintf(spec, sizeof spec, "file:%s", path);
    struct ltram_profile p = quiet_profile(4096);
    struct ltram *lt = NULL;
    char err[256] = "";
    struct stat st;

    /* Created and sized to whole frames. */
    CU_ASSERT_FATAL(ltram_open(&lt, spec, 3 * PAGE + 100, &p, err, sizeof err) == 0);
    CU_ASSERT(ltram_frames(lt) == 3);
    CU_ASSERT(ltram_backend(lt) == LTRAM_FILE);
    CU_ASSERT(stat(path, &st) == 0 && st.st_size == 3 * PAGE);
    uint8_t *data = pattern(3, 0x40);
    CU_ASSERT(ltram_write_frames(lt, 0, 3, data) == 0);
    ltram_close(lt);

    /* Reopened with capacity 0: the file's size, content kept. */
    CU_ASSERT_FATAL(ltram_open(&lt, spec, 0, &p, err, sizeof err) == 0);
    CU_ASSERT(ltram_frames(lt) == 3);
    CU_ASSERT(memcmp(ltram_frame_ptr(lt, 0), data, 3 * PAGE) == 0);
    CU_ASSERT(ltram_wear(lt, 0) == 0);    /* wear is not persisted */
    ltram_close(lt);

    /* A larger capacity grows the file; a smaller one uses a prefix. */
    CU_ASSERT_FATAL(ltram_open(&lt, spec, 5 * PAGE, &p, err, sizeof err) == 0);
    CU_ASSERT(ltram_frames(lt) == 5);
    ltram_close(lt);
    CU_ASSERT_FATAL(ltram_open(&lt, spec, 2 * PAGE, &p, err, sizeof err) == 0);
    CU_ASSERT(ltram_frames(lt) == 2);
    ltram_close(lt);
    CU_ASSERT(stat(path, &st) == 0 && st.st_size == 5 * PAGE);

    /* A file below one frame with capacity 0 is refused. */
    CU_ASSERT(truncate(path, 100) == 0);
    CU_ASSERT(ltram_open(&lt, spec, 0, &p, err, sizeof err) == -EINVAL);
    CU_ASSERT(strstr(err, path) != NULL);
    free(data);
    unlink(path);
    rmdir(dir);
}

static void test_open_file_bad_dir(void)
{
    struct ltram *lt = NULL;
    char err[256] = "";
    const char *path = "/nonexistent-arom-dir/ltram.img";
    char spec[80];
    snprintf(spec, sizeof spec, "file:%s", path);
    CU_ASSERT(ltram_open(&lt, spec, PAGE, NULL, err, sizeof err) == -EINVAL);   /* bad input */
    CU_ASSERT(lt == NULL);
    CU_ASSERT(strstr(err, path) != NULL);
    CU_ASSERT(strstr(err, strerror(ENOENT)) != NULL);
}

/* Each mapping of a character device may be a new object (/dev/zero):
 * the guest's view and the VMM's would differ. Only regular files. */
static void test_open_file_not_regular(void)
{
    struct ltram *lt = NULL;
    char err[256] = "";
    CU_ASSERT(ltram_open(&lt, "file:/dev/zero", 16 * PAGE, NULL, err, sizeof err) == -EINVAL);
    CU_ASSERT(lt == NULL);
    CU_ASSERT(strstr(err, "not a regular file") != NULL);
    CU_ASSERT(ltram_open(&lt, "file:/tmp", 16 * PAGE, NULL, err, sizeof err) == -EINVAL);
    CU_ASSERT(lt == NULL);
}

/* ---- write path ---------------------------------------------------------- */

static void test_write_copies_and_wears(void)
{
    struct ltram_profile p = quiet_profile(4096);
    struct ltram *lt = open_emulated(8 * PAGE, &p);
    uint8_t *data = pattern(3, 1);

    CU_ASSERT(ltram_write_frames(lt, 2, 3, data) == 0);
    CU_ASSERT(memcmp(ltram_frame_ptr(lt, 2), data, 3 * PAGE) == 0);
    CU_ASSERT(ltram_write_frames(lt, 3, 1, data) == 0);
    CU_ASSERT(memcmp(ltram_frame_ptr(lt, 3), data, PAGE) == 0);
    CU_ASSERT(ltram_wear(lt, 1) == 0);
    CU_ASSERT(ltram_wear(lt, 2) == 1);
    CU_ASSERT(ltram_wear(lt, 3) == 2);
    CU_ASSERT(ltram_wear(lt, 4) == 1);
    CU_ASSERT(ltram_wear(lt, 99) == 0);
    CU_ASSERT(ltram_wear_array(lt)[3] == 2);

    /* The fd maps the same frames: what the lead maps into the guest. */
    void *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ltram_fd(lt),
                   (off_t)(4 * PAGE + ltram_file_offset(lt)));
    CU_ASSERT_FATAL(m != MAP_FAILED);
    CU_ASSERT(memcmp(m, data + 2 * PAGE, PAGE) == 0);
    munmap(m, PAGE);

    struct ltram_stats s;
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.writes == 4);
    CU_ASSERT(s.host_bytes == 4 * PAGE);
    CU_ASSERT(s.frames_written_ever == 3);
    free(data);
    ltram_close(lt);
}

static void test_write_range_errors(void)
{
    struct ltram_profile p = quiet_profile(4096);
    struct ltram *lt = open_emulated(4 * PAGE, &p);
    uint8_t *data = pattern(4, 0);
    CU_ASSERT(ltram_write_frames(lt, 4, 1, data) == -EINVAL);
    CU_ASSERT(ltram_write_frames(lt, 3, 2, data) == -EINVAL);
    CU_ASSERT(ltram_write_frames(lt, 1, UINT32_MAX, data) == -EINVAL);
    CU_ASSERT(ltram_write_frames(lt, 0, 1, NULL) == -EINVAL);
    CU_ASSERT(ltram_write_frames(NULL, 0, 1, data) == -EINVAL);
    CU_ASSERT(ltram_write_frames(lt, 0, 0, data) == 0);
    CU_ASSERT(ltram_write_frames(lt, 0, 4, data) == 0);
    struct ltram_stats s;
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.writes == 4);
    free(data);
    ltram_close(lt);
}

static void test_audit_detects_corruption(void)
{
    struct ltram_profile p = quiet_profile(4096);
    struct ltram *lt = open_emulated(130 * PAGE, &p);
    uint8_t *data = pattern(130, 7);
    uint32_t bad = 0;

    CU_ASSERT(ltram_audit(lt, 0, 130, &bad) == 0);     /* nothing written yet: nothing to check */
    CU_ASSERT(ltram_write_frames(lt, 0, 130, data) == 0);
    CU_ASSERT(ltram_audit(lt, 0, 130, &bad) == 0);
    CU_ASSERT(bad == UINT32_MAX);
    CU_ASSERT(ltram_audit(lt, 0, UINT32_MAX, &bad) == 0);   /* clipped to the device */

    /* A stray write behind the model's back: one byte of frame 77. */
    ((uint8_t *)ltram_frame_ptr(lt, 77))[1234] ^= 0x20;
    CU_ASSERT(ltram_audit(lt, 0, 130, &bad) == 1);
    CU_ASSERT(bad == 77);
    CU_ASSERT(ltram_audit(lt, 77, 1, &bad) == 1);
    CU_ASSERT(bad == 77);
    /* Only the range asked for is audited (steps of an incremental audit). */
    CU_ASSERT(ltram_audit(lt, 0, 77, &bad) == 0);
    CU_ASSERT(ltram_audit(lt, 78, 52, &bad) == 0);
    CU_ASSERT(ltram_audit(lt, 200, 10, &bad) == 0);
    /* Rewriting the frame through the model makes it clean again. */
    CU_ASSERT(ltram_write_frames(lt, 77, 1, data) == 0);
    CU_ASSERT(ltram_audit(lt, 0, 130, NULL) == 0);

    struct ltram_stats s;
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.audit_failures == 2);
    free(data);
    ltram_close(lt);
}

static void test_media_bytes_write_unit(void)
{
    struct ltram_profile p = quiet_profile(256);
    struct ltram *lt = open_emulated(4 * PAGE, &p);
    uint8_t *data = pattern(4, 0);
    struct ltram_stats s;

    CU_ASSERT(ltram_write_frames(lt, 0, 4, data) == 0);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.host_bytes == 4 * PAGE);
    CU_ASSERT(s.media_bytes == 4 * PAGE);   /* 256 divides 4096: no amplification */
    ltram_close(lt);

    p = quiet_profile(8192);                /* a unit larger than a frame */
    lt = open_emulated(4 * PAGE, &p);
    CU_ASSERT(ltram_write_frames(lt, 0, 4, data) == 0);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.host_bytes == 4 * PAGE);
    CU_ASSERT(s.media_bytes == 2 * s.host_bytes);
    ltram_close(lt);

    p = quiet_profile(3000);                /* rounds up: 2 units per frame */
    lt = open_emulated(PAGE, &p);
    CU_ASSERT(ltram_write_frames(lt, 0, 1, data) == 0);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.media_bytes == 6000);
    free(data);
    ltram_close(lt);
}

static void test_erase_accounting(void)
{
    struct ltram_profile p;
    CU_ASSERT_FATAL(ltram_profile_lookup("nor-flash", &p) == 0);
    struct ltram *lt = open_emulated(4 * PAGE, &p);
    ltram_set_delay_scale(lt, 0);
    uint8_t *data = pattern(2, 0);
    struct ltram_stats s;

    CU_ASSERT(ltram_write_frames(lt, 0, 2, data) == 0);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.erases == 2);
    /* 16 units x 16 µs + one 18 ms erase, per frame. */
    CU_ASSERT(s.modeled_ns_total == 2 * (16 * 16000ull + 18000000ull));
    CU_ASSERT(s.delay_ns_total == 0);
    ltram_close(lt);

    p.erase_block = 1024;
    lt = open_emulated(4 * PAGE, &p);
    ltram_set_delay_scale(lt, 0);
    CU_ASSERT(ltram_write_frames(lt, 1, 1, data) == 0);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.erases == 4);
    CU_ASSERT(s.modeled_ns_total == 16 * 16000ull + 4 * 18000000ull);
    free(data);
    ltram_close(lt);
}

/* Writes n frames one call at a time; returns the elapsed ns. */
static uint64_t timed_writes(struct ltram *lt, uint32_t calls, const void *data)
{
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < calls; i++)
        CU_ASSERT(ltram_write_frames(lt, i % ltram_frames(lt), 1, data) == 0);
    return now_ns() - t0;
}

/* Model correctness, not speed: the injected delay is at least 90% of the
 * modeled time, through the sleep path (>= 200 µs) and the spin path. */
static void test_delay_injection(void)
{
    struct ltram_profile p = quiet_profile(4096);
    uint8_t *data = pattern(1, 0);
    struct ltram_stats s;

    p.write_ns = 500000;                      /* 0.5 ms per frame: sleeps */
    struct ltram *lt = open_emulated(4 * PAGE, &p);
    uint64_t elapsed = timed_writes(lt, 4, data);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.modeled_ns_total == 2000000);
    CU_ASSERT(s.delay_ns_total == 2000000);
    CU_ASSERT(elapsed >= 1800000);
    printf("# delay (sleep path): modeled 2.000 ms, measured %.3f ms\n", (double)elapsed / 1e6);
    ltram_close(lt);

    p.write_ns = 50000;                       /* 50 µs per frame: spins */
    lt = open_emulated(4 * PAGE, &p);
    elapsed = timed_writes(lt, 40, data);
    CU_ASSERT(elapsed >= 1800000);
    printf("# delay (spin path): modeled 2.000 ms, measured %.3f ms\n", (double)elapsed / 1e6);

    ltram_set_delay_scale(lt, 0.5);
    elapsed = timed_writes(lt, 40, data);
    CU_ASSERT(elapsed >= 900000);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.delay_ns_total == 3000000);
    CU_ASSERT(s.modeled_ns_total == 4000000);
    free(data);
    ltram_close(lt);
}

static void test_delay_scale_zero(void)
{
    struct ltram_profile p = quiet_profile(4096);
    uint8_t *data = pattern(4, 0);
    p.write_ns = 1000000000;                  /* 1 s per frame if injected */
    struct ltram *lt = open_emulated(4 * PAGE, &p);
    ltram_set_delay_scale(lt, 0);
    uint64_t t0 = now_ns();
    CU_ASSERT(ltram_write_frames(lt, 0, 4, data) == 0);
    CU_ASSERT(now_ns() - t0 < 100000000);
    struct ltram_stats s;
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.delay_ns_total == 0);
    CU_ASSERT(s.modeled_ns_total == 4000000000ull);
    ltram_set_delay_scale(lt, -3);            /* nonsense reads as 0 */
    CU_ASSERT(ltram_write_frames(lt, 0, 1, data) == 0);
    CU_ASSERT(now_ns() - t0 < 100000000);
    free(data);
    ltram_close(lt);
}

static void test_stats_wear_over_all_frames(void)
{
    struct ltram_profile p = quiet_profile(4096);
    p.endurance = 3;
    struct ltram *lt = open_emulated(4 * PAGE, &p);
    uint8_t *data = pattern(1, 0);
    struct ltram_stats s;

    ltram_get_stats(lt, &s);
    CU_ASSERT(s.frames == 4 && s.wear_min == 0 && s.wear_max == 0 && s.wear_mean == 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT(ltram_write_frames(lt, 0, 1, data) == 0);
    CU_ASSERT(ltram_write_frames(lt, 1, 1, data) == 0);
    ltram_get_stats(lt, &s);
    CU_ASSERT(s.wear_min == 0);               /* frames 2, 3 never written */
    CU_ASSERT(s.wear_max == 3);
    CU_ASSERT(s.wear_mean == 1.0);            /* 4 writes over all 4 frames */
    CU_ASSERT(s.frames_written_ever == 2);
    CU_ASSERT(s.retired == 1);                /* frame 0 reached endurance 3 */
    free(data);
    ltram_close(lt);
}

static void test_checksum(void)
{
    uint8_t *a = pattern(1, 0x11), *b = pattern(1, 0x11);
    CU_ASSERT(ltram_checksum_page(a) == ltram_checksum_page(b));
    /* Any single bit, anywhere, changes it. */
    for (size_t i = 0; i < PAGE * 8; i += 97) {
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        CU_ASSERT(ltram_checksum_page(a) != ltram_checksum_page(b));
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* Swapping two words (same content, other place) changes it too. */
    uint64_t w0 = 1, w1 = 2;
    memcpy(b, &w0, 8);
    memcpy(b + 8, &w1, 8);
    uint64_t h = ltram_checksum_page(b);
    memcpy(b, &w1, 8);
    memcpy(b + 8, &w0, 8);
    CU_ASSERT(ltram_checksum_page(b) != h);
    memset(b, 0, PAGE);
    CU_ASSERT(ltram_checksum_page(b) != 0);

    enum { ROUNDS = 20000 };
    uint64_t sink = 0, t0 = now_ns();
    for (int i = 0; i < ROUNDS; i++) {
        a[0] = (uint8_t)i;
        sink += ltram_checksum_page(a);
    }
    double ns = (double)(now_ns() - t0) / ROUNDS;
    printf("# checksum: %.0f ns per 4 KiB page (%llx)\n", ns, (unsigned long long)(sink & 0xf));
    free(a);
    free(b);
}

int register_ltram_tests(void)
{
    static const struct unit_test tests[] = {
        { "profile presets carry the published figures", test_profile_presets },
        { "profile unknown name, names list", test_profile_unknown_and_names },
        { "open emulated rounds to frames", test_open_emulated },
        { "open errors: too small, bad spec, bad profile", test_open_errors },
        { "open file: created, sized, reopened", test_open_file },
        { "open file in a missing directory names the path", test_open_file_bad_dir },
        { "open file: only regular files", test_open_file_not_regular },
        { "write copies data, counts wear", test_write_copies_and_wears },
        { "write range errors", test_write_range_errors },
        { "audit is clean, then finds the corrupted frame", test_audit_detects_corruption },
        { "media bytes follow the write unit", test_media_bytes_write_unit },
        { "erases are accounted", test_erase_accounting },
        { "modeled write delay is injected", test_delay_injection },
        { "delay scale 0 disables injection", test_delay_scale_zero },
        { "stats: wear over all frames, retired", test_stats_wear_over_all_frames },
        { "checksum detects changes; speed", test_checksum },
    };
    return ADD_SUITE("ltram", tests);
}
