/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bring the kernel to what the config renders (apply) or to nothing of ours (flush): what
 * `apply` and `flush` do once, and the watcher on each burst of changes. The caller holds
 * the state dir's lock.
 */
#ifndef NFT_PORTFWD_RECONCILE_H
#define NFT_PORTFWD_RECONCILE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/entries.h"
#include "engine/kernel_ops.h"
#include "engine/plan.h"
#include "firewalls/foreign.h"
#include "sys/sysctl.h"
#include "table/live.h"
#include "util/common.h"
#include "util/outcome.h"

/* Everything one apply is given, finds, decides and does. */
struct apply_run {
	/* given */
	const char *state_dir;
	const struct model *m;
	const char *table_text;          /* the rendered table */
	/*
	 * Our table is as our last commit left it: no transaction but our own touched it, as the
	 * watcher, following every notification, can tell; then its elements need not be
	 * listed after other firewalls' commits (the record says what they are).
	 */
	bool table_as_left;
	/* In: when it turns non-zero, the analysis of other firewalls stops (the watcher's
	 * signals); the apply then fails and commits nothing. NULL: never. */
	const volatile sig_atomic_t *cancel;
	/* found */
	struct entry_list entries;       /* the config's map entries */
	struct live_table before;        /* our table's structure, when it was read */
	struct foreign_report foreign;   /* other firewalls on the forward hook, when read */
	bool foreign_read;               /* false: untouched since the last apply looked */
	bool *accept_needed;             /* per foreign block: our accepts need adding */
	bool hosts_differ;               /* sets hostN held other addresses (a hand edit) */
	/* decided and done */
	struct table_plan plan;          /* what the table needed (plan.h) */
	struct sysctl_change changes[2];
	size_t n_changes;
	bool committed;                  /* a transaction was committed */
	bool table_changed, foreign_changed;
	bool gen_known;                  /* it committed; gen_after: the generation right after */
	uint32_t gen_after;
	size_t conntrack_removed;
	/* the last apply's forwards and these, a config line each, sorted (applied.forwards) */
	char *forwards_before, *forwards_now;
};

/*
 * Forwarding on for each family that has forwards, then the table and our accepts in other
 * firewalls' chains in one transaction, when anything differs from what the config renders.
 * When the transaction fails, the sysctls go back too: nothing half-applied.
 */
enum exit_code reconcile_apply(struct apply_run *run, const struct kernel_ops *k,
			       struct error *err);

/* Say what the apply did: lines for people, or the outcome's JSON fields. */
void reconcile_tell(struct apply_run *run, struct outcome *out);

void apply_run_free(struct apply_run *run);

/*
 * Delete the table and our accepts in other tables in one transaction, forget the
 * forwards' conntrack entries, and put the forwarding sysctls back to their value before
 * the first apply.
 */
enum exit_code reconcile_flush(const char *state_dir, const struct kernel_ops *k,
			       struct outcome *out, struct error *err);

#endif
