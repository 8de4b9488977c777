/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What is read from nf_tables straight over netlink (libmnl, and libnftnl to parse what
 * the kernel sends): what libnftables does not expose, and what it lists too slowly (a
 * table's elements and counters, which its JSON listing takes 30 times as long to give).
 */
#ifndef NFT_PORTFWD_NETLINK_H
#define NFT_PORTFWD_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/common.h"

/* A table as the kernel lists it (netlink), without what it holds. */
struct kernel_table {
	char family[8];  /* "ip", "ip6", "inet", "arp", "bridge", "netdev" */
	char name[257];
	uint32_t flags;  /* NFT_TABLE_F_*: NFT_TABLE_F_OWNER when a process holds it */
	uint32_t owner;  /* with NFT_TABLE_F_OWNER: the holder's netlink port (its pid, usually) */
};

/*
 * Every table of this network namespace, straight from the kernel: libnftables 1.0.6 lists
 * a table that another process holds ('flags owner') with a stray pointer in its JSON, so
 * such tables are found this way first and never listed as JSON. *tables is malloc'd.
 */
enum exit_code kernel_list_tables(struct kernel_table **tables, size_t *count, struct error *err);

/*
 * The ruleset's generation: the kernel counts every committed nftables transaction, in any
 * table. The same number twice means nothing changed in between. libnftables does not
 * expose it.
 */
enum exit_code kernel_generation(uint32_t *id, struct error *err);

/*
 * One element of a set or map as the kernel holds it. Keys and data are the registers'
 * bytes: each field of a concatenation padded to 4 bytes, ports and addresses in network
 * order. Valid only during the callback.
 */
struct set_element {
	const uint8_t *key, *key_end, *data; /* NULL when the element has none */
	uint32_t key_len, key_end_len, data_len;
	uint32_t flags;                      /* NFT_SET_ELEM_*: a catch-all element, say */
	const char *comment;                 /* NULL: none */
	bool counted;                        /* it carries a counter */
	uint64_t packets, bytes;
};

/* Called for each element; false stops the dump (the callback's own error). */
typedef bool (*set_element_fn)(const struct set_element *e, void *data);

/*
 * Every element of set or map `set` of inet table `table`, in the kernel's order. EXIT_OK
 * also when there is no such set (*found false). *interrupted: a ruleset change cut the dump
 * short (EXIT_KERNEL): read again. The callback's false gives EXIT_SYSTEM with `err` as it
 * left it.
 */
enum exit_code kernel_set_elements(const char *table, const char *set, set_element_fn fn,
				   void *data, bool *found, bool *interrupted, struct error *err);

/* A named counter object of a table. */
struct named_counter_value {
	const char *name;
	uint64_t packets, bytes;
};

typedef bool (*named_counter_fn)(const struct named_counter_value *c, void *data);

/* Every named counter of inet table `table`; errors as kernel_set_elements'. */
enum exit_code kernel_named_counters(const char *table, named_counter_fn fn, void *data,
				     bool *interrupted, struct error *err);

#endif
