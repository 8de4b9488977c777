/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A rendering of table inet portfwd seen as two parts: its structure (table, chains, rules,
 * set definitions, host sets) and the elements of the sets and maps the forwards fill
 * (fwdN, fwdsrcN, guestN, masqN). When only the elements differ, apply changes the table
 * with element additions and deletions: the other elements keep their counters, the
 * connections through them keep flowing. Pure: text in, text out.
 */
#ifndef NFT_PORTFWD_ELEMENTS_H
#define NFT_PORTFWD_ELEMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/entries.h"

/* One element as the renderer writes it ("tcp . 8080 : 192.0.2.79 . 80"), in its set. */
struct element {
	const char *text; /* points into the rendering it was split from */
	uint32_t len;
	uint8_t set;      /* which forward set or map (elements.c names them) */
};

struct element_list {
	struct element *items;
	size_t count;
};

/*
 * Split a rendering (render_ruleset's text, or render_elements') into *structure, a
 * malloc'd copy without the forward sets' element lines and comment lines, and their
 * elements, which point into `rendering` (keep it alive). False when out of memory.
 */
bool elements_split(const char *rendering, char **structure, struct element_list *elements);
void elements_free(struct element_list *elements);

/* What elements_diff found: counts, and the map elements as entries (for conntrack). */
struct element_change {
	size_t deleted, added;
	/* deletions from the client-network maps (sets of intervals) times their size: what
	 * the kernel's work in place grows with */
	uint64_t interval_work;
	struct entry_list removed_mappings, added_mappings; /* sorted by key */
	struct prefix *sources;                             /* their client networks */
};

/*
 * Write the nft commands that turn the elements `from` into `to` (deletions first, then
 * additions, one command per set and kind), nothing when they are the same. False when
 * out of memory or on a write error.
 */
bool elements_diff(const struct element_list *from, const struct element_list *to, FILE *out,
		   struct element_change *change);
void element_change_free(struct element_change *change);

/*
 * Would replacing the whole table (of `elements` elements once changed) cost the kernel
 * less than this change in place? Deleting from a large interval set is quadratic.
 */
bool elements_cheaper_replaced(const struct element_change *change, size_t elements);

#endif
