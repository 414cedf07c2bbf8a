/* The tiering hypercalls (hint, tier_stats, tier_query): the VMM module
 * that carries them between the guest ABI and the tiering engine, bound
 * into the hypercall table when tiering is on (without it they answer
 * -AROM_ENOSYS). */
#ifndef AROM_HC_TIERING_H
#define AROM_HC_TIERING_H

#include "tiering/tiering.h"
#include "vmm/hypercall.h"

void hc_tiering_register(struct hc_ctx *ctx, struct tiering *t);

#endif
