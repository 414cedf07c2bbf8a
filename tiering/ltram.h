/* The LtRAM device: a mmap-able backing store of 4 KiB frames plus the
 * device model (write latency injection, write amplification, erases), per
 * frame wear counts and content checksums for the audit.
 *
 * The guest only ever reads LtRAM (frames are mapped read-only into guest
 * space from ltram_fd()); ltram_write_frames() is the one write path, so
 * every write is modeled, counted and checksummed. Wear and checksums live
 * in memory only: a reopened file starts with zero wear and no checksums.
 *
 * Not internally locked: call under the caller's lock. Note that
 * ltram_write_frames() sleeps/spins for the modeled write time in the
 * calling thread. */
#ifndef AROM_TIERING_LTRAM_H
#define AROM_TIERING_LTRAM_H

#include <stddef.h>
#include <stdint.h>

#include "tiering/ltram_profile.h"

#define LTRAM_FRAME_SIZE 4096u

enum ltram_backend { LTRAM_EMULATED, LTRAM_FILE };

struct ltram_stats {
    uint64_t frames;
    uint64_t frames_written_ever;  /* frames with wear > 0 */
    uint64_t writes;               /* frame writes */
    uint64_t host_bytes;           /* bytes copied in (4096 per frame write) */
    uint64_t media_bytes;          /* bytes the media wrote: whole write units */
    uint64_t erases;               /* erase-block operations */
    uint64_t modeled_ns_total;     /* modeled write time, regardless of delay_scale */
    uint64_t delay_ns_total;       /* delay actually injected (modeled x delay_scale) */
    uint64_t wear_min, wear_max;   /* over ALL frames; never-written frames count 0 */
    double wear_mean;              /* over ALL frames */
    uint64_t retired;              /* frames with wear >= endurance (0 if unlimited) */
    uint64_t audit_failures;       /* mismatching frames found, summed over audits */
};

struct ltram;

/* spec: "emulated" (an anonymous memfd named "arom-ltram" of `capacity`
 * bytes) or "file:PATH" (opened or created; grown to `capacity` if smaller;
 * capacity 0 means use the file's size). Capacity is rounded down to whole
 * frames and must hold at least one. prof NULL = LTRAM_DEFAULT_PROFILE.
 * Returns 0 or a negative errno with a message naming the cause in err. */
int ltram_open(struct ltram **out, const char *spec, uint64_t capacity,
               const struct ltram_profile *prof, char *err, size_t errlen);
void ltram_close(struct ltram *lt);

/* Allocate and map every frame now, as a real device has its capacity from
 * the start: demotions then cost the copy and the model's delay, not the
 * host's first-touch faults (~4 us a page on nested hosts, 4x the copy).
 * Costs about 1 us a frame once. 0 or -errno (message in err). */
int ltram_prefault(struct ltram *lt, char *err, size_t errlen);

enum ltram_backend ltram_backend(const struct ltram *lt);
const struct ltram_profile *ltram_get_profile(const struct ltram *lt);

/* Frame f lives at file offset f * LTRAM_FRAME_SIZE + ltram_file_offset(). */
int ltram_fd(const struct ltram *lt);
uint64_t ltram_file_offset(const struct ltram *lt);
uint32_t ltram_frames(const struct ltram *lt);

/* VMM-private writable view of a frame (MAP_SHARED of the fd), NULL if out
 * of range. Writing through it bypasses the model; the audit will see it. */
void *ltram_frame_ptr(struct ltram *lt, uint32_t frame);

/* Copy n frames (n * 4096 bytes from src) into frames first..first+n-1:
 * wear++ and a new checksum per frame, host/media bytes and erases
 * accounted, and the modeled write time (units * write_ns + erases *
 * erase_ns, times delay_scale) injected as a real delay. Returns 0 or
 * -EINVAL (NULL argument or range). n == 0 is a no-op. */
int ltram_write_frames(struct ltram *lt, uint32_t first, uint32_t n, const void *src);

/* 1.0 = model as configured (default), 0 = no injected delay. Negative or
 * non-finite values are treated as 0. */
void ltram_set_delay_scale(struct ltram *lt, double scale);

uint32_t ltram_wear(const struct ltram *lt, uint32_t frame);  /* 0 if out of range */
const uint32_t *ltram_wear_array(const struct ltram *lt);     /* live, ltram_frames() long */

/* Recompute the checksum of every frame ever written in [first, first+n)
 * (clipped to the device) and compare it with the one recorded at its last
 * write. ltram_write_frames() is the one write path and updates a frame's
 * checksum with its data, so a written frame matches at every moment the
 * caller holds the device's lock, in use or not: an audit can proceed in
 * short steps. Returns the number of mismatching frames (0 = clean), added
 * to audit_failures; *first_bad (if non-NULL) gets the lowest, or
 * UINT32_MAX if clean. */
uint64_t ltram_audit(struct ltram *lt, uint32_t first, uint32_t n, uint32_t *first_bad);

void ltram_get_stats(const struct ltram *lt, struct ltram_stats *out);
/* The wear figures of frames [first, first + n) folded into out (start
 * with wear_min = UINT64_MAX, the rest 0; wear_mean holds the sum until
 * ltram_wear_finish), so callers can scan a large device in short steps,
 * a lock hold each. */
void ltram_wear_scan(const struct ltram *lt, uint32_t first, uint32_t n, struct ltram_stats *out);
void ltram_wear_finish(const struct ltram *lt, struct ltram_stats *out);
/* Every figure but the wear ones (O(1)). */
void ltram_get_counters(const struct ltram *lt, struct ltram_stats *out);

/* 64-bit hash of one 4096-byte page: four xxHash64-style multiply-rotate
 * lanes over 64-bit words. Each lane is a bijection of each of its words,
 * so any change confined to one word is always detected. */
uint64_t ltram_checksum_page(const void *p);

double ltram_modeled_read_ns(const struct ltram *lt);

#endif
