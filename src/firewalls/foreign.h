/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other firewalls on the forward hook. In nftables an accept ends only its own base chain:
 * every base chain on the forward hook, in every table, sees a forwarded packet, and a drop
 * or reject in any of them is final whatever table inet portfwd says. libvirt's
 * LIBVIRT_FWI reject, Docker's and ufw's FORWARD policy drop and the like block forwards
 * to guests that our own table accepts.
 *
 * foreign_analyse reads the whole ruleset (libnftables' JSON listing with handles) and
 * follows the packets a forward needs, a new DNAT'd connection to a guest endpoint and the
 * guest's replies, through every base chain on the forward hook (ruleset.c, walk.c). A
 * chain whose blanket block (walk.h) stops them gets one accept of the packets that table
 * inet portfwd marks (accept.h), placed after every drop that is its owner's decision and
 * before the block (placement.c); where no such place exists, none, and the report says
 * why. foreign_render_* write the nft commands. Pure: JSON text in, nft text out.
 */
#ifndef NFT_PORTFWD_FOREIGN_H
#define NFT_PORTFWD_FOREIGN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/common.h"
#include "config/entries.h"
#include "firewalls/foreign_parts.h"
#include "config/model.h"

/*
 * Analyse `ruleset_json` (libnftables `list ruleset` with NFT_CTX_OUTPUT_JSON |
 * NFT_CTX_OUTPUT_HANDLE) for the guest endpoints in `entries`, with accepts that match
 * `mark`. Our own rules (accept.h) are ignored while deciding what blocks, so the answer
 * is the same before and after they are in place. false with err set when the text is not
 * such JSON, or out of memory.
 */
bool foreign_analyse(const char *ruleset_json, const struct entry_list *entries, uint32_t mark,
		     struct foreign_report *out, struct error *err);

/*
 * The same on a listing already parsed (its "nftables" array), with what `ctx` knows of the
 * host and within its budget (NULL: the default budget, no routes, no cancel). A base chain
 * that takes more than the budget makes its table skipped (out->skipped: named, nothing
 * added there, our rules there kept). false with err set when out of memory or cancelled.
 */
bool foreign_analyse_items(const json_t *items, const struct entry_list *entries, uint32_t mark,
			   const struct foreign_context *ctx, struct foreign_report *out,
			   struct error *err);

/* The error of an analysis that its cancel flag stopped. */
#define FOREIGN_INTERRUPTED "the analysis of other firewalls was interrupted by a signal"

/* Name a table as not analysed (once), with why; false when out of memory. */
bool foreign_skip_add(struct foreign_report *r, const char *family, const char *table,
		      const char *why);

/* Was that table left out of the analysis? */
bool foreign_skipped(const struct foreign_report *r, const char *family, const char *table);

/* Parse such a listing: its root (the caller frees it) and the array; NULL with err set. */
json_t *foreign_parse_listing(const char *ruleset_json, const json_t **items, struct error *err);

/*
 * nft commands to append to the apply transaction: for each chain whose accept of ours is
 * not in a place that works, delete ours there (by handle) and insert one where it does;
 * delete ours from chains that need none, and every rule of an earlier release. Writes
 * nothing when everything is in place, so an unchanged apply commits nothing. A rule of
 * ours in a table or chain whose name nft cannot write is left, with a warning on stderr.
 * false: a write error.
 */
bool foreign_render_integration(const struct foreign_report *r, FILE *out);

/* nft commands that delete every rule of ours outside our table (for flush). */
bool foreign_render_removal(const struct foreign_report *r, FILE *out);

void foreign_report_free(struct foreign_report *r);

#endif
