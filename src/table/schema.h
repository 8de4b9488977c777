/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What table inet portfwd holds, defined once: the sets and maps the renderer writes, the
 * element difference cuts out of a rendering, and the read-back recognises. Their names,
 * families and kinds live here and nowhere else.
 */
#ifndef NFT_PORTFWD_SCHEMA_H
#define NFT_PORTFWD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

enum set_kind {
	SET_OPEN_MAP,   /* fwdN: protocol . host port : guest . port */
	SET_SOURCE_MAP, /* fwdsrcN: client network . protocol . host port : guest . port */
	SET_GUEST,      /* guestN: every guest endpoint, with a counter each */
	SET_MASQ,       /* masqN: the endpoints that are masqueraded */
	SET_TCP_PORT,   /* fwdtcpN: the forwarded tcp host ports, a counter each (per forward) */
	SET_UDP_PORT,   /* fwdudpN: the same for udp */
	SET_HOST,       /* hostN: host-ip and public-ip, part of the structure */
	SET_HAIRPIN,    /* hairpinN: new hairpin connections, for the masquerade (dynamic) */
};

struct set_schema {
	const char *name; /* "fwdsrc4" */
	int family;       /* AF_INET, AF_INET6 */
	enum set_kind kind;
	bool map;         /* a map (key : value), not a set */
	bool forwards;    /* its elements come from the forwards (element changes in place) */
};

/* Every set and map of the table, the forwards' first (their order in element lists). */
extern const struct set_schema schema_sets[];
extern const size_t schema_set_count;

/* The set or map of `kind` and `family`; never NULL for a valid pair. */
const struct set_schema *schema_set(enum set_kind kind, int family);

/* The one named `name`, or NULL. */
const struct set_schema *schema_set_named(const char *name);

/* "\tmap fwd4 {": the line that opens it in a rendering. */
void schema_header(const struct set_schema *s, char *buf, size_t size);

#endif
