#include <errno.h>
#include <stdio.h>

#include "lib/json.h"
#include "tiering/maps.h"

/* Headroom under vm.max_map_count that block promotions need to split
 * mapping edges before the count can fall. */
#define EDGE_HEADROOM 1024

static uint64_t read_u64_file(const char *path, uint64_t def)
{
    FILE *f = fopen(path, "r");
    unsigned long long v;
    if (!f)
        return def;
    if (fscanf(f, "%llu", &v) != 1)
        v = def;
    fclose(f);
    return v;
}

uint64_t maps_process_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    uint64_t n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* A cap that leaves no gap above `hard` is refused: promotions could then
 * fail to map DRAM back and have to release pages in place, which breaks
 * the AROM invariant. */
int maps_init(struct maps *m, uint64_t cap, char *err, size_t errlen)
{
    *m = (struct maps){.runs = 1};
    m->max_map_count = read_u64_file("/proc/sys/vm/max_map_count", 65530);
    m->base = maps_process_count();
    m->slack = (int64_t)m->base - (int64_t)m->runs;
    uint64_t max = m->max_map_count;
    if (cap) {
        m->limit = m->base + cap;
        m->hard = m->limit + cap / 4 + 8;
        if (m->hard + EDGE_HEADROOM > max) {
            uint64_t most = max > m->base + 8 + EDGE_HEADROOM ? (max - m->base - 8 - EDGE_HEADROOM) * 4 / 5 : 0;
            snprintf(err, errlen, "--map-limit %llu leaves no headroom under vm.max_map_count=%llu "
                     "(this process already has %llu mappings; at most %llu)", (unsigned long long)cap,
                     (unsigned long long)max, (unsigned long long)m->base, (unsigned long long)most);
            return -EINVAL;
        }
    } else {
        uint64_t reserve = max / 8 > 2048 ? max / 8 : 2048;
        m->hard = max > EDGE_HEADROOM + m->base ? max - EDGE_HEADROOM : m->base + 64;
        m->limit = max > reserve + m->base ? max - reserve : m->base + 32;
    }
    if (m->hard > max)
        m->hard = max;
    return 0;
}

uint64_t maps_breaks(const struct placement *pm, uint64_t first, uint64_t n)
{
    uint64_t npages = placement_pages(pm);
    uint64_t lo = first ? first : 1, hi = first + n, count = 0;
    if (hi > npages - 1)
        hi = npages - 1;
    for (uint64_t i = lo; i <= hi; i++)
        count += !placement_merges(pm, i);
    return count;
}

void maps_adjust(struct maps *m, uint64_t breaks_before, uint64_t breaks_after)
{
    m->runs = m->runs + breaks_after - breaks_before;
}

bool maps_may_demote(struct maps *m)
{
    if ((int64_t)m->runs + m->slack + 2 <= (int64_t)m->limit)
        return true;
    m->demotions_stopped++;
    return false;
}

bool maps_block_promotion(struct maps *m)
{
    if ((int64_t)m->runs + m->slack + 2 <= (int64_t)m->hard)
        return false;
    m->block_promotions++;
    return true;
}

void maps_note_block_promotion(struct maps *m)
{
    m->block_promotions++;
}

bool maps_near_limit(const struct maps *m, uint64_t margin)
{
    return (int64_t)(m->runs + margin) + m->slack > (int64_t)m->limit;
}

void maps_recount(struct maps *m, pthread_mutex_t *lock)
{
    uint64_t n = maps_process_count();
    pthread_mutex_lock(lock);
    m->slack = (int64_t)n - (int64_t)m->runs;
    m->recounts++;
    pthread_mutex_unlock(lock);
}

json_object *maps_json(const struct maps *m, const uint64_t *process_maps)
{
    json_object *o = json_object_new_object();
    if (process_maps)
        json_add_u64(o, "process_maps", *process_maps);
    JSON_U64S(o, {"guest_runs", m->runs}, {"estimated", m->runs + (uint64_t)m->slack},
              {"max_map_count", m->max_map_count},
              {"demotion_limit", m->limit}, {"block_promotion_limit", m->hard},
              {"demotions_stopped", m->demotions_stopped}, {"block_promotions", m->block_promotions},
              {"recounts", m->recounts});
    json_add_i64(o, "estimate_slack", m->slack);
    return o;
}
