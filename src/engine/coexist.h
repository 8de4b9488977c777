/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Living beside other firewalls, as the commands see it: read the ruleset once, analyse it
 * for the config's forwards (foreign.c), and tell the user what blocks them and what apply
 * did about it.
 */
#ifndef NFT_PORTFWD_COEXIST_H
#define NFT_PORTFWD_COEXIST_H

#include <stdbool.h>
#include <stdio.h>

#include "util/common.h"
#include "config/entries.h"
#include "firewalls/foreign.h"
#include "sys/kernel.h"
#include "table/live.h"
#include "config/model.h"
#include "util/outcome.h"

/* What coexist_read lists of our own table besides its structure. */
#define READ_OUR_ELEMENTS 1u /* its elements (live->entries, guests, masqueraded) */
#define READ_COUNTERS 2u     /* with READ_OUR_ELEMENTS: their counters (live->stats) */

/*
 * Read what a command needs of the kernel's tables: our table (into `live`, unless NULL:
 * its structure, and what `what` asks for) and the other firewalls, analysed for
 * `entries` with accepts of `mark` (empty entries: only find our rules in their chains),
 * knowing where the host routes each guest (route.h); it stops when *cancel turns non-zero
 * (NULL: never).
 * A terse ruleset listing and the other tables that hold named sets, each in full: our
 * elements are listed only when asked for.
 */
enum exit_code coexist_read(struct kernel *k, unsigned what, const struct entry_list *entries,
			    uint32_t mark, const volatile sig_atomic_t *cancel,
			    struct live_table *live, struct foreign_report *r, struct error *err);

/*
 * The nft commands that bring our rules in other tables to what the config wants: the
 * needed accepts (integrate = auto) or none of ours at all (integrate = off), and the
 * deletion of a trace table left by a killed diagnose --trace. Appends to `out`; writes
 * nothing when all is in place.
 */
bool coexist_render(const struct foreign_report *r, bool integrate, FILE *out);

/*
 * For every block, whether our rules for it are not yet what it needs ((*needed)[i]):
 * apply would add or replace them. false when out of memory; the caller frees *needed.
 */
bool coexist_accepts_needed(const struct foreign_report *r, bool **needed);

/*
 * Tell what blocks the forwards and what was done about it: with integrate on, each needed
 * block as added ("added", after a commit) or to be added (a dry run); with integrate off,
 * each block as a warning on stderr; each table not analysed as a warning. Sets the
 * outcome's "foreign" and "not_analysed" fields.
 */
void coexist_tell(struct outcome *out, const struct foreign_report *r, bool integrate,
		  const bool *accept_needed, bool committed);

/* The tables not analysed (foreign_report.skipped) as a JSON array of {family, table, why}. */
json_t *coexist_skipped_json(const struct foreign_report *r);

/*
 * Does the host route more than the forwards: a family with forwards, no routing guard
 * (model.route_guard) and no other firewall filtering the forward hook? Then `why` says so
 * and how to fix it.
 */
bool coexist_routes_more(const struct model *m, const struct foreign_report *r, char *why,
			 size_t size);

/*
 * Warn about what the host does beside us: routing beyond the forwards (only with `r`, the
 * other firewalls read; NULL: not read), iptables-legacy tables that forwarded traffic
 * also crosses (hostcheck.h), and what keeps the forwards from working (findings.h; with
 * `scope`, for its entries only: what an apply added). On stderr, and as the outcome's
 * "host_warnings".
 */
void coexist_tell_host(struct outcome *out, const struct model *m, const struct foreign_report *r,
		       const struct entry_list *scope);

#endif
