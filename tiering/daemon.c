/*
 * The tiering daemon: once an epoch it learns what the guest wrote and
 * touched (the monitor, tracking.h), ages every page's history, notes the
 * tier changes since the last look (ping-pongs: a page promoted soon after
 * its demotion), measures what tiering cost the guest (the guard,
 * guard.h), and when DRAM use is over the budget and the guard allows it,
 * demotes the pages the policy (policy.h) ranks first — coldest, then
 * clean the longest — in contiguous runs, through the migration engine.
 *
 * Write tracking costs only what the policy needs. A page's write is seen
 * only while the page is armed (re-protected in the dirty log), and each
 * armed page the guest writes costs it one VM exit. So a page is armed
 * only when it may become a demotion candidate: when DRAM is near the
 * budget, at most arm_budget pages an epoch (sized so the exits fit the
 * guard's allowance), in rotating order, each no sooner than its re-arm
 * backoff allows (a page found written soon after arming waits longer
 * every time). An unarmed page is assumed written. Access sampling is
 * sized the same way. The daemon never stalls the guest: when the guest
 * writes faster than the budget allows, or the guard pauses demotion, DRAM
 * use exceeds the budget for a while and the stats say why.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bitmap.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/log.h"
#include "tiering/daemon.h"

#define SCAN_CHUNK 4096             /* pages scanned per lock hold */
#define REGION_PAGES 512            /* 2 MiB: the unit of region-level re-arm backoff */
#define PROBES_PER_REGION 4         /* pages probed in a region before its others */
#define PRESSURE_PCT 90             /* DRAM above this share of the budget: prepare candidates */
/* Of the guard's allowance, what tracking may spend, so that tracking
 * alone stays under the level where the guard slows demotion (3/4). */
#define TRACK_SHARE 0.25            /* write-tracking exits */
#define SAMPLE_SHARE 0.15           /* access-sampling faults */
#define SAMPLE_COST_NS 3.0          /* an access fault costs ~3 exits: the exit, the wait, the map */
#define IDLE_SAMPLES 16             /* access samples an epoch with no pressure */

int daemon_init(struct daemon *d, struct tier_core *core, struct migrate_engine *eng, struct monitor *mon,
                struct fault_path *fault, const struct tiering_config *cfg, char *err, size_t errlen)
{
    *d = (struct daemon){.core = core, .eng = eng, .mon = mon, .fault = fault, .vm = &cfg->vm,
                         .epoch_ms = cfg->epoch_ms, .enabled = cfg->daemon};
    policy_params_init(&d->params, cfg->dram_budget / PAGE_SIZE_4K);
    guard_init(&d->guard, cfg->max_slowdown_pct, cfg->exit_cost_us * 1e3);
    if (!d->enabled)
        return 0;
    uint64_t n = core->npages, words = BITMAP_WORDS(n);
    d->pages = calloc(n, sizeof *d->pages);
    d->was_ltram = calloc(words, sizeof *d->was_ltram);
    d->armed = calloc(words, sizeof *d->armed);
    d->rearm = calloc(words, sizeof *d->rearm);
    d->resident = calloc(n, 1);
    d->region_rearm = calloc(n / REGION_PAGES + 1, 1);
    d->tainted = calloc(words, sizeof *d->tainted);
    d->region_remap = calloc(n / REGION_PAGES + 1, sizeof *d->region_remap);
    if (!d->pages || !d->was_ltram || !d->armed || !d->rearm || !d->resident || !d->region_rearm || !d->tainted ||
        !d->region_remap) {
        snprintf(err, errlen, "tiering daemon: out of memory");
        return -ENOMEM;
    }
    for (uint64_t p = 0; p < n; p++)
        d->pages[p].hist = HIST_INITIAL;
    if (monitor_write_flags(mon) & TRACK_STARTS_ARMED)
        memset(d->armed, 0xff, words * sizeof *d->armed);
    d->arm_budget = 0;              /* grows from the floor as arming proves cheap */
    d->sample_budget = IDLE_SAMPLES;
    if (cfg->trace_path[0] && !(d->trace = fopen(cfg->trace_path, "w"))) {
        snprintf(err, errlen, "--daemon-trace %s: %s", cfg->trace_path, strerror(errno));
        return -EINVAL;
    }
    return 0;
}

void daemon_fini(struct daemon *d)
{
    if (d->trace)
        fclose(d->trace);
    d->trace = NULL;
    free(d->pages);
    free(d->was_ltram);
    free(d->armed);
    free(d->rearm);
    free(d->resident);
    free(d->region_rearm);
    free(d->tainted);
    free(d->region_remap);
    d->pages = NULL;
    d->resident = NULL;
}

/* Which pages of the DRAM memfd hold data: walk its extents with
 * SEEK_DATA/SEEK_HOLE (cheap: one step per extent, where mincore would
 * look up every page). */
static void scan_residency(struct daemon *d)
{
    struct tier_core *c = d->core;
    off_t size = (off_t)(c->npages * PAGE_SIZE_4K), pos = 0;
    memset(d->resident, 0, c->npages);
    while (pos < size) {
        off_t data = lseek(c->dram_fd, pos, SEEK_DATA);
        if (data < 0)
            break;              /* ENXIO: no data past pos */
        off_t hole = lseek(c->dram_fd, data, SEEK_HOLE);
        if (hole < 0)
            hole = size;
        memset(d->resident + data / (off_t)PAGE_SIZE_4K, 1,
               (size_t)((hole - data + (off_t)PAGE_SIZE_4K - 1) / (off_t)PAGE_SIZE_4K));
        pos = hole;
    }
}

/* Pages [first, first+n) were remapped in the guest's view (demoted,
 * promoted, zapped for a sample). KVM drops its mappings there and, on a
 * shadow-paging host, of neighbours in the same 2 MiB page too; the next
 * access maps them again writable where the guest page table allows and
 * logs them dirty. So until the next harvest a dirty report from those
 * regions proves nothing (lock held). (A sample's zap of one page affects
 * that page only: samples taint the page, not the region.) */
static void note_remap(struct daemon *d, uint64_t first, uint64_t n)
{
    for (uint64_t r = first / REGION_PAGES; r <= (first + n - 1) / REGION_PAGES; r++)
        d->region_remap[r] = d->epoch + 1;
}

/* Carry each access sample's result to the pages of its region. */
static void apply_samples(struct daemon *d, const struct sample_result *r, size_t n)
{
    pthread_mutex_lock(&d->core->lock);
    for (size_t i = 0; i < n; i++) {
        for (uint64_t q = r[i].first; q < r[i].first + r[i].n; q++)
            d->pages[q].hist = policy_note_access(d->pages[q].hist, r[i].touched);
        /* A touched sample was mapped again: its next dirty report is real. */
        if (r[i].touched)
            bitmap_set(d->tainted, r[i].page, false);
    }
    pthread_mutex_unlock(&d->core->lock);
}

/* A tier change the daemon sees now (lock held): record it; a promotion
 * soon after the demotion is a ping-pong and backs the page off. Returns
 * true when the page was promoted (a store wrote it). */
static bool note_tier_change(struct daemon *d, uint64_t p, uint64_t *pingpongs)
{
    bool on_ltram = placement_tier(d->core->pm, p) == TIER_LTRAM;
    if (on_ltram == bitmap_test(d->was_ltram, p))
        return false;
    struct page_policy *pp = &d->pages[p];
    bitmap_set(d->was_ltram, p, on_ltram);
    bitmap_set(d->armed, p, false);         /* a new mapping: no longer watched */
    if (on_ltram) {
        policy_on_demote(d->epoch, &pp->last_change);
        return false;
    }
    uint16_t backoff = pp->backoff;
    bool pingpong = policy_on_promote(&d->params, d->epoch, &pp->last_change, &backoff);
    pp->backoff = (uint8_t)backoff;
    if (pingpong)   /* the page was written within pingpong_epochs of leaving: learn that */
        pp->period = policy_learn_period(pp->period, d->epoch - pp->last_write);
    *pingpongs += pingpong;
    d->promotions_seen++;
    return true;
}

enum write_seen { WRITE_CLEAN, WRITE_SEEN, WRITE_UNKNOWN };

/* What the write tracking says of page p this epoch (lock held). An armed
 * page the guest wrote cost it one exit; it stays dirty (unarmed) from here
 * and so costs nothing more. An unarmed page is not known to be clean. */
static enum write_seen note_write(struct daemon *d, uint64_t p, bool promoted, bool selective)
{
    struct page_policy *pp = &d->pages[p];
    if (promoted)
        return WRITE_SEEN;
    if (placement_tier(d->core->pm, p) != TIER_DRAM)
        return WRITE_CLEAN;     /* LtRAM pages need no tracking: a store promotes them */
    if (!selective)
        return monitor_written(d->mon, p) ? WRITE_SEEN : WRITE_CLEAN;
    if (!bitmap_test(d->armed, p))
        return WRITE_UNKNOWN;
    if (!monitor_written(d->mon, p))
        return WRITE_CLEAN;
    bitmap_set(d->armed, p, false);
    unsigned clean = HIST_WRITE_AGE(pp->hist);
    pp->rearm = policy_rearm_backoff(&d->params, pp->rearm, clean);
    /* A sample's first access after its zap, or a neighbour's remap: may
     * be no write at all. The page backs off, as any dirty one; its region
     * and its learned period are left alone. */
    if (bitmap_test(d->tainted, p) || d->region_remap[p / REGION_PAGES] >= d->epoch) {
        bitmap_set(d->tainted, p, false);
        return WRITE_UNKNOWN;
    }
    uint8_t *region = &d->region_rearm[p / REGION_PAGES];
    *region = policy_rearm_backoff(&d->params, *region, clean);
    pp->period = policy_learn_period(pp->period, clean);
    d->armed_written_last++;
    return WRITE_SEEN;
}

static int score(struct daemon *d, uint64_t p)
{
    const struct page_policy *pp = &d->pages[p];
    if (!policy_clean_enough(&d->params, pp->hist, pp->period))
        return -1;
    return policy_score(&d->params, pp->hist, d->epoch, pp->last_change, pp->backoff);
}

/* Age histories, note tier changes and writes, and build the score
 * histogram of the candidates (demotable pages clean long enough).
 * Returns promotions seen. */
static uint64_t scan(struct daemon *d, uint64_t *pingpongs)
{
    struct tier_core *c = d->core;
    bool selective = monitor_write_flags(d->mon) & TRACK_SELECTIVE;
    uint64_t promoted = d->promotions_seen;
    d->armed_written_last = 0;
    d->candidates = 0;
    d->write_hot = 0;
    memset(d->score_hist, 0, sizeof d->score_hist);
    for (uint64_t a = c->pinned_pages; a < c->npages; a += SCAN_CHUNK) {
        uint64_t b = a + SCAN_CHUNK < c->npages ? a + SCAN_CHUNK : c->npages;
        bool was_promoted[SCAN_CHUNK];
        pthread_mutex_lock(&c->lock);
        /* Tier changes first: a remap anywhere in a region taints its dirty reports. */
        for (uint64_t p = a; p < b; p++) {
            bool changed = bitmap_test(d->was_ltram, p) != (placement_tier(c->pm, p) == TIER_LTRAM);
            was_promoted[p - a] = note_tier_change(d, p, pingpongs);
            if (changed)
                d->region_remap[p / REGION_PAGES] = d->epoch;
        }
        for (uint64_t p = a; p < b; p++) {
            struct page_policy *pp = &d->pages[p];
            enum write_seen w = note_write(d, p, was_promoted[p - a], selective);
            if (w == WRITE_SEEN)
                pp->last_write = d->epoch;
            pp->hist = policy_age_write(pp->hist, w != WRITE_CLEAN);
            if (!core_demotable(c, p, d->resident))
                continue;
            int s = score(d, p);
            if (s >= 0) {
                d->score_hist[s]++;
                d->candidates++;
            } else {
                d->write_hot++;
            }
        }
        pthread_mutex_unlock(&c->lock);
    }
    if (!selective)         /* every fetch re-armed every page */
        memset(d->armed, 0xff, BITMAP_WORDS(c->npages) * sizeof *d->armed);
    return d->promotions_seen - promoted;
}

/* Arm page p for write tracking (lock held): its write age counts from here. */
static void arm_page(struct daemon *d, uint64_t p)
{
    bitmap_set(d->rearm, p, true);
    bitmap_set(d->armed, p, true);
    d->pages[p].hist = HIST_MAKE(0, HIST_READ_AGE(d->pages[p].hist));
}

#define SUSPICION_MAX (2 * POLICY_REARM_MAX)

/* How likely page p is to be written if armed: its own re-arm backoff plus
 * its region's (0: never seen written, nor anything near it); -1 when it
 * cannot be armed now (lock held). */
static int suspicion(struct daemon *d, uint64_t p)
{
    const struct page_policy *pp = &d->pages[p];
    if (bitmap_test(d->armed, p) || !core_demotable(d->core, p, d->resident) ||
        !policy_rearm_due(d->epoch, pp->last_write, pp->rearm))
        return -1;
    return pp->rearm + d->region_rearm[p / REGION_PAGES];
}

/* Choose up to `budget` pages to re-arm (lock held), the least likely to
 * be written first, DAMON-style: writes cluster, so a page found written
 * makes its 2 MiB region a suspect (region backoff) as much as itself.
 *   probes  a few pages of every region nothing was seen written in yet,
 *           so a budget spent on a hot region teaches about all its pages;
 *   then    pages by growing suspicion (page plus region backoff); those
 *           with any (likely written) at most `suspects` (what the guard
 *           allows if all are).
 * In rotating order, so every page gets its turn. Returns how many. */
static uint64_t choose_rearm(struct daemon *d, uint64_t budget, uint64_t suspects)
{
    struct tier_core *c = d->core;
    uint64_t span = c->npages - c->pinned_pages, picked = 0, from = d->arm_cursor;
    memset(d->rearm, 0, BITMAP_WORDS(c->npages) * sizeof *d->rearm);
    if (!(monitor_write_flags(d->mon) & TRACK_SELECTIVE) || !span || !budget)
        return 0;
    pthread_mutex_lock(&c->lock);
    uint64_t stride = REGION_PAGES / PROBES_PER_REGION;
    for (uint64_t k = 0; k < span && picked < budget; k += stride) {
        uint64_t p = c->pinned_pages + (from + k) % span;
        for (uint64_t q = p; q < p + stride && q < c->npages; q++) {
            if (suspicion(d, q) == 0) {
                arm_page(d, q);
                picked++;
                break;
            }
        }
    }
    /* How many to take at each suspicion level, least first. */
    uint64_t hist[SUSPICION_MAX + 1] = {0}, take[SUSPICION_MAX + 1] = {0};
    for (uint64_t p = c->pinned_pages; p < c->npages; p++) {
        int s = suspicion(d, p);
        if (s >= 0)
            hist[s]++;
    }
    uint64_t left = budget - picked;
    for (int s = 0; s <= SUSPICION_MAX && left; s++) {
        if (s == 1)
            left = left < suspects ? left : suspects;
        take[s] = hist[s] < left ? hist[s] : left;
        left -= take[s];
    }
    for (uint64_t k = 0; k < span; k++) {
        uint64_t p = c->pinned_pages + (from + k) % span;
        int s = suspicion(d, p);
        if (s < 0 || !take[s])
            continue;
        take[s]--;
        arm_page(d, p);
        picked++;
        d->arm_cursor = (from + k + 1) % span;
    }
    d->armed_pages += picked;
    pthread_mutex_unlock(&c->lock);
    return picked;
}

/* Demote runs of pages scoring >= threshold, in address order, until
 * `target` pages moved or the engine refuses (LtRAM full, tokens, maps):
 * then *refused says why. */
static uint64_t demote_victims(struct daemon *d, int threshold, uint64_t target, int64_t *refused)
{
    struct tier_core *c = d->core;
    uint64_t done = 0, p = c->pinned_pages;
    while (done < target && p < c->npages) {
        uint64_t start = p, len = 0;
        pthread_mutex_lock(&c->lock);
        for (; p < c->npages && len < MAX_DEMOTE_RUN && done + len < target; p++) {
            if (!core_demotable(c, p, d->resident) || score(d, p) < threshold) {
                if (len)
                    break;
                start = p + 1;
                continue;
            }
            len++;
        }
        pthread_mutex_unlock(&c->lock);
        if (!len)
            continue;
        int64_t n = migrate_demote(d->eng, start, len);
        if (n < 0) {
            *refused = n;
            break;
        }
        pthread_mutex_lock(&c->lock);
        for (uint64_t q = start; q < start + len; q++)
            note_tier_change(d, q, &d->pingpongs);
        note_remap(d, start, len);
        pthread_mutex_unlock(&c->lock);
        done += (uint64_t)n;
    }
    return done;
}

/* Global anti-thrash: when many promotions are ping-pongs (pages demoted
 * and written again within a few epochs), the clean window is too short
 * for this guest's write pattern: double it (up to the 15 epochs the write
 * age can count); when ping-pongs are rare, shrink it back one step.
 * Per-page backoff and learned periods handle single pages; this handles a
 * guest whose writes touch most of its memory every few seconds. Lock held. */
static void adapt_clean_window(struct daemon *d, uint64_t promoted, uint64_t pingpongs)
{
    if (promoted >= 64 && pingpongs * 4 > promoted) {
        unsigned w = d->params.min_clean_epochs * 2;
        d->params.min_clean_epochs = w < 15 ? w : 15;
    } else if (pingpongs * 20 < promoted + 20 && d->params.min_clean_epochs > POLICY_MIN_CLEAN) {
        d->params.min_clean_epochs--;
    }
}

static void read_vcpus(const struct daemon *d, struct vcpu_sample *v)
{
    *v = (struct vcpu_sample){.sum = {.running = 1}};
    if (d->vm->vcpu_times)
        v->n = d->vm->vcpu_times(d->vm->vm, &v->sum, v->per, TIERING_MAX_VCPUS);
}

/* Of the host's steal since the last epoch, the part that fell on threads
 * whose run time went from run_from to run_to; 0 without two readings. */
static uint64_t steal_since(const struct daemon *d, const struct cpu_stat *cpu, bool have_cpu, uint64_t run_from,
                            uint64_t run_to)
{
    return have_cpu && d->last_cpu.busy_ns && run_to > run_from
               ? cpu_stat_steal_share(&d->last_cpu, cpu, run_to - run_from) : 0;
}

/* The vCPU that tiering blocked most, as a share of its own time (net of
 * the host's steal), among those in use for a quarter of the epoch at
 * least: a server's one busy thread is its speed. */
static void worst_vcpu(const struct daemon *d, const struct vcpu_sample *v, const struct cpu_stat *cpu, bool have_cpu,
                       struct guard_sample *s)
{
    const struct vcpu_sample *l = &d->last_vcpus;
    double best = -1;
    for (unsigned i = 0; i < v->n && i < l->n; i++) {
        const struct tiering_vcpu_times *a = &l->per[i], *b = &v->per[i];
        if (b->active_ns < a->active_ns + s->wall_ns / 4 || b->blocked_ns < a->blocked_ns)
            continue;
        uint64_t active = b->active_ns - a->active_ns, blocked = b->blocked_ns - a->blocked_ns;
        uint64_t steal = steal_since(d, cpu, have_cpu, a->run_ns, b->run_ns);
        blocked = blocked > steal ? blocked - steal : 0;
        if ((double)blocked / (double)active > best) {
            best = (double)blocked / (double)active;
            s->worst_blocked_ns = blocked, s->worst_active_ns = active;
        }
    }
}

/* What tiering cost the guest since the last epoch, into the guard. */
static enum guard_verdict measure(struct daemon *d, uint64_t now, unsigned *vcpus)
{
    struct vcpu_sample vs;
    read_vcpus(d, &vs);
    const struct tiering_vcpu_times t = vs.sum, last = d->last_vcpus.sum;
    struct cpu_stat cpu = {0};
    bool have_cpu = cpu_stat_read(&cpu) == 0;
    pthread_mutex_lock(&d->core->lock);
    uint64_t uffd = d->fault->wp_faults + d->fault->minor_faults;
    uint64_t inval = d->eng->demote_batches + d->eng->promotions + d->mon->samples_taken + d->mon->write_arms;
    pthread_mutex_unlock(&d->core->lock);
    struct guard_sample s = {
        .wall_ns = d->last_tick_ns ? now - d->last_tick_ns : (uint64_t)d->epoch_ms * 1000000,
        .vcpus = t.running,
        /* A vCPU that finished leaves the sums: never count that as negative. */
        .blocked_ns = t.blocked_ns > last.blocked_ns ? t.blocked_ns - last.blocked_ns : 0,
        .active_ns = t.active_ns > last.active_ns ? t.active_ns - last.active_ns : 0,
        .steal_ns = steal_since(d, &cpu, have_cpu, last.run_ns, t.run_ns),
    };
    worst_vcpu(d, &vs, &cpu, have_cpu, &s);
    /* A flush reaches a vCPU asleep in the guest's own wait for free (on its
     * next entry, once): count one exit per vCPU in use, not per vCPU. */
    s.exits = d->armed_written_last + (uffd - d->last_uffd_faults) + (inval - d->last_invalidations) * guard_vcpus(&s);
    d->last_vcpus = vs;
    if (have_cpu)
        d->last_cpu = cpu;
    d->last_uffd_faults = uffd;
    d->last_invalidations = inval;
    d->last_tick_ns = now;
    d->last_sample = s;
    *vcpus = guard_vcpus(&s);
    pthread_mutex_lock(&d->core->lock);
    enum guard_verdict v = guard_epoch(&d->guard, &s);
    pthread_mutex_unlock(&d->core->lock);
    return v;
}

/* Pages to re-arm this epoch. Candidates are prepared only while DRAM is
 * near the budget, and only as many as the demotions ahead need (the
 * target, plus a reserve of 1% of the budget): a VM within its budget, or
 * with candidates enough, pays for no write tracking. */
static uint64_t arm_need(const struct daemon *d, bool pressure, uint64_t target)
{
    if (!pressure)
        return 0;
    uint64_t want = target + d->params.budget_pages / 100 + 64;
    uint64_t need = want > d->candidates ? 2 * (want - d->candidates) : 0;
    return need < d->arm_budget ? need : d->arm_budget;
}

/* Size next epoch's arm and sample budgets from what they cost this one. */
static void size_budgets(struct daemon *d, bool pressure, uint64_t wall_ns, unsigned vcpus, uint64_t touched)
{
    uint64_t n = d->core->npages;
    uint64_t allow_arm = guard_allowance(&d->guard, wall_ns, vcpus, TRACK_SHARE, d->guard.exit_cost_ns);
    uint64_t allow_smp = guard_allowance(&d->guard, wall_ns, vcpus, SAMPLE_SHARE,
                                         SAMPLE_COST_NS * d->guard.exit_cost_ns);
    uint64_t idle = n / 1024 ? n / 1024 : 1;
    d->arm_allowance = allow_arm;
    d->arm_budget = policy_arm_budget(d->arm_budget, d->armed_last, d->armed_written_last, allow_arm, idle, n);
    d->sample_budget = pressure ? policy_arm_budget(d->sample_budget, d->sample_budget, touched, allow_smp, IDLE_SAMPLES,
                                                    d->mon->sample_cap)
                                : IDLE_SAMPLES;
}

/* Why the engine refused a demotion (lock held). */
static enum over_reason refusal_reason(struct daemon *d, int64_t rc)
{
    if (rc == -ENOSPC)
        return OVER_LTRAM_FULL;
    if (rc == -EAGAIN)
        return maps_near_limit(&d->eng->maps, 2) ? OVER_MAPPINGS : OVER_TOKENS;
    return OVER_WRITES;
}

static void epoch_tick(struct daemon *d)
{
    uint64_t c0 = clock_thread_cpu_ns(), now = clock_now_ns();
    d->epoch++;
    const struct sample_result *samples;
    size_t nsamples = monitor_harvest(d->mon, &samples);
    uint64_t touched = 0;
    for (size_t i = 0; i < nsamples; i++)
        touched += samples[i].touched;
    scan_residency(d);
    uint64_t used = core_dram_resident_pages(d->core);
    apply_samples(d, samples, nsamples);

    pthread_mutex_lock(&d->core->lock);
    uint64_t target = policy_demote_target(&d->params, used);
    pthread_mutex_unlock(&d->core->lock);
    /* Over the budget, the kept DRAM copies of demoted pages go first. */
    if (target) {
        uint64_t released = migrate_release_kept(d->eng, target);
        used -= released < used ? released : used;
    }
    pthread_mutex_lock(&d->core->lock);
    target = policy_demote_target(&d->params, used);
    bool pressure = used * 100 > d->params.budget_pages * PRESSURE_PCT;
    pthread_mutex_unlock(&d->core->lock);

    uint64_t pingpongs = 0;
    uint64_t promoted = scan(d, &pingpongs);
    unsigned vcpus;
    enum guard_verdict verdict = measure(d, now, &vcpus);
    /* A guest still touching new memory (more than 1% of RAM since the
     * last epoch, promotions aside) is setting up: what it writes now it
     * may well write again soon, so leave it alone until it settles —
     * neither demote nor arm (armed pages it is about to fill would all
     * come back as exits at once). */
    uint64_t grown = used > d->dram_used_pages + promoted ? used - d->dram_used_pages - promoted : 0;
    bool setup = d->epochs == 0 || grown > d->core->npages / 100;
    if (!setup)     /* budgets learn from what arming cost: nothing was armed in set-up */
        size_budgets(d, pressure, d->epoch_ms * 1000000ull, vcpus, touched);
    /* Suspects cost what they did last time: while arms proved clean, as
     * many as the budget; once they come back written, what the guard allows. */
    uint64_t suspects = d->armed_written_last * 2 <= d->arm_allowance ? d->arm_budget : d->arm_allowance;
    uint64_t armed = choose_rearm(d, setup ? 0 : arm_need(d, pressure, target), suspects);
    size_t sampled = monitor_arm(d->mon, d->rearm, d->resident, d->sample_budget, d->armed);
    pthread_mutex_lock(&d->core->lock);
    for (size_t i = 0; i < sampled; i++)
        bitmap_set(d->tainted, d->mon->samples[i], true);
    pthread_mutex_unlock(&d->core->lock);

    uint64_t goal = setup || verdict == GUARD_PAUSE ? 0 : verdict == GUARD_SLOW ? target / 2 : target;
    int threshold = policy_threshold(d->score_hist, goal);
    uint64_t scan_ns = clock_thread_cpu_ns() - c0;

    /* Pages above the threshold all go (they number less than the goal),
     * then threshold pages in address order fill the rest. */
    uint64_t demoted = 0;
    int64_t refused = 0;
    if (goal && threshold + 1 < POLICY_SCORES)
        demoted = demote_victims(d, threshold + 1, goal, &refused);
    if (goal > demoted && !refused)
        demoted += demote_victims(d, threshold, goal - demoted, &refused);
    uint64_t after = core_dram_resident_pages(d->core);

    pthread_mutex_lock(&d->core->lock);
    d->epochs++;
    d->pingpongs += pingpongs;
    d->tracking_faults += d->armed_written_last;
    d->scan_ns_last = scan_ns;
    d->scan_ns_total += scan_ns;
    if (scan_ns > d->scan_ns_max)
        d->scan_ns_max = scan_ns;
    d->demoted_last = demoted;
    d->promoted_last = promoted;
    d->armed_last = armed;
    d->verdict = verdict;
    adapt_clean_window(d, promoted, pingpongs);
    d->dram_used_pages = after;
    if (after > d->dram_max_pages)
        d->dram_max_pages = after;
    d->over_reason = OVER_NONE;
    if (after > d->params.budget_pages) {
        d->over_budget_epochs++;    /* never stall the guest for it: say why */
        if (setup)
            d->over_reason = OVER_SETUP;
        else if (verdict == GUARD_PAUSE)
            d->over_reason = OVER_GUARD;
        else
            d->over_reason = refused ? refusal_reason(d, refused) : OVER_WRITES;
    }
    pthread_mutex_unlock(&d->core->lock);
    if (d->trace)
        fprintf(d->trace, "{\"epoch\":%u,\"t_ms\":%.1f,\"dram_pages\":%llu,\"target\":%llu,\"goal\":%llu,"
                "\"demoted\":%llu,\"promoted\":%llu,\"pingpongs\":%llu,\"armed\":%llu,\"arm_budget\":%llu,"
                "\"tracking_faults\":%llu,\"samples\":%llu,\"blocked_ms\":%.3f,\"steal_ms\":%.3f,\"vcpus_in_use\":%.2f,\"exits\":%llu,"
                "\"slowdown_pct\":%.3f,\"slowdown_smoothed_pct\":%.3f,\"verdict\":\"%s\",\"scan_ms\":%.3f}\n",
                d->epoch, now / 1e6, (unsigned long long)after, (unsigned long long)target,
                (unsigned long long)goal, (unsigned long long)demoted, (unsigned long long)promoted,
                (unsigned long long)pingpongs, (unsigned long long)armed, (unsigned long long)d->arm_budget,
                (unsigned long long)d->armed_written_last, (unsigned long long)d->sample_budget,
                d->last_sample.blocked_ns / 1e6, d->last_sample.steal_ns / 1e6,
                d->last_sample.wall_ns ? guard_vcpu_ns(&d->last_sample) / (double)d->last_sample.wall_ns : 0,
                (unsigned long long)d->last_sample.exits, d->guard.last_pct,
                d->guard.smoothed_pct, guard_verdict_name(verdict), scan_ns / 1e6);
}

static void *daemon_thread(void *arg)
{
    struct daemon *d = arg;
    struct pollfd p = {.fd = d->stop_efd, .events = POLLIN};
    /* The first epoch's costs are counted from here, not from the vCPUs' start. */
    read_vcpus(d, &d->last_vcpus);
    cpu_stat_read(&d->last_cpu);
    d->last_tick_ns = clock_now_ns();
    while (!atomic_load(&d->stopping)) {
        poll(&p, 1, (int)d->epoch_ms);
        if (atomic_load(&d->stopping))
            break;
        epoch_tick(d);
    }
    return NULL;
}

int daemon_start(struct daemon *d, int stop_efd)
{
    if (!d->enabled)
        return 0;
    d->stop_efd = stop_efd;
    return thread_start(&d->thread, "arom-daemon", daemon_thread, d);
}

void daemon_stop(struct daemon *d)
{
    atomic_store(&d->stopping, true);
    thread_join(&d->thread);
}

uint64_t daemon_epochs(struct daemon *d)
{
    pthread_mutex_lock(&d->core->lock);
    uint64_t n = d->epochs;
    pthread_mutex_unlock(&d->core->lock);
    return n;
}

uint64_t daemon_budget_pages(struct daemon *d)
{
    pthread_mutex_lock(&d->core->lock);
    uint64_t n = d->params.budget_pages;
    pthread_mutex_unlock(&d->core->lock);
    return n;
}

void daemon_update(struct daemon *d, const struct tiering_settings *s)
{
    pthread_mutex_lock(&d->core->lock);
    if (s->set & TIERING_SET_BUDGET)
        policy_set_budget(&d->params, s->dram_budget / PAGE_SIZE_4K);
    if (s->set & TIERING_SET_SLOWDOWN)
        d->guard.max_pct = s->max_slowdown_pct;
    if (s->set & TIERING_SET_EXIT_COST)
        d->guard.exit_cost_ns = s->exit_cost_us * 1e3;
    if (s->set & TIERING_SET_EPOCH)
        d->epoch_ms = s->epoch_ms;      /* from the next epoch on */
    pthread_mutex_unlock(&d->core->lock);
}

static const char *over_reason_name(enum over_reason r)
{
    static const char *const names[] = {
        [OVER_NONE] = "none", [OVER_WRITES] = "write_hot", [OVER_GUARD] = "slowdown_guard",
        [OVER_LTRAM_FULL] = "ltram_full", [OVER_TOKENS] = "tokens", [OVER_MAPPINGS] = "mappings",
        [OVER_SETUP] = "guest_setting_up",
    };
    return names[r];
}

json_object *daemon_json(struct daemon *d)
{
    json_object *o = json_object_new_object();
    pthread_mutex_lock(&d->core->lock);
    const struct monitor *m = d->mon;
    json_add_bool(o, "enabled", d->enabled);
    json_add_str(o, "access_tracking", d->enabled ? monitor_access_name(m) : "off");
    json_add_str(o, "dirty_tracking", d->enabled ? monitor_writes_name(m) : "off");
    json_add_str(o, "dirty_rearm", !d->enabled ? "off"
                                   : monitor_write_flags(m) & TRACK_SELECTIVE ? "selective" : "whole_slot");
    JSON_U64S(o, {"epoch_ms", d->epoch_ms}, {"epochs", d->epochs}, {"demoted_last_epoch", d->demoted_last},
              {"promoted_last_epoch", d->promoted_last}, {"pingpongs", d->pingpongs},
              {"clean_window_epochs", d->params.min_clean_epochs}, {"budget_pages", d->params.budget_pages},
              {"low_watermark_pages", d->params.low_pages}, {"dram_used_pages", d->dram_used_pages},
              {"dram_max_pages", d->dram_max_pages}, {"over_budget_epochs", d->over_budget_epochs},
              {"armed_last_epoch", d->armed_last}, {"armed_total", d->armed_pages}, {"candidates", d->candidates},
              {"write_hot_pages", d->write_hot},
              {"arm_budget", d->arm_budget}, {"tracking_faults", d->tracking_faults},
              {"sample_budget", d->sample_budget},
              {"samples", d->enabled ? m->samples_taken : 0},
              {"samples_touched", d->enabled ? m->samples_touched : 0},
              {"access_faults", d->fault->minor_faults});
    json_add_double(o, "scan_us_last", d->scan_ns_last / 1e3);
    json_add_double(o, "scan_us_mean", d->epochs ? d->scan_ns_total / 1e3 / d->epochs : 0);
    json_add_double(o, "scan_us_max", d->scan_ns_max / 1e3);
    json_add_double(o, "pingpong_rate", d->promotions_seen ? (double)d->pingpongs / (double)d->promotions_seen : 0);
    json_add_double(o, "over_budget_s", d->over_budget_epochs * d->epoch_ms / 1e3);
    json_add_str(o, "over_budget_reason", over_reason_name(d->over_reason));
    json_object *g = json_object_new_object();
    json_add_double(g, "max_slowdown_pct", d->guard.max_pct);
    json_add_double(g, "exit_cost_us", d->guard.exit_cost_ns / 1e3);
    json_add_double(g, "slowdown_pct", d->guard.smoothed_pct);
    json_add_double(g, "slowdown_pct_last", d->guard.last_pct);
    json_add_double(g, "slowdown_pct_run", guard_run_pct(&d->guard));
    json_add_double(g, "vcpus_in_use", guard_run_vcpus(&d->guard));
    json_add_double(g, "blocked_ms", d->guard.blocked_ns_total / 1e6);
    json_add_double(g, "steal_ms", d->guard.steal_ns_total / 1e6);
    json_add_str(g, "verdict", guard_verdict_name(d->verdict));
    JSON_U64S(g, {"paused_epochs", d->guard.paused_epochs}, {"slowed_epochs", d->guard.slowed_epochs});
    json_object_object_add(o, "guard", g);
    json_add_double(o, "slowdown_pct", d->guard.smoothed_pct);
    pthread_mutex_unlock(&d->core->lock);
    return o;
}
