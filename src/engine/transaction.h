/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One nftables transaction as data: what it does to our table (create or replace it from
 * a rendering, change its elements, delete it) and to our rules in other firewalls'
 * chains, each added as a part. The nft text is written once, when it is checked or
 * committed; the parts point to their caller's data, which must outlive the transaction
 * (a report read again before a retry is written anew). apply, flush, check and the
 * watcher all commit this way.
 */
#ifndef NFT_PORTFWD_TRANSACTION_H
#define NFT_PORTFWD_TRANSACTION_H

#include <stdbool.h>

#include "engine/kernel_ops.h"
#include "engine/plan.h"
#include "firewalls/foreign.h"

enum transaction_part_kind {
	PART_TABLE,        /* a rendering of the whole table (render.h), which replaces it */
	PART_ELEMENTS,     /* element commands (elements_diff) */
	PART_DELETE_TABLE, /* the table goes */
	PART_FIREWALLS,    /* our rules in other tables, as a report says (coexist_render) */
};

struct transaction_part {
	enum transaction_part_kind kind;
	const char *text;                     /* PART_TABLE, PART_ELEMENTS */
	const struct foreign_report *report;  /* PART_FIREWALLS */
	bool integrate;                       /* PART_FIREWALLS: accepts, or none of ours */
};

struct transaction {
	struct transaction_part parts[4];
	size_t count;
	bool written[4]; /* after a commit: which parts wrote any command */
};

/* Our table as `plan` says: the rendering `table_text`, its element commands, or nothing. */
void transaction_table(struct transaction *tx, const struct table_plan *plan,
		       const char *table_text);
void transaction_delete_table(struct transaction *tx);
void transaction_firewalls(struct transaction *tx, const struct foreign_report *r,
			   bool integrate);

/*
 * Write the text once and commit it, or with dry_run have the kernel check it, as one
 * transaction; a transaction that does nothing is not sent. *sent: it was sent and
 * committed (or passed the check).
 */
enum exit_code transaction_commit(struct transaction *tx, const struct kernel_ops *k,
				  bool dry_run, bool *sent, struct error *err);

/* Did the last commit's text hold commands of this part kind? (A firewalls part with all in
 * place writes none.) */
bool transaction_wrote(const struct transaction *tx, enum transaction_part_kind kind);

#endif
