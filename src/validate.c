/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

const char *parse_port(const char *text, uint16_t *port)
{
	unsigned long value = 0;
	size_t len = strlen(text);

	if (len == 0)
		return "is empty; expected a number from 1 to 65535";
	if (len > 5 || strspn(text, "0123456789") != len)
		return "is not a port; expected a number from 1 to 65535";
	value = strtoul(text, NULL, 10);
	if (value < 1 || value > 65535)
		return "is out of range; expected a number from 1 to 65535";
	*port = (uint16_t)value;
	return NULL;
}

const char *parse_addr(const char *text, struct addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, &addr->v4) == 1) {
		addr->family = AF_INET;
		return NULL;
	}
	if (inet_pton(AF_INET6, text, &addr->v6) == 1) {
		addr->family = AF_INET6;
		return NULL;
	}
	return "is not an IP address; expected an IPv4 or IPv6 literal such as 192.0.2.10 "
	       "or 2001:db8::10 (names are not looked up)";
}

static bool is_unspecified(const struct addr *a)
{
	return a->family == AF_INET ? a->v4.s_addr == htonl(INADDR_ANY)
				    : IN6_IS_ADDR_UNSPECIFIED(&a->v6);
}

static bool is_multicast(const struct addr *a)
{
	return a->family == AF_INET ? IN_MULTICAST(ntohl(a->v4.s_addr))
				    : IN6_IS_ADDR_MULTICAST(&a->v6);
}

const char *check_host_addr(const struct addr *addr)
{
	if (is_unspecified(addr))
		return "is the unspecified address; leave the setting out to match any local address";
	if (is_multicast(addr))
		return "is a multicast address; expected an address of this host";
	if (addr->family == AF_INET && addr->v4.s_addr == htonl(INADDR_BROADCAST))
		return "is the broadcast address; expected an address of this host";
	return NULL;
}

const char *check_guest_addr(const struct addr *addr)
{
	if (is_unspecified(addr) || is_multicast(addr) ||
	    (addr->family == AF_INET && addr->v4.s_addr == htonl(INADDR_BROADCAST)))
		return "is not a unicast address; expected the guest's own address";
	if (addr->family == AF_INET ? (ntohl(addr->v4.s_addr) >> 24) == IN_LOOPBACKNET
				    : IN6_IS_ADDR_LOOPBACK(&addr->v6))
		return "is a loopback address, which the kernel never routes to from outside; "
		       "expected the guest's own address";
	return NULL;
}

const char *parse_protos(const char *text, unsigned *protos)
{
	static const struct {
		const char *text;
		unsigned protos;
	} known[] = {
		{ "tcp", PROTO_TCP },
		{ "udp", PROTO_UDP },
		{ "tcp,udp", PROTO_TCP | PROTO_UDP },
		{ "udp,tcp", PROTO_TCP | PROTO_UDP },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(text, known[i].text) == 0) {
			*protos = known[i].protos;
			return NULL;
		}
	}
	return "is not a protocol; expected tcp, udp or tcp,udp";
}

const char *check_iface_name(const char *text)
{
	size_t len = strlen(text);

	if (len == 0)
		return "is empty; expected an interface name such as eth0";
	if (len >= IF_NAMESIZE)
		return "is longer than 15 bytes, the kernel's limit for interface names";
	if (strcmp(text, ".") == 0 || strcmp(text, "..") == 0)
		return "is not a valid interface name";
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		/* The kernel refuses '/', ':' and whitespace; quotes, backslashes and non-ASCII
		 * bytes would need escaping in nft, and no real interface uses them. */
		if (*c <= ' ' || *c >= 0x7f || strchr("/:\"'\\", *c))
			return "contains a character interface names cannot have (whitespace, "
			       "'/', ':', quotes, backslash, control or non-ASCII bytes)";
	}
	return NULL;
}

void format_origin(const struct origin *where, char *buf, size_t size)
{
	if (where->line)
		snprintf(buf, size, "%s:%u", where->source, where->line);
	else
		snprintf(buf, size, "%s", where->source);
}

/* Which forward first claimed each (family, protocol, host port); 0 for none. */
struct port_claims {
	uint32_t first[2][2][65536]; /* [family is IPv6][protocol is UDP][port] -> index + 1 */
};

static bool has_family(const struct addr_list *list, int family)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].family == family)
			return true;
	return false;
}

/* With host addresses given, a guest is reachable only through one of its own family. */
static bool check_families(const struct model *m, struct error *err)
{
	if (m->host_ips.count == 0 && m->public_ips.count == 0)
		return true;
	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];
		char here[512];

		if (has_family(&m->host_ips, f->guest.family) ||
		    has_family(&m->public_ips, f->guest.family))
			continue;
		format_origin(&f->where, here, sizeof(here));
		return error_set(err,
				 "%s: forward: the guest address is %s but host-ip and public-ip hold "
				 "only %s addresses; NAT does not translate between IPv4 and IPv6, so "
				 "add an %s host-ip or forward to the guest's %s address",
				 here, f->guest.family == AF_INET ? "IPv4" : "IPv6",
				 f->guest.family == AF_INET ? "IPv6" : "IPv4",
				 f->guest.family == AF_INET ? "IPv4" : "IPv6",
				 f->guest.family == AF_INET ? "IPv6" : "IPv4");
	}
	return true;
}

bool check_model(const struct model *m, struct error *err)
{
	struct port_claims *claims;
	bool ok = true;

	if (!check_families(m, err))
		return false;
	claims = calloc(1, sizeof(*claims));
	if (!claims)
		return error_set(err, "out of memory");
	for (size_t i = 0; i < m->forward_count && ok; i++) {
		const struct forward *f = &m->forwards[i];
		int v6 = f->guest.family == AF_INET6;

		for (int udp = 0; udp < 2 && ok; udp++) {
			uint32_t *slot = &claims->first[v6][udp][f->host_port];

			if (!(f->protos & (udp ? PROTO_UDP : PROTO_TCP)))
				continue;
			if (*slot) {
				char here[512], there[512];

				format_origin(&f->where, here, sizeof(here));
				format_origin(&m->forwards[*slot - 1].where, there, sizeof(there));
				ok = error_set(err,
					       "%s: forward: %s port %u is already forwarded by %s; "
					       "each protocol and host port can go to one guest, so "
					       "remove one of them or pick another host port",
					       here, udp ? "udp" : "tcp", f->host_port, there);
			}
			*slot = (uint32_t)i + 1;
		}
	}
	free(claims);
	return ok;
}
