/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What to do to table inet portfwd: keep it, change its elements in place, or replace it
 * whole. A pure function of what the config renders and what is known of the live table;
 * reconcile.c finds out the latter (from the record when nothing happened since, or by
 * reading the kernel) and commits what the plan says.
 */
#ifndef NFT_PORTFWD_PLAN_H
#define NFT_PORTFWD_PLAN_H

#include <stdbool.h>

#include "table/elements.h"

/* What is known of table inet portfwd before a commit. */
struct table_known {
	bool present;
	/*
	 * Its structure is the config's: chains, rules, set definitions and host addresses
	 * alike, and no element of a kind nft-portfwd never writes (a hand edit).
	 */
	bool structure_same;
	const struct element_list *elements; /* what its forward sets hold; NULL: not known */
};

enum table_step {
	TABLE_KEEP,     /* it is what the config renders */
	TABLE_ELEMENTS, /* only elements differ: change them in place */
	TABLE_REPLACE,  /* delete and create it again, in the same transaction */
};

enum replace_reason {
	REPLACE_ABSENT,    /* there is no table */
	REPLACE_STRUCTURE, /* its structure differs */
	REPLACE_UNKNOWN,   /* its elements are not known */
	REPLACE_FOR_SPEED, /* only elements differ, but in place would be slower (elements.h) */
};

struct table_plan {
	enum table_step step;
	enum replace_reason why; /* with TABLE_REPLACE */
	char *commands;          /* with TABLE_ELEMENTS: the element commands; else NULL */
	/* From the elements before to the config's, whenever those before are known (a
	 * replace too: conntrack forgets the mappings it removed). */
	bool change_known;
	struct element_change change;
};

/* Decide; false when memory ran out. `wanted`: the config's elements (elements_split). */
bool plan_table(const struct table_known *live, const struct element_list *wanted,
		struct table_plan *plan);

/*
 * May the plan be committed without a look at other firewalls' chains, trusting the last
 * look? Only when it adds nothing: a new element (a guest endpoint, a port, a client
 * network) may meet a drop that the old ones did not, and a replace writes every element
 * anew.
 */
bool plan_needs_firewalls(const struct table_plan *plan);

void table_plan_free(struct table_plan *plan);

#endif
