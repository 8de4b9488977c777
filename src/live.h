/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live table read back through libnftables' JSON output: what its maps forward, what
 * its counters saw, and a canonical form to tell whether it changed.
 */
#ifndef NFT_PORTFWD_LIVE_H
#define NFT_PORTFWD_LIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "entries.h"
#include "kernel.h"

/* Packets and bytes seen by one guest endpoint (an element of set guest4/guest6). */
struct endpoint_stats {
	struct addr guest;
	enum proto proto;
	uint16_t port;
	uint64_t packets, bytes;
};

struct live_table {
	bool present;            /* false: there is no table inet portfwd */
	/*
	 * The table's structure (chains, rules, set and map definitions) without handles,
	 * counters or elements, as JSON with sorted keys: equal strings mean the same structure.
	 * Empty when the table is absent. The same however it was read. Elements are compared
	 * through `entries`.
	 */
	char *canonical;
	/*
	 * What maps fwd4, fwd6, fwdsrc4 and fwdsrc6 hold, as entries (forward = SIZE_MAX,
	 * keep_source = false: the live table does not say), in listing order. Sources point
	 * into `sources`.
	 */
	struct entry_list entries;
	struct prefix *sources;
	struct endpoint_stats *stats; /* only when read with counters */
	size_t stats_count;
	/*
	 * Elements of those maps and sets that nft-portfwd never writes (a range of clients or
	 * ports, another protocol: a hand edit), left out of entries and stats. Each is one
	 * line: "map fwdsrc4 holds {...}: why".
	 */
	char **foreign;
	size_t foreign_count;
};

/*
 * Table inet portfwd's structure only (`present` and `canonical`; no entries): a terse
 * listing, which skips the elements. Besides kernel_list_table_json's errors: EXIT_KERNEL
 * when the listing is not the JSON expected, EXIT_SYSTEM when memory runs out. On error
 * *t holds nothing to free.
 */
enum exit_code live_read_structure(struct kernel *k, struct live_table *t, struct error *err);

/*
 * Everything about table inet portfwd (entries, canonical form and, with with_counters,
 * stats) from a `list ruleset` listing (kernel_list_ruleset_json): one listing serves this
 * and foreign_analyse.
 */
/* The same on a listing already parsed: its "nftables" array. */
enum exit_code live_from_items(const json_t *items, bool with_counters, struct live_table *t,
			       struct error *err);

enum exit_code live_from_ruleset(const char *ruleset_json, bool with_counters,
				 struct live_table *t, struct error *err);

void live_free(struct live_table *t);

#endif
