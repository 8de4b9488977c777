/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "table/schema.h"

const struct set_schema schema_sets[] = {
	{ "fwd4", AF_INET, SET_OPEN_MAP, true, true },
	{ "fwd6", AF_INET6, SET_OPEN_MAP, true, true },
	{ "fwdsrc4", AF_INET, SET_SOURCE_MAP, true, true },
	{ "fwdsrc6", AF_INET6, SET_SOURCE_MAP, true, true },
	{ "guest4", AF_INET, SET_GUEST, false, true },
	{ "guest6", AF_INET6, SET_GUEST, false, true },
	{ "masq4", AF_INET, SET_MASQ, false, true },
	{ "masq6", AF_INET6, SET_MASQ, false, true },
	{ "fwdtcp4", AF_INET, SET_TCP_PORT, false, true },
	{ "fwdtcp6", AF_INET6, SET_TCP_PORT, false, true },
	{ "fwdudp4", AF_INET, SET_UDP_PORT, false, true },
	{ "fwdudp6", AF_INET6, SET_UDP_PORT, false, true },
	{ "host4", AF_INET, SET_HOST, false, false },
	{ "host6", AF_INET6, SET_HOST, false, false },
	{ "hairpin4", AF_INET, SET_HAIRPIN, false, false },
	{ "hairpin6", AF_INET6, SET_HAIRPIN, false, false },
};
const size_t schema_set_count = sizeof(schema_sets) / sizeof(schema_sets[0]);

const struct set_schema *schema_set(enum set_kind kind, int family)
{
	for (size_t i = 0; i < schema_set_count; i++)
		if (schema_sets[i].kind == kind && schema_sets[i].family == family)
			return &schema_sets[i];
	return NULL;
}

const struct set_schema *schema_set_named(const char *name)
{
	for (size_t i = 0; name && i < schema_set_count; i++)
		if (!strcmp(schema_sets[i].name, name))
			return &schema_sets[i];
	return NULL;
}

void schema_header(const struct set_schema *s, char *buf, size_t size)
{
	snprintf(buf, size, "\t%s %s {", s->map ? "map" : "set", s->name);
}
