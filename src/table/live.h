/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live table read back: its structure through libnftables' terse JSON listing (a
 * canonical form to tell whether it changed), what its maps forward and what its counters
 * saw straight over netlink (libnftnl).
 */
#ifndef NFT_PORTFWD_LIVE_H
#define NFT_PORTFWD_LIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/common.h"
#include "config/entries.h"
#include "sys/kernel.h"

/* Packets and bytes seen by one guest endpoint (an element of set guest4/guest6). */
struct endpoint_stats {
	struct addr guest;
	enum proto proto;
	uint16_t port;
	uint64_t packets, bytes;
};

/* Packets and bytes of one forwarded host port (an element of set fwdtcpN or fwdudpN). */
struct port_stats {
	int family;
	enum proto proto;
	uint16_t port;
	uint64_t packets, bytes;
};

/* A named counter of the table: the new connections a limited forward dropped. */
struct named_counter {
	char name[32];
	uint64_t packets;
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
	/* The endpoints in sets guestN and masqN (family, guest, proto, guest_port). */
	struct entry_list guests, masqueraded;
	/* The host ports in sets fwdtcpN and fwdudpN (family, proto, host_port). */
	struct entry_list ports;
	/* The addresses in sets hostN (part of the structure, but not of `canonical`). */
	struct addr_list hosts;
	/* The elements' comments (forward names), which the entries' names point into. */
	char **comments;
	size_t comment_count, comment_capacity;
	struct endpoint_stats *stats; /* only when read with counters */
	struct port_stats *port_stats; /* only when read with counters */
	size_t port_stats_count;
	struct named_counter *counters; /* only when read with counters */
	size_t counter_count;
	size_t stats_count;
	/*
	 * Elements of those maps and sets that nft-portfwd never writes (a range of clients or
	 * ports, another protocol: a hand edit), left out of entries and stats. Each is one
	 * line: "map fwdsrc4 holds {...}: why".
	 */
	char **hand_made;
	size_t hand_made_count;
};

/*
 * Everything about table inet portfwd, its elements too, and with with_counters their
 * counters (the named ones too): the structure, then each set's elements over netlink,
 * read again when the ruleset changed in between. Besides the kernel's errors: EXIT_KERNEL
 * when the listing is not the JSON expected, EXIT_SYSTEM when memory runs out. On error *t
 * holds nothing to free.
 */
enum exit_code live_read_table(struct kernel *k, bool with_counters, struct live_table *t,
			       struct error *err);

/* Only the structure of table inet portfwd, from a terse listing (cheap): no elements. */
enum exit_code live_read_structure(struct kernel *k, struct live_table *t, struct error *err);

/* The structure of table inet portfwd from the objects of a ruleset listing (its
 * "nftables" array); no elements, even where the listing holds them. */
enum exit_code live_from_items(const json_t *items, struct live_table *t, struct error *err);

/*
 * Do sets hostN hold exactly the model's host-ip and public-ip addresses? Only for a
 * table read with its elements (live_read_table); a terse listing holds none.
 */
bool live_hosts_are(const struct live_table *t, const struct model *m);

/* The packets of the named counter `name`; false when the table has none of that name. */
bool live_counter(const struct live_table *t, const char *name, uint64_t *packets);

void live_free(struct live_table *t);

#endif
