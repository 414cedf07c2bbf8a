/* The monitor: runs the write- and access-tracking backends and turns the
 * access samples into per-region results (see tracking.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bitmap.h"
#include "tiering/tracking.h"

static void tracker_fini(struct tracker *tk)
{
    if (!tk->ops)
        return;
    tk->ops->fini(tk);
    free(tk->priv);
    tk->priv = NULL;
    tk->ops = NULL;
}

/* A backend with no ops is off: nothing to do. */
static int tracker_init(struct tracker *tk, char *err, size_t errlen)
{
    if (!tk->ops)
        return 0;
    tk->priv = calloc(1, tk->ops->priv_size);
    int rc = tk->priv ? tk->ops->init(tk, err, errlen) : -ENOMEM;
    if (!tk->priv)
        snprintf(err, errlen, "tracking: out of memory");
    if (rc < 0)
        tracker_fini(tk);
    return rc;
}

int monitor_init(struct monitor *m, struct tier_core *core, const struct tiering_config *cfg,
                 enum tiering_access access, char *err, size_t errlen)
{
    *m = (struct monitor){.core = core};
    m->writes = (struct tracker){.core = core, .vm = &cfg->vm, .ops = &track_dirty_log_ops};
    m->access = (struct tracker){.core = core, .vm = &cfg->vm};
    if (access == TIERING_ACCESS_UFFD)
        m->access.ops = &track_uffd_ops;
    else if (access == TIERING_ACCESS_PAGE_IDLE)
        m->access.ops = &track_page_idle_ops;
    uint64_t words = BITMAP_WORDS(core->npages);
    uint64_t gib = (core->npages * PAGE_SIZE_4K + (1ull << 30) - 1) >> 30;
    m->sample_cap = m->access.ops ? cfg->samples_per_gib * gib : 0;
    m->written = calloc(words, sizeof *m->written);
    m->seen = calloc(words, sizeof *m->seen);
    m->samples = calloc(m->sample_cap ? m->sample_cap : 1, sizeof *m->samples);
    m->results = calloc(m->sample_cap ? m->sample_cap : 1, sizeof *m->results);
    if (!m->written || !m->seen || !m->samples || !m->results) {
        snprintf(err, errlen, "tracking: out of memory");
        return -ENOMEM;
    }
    int rc = tracker_init(&m->writes, err, errlen);
    if (rc == 0)
        rc = tracker_init(&m->access, err, errlen);
    return rc;
}

void monitor_fini(struct monitor *m)
{
    tracker_fini(&m->writes);
    tracker_fini(&m->access);
    free(m->written);
    free(m->seen);
    free(m->samples);
    free(m->results);
    *m = (struct monitor){0};
}

uint64_t *track_bitmap(const struct tracker *tk)
{
    return calloc(BITMAP_WORDS(tk->core->npages), sizeof(uint64_t));
}

size_t monitor_harvest(struct monitor *m, const struct sample_result **results)
{
    struct tier_core *c = m->core;
    if (m->writes.ops)
        m->writes.ops->harvest(&m->writes, NULL, 0, m->written);
    *results = m->results;
    if (!m->access.ops || !m->nsamples)
        return 0;
    memset(m->seen, 0, BITMAP_WORDS(c->npages) * sizeof *m->seen);
    m->access.ops->harvest(&m->access, m->samples, m->nsamples, m->seen);
    /* Each sample speaks for its region: the samples tile guest RAM every
     * epoch (a rotating offset inside each region picks a different page
     * each time), so every page's read age is refreshed, as DAMON does. */
    uint64_t region = m->sample_stride, touched_n = 0;
    for (size_t i = 0; i < m->nsamples; i++) {
        uint64_t p = m->samples[i];
        uint64_t first = c->pinned_pages + (p - c->pinned_pages) / region * region;
        uint64_t n = first + region <= c->npages ? region : c->npages - first;
        bool touched = bitmap_test(m->seen, p);
        m->results[i] = (struct sample_result){.page = p, .first = first, .n = n, .touched = touched};
        touched_n += touched;
    }
    pthread_mutex_lock(&c->lock);
    m->samples_taken += m->nsamples;
    m->samples_touched += touched_n;
    pthread_mutex_unlock(&c->lock);
    size_t n = m->nsamples;
    m->nsamples = 0;
    return n;
}

/* Write tracking is re-armed by page lists in chunks (a bounded scratch
 * list; each chunk costs the guest one TLB flush, so they are large). */
static void rearm_writes(struct monitor *m, const uint64_t *rearm)
{
    uint64_t list[8192];
    size_t n = 0;
    for (uint64_t w = 0; w < BITMAP_WORDS(m->core->npages); w++) {
        for (uint64_t bits = rearm[w]; bits; bits &= bits - 1) {
            list[n++] = w * 64 + (uint64_t)__builtin_ctzll(bits);
            if (n == sizeof list / sizeof list[0]) {
                m->writes.ops->arm(&m->writes, list, n);
                m->write_arms++;
                n = 0;
            }
        }
    }
    if (n) {
        m->writes.ops->arm(&m->writes, list, n);
        m->write_arms++;
    }
}

size_t monitor_arm(struct monitor *m, const uint64_t *rearm, const unsigned char *resident, size_t nsamples,
                   const uint64_t *exclude)
{
    struct tier_core *c = m->core;
    if (m->writes.ops && rearm)
        rearm_writes(m, rearm);
    uint64_t span = c->npages - c->pinned_pages;
    if (!m->access.ops || !m->sample_cap || !span || !nsamples)
        return 0;
    /* Fewer samples than the cap cover RAM with a coarser tiling. */
    if (nsamples > m->sample_cap)
        nsamples = m->sample_cap;
    uint64_t stride = span / nsamples ? span / nsamples : 1;
    m->sample_stride = stride;
    m->sample_cursor = (m->sample_cursor + 1) % stride;
    size_t n = 0;
    for (uint64_t k = 0; k < nsamples; k++) {
        uint64_t p = c->pinned_pages + (m->sample_cursor + k * stride) % span;
        if (resident[p] && !(exclude && bitmap_test(exclude, p)))
            m->samples[n++] = p;
    }
    m->nsamples = m->access.ops->arm(&m->access, m->samples, n);
    return m->nsamples;
}

void monitor_note_fault(struct monitor *m, uint64_t page)
{
    if (m->access.ops && m->access.ops->note_fault)
        m->access.ops->note_fault(&m->access, page);
}

const char *monitor_access_name(const struct monitor *m)
{
    return m->access.ops ? m->access.ops->name : "off";
}

const char *monitor_writes_name(const struct monitor *m)
{
    return m->writes.ops ? m->writes.ops->name : "off";
}
