/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where an accept of ours goes in a base chain that blocks the forwards, or why nowhere.
 *
 * Every packet a forward needs (each endpoint, both ways, each interface a rule tells
 * apart) is walked through the chain (walk.h). A position is safe when every packet that
 * meets a blanket block reaches it for sure before its first one, and no packet that may
 * reach it meets a drop of the owner's after it: the accept opens the blanket blocks and
 * nothing else. The chains owners leave for such rules come first (DOCKER-USER,
 * LIBVIRT_FWI, libvirt's guest_input), then the base chain itself; in a chain, the first
 * safe position.
 */
#ifndef NFT_PORTFWD_PLACEMENT_H
#define NFT_PORTFWD_PLACEMENT_H

#include "firewalls/ruleset.h"


enum placement_result {
	PLACEMENT_DONE,      /* decided: a block appended when some packet is blocked */
	PLACEMENT_UNDECIDED, /* the budget of steps ran out first: nothing appended */
	PLACEMENT_CANCELLED, /* ctx->cancel was set */
	PLACEMENT_OOM,
};

/* The most interface pairs walked for one endpoint and direction (memory: 24 bytes each). */
#define PLACEMENT_MAX_PAIRS (1u << 18)

/*
 * Walk base chain `base` for the report's endpoints, within the context's budget (or at most
 * PLACEMENT_MAX_PAIRS pairs); when some packet is blocked, append a block (what blocks,
 * where the accept goes or why nowhere, whether ours is in place). *spent: the steps taken.
 */
enum placement_result placement_analyse(const struct ruleset *rs, size_t base,
				       const struct foreign_context *ctx, unsigned long long *spent,
				       struct foreign_report *r);

#endif
