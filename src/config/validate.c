/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/entries.h"
#include "config/validate.h"

/*
 * Decimal digits with a leading zero ("080", "024"): refused everywhere, because other
 * tools read such numbers as octal (010 is 8), and a config must mean one thing.
 */
static bool leading_zero(const char *digits, size_t len)
{
	return len > 1 && digits[0] == '0';
}

const char *parse_port(const char *text, uint16_t *port)
{
	unsigned long value = 0;
	size_t len = strlen(text);

	if (len == 0)
		return "is empty; expected a number from 1 to 65535";
	if (len > 5 || strspn(text, "0123456789") != len)
		return "is not a port; expected a number from 1 to 65535";
	if (leading_zero(text, len))
		return "has a leading zero, which other tools read as octal; write the port without it";
	value = strtoul(text, NULL, 10);
	if (value < 1 || value > 65535)
		return "is out of range; expected a number from 1 to 65535";
	*port = (uint16_t)value;
	return NULL;
}

const char *parse_port_range(const char *text, uint16_t *first, uint16_t *last)
{
	const char *dash = strchr(text, '-');
	char lo[8];
	const char *reason;

	if (!dash) {
		reason = parse_port(text, first);
		*last = *first;
		return reason;
	}
	if (dash == text || (size_t)(dash - text) >= sizeof(lo))
		return "is not a port or port range; expected PORT or FIRST-LAST, as in 7000-7009";
	memcpy(lo, text, (size_t)(dash - text));
	lo[dash - text] = '\0';
	if (parse_port(lo, first) || parse_port(dash + 1, last))
		return "is not a port range; expected FIRST-LAST with ports from 1 to 65535, as in "
		       "7000-7009";
	if (*first > *last)
		return "is a range that ends before it starts; write the lower port first";
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

const char PREFIX_HOST_BITS[] = "has host bits set";

struct prefix prefix_network(const struct prefix *p)
{
	struct prefix net = *p;
	uint8_t *bytes = (uint8_t *)&net.addr.v6;
	size_t size = p->addr.family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < size; i++) {
		unsigned keep = p->len > i * 8 ? p->len - (unsigned)i * 8 : 0;

		if (keep < 8)
			bytes[i] &= (uint8_t)(0xff00 >> keep);
	}
	return net;
}

bool prefixes_overlap(const struct prefix *a, const struct prefix *b)
{
	struct prefix shorter_a = *a, shorter_b = *b;

	if (a->addr.family != b->addr.family)
		return false;
	shorter_a.len = shorter_b.len = a->len < b->len ? a->len : b->len;
	shorter_a = prefix_network(&shorter_a);
	shorter_b = prefix_network(&shorter_b);
	return memcmp(&shorter_a.addr.v6, &shorter_b.addr.v6,
		      a->addr.family == AF_INET ? 4 : 16) == 0;
}

const char *parse_prefix(const char *text, struct prefix *prefix)
{
	const char *slash = strchr(text, '/');
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned max;
	struct prefix net;

	if ((slash ? (size_t)(slash - text) : strlen(text)) >= sizeof(addr))
		return "is not a network; expected ADDRESS/LENGTH or ADDRESS, as in 198.51.100.0/24";
	snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - text) : (int)strlen(text), text);
	if (parse_addr(addr, &prefix->addr))
		return "is not a network; expected ADDRESS/LENGTH or ADDRESS, as in 198.51.100.0/24 "
		       "or 2001:db8::/48";
	max = prefix->addr.family == AF_INET ? 32 : 128;
	prefix->len = (uint8_t)max;
	if (slash) {
		size_t digits = strlen(slash + 1);

		if (digits == 0 || digits > 3 || strspn(slash + 1, "0123456789") != digits ||
		    strtoul(slash + 1, NULL, 10) > max)
			return prefix->addr.family == AF_INET
				       ? "has an invalid prefix length; expected /0 to /32"
				       : "has an invalid prefix length; expected /0 to /128";
		if (leading_zero(slash + 1, digits))
			return "has a leading zero in its prefix length, which other tools read as "
			       "octal; write it without the zero, as in /24";
		prefix->len = (uint8_t)strtoul(slash + 1, NULL, 10);
	}
	net = prefix_network(prefix);
	if (memcmp(&net.addr.v6, &prefix->addr.v6, max / 8) != 0)
		return PREFIX_HOST_BITS;
	return NULL;
}

struct addr prefix_last(const struct prefix *p)
{
	struct addr a = prefix_network(p).addr;
	uint8_t *bytes = (uint8_t *)&a.v6;
	size_t size = a.family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < size; i++) {
		unsigned keep = p->len > i * 8 ? p->len - (unsigned)i * 8 : 0;

		if (keep < 8)
			bytes[i] |= (uint8_t)(0xff >> keep);
	}
	return a;
}

/* Does network `net` (address, prefix length) hold `a`? */
static bool in_net(const struct addr *a, const char *net, unsigned len)
{
	struct prefix p = { .len = (uint8_t)len };
	struct addr last;

	if (parse_addr(net, &p.addr) || p.addr.family != a->family)
		return false;
	last = prefix_last(&p);
	return addr_cmp(&p.addr, a) <= 0 && addr_cmp(a, &last) <= 0;
}

/*
 * Why an address can be no endpoint of a forward, as a guest, an address of this host or
 * a client: NULL when it can be. Unspecified and 0.0.0.0/8, loopback, multicast,
 * broadcast and the reserved 240.0.0.0/4, IPv4-mapped and -compatible IPv6 forms,
 * link-local (169.254.0.0/16, fe80::/10: a forward cannot name its interface), IPv6
 * site-local (fec0::/10, deprecated). As a client network, link-local and site-local
 * ones are fine: a client on the link can use them (check_client_net).
 */
static const char *special_addr(const struct addr *a)
{
	if (a->family == AF_INET) {
		uint32_t host = ntohl(a->v4.s_addr); /* compared as a number: this runs per forward */

		if (host >> 24 == 0)
			return "is in 0.0.0.0/8, which only ever stands for this host as a source and "
			       "is never routed to";
		if (host >> 24 == 127)
			return "is a loopback address: the kernel never routes packets with a "
			       "loopback address off the host, so no forward through it can work";
		if (host >> 28 == 0xe)
			return "is a multicast address; a forward needs one unicast address";
		if (host == INADDR_BROADCAST)
			return "is the broadcast address; a forward needs one unicast address";
		if (host >> 28 == 0xf)
			return "is in 240.0.0.0/4, reserved for future use: hosts do not send to it and "
			       "routers drop it";
		if (host >> 16 == 0xa9fe)
			return "is a link-local address (169.254.0.0/16), which means something only "
			       "together with an interface that a forward cannot name; use the "
			       "guest's address on its network";
		return NULL;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&a->v6))
		return "is the unspecified address; a forward needs one unicast address";
	if (IN6_IS_ADDR_LOOPBACK(&a->v6))
		return "is a loopback address: the kernel never routes packets with a loopback "
		       "address off the host, so no forward through it can work";
	if (IN6_IS_ADDR_MULTICAST(&a->v6))
		return "is a multicast address; a forward needs one unicast address";
	if (IN6_IS_ADDR_V4MAPPED(&a->v6))
		return "is an IPv4-mapped IPv6 address, which no packet on the wire carries; write "
		       "the IPv4 address itself";
	if (in_net(a, "::", 96))
		return "is an IPv4-compatible IPv6 address (deprecated, never routed); write the "
		       "IPv4 address itself";
	if (IN6_IS_ADDR_LINKLOCAL(&a->v6))
		return "is a link-local address, which means something only together with an "
		       "interface that a forward cannot name; use the guest's global or unique "
		       "local address";
	if (IN6_IS_ADDR_SITELOCAL(&a->v6))
		return "is a site-local address (fec0::/10), deprecated since 2004 (RFC 3879) and "
		       "ambiguous between sites; use the guest's global or unique local address";
	return NULL;
}

const char *check_host_addr(const struct addr *addr)
{
	if (addr->family == AF_INET && addr->v4.s_addr == htonl(INADDR_ANY))
		return "is the unspecified address; leave the setting out to match any local address";
	if (addr->family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&addr->v6))
		return "is the unspecified address; leave the setting out to match any local address";
	return special_addr(addr);
}

const char *check_guest_addr(const struct addr *addr)
{
	return special_addr(addr);
}

const char *check_client_net(const struct prefix *net)
{
	static const struct {
		const char *net;
		unsigned len;
	} nowhere[] = {
		{ "0.0.0.0", 8 }, { "127.0.0.0", 8 }, { "224.0.0.0", 4 }, { "240.0.0.0", 4 },
		{ "::1", 128 }, { "ff00::", 8 }, { "::ffff:0.0.0.0", 96 }, { "::", 96 },
	};

	/* a network that lies wholly in one of these holds no client; /0 is "any client" */
	for (size_t i = 0; net->len && i < sizeof(nowhere) / sizeof(nowhere[0]); i++)
		if (net->len >= nowhere[i].len && in_net(&net->addr, nowhere[i].net, nowhere[i].len))
			return special_addr(&net->addr);
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
		if (*c == '*')
			return "contains '*', which nft reads as a wildcard (\"eth*\" matches every "
			       "interface whose name starts with eth, \"*\" all of them); name one "
			       "interface";
		/* a config line ends at '#': the name could not be written there, nor recorded */
		if (*c == '#')
			return "contains '#', which starts a comment in the config; rename the "
			       "interface (ip link set OLD name NEW)";
	}
	return NULL;
}

/* A name of 1 to `max` bytes of `chars`: NULL, or which of the three reasons fits. */
static const char *check_name(const char *text, size_t max, const char *chars,
			      const char *const why[3])
{
	size_t len = strlen(text);

	return len == 0 ? why[0] : len > max ? why[1] : strspn(text, chars) != len ? why[2] : NULL;
}

const char *check_forward_name(const char *text)
{
	static const char *const why[] = { "is empty; expected a name such as web or ssh-gw.1",
					   "is longer than 32 bytes; pick a shorter name",
					   "may hold only letters, digits, '-', '_' and '.'" };

	return check_name(text, FORWARD_NAME_MAX, FORWARD_NAME_CHARS, why);
}

const char *check_vm_name(const char *text)
{
	static const char *const why[] = {
		"is empty; expected a libvirt name, as in web (virsh list --all)",
		"is longer than 64 bytes", "may hold only letters, digits, '-', '_', '.' and '+'"
	};

	return check_name(text, VM_NAME_MAX, FORWARD_NAME_CHARS "+", why);
}

const char *parse_mac(const char *text, uint8_t mac[6])
{
	unsigned bytes[6];
	int used = 0;

	if (strlen(text) != 17 || sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%n", &bytes[0], &bytes[1],
					 &bytes[2], &bytes[3], &bytes[4], &bytes[5], &used) != 6 ||
	    used != 17 || strspn(text, "0123456789abcdefABCDEF:") != 17)
		return "is not a MAC address; expected six hex bytes, as in 52:54:00:00:00:79";
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)bytes[i];
	return NULL;
}

const char *format_mac(const uint8_t mac[6], char text[18])
{
	snprintf(text, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return text;
}

const char *check_libvirt_uri(const char *text)
{
	size_t len = strlen(text);

	if (len == 0 || len >= sizeof(((struct model *)0)->libvirt_uri))
		return "is empty or longer than 255 bytes; expected a libvirt URI, as in qemu:///system";
	if (!strstr(text, ":/") || strcspn(text, " \t\"'\\") != len)
		return "is not a libvirt URI; expected one as in qemu:///system or "
		       "qemu+ssh://host/system";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x21 || (unsigned char)text[i] > 0x7e)
			return "holds a control or non-ASCII byte; expected a libvirt URI";
	return NULL;
}

/* `len` bytes of `text` as a whole number from 1 to `max`. */
static bool parse_count(const char *text, size_t len, uint32_t max, uint32_t *n)
{
	unsigned long value;

	if (len == 0 || len > 7 || strspn(text, "0123456789") < len || leading_zero(text, len))
		return false;
	value = strtoul(text, NULL, 10);
	if (value < 1 || value > max)
		return false;
	*n = (uint32_t)value;
	return true;
}

const char *parse_rate(const char *text, struct rate_limit *limit)
{
	static const struct {
		const char *unit;
		uint32_t seconds;
	} units[] = { { "second", 1 }, { "minute", 60 }, { "hour", 3600 } };
	const char *slash = strchr(text, '/');
	size_t digits = slash ? (size_t)(slash - text) : strlen(text);

	if (!parse_count(text, digits, RATE_MAX, &limit->rate))
		return "is not a rate; expected a number of new connections from 1 to 100000, "
		       "optionally per second, minute or hour, as in 5/minute";
	limit->seconds = 1;
	if (!slash)
		return NULL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(slash + 1, units[i].unit) == 0) {
			limit->seconds = units[i].seconds;
			return NULL;
		}
	return "has an unknown unit; expected RATE/second, RATE/minute or RATE/hour";
}

const char *parse_burst(const char *text, uint32_t *burst)
{
	if (!parse_count(text, strlen(text), RATE_MAX, burst))
		return "is not a burst; expected a number of connections from 1 to 100000";
	return NULL;
}

const char *parse_mark_bit(const char *text, uint32_t *bit)
{
	static const char want[] = "is not one bit of the packet mark; expected a power of two such "
				   "as 0x01000000, a bit no other program on the host uses";
	bool hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
	const char *digits = hex ? text + 2 : text;
	size_t len = strlen(digits);
	unsigned long long value;

	if (!len || len > 10 || strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789") != len)
		return want;
	if (!hex && leading_zero(digits, len))
		return "has a leading zero, which would be read as octal (010 is 8); write the bit "
		       "in decimal without the zero or in hex, as in 0x01000000";
	value = strtoull(digits, NULL, hex ? 16 : 10);
	if (!value || value > UINT32_MAX || (value & (value - 1)))
		return want;
	*bit = (uint32_t)value;
	return NULL;
}

uint64_t limit_refill_seconds(const struct rate_limit *limit)
{
	return (uint64_t)limit->seconds * ((limit->burst + limit->rate - 1) / limit->rate);
}

const char *check_limit(const struct rate_limit *limit, char *buf, size_t size)
{
	uint64_t refill = limit_refill_seconds(limit);

	if (refill <= LIMIT_REFILL_MAX)
		return NULL;
	snprintf(buf, size, "is too large for a rate of %u per %s: a client's bucket would take %llu s "
		 "(%.1f years) to fill again, longer than nftables keeps a client's state (%u s, "
		 "about 3 years); raise the rate or lower the burst", limit->rate,
		 limit->seconds == 1 ? "second" : limit->seconds == 60 ? "minute" : "hour",
		 (unsigned long long)refill, (double)refill / (365.25 * 86400), LIMIT_REFILL_MAX);
	return buf;
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

/* With host addresses given, a guest is reachable only through one of its own family. */
static bool check_families(const struct model *m, struct error *err)
{
	bool reachable[2];

	if (m->host_ips.count == 0 && m->public_ips.count == 0)
		return true;
	for (int v6 = 0; v6 < 2; v6++)
		reachable[v6] = addr_list_has_family(&m->host_ips, v6 ? AF_INET6 : AF_INET) ||
				addr_list_has_family(&m->public_ips, v6 ? AF_INET6 : AF_INET);
	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];
		char here[512];

		if (reachable[f->guest.family == AF_INET6])
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

/*
 * Masquerading is decided per guest endpoint (after DNAT the host port is gone), so all
 * forwards to one endpoint must agree on keep-source.
 */
static bool check_keep_source(const struct model *m, struct error *err)
{
	struct entry_list entries;

	bool any = false;

	for (size_t i = 0; i < m->forward_count && !any; i++)
		any = m->forwards[i].keep_source;
	if (m->no_masquerade || !any)
		return true;
	if (!entries_from_model(m, &entries))
		return error_set(err, "out of memory");
	entries_sort(entries.items, entries.count, BY_GUEST);
	for (size_t i = 1; i < entries.count; i++) {
		const struct entry *a = &entries.items[i - 1], *b = &entries.items[i];
		char here[512], there[512], guest[INET6_ADDRSTRLEN];

		if (entry_cmp_guest(a, b) != 0 || a->keep_source == b->keep_source)
			continue;
		format_origin(&m->forwards[a->forward > b->forward ? a->forward : b->forward].where,
			      here, sizeof(here));
		format_origin(&m->forwards[a->forward < b->forward ? a->forward : b->forward].where,
			      there, sizeof(there));
		addr_text(&a->guest, guest);
		error_set(err,
			  "%s: forward: guest %s %s port %u is also reached by %s, and only one of "
			  "them has keep-source; masquerading is decided per guest endpoint, so give "
			  "both the same setting",
			  here, guest, proto_name(a->proto), a->guest_port, there);
		entries_free(&entries);
		return false;
	}
	entries_free(&entries);
	return true;
}

/* The map elements one config expands into stay under CONFIG_MAX_ELEMENTS. */
static bool check_size(const struct model *m, struct error *err)
{
	unsigned long long total = 0;

	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];
		unsigned long long n = (unsigned long long)(f->host_port_last - f->host_port + 1) *
				       (f->protos == (PROTO_TCP | PROTO_UDP) ? 2 : 1) *
				       (f->sources.count ? f->sources.count : 1);
		char here[512];

		total += n;
		if (total <= CONFIG_MAX_ELEMENTS)
			continue;
		format_origin(&f->where, here, sizeof(here));
		return error_set(err, "%s: forward: expands into %llu map elements (ports x "
				      "protocols x from networks), which brings the config to %llu, "
				      "over the limit of %u; forward fewer ports or list fewer client "
				      "networks", here, n, total, CONFIG_MAX_ELEMENTS);
	}
	return true;
}

static int cmp_named(const void *a, const void *b)
{
	const struct forward *const *fa = a, *const *fb = b;
	int c = strcmp((*fa)->name, (*fb)->name);

	/* the later forward is the one reported */
	return c ? c : (*fa < *fb ? -1 : *fa > *fb);
}

/* `remove NAME` and the listings find a forward by its name: each names one forward. */
static bool check_names(const struct model *m, struct error *err)
{
	const struct forward **named = calloc(m->forward_count + 1, sizeof(*named));
	size_t n = 0;
	bool ok = true;

	if (!named)
		return error_set(err, "out of memory");
	for (size_t i = 0; i < m->forward_count; i++)
		if (m->forwards[i].name[0])
			named[n++] = &m->forwards[i];
	qsort(named, n, sizeof(*named), cmp_named);
	for (size_t i = 1; i < n && ok; i++)
		if (strcmp(named[i - 1]->name, named[i]->name) == 0) {
			char here[512], there[512];

			format_origin(&named[i]->where, here, sizeof(here));
			format_origin(&named[i - 1]->where, there, sizeof(there));
			ok = error_set(err, "%s: forward name: '%s' already names the forward of %s; "
					    "give each forward its own name", here, named[i]->name,
				       there);
		}
	free(named);
	return ok;
}

bool check_model(const struct model *m, struct error *err)
{
	struct port_claims *claims;
	bool ok = true;

	if (!check_families(m, err))
		return false;
	if (!check_size(m, err))
		return false;
	claims = calloc(1, sizeof(*claims));
	if (!claims)
		return error_set(err, "out of memory");
	for (size_t i = 0; i < m->forward_count && ok; i++) {
		const struct forward *f = &m->forwards[i];
		int v6 = f->guest.family == AF_INET6;

		for (int udp = 0; udp < 2 && ok; udp++) {
			if (!(f->protos & (udp ? PROTO_UDP : PROTO_TCP)))
				continue;
			for (unsigned port = f->host_port; port <= f->host_port_last && ok; port++) {
				uint32_t *slot = &claims->first[v6][udp][port];

				if (*slot) {
					char here[512], there[512];

					format_origin(&f->where, here, sizeof(here));
					format_origin(&m->forwards[*slot - 1].where, there, sizeof(there));
					ok = error_set(err,
						       "%s: forward: %s port %u is already forwarded by %s; "
						       "each protocol and host port can go to one guest, so "
						       "remove one of them or pick another host port",
						       here, udp ? "udp" : "tcp", port, there);
				}
				*slot = (uint32_t)i + 1;
			}
		}
	}
	if (ok)
		ok = check_keep_source(m, err) && check_names(m, err);
	free(claims);
	return ok;
}
