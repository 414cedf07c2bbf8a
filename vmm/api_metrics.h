/* The API's figures as Prometheus metrics (GET /metrics): one table maps
 * the JSON views of GET /v1/vm and GET /v1/tiering to metric families,
 * so the two can never disagree. Several VMs at once (aromd): each family
 * once, with one sample per VM, labelled vm="NAME". */
#ifndef AROM_VMM_API_METRICS_H
#define AROM_VMM_API_METRICS_H

#include <json-c/json.h>
#include <stddef.h>

struct api_view {
    json_object *vm;            /* GET /v1/vm */
    json_object *tiering;       /* GET /v1/tiering, or NULL */
};

/* The exposition text (the caller frees it), NULL when out of memory. */
char *api_metrics_text(const struct api_view *views, size_t n);

#endif
