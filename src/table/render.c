/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/describe.h"
#include "config/entries.h"
#include "util/nftsyntax.h"
#include "table/render.h"
#include "table/schema.h"
#include "util/text.h"
#include "config/validate.h"

/* What differs between the IPv4 and the IPv6 half of the table. */
struct family {
	int af;
	const char *l3;        /* ip, ip6 */
	const char *nfproto;   /* ipv4, ipv6 */
	const char *addr_type; /* ipv4_addr, ipv6_addr */
	const char *loopback;  /* never DNAT the host's loopback traffic */
	unsigned max_len;      /* prefix length of one address */
};

static const struct family families[] = {
	{ AF_INET, "ip", "ipv4", "ipv4_addr", "127.0.0.0/8", 32 },
	{ AF_INET6, "ip6", "ipv6", "ipv6_addr", "::1", 128 },
};

/* What one family's half of the table holds, decided once from its entries. */
struct half {
	const struct family *fam;
	struct entry *by_key;   /* entries sorted by map key */
	struct entry *by_guest; /* the same entries sorted by guest endpoint */
	size_t count;
	bool host_set;          /* host-ip or public-ip has addresses of this family */
	bool any_local;         /* no host-ip of this family: match any local address */
	bool open_map;          /* entries without an allowlist: map fwdN */
	bool source_map;        /* entries with an allowlist: map fwdsrcN */
	bool some_keep_source;  /* some endpoints keep the client's address */
	bool all_keep_source;
};

/*
 * Elements are written piece by piece: with 10,000 forwards there are 30,000 element lines,
 * and fprintf's format parsing was most of the renderer's time.
 */
static void put_port(struct text *out, unsigned port)
{
	char digits[8], *p = digits + sizeof(digits);

	*--p = '\0';
	do
		*--p = (char)('0' + port % 10);
	while (port /= 10);
	text_puts(out, p);
}

static void put_addr(struct text *out, const struct addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	text_puts(out, addr_text(a, buf));
}

/* "198.51.100.0/24", or "198.51.100.7" for one address */
static void put_prefix(struct text *out, const struct prefix *p, const struct family *fam)
{
	put_addr(out, &p->addr);
	if (p->len != fam->max_len) {
		text_putc(out, '/');
		put_port(out, p->len);
	}
}

/* "ADDRESS . PROTOCOL . PORT": a guest endpoint */
static void put_endpoint(struct text *out, const struct entry *e)
{
	put_addr(out, &e->guest);
	text_puts(out, " . ");
	text_puts(out, proto_name(e->proto));
	text_puts(out, " . ");
	put_port(out, e->guest_port);
}

/* ' comment "TEXT"': validated names (and what live.c read back) need no escaping */
static void put_comment(struct text *out, const char *comment)
{
	text_puts(out, " comment \"");
	text_puts(out, comment);
	text_putc(out, '"');
}

/* "PROTOCOL . HOST PORT[ comment "NAME"] : ADDRESS . PORT" */
static void put_mapping(struct text *out, const struct entry *e)
{
	text_puts(out, proto_name(e->proto));
	text_puts(out, " . ");
	put_port(out, e->host_port);
	if (e->name)
		put_comment(out, e->name);
	text_puts(out, " : ");
	put_addr(out, &e->guest);
	text_puts(out, " . ");
	put_port(out, e->guest_port);
}

/* The name of the table's set of `kind` for the family (schema.h). */
static const char *set_name(enum set_kind kind, const struct family *fam)
{
	return schema_set(kind, fam->af)->name;
}

/* "\tmap fwd4 {": the line that opens a set or map. */
static void print_set_header(struct text *out, enum set_kind kind, const struct family *fam)
{
	char header[64];

	schema_header(schema_set(kind, fam->af), header, sizeof(header));
	text_puts(out, header);
	text_putc(out, '\n');
}

static void print_elements_start(struct text *out)
{
	text_printf(out, "\t\telements = {\n");
}

static void print_elements_end(struct text *out)
{
	text_printf(out, "\t\t}\n\t}\n\n");
}

static void print_host_set(struct text *out, const struct model *m, const struct half *h)
{
	char buf[INET6_ADDRSTRLEN];
	const struct addr_list *lists[] = { &m->host_ips, &m->public_ips };

	print_set_header(out, SET_HOST, h->fam);
	text_printf(out, "\t\ttype %s\n", h->fam->addr_type);
	text_printf(out, "\t\tcomment \"addresses clients use to reach the host: host-ip, public-ip\"\n");
	print_elements_start(out);
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->count; i++)
			if (lists[l]->items[i].family == h->fam->af)
				text_printf(out, "\t\t\t%s,\n", addr_text(&lists[l]->items[i], buf));
	print_elements_end(out);
}

static void print_open_map(struct text *out, const struct half *h)
{
	print_set_header(out, SET_OPEN_MAP, h->fam);
	text_printf(out, "\t\ttype inet_proto . inet_service : %s . inet_service\n", h->fam->addr_type);
	text_printf(out, "\t\tcomment \"protocol . host port : guest address . guest port\"\n");
	print_elements_start(out);
	for (size_t i = 0; i < h->count; i++) {
		const struct entry *e = &h->by_key[i];

		if (!e->source) {
			text_puts(out, "\t\t\t");
			put_mapping(out, e);
			text_puts(out, ",\n");
		}
	}
	print_elements_end(out);
}

static void print_source_map(struct text *out, const struct half *h)
{
	print_set_header(out, SET_SOURCE_MAP, h->fam);
	text_printf(out, "\t\ttype %s . inet_proto . inet_service : %s . inet_service\n",
		    h->fam->addr_type, h->fam->addr_type);
	text_printf(out, "\t\tflags interval\n");
	text_printf(out, "\t\tcomment \"allowed client network . protocol . host port : guest "
		     "address . guest port\"\n");
	print_elements_start(out);
	for (size_t i = 0; i < h->count; i++) {
		const struct entry *e = &h->by_key[i];

		if (!e->source)
			continue;
		text_puts(out, "\t\t\t");
		put_prefix(out, e->source, h->fam);
		text_puts(out, " . ");
		put_mapping(out, e);
		text_puts(out, ",\n");
	}
	print_elements_end(out);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The comment of a guest endpoint that the entries `group[0..n)` lead to: the names of
 * their forwards, each once, sorted, as many as fit in nft's 128 bytes ("web, web-alt +3"
 * when more do not).
 */
static void put_endpoint_comment(struct text *out, const struct entry *group, size_t n)
{
	const char *few[8], **names = n <= 8 ? few : calloc(n, sizeof(*names));
	char comment[ELEMENT_COMMENT_MAX + 1];
	size_t count = 0, distinct = 0, len = 0, left = 0;

	if (!names) {
		out->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (group[i].name)
			names[count++] = group[i].name;
	qsort(names, count, sizeof(*names), cmp_name);
	for (size_t i = 0; i < count; i++) /* each name once */
		if (distinct == 0 || strcmp(names[i], names[distinct - 1]) != 0)
			names[distinct++] = names[i];
	count = distinct;
	for (size_t i = 0; i < count; i++) {
		size_t need = strlen(names[i]) + (len ? 2 : 0);
		/* room for " +N" only while more names follow: one comment read back from the
		 * live table is written as it was */
		size_t room = i + 1 < count ? ELEMENT_COMMENT_MAX - strlen(" +65535") : ELEMENT_COMMENT_MAX;

		if (left || len + need > room) {
			left++;
			continue;
		}
		len += (size_t)sprintf(comment + len, "%s%s", len ? ", " : "", names[i]);
	}
	if (left)
		snprintf(comment + len, sizeof(comment) - len, " +%zu", left);
	if (count)
		put_comment(out, comment);
	if (names != few)
		free(names);
}

/*
 * A set of guest endpoints (address . protocol . port), each once: all of them (guestN,
 * with per-endpoint counters for status) or only those that are masqueraded (masqN).
 */
static void print_endpoint_set(struct text *out, const struct half *h, const char *comment,
			       bool masqueraded_only)
{
	print_set_header(out, masqueraded_only ? SET_MASQ : SET_GUEST, h->fam);
	text_printf(out, "\t\ttype %s . inet_proto . inet_service\n", h->fam->addr_type);
	if (!masqueraded_only)
		text_printf(out, "\t\tcounter\n");
	text_printf(out, "\t\tcomment \"%s\"\n", comment);
	print_elements_start(out);
	for (size_t i = 0, n; i < h->count; i += n) {
		const struct entry *e = &h->by_guest[i];

		/* Several host ports or networks may lead to one endpoint; a set holds it once. */
		for (n = 1; i + n < h->count && entry_cmp_guest(e, &h->by_guest[i + n]) == 0; n++)
			;
		if (masqueraded_only && e->keep_source)
			continue;
		text_puts(out, "\t\t\t");
		put_endpoint(out, e);
		put_endpoint_comment(out, e, n);
		text_puts(out, ",\n");
	}
	print_elements_end(out);
}

/* The set of forwarded host ports of `proto` in this half (fwdtcpN, fwdudpN). */
static enum set_kind port_set_kind(enum proto proto)
{
	return proto == PROTO_TCP ? SET_TCP_PORT : SET_UDP_PORT;
}

static bool half_has_proto(const struct half *h, enum proto proto)
{
	for (size_t i = 0; i < h->count; i++)
		if (h->by_key[i].proto == proto)
			return true;
	return false;
}

/*
 * The forwarded host ports of one protocol, each once, with a counter each: the forward
 * chain looks every packet of a forwarded connection up by its original host port, so
 * each forward (a protocol, family and port or range) has its own packets and bytes,
 * both ways, whatever other forwards lead to the same guest endpoint. With `comment`, the
 * whole set (a rendering); without, only its elements (render_elements: what
 * elements_split takes from it).
 */
static void print_port_set(struct text *out, const struct half *h, enum proto proto,
			   const char *comment)
{
	bool any = half_has_proto(h, proto);

	/* the table has both sets, empty or not: the last udp forward can go in place */
	if (comment) {
		print_set_header(out, port_set_kind(proto), h->fam);
		text_printf(out, "\t\ttype inet_service\n\t\tcounter\n\t\tcomment \"%s\"\n", comment);
	}
	if (!any) {
		if (comment)
			text_puts(out, "\t}\n\n");
		return;
	}
	if (!comment)
		print_set_header(out, port_set_kind(proto), h->fam);
	print_elements_start(out);
	/* by_key is sorted by protocol, then port: each port's entries are together */
	for (size_t i = 0; i < h->count; i++) {
		const struct entry *e = &h->by_key[i];

		if (e->proto != proto || (i > 0 && h->by_key[i - 1].proto == proto &&
					  h->by_key[i - 1].host_port == e->host_port))
			continue;
		text_puts(out, "\t\t\t");
		put_port(out, e->host_port);
		text_puts(out, ",\n");
	}
	print_elements_end(out);
}

/*
 * Connections that come back out of the interface they came in on (hairpin: a guest, or
 * another machine on the guest's link, calling the host's forwarded address). They must be
 * masqueraded even for keep-source, or the guest would answer the client directly, past
 * the host's NAT. The prerouting chain "hairpin" finds them; this set remembers them for
 * the postrouting masquerade, without touching packet or conntrack marks.
 */
static void print_hairpin_set(struct text *out, const struct half *h)
{
	const char *type = h->fam->addr_type;

	print_set_header(out, SET_HAIRPIN, h->fam);
	text_printf(out, "\t\ttype %s . %s . inet_proto . inet_service . inet_service\n", type, type);
	text_printf(out, "\t\tflags dynamic,timeout\n\t\ttimeout 10s\n");
	text_printf(out, "\t\tcomment \"new hairpin connections (client . guest . protocol . ports), "
		     "for the masquerade\"\n\t}\n\n");
}

/* Forwards with a limit or a log get rules of their own, in the family of their guest. */
static bool watched(const struct forward *f, const struct family *fam)
{
	return (f->limit.rate || f->log) && f->guest.family == fam->af;
}

/* "tcp", "udp" or "tcp_udp": with the family and host port, a name no other forward has. */
static const char *protos_word(unsigned protos)
{
	return protos == (PROTO_TCP | PROTO_UDP) ? "tcp_udp" : proto_name(protos);
}

/* Which forward, in comments and log prefixes: its name, else "tcp,udp 7000-7009". */
static void forward_label(const struct forward *f, char buf[64])
{
	if (f->name[0])
		snprintf(buf, 64, "%s", f->name);
	else if (f->host_port_last == f->host_port)
		snprintf(buf, 64, "%s %u", protos_name(f->protos), f->host_port);
	else
		snprintf(buf, 64, "%s %u-%u", protos_name(f->protos), f->host_port, f->host_port_last);
}

void render_limit_name(char buf[32], const struct forward *f)
{
	snprintf(buf, 32, "limit%s_%s_%u", f->guest.family == AF_INET6 ? "6" : "4",
		 protos_word(f->protos), f->host_port);
}

/* How many clients one limited forward tracks at once; how many log lines a second. */
#define LIMIT_CLIENTS 65535
#define LOG_RATE 10

/*
 * Per limited forward, the clients that opened connections lately (each with its own token
 * bucket) and a counter of the connections dropped above the rate. An element expires once
 * its bucket would be full again, so a client's state lives no longer than it matters; at
 * most LIMIT_CLIENTS clients are tracked at once (the others share one bucket, see
 * print_watch_rules).
 */
static void print_limit_sets(struct text *out, const struct model *m, const struct family *fam)
{
	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];
		char name[32], which[64];

		if (!watched(f, fam) || !f->limit.rate)
			continue;
		render_limit_name(name, f);
		forward_label(f, which);
		text_printf(out, "\tcounter %s {\n\t\tcomment \"new connections to %s dropped above %u/%s "
			     "from one client\"\n\t}\n\n", name, which, f->limit.rate, rate_unit(&f->limit));
		text_printf(out, "\tset %s {\n\t\ttype %s\n\t\tsize %u\n\t\tflags dynamic,timeout\n"
			     "\t\ttimeout %us\n\t\tcomment \"clients of %s, a token bucket each\"\n"
			     "\t}\n\n", name, fam->addr_type, LIMIT_CLIENTS,
			     (unsigned)limit_refill_seconds(&f->limit), which);
	}
}

/*
 * "meta l4proto tcp th dport 2222 ip saddr { 198.51.100.0/24 }": the connections a forward
 * takes, for its limit and log rules. IPv6 clients are limited per /64, which one host
 * usually holds whole.
 */
static void put_forward_match(struct text *out, const struct forward *f, const struct family *fam)
{
	size_t listed = 0;

	text_printf(out, "meta l4proto %s th dport ",
		    f->protos == (PROTO_TCP | PROTO_UDP) ? "{ tcp, udp }" : proto_name(f->protos));
	put_port(out, f->host_port);
	if (f->host_port_last != f->host_port) {
		text_putc(out, '-');
		put_port(out, f->host_port_last);
	}
	for (size_t s = 0; s < f->sources.count; s++) {
		const struct prefix *p = &f->sources.items[s];

		if (p->addr.family != fam->af)
			continue;
		if (listed++)
			text_puts(out, ", ");
		else
			text_printf(out, " %s saddr { ", fam->l3);
		put_prefix(out, p, fam);
	}
	if (listed)
		text_puts(out, " }");
}

/*
 * HOOK_WATCH: prerouting's limit and log rules, which must match a packet at most once (a
 * second match would charge its client's bucket twice and log it twice).
 */
enum hook { HOOK_PREROUTING, HOOK_WATCH, HOOK_OUTPUT, HOOK_INPUT };

/*
 * One rule per way a packet can be addressed to this host: the host set (host-ip and
 * public-ip) when given; any local address when no host-ip is given. `tail` completes the
 * rule after the match. The output hook leaves loopback alone: the kernel does not route
 * 127.0.0.1 off the host, so DNAT there would only break local services. The output hook
 * has no input interface.
 */
static void print_host_rules(struct text *out, const struct model *m, const struct half *h,
			     enum hook hook, const char *tail)
{
	const struct family *fam = h->fam;
	bool iface = m->host_iface[0] && hook != HOOK_OUTPUT;
	char iface_text[2 * IF_NAMESIZE + 3] = "";

	if (iface)
		nft_quote_string(iface_text, sizeof(iface_text), m->host_iface);

	if (h->any_local) {
		text_printf(out, "\t\t");
		if (iface) {
			text_puts(out, "iifname ");
			text_puts(out, iface_text); /* validated: always writable */
			text_putc(out, ' ');
		}
		if (hook == HOOK_OUTPUT)
			text_printf(out, "fib daddr type local %s daddr != %s", fam->l3, fam->loopback);
		else
			text_printf(out, "fib daddr type local meta nfproto %s", fam->nfproto);
		text_printf(out, " %s\n", tail);
	}
	if (h->host_set) {
		text_printf(out, "\t\t");
		if (iface) {
			text_puts(out, "iifname ");
			text_puts(out, iface_text);
			text_putc(out, ' ');
		}
		/* a public-ip that is also local matches the rule above too */
		text_printf(out, "%s daddr @%s %s%s\n", fam->l3, set_name(SET_HOST, fam),
			    hook == HOOK_WATCH && h->any_local ? "fib daddr type != local " : "", tail);
	}
}

/*
 * The DNAT rules of one hook. An allowlisted forward's port is only in fwdsrcN: a client
 * outside its networks matches no element and is not translated. Maps with intervals need
 * a protocol match before the port lookup.
 */
static void print_dnat_rules(struct text *out, const struct model *m, const struct half *h,
			     enum hook hook, const char *comment)
{
	const char *l3 = h->fam->l3;
	char tail[512];

	if (h->source_map) {
		snprintf(tail, sizeof(tail), "meta l4proto { tcp, udp } dnat %s to %s saddr . "
			 "meta l4proto . th dport map @%s comment \"%s, allowlisted clients\"",
			 l3, l3, set_name(SET_SOURCE_MAP, h->fam), comment);
		print_host_rules(out, m, h, hook, tail);
	}
	if (h->open_map) {
		snprintf(tail, sizeof(tail), "dnat %s to meta l4proto . th dport map @%s "
			 "comment \"%s\"", l3, set_name(SET_OPEN_MAP, h->fam), comment);
		print_host_rules(out, m, h, hook, tail);
	}
}

/* One rule of print_watch_rules: the forward's match, then `format`, before every DNAT. */
static void print_watch_rule(struct text *out, const struct model *m, const struct half *h,
			     const struct forward *f, const char *format, ...)
	__attribute__((format(printf, 5, 6)));
static void print_watch_rule(struct text *out, const struct model *m, const struct half *h,
			     const struct forward *f, const char *format, ...)
{
	struct text tail = { 0 };
	va_list ap;
	char *rest = NULL;
	int n;

	va_start(ap, format);
	n = vasprintf(&rest, format, ap);
	va_end(ap);
	put_forward_match(&tail, f, h->fam);
	if (n >= 0)
		text_puts(&tail, rest);
	out->failed |= tail.failed || n < 0;
	if (!out->failed)
		print_host_rules(out, m, h, HOOK_WATCH, tail.data);
	free(rest);
	free(tail.data);
}

/*
 * Before the DNAT rules, per forward with a limit or a log: drop a client's new connections
 * above its rate (counted), then log the rest, at most LOG_RATE lines a second per forward.
 * The nat chain sees the first packet of each connection only. The host's own connections
 * (chain output) are neither limited nor logged.
 */
static void print_watch_rules(struct text *out, const struct model *m, const struct half *h)
{
	const struct family *fam = h->fam;
	/* the client: its address, or its /64 */
	const char *mask = fam->af == AF_INET6 ? " & ffff:ffff:ffff:ffff::" : "";

	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];
		const struct rate_limit *l = &f->limit;
		char name[32], which[64];

		if (!watched(f, fam))
			continue;
		forward_label(f, which);
		if (l->rate) {
			render_limit_name(name, f);
			print_watch_rule(out, m, h, f, " update @%s { %s saddr%s limit rate over %u/%s "
					 "burst %u packets } counter name \"%s\" drop comment \"3 "
					 "prerouting: at most %u new connection%s per %s from one client "
					 "to %s\"", name, fam->l3, mask, l->rate, rate_unit(l), l->burst,
					 name, l->rate, l->rate == 1 ? "" : "s", rate_unit(l), which);
			/* a full set adds no client: those it cannot track share one bucket, so
			 * that filling it (spoofed SYNs) does not turn the limit off */
			print_watch_rule(out, m, h, f, " %s saddr%s != @%s limit rate over %u/%s burst "
					 "%u packets counter name \"%s\" drop comment \"3 prerouting: "
					 "the clients beyond the %u tracked share one limit\"", fam->l3,
					 mask, name, l->rate, rate_unit(l), l->burst, name, LIMIT_CLIENTS);
		}
		if (f->log)
			print_watch_rule(out, m, h, f, " limit rate %u/second burst %u packets log "
					 "prefix \"nft-portfwd %s: \" level info comment \"3 prerouting: "
					 "log new connections to %s\"", LOG_RATE, 2 * LOG_RATE, which,
					 which);
	}
}

static void print_chains(struct text *out, const struct model *m, const struct half halves[2])
{
	char tail[512];
	uint32_t mark;

	text_printf(out, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	for (size_t i = 0; i < 2; i++)
		if (halves[i].count) {
			print_watch_rules(out, m, &halves[i]);
			print_dnat_rules(out, m, &halves[i], HOOK_PREROUTING,
					 "3 prerouting: DNAT connections to forwarded host ports");
		}
	text_printf(out, "\t}\n\n");

	if (halves[0].some_keep_source || halves[1].some_keep_source) {
		text_printf(out, "\tchain hairpin {\n\t\ttype filter hook prerouting priority -99; "
			     "policy accept;\n");
		for (size_t i = 0; i < 2; i++) {
			const char *l3 = halves[i].fam->l3;

			if (!halves[i].some_keep_source)
				continue;
			/* After DNAT (-100): does the route to the guest leave where it came in? */
			text_printf(out, "\t\tmeta nfproto %s ct state new ct status dnat fib daddr . iif oif "
				     "exists add @%s { %s saddr . %s daddr . meta l4proto . th sport . "
				     "th dport } comment \"6 hairpin: a connection that leaves where it "
				     "came in\"\n", halves[i].fam->nfproto, set_name(SET_HAIRPIN, halves[i].fam),
				     l3, l3);
		}
		text_printf(out, "\t}\n\n");
	}

	text_printf(out, "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n");
	for (size_t i = 0; i < 2; i++)
		if (halves[i].count)
			print_dnat_rules(out, m, &halves[i], HOOK_OUTPUT,
					 "4 output: DNAT the host's own connections to forwarded ports");
	text_printf(out, "\t}\n\n");

	/*
	 * Before every filter chain of other tables (priority filter): only the packets of
	 * connections we DNAT'd to a guest endpoint, and their replies, carry the mark bit when
	 * those chains run; their accepts (foreign.c) match it. Other bits are kept.
	 */
	mark = model_mark(m);
	text_printf(out, "\tchain forward {\n\t\ttype filter hook forward priority filter - %d; "
		     "policy accept;\n", -TABLE_FORWARD_PRIORITY);
	if (halves[0].count || halves[1].count)
		text_printf(out, "\t\tmeta mark & 0x%08x == 0x%08x meta mark set meta mark & 0x%08x comment "
			     "\"5 forward: only the forwards carry mark 0x%08x\"\n", mark, mark, ~mark, mark);
	for (size_t i = 0; i < 2; i++) {
		const char *l3 = halves[i].fam->l3, *guest = set_name(SET_GUEST, halves[i].fam);

		if (!halves[i].count)
			continue;
		text_printf(out, "\t\tct direction original ct status dnat %s daddr . meta l4proto . th dport "
			     "@%s counter meta mark set meta mark | 0x%08x comment \"5 forward: DNAT'd "
			     "connections to guests\"\n", l3, guest, mark);
		text_printf(out, "\t\tct direction reply ct status dnat %s saddr . meta l4proto . th sport "
			     "@%s counter meta mark set meta mark | 0x%08x comment \"5 forward: guests' "
			     "replies\"\n", l3, guest, mark);
	}
	for (size_t i = 0; i < 4; i++) {
		const struct half *h = &halves[i / 2];
		enum proto proto = i % 2 ? PROTO_UDP : PROTO_TCP;

		if (h->count)
			text_printf(out, "\t\tmeta mark & 0x%08x == 0x%08x meta nfproto %s meta l4proto %s "
				     "ct original proto-dst @%s comment \"5 forward: each forward's packets, "
				     "by its host port\"\n", mark, mark, h->fam->nfproto, proto_name(proto),
				     set_name(port_set_kind(proto), h->fam));
	}
	text_printf(out, "\t}\n\n");

	text_printf(out, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	for (size_t i = 0; i < 2; i++) {
		const struct half *h = &halves[i];
		const char *l3 = h->fam->l3;

		if (!h->count)
			continue;
		if (!h->all_keep_source)
			text_printf(out, "\t\tct status dnat %s daddr . meta l4proto . th dport @%s "
				     "masquerade comment \"6 postrouting: guests reply through the "
				     "host\"\n", l3, set_name(h->some_keep_source ? SET_MASQ : SET_GUEST, h->fam));
		if (h->some_keep_source)
			text_printf(out, "\t\t%s saddr . %s daddr . meta l4proto . th sport . th dport "
				     "@%s masquerade comment \"6 postrouting: hairpin connections "
				     "to keep-source forwards\"\n", l3, l3, set_name(SET_HAIRPIN, h->fam));
	}
	text_printf(out, "\t}\n\n");

	/*
	 * Part 1's guard, after every source NAT (iptables', libvirt's, Docker's, firewalld's
	 * run at srcnat or srcnat + 10): a new forwarded connection that nobody translated is
	 * dropped. Forwarded: an input interface (the host's own packets and bridged ones have
	 * none) and a source that is not the host's (the outer packets of the host's own
	 * tunnels, VXLAN or WireGuard, keep the tunnel device as input). Masqueraded networks
	 * (libvirt's and Docker's guests going out) and DNAT'd connections (the forwards,
	 * another program's published ports) pass; so do replies, which are never new.
	 */
	if (m->route_guard[0] || m->route_guard[1]) {
		text_printf(out, "\tchain routing {\n\t\ttype filter hook postrouting priority srcnat + 50; "
			     "policy accept;\n");
		for (size_t i = 0; i < 2; i++)
			if (m->route_guard[i])
				text_printf(out, "\t\tmeta nfproto %s ct state new iif != 0 fib saddr type != "
					     "local ct status & (snat | dnat) == 0 counter drop comment \"1 "
					     "routing: the host routes only the forwards and translated "
					     "connections\"\n", families[i].nfproto);
		text_printf(out, "\t}\n\n");
	}

	text_printf(out, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
	for (size_t i = 0; i < 2; i++) {
		const struct half *h = &halves[i];
		const char *l3 = h->fam->l3;

		if (h->source_map) {
			snprintf(tail, sizeof(tail), "meta l4proto { tcp, udp } %s saddr . meta l4proto "
				 ". th dport @%s counter accept comment \"2 input: accept the "
				 "forwarded host ports, allowlisted clients\"", l3,
				 set_name(SET_SOURCE_MAP, h->fam));
			print_host_rules(out, m, h, HOOK_INPUT, tail);
		}
		if (h->open_map) {
			snprintf(tail, sizeof(tail), "meta l4proto . th dport @%s counter accept "
				 "comment \"2 input: accept the forwarded host ports\"",
				 set_name(SET_OPEN_MAP, h->fam));
			print_host_rules(out, m, h, HOOK_INPUT, tail);
		}
	}
	text_printf(out, "\t}\n");
}

/* One family's part of a list of entries, sorted by key (`by_key`) and by guest endpoint. */
static bool half_of(const struct entry_list *list, size_t fam, struct half *h)
{
	size_t n = 0;

	h->fam = &families[fam];
	h->by_key = calloc(list->count + 1, sizeof(*h->by_key));
	h->by_guest = calloc(list->count + 1, sizeof(*h->by_guest));
	if (!h->by_key || !h->by_guest)
		return false;
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].family == h->fam->af) {
			h->by_key[n++] = list->items[i];
			h->open_map |= !list->items[i].source;
			h->source_map |= list->items[i].source != NULL;
		}
	h->count = n;
	memcpy(h->by_guest, h->by_key, n * sizeof(*h->by_key));
	entries_sort(h->by_key, n, BY_KEY);
	entries_sort(h->by_guest, n, BY_GUEST);
	return true;
}

/* Split the entries by family and decide what each half of the table needs. */
static bool plan_halves(const struct model *m, const struct entry_list *all, struct half halves[2])
{
	for (size_t i = 0; i < 2; i++) {
		struct half *h = &halves[i];

		*h = (struct half){ 0 };
		if (!half_of(all, i, h))
			return false;
		h->all_keep_source = true;
		for (size_t e = 0; e < h->count; e++) {
			h->some_keep_source |= h->by_key[e].keep_source;
			h->all_keep_source &= h->by_key[e].keep_source;
		}
		h->host_set = addr_list_has_family(&m->host_ips, h->fam->af) ||
			      addr_list_has_family(&m->public_ips, h->fam->af);
		h->any_local = !addr_list_has_family(&m->host_ips, h->fam->af);
	}
	return true;
}


static void half_free(struct half *h)
{
	free(h->by_key);
	free(h->by_guest);
}

bool render_elements(const struct entry_list *mappings, const struct entry_list *guests,
		     const struct entry_list *masqueraded, const struct entry_list *ports, FILE *file)
{
	struct text buf = { 0 }, *out = &buf;
	bool ok = true;

	for (size_t fam = 0; ok && fam < 2; fam++) {
		struct half maps = { 0 }, guest = { 0 }, masq = { 0 }, port = { 0 };

		ok = half_of(mappings, fam, &maps) && half_of(guests, fam, &guest) &&
		     half_of(masqueraded, fam, &masq) && half_of(ports, fam, &port);
		if (ok && maps.open_map)
			print_open_map(out, &maps);
		if (ok && maps.source_map)
			print_source_map(out, &maps);
		if (ok && guest.count)
			print_endpoint_set(out, &guest, "", false);
		if (ok && masq.count)
			print_endpoint_set(out, &masq, "", true);
		if (ok)
			print_port_set(out, &port, PROTO_TCP, NULL);
		if (ok)
			print_port_set(out, &port, PROTO_UDP, NULL);
		half_free(&maps);
		half_free(&guest);
		half_free(&masq);
		half_free(&port);
	}
	return text_flush(out, file) && ok;
}

/*
 * Where each `to vm` forward goes now, as comments: the review shows the address and how it
 * was found, or why the forward waits (not in the table). Not part of the table's structure
 * (elements.h leaves comment lines out), so a guest that moves is an element change.
 */
static void render_vms(const struct model *m, struct text *out)
{
	if (!model_has_vms(m))
		return;
	text_printf(out, "# Guests named by libvirt domain (%s), as found now:\n",
		    model_libvirt_uri(m));
	for (size_t i = 0; i < m->forward_count; i++) {
		char *line = m->forwards[i].vm.domain[0] ? forward_text(m, &m->forwards[i], AS_STATUS)
							 : NULL;

		if (line)
			text_printf(out, "#   %s\n", line);
		free(line);
	}
	for (size_t i = 0; i < m->waiting_count; i++) {
		char *line = forward_text(m, &m->waiting[i].f, AS_STATUS);

		if (line)
			text_printf(out, "#   %s: waiting: %s\n", line, m->waiting[i].why);
		free(line);
	}
}

/* The rendering into `out`; false when memory ran out. */
static bool render(const struct model *m, struct text *out)
{
	struct entry_list all = { 0 };
	struct half halves[2] = { 0 };
	bool ok = entries_from_model(m, &all) && plan_halves(m, &all, halves);

	/* about 100 bytes per element line: grown once instead of twenty times */
	text_reserve(out, 4096 + all.count * 100);
	if (ok) {
		text_puts(out,
			"# Rendered by nft-portfwd. Review it with 'nft-portfwd render'; 'nft-portfwd apply'\n"
			"# commits it as one transaction. The first two lines make the replace work whether\n"
			"# or not the table exists. Part 1 of the design, net.ipv4.ip_forward (and IPv6\n"
			"# forwarding), is a sysctl that apply sets; parts 2-6 are the rules below.\n");
		render_vms(m, out);
		text_puts(out,
			"table " TABLE_FAMILY " " TABLE_NAME "\n"
			"delete table " TABLE_FAMILY " " TABLE_NAME "\n"
			"table " TABLE_FAMILY " " TABLE_NAME " {\n"
			"\tcomment \"owned by nft-portfwd: apply replaces it, flush deletes it\"\n\n");
		for (size_t i = 0; i < 2; i++) {
			const struct half *h = &halves[i];

			if (!h->count)
				continue;
			if (h->host_set)
				print_host_set(out, m, h);
			if (h->open_map)
				print_open_map(out, h);
			if (h->source_map)
				print_source_map(out, h);
			print_endpoint_set(out, h,
					   "guest endpoints: guest address . protocol . guest port", false);
			if (h->some_keep_source && !h->all_keep_source)
				print_endpoint_set(out, h,
						   "guest endpoints that are masqueraded (no keep-source)",
						   true);
			print_port_set(out, h, PROTO_TCP, "forwarded tcp host ports: each forward's "
				       "packets and bytes");
			print_port_set(out, h, PROTO_UDP, "forwarded udp host ports: each forward's "
				       "packets and bytes");
			if (h->some_keep_source)
				print_hairpin_set(out, h);
			print_limit_sets(out, m, h->fam);
		}
		print_chains(out, m, halves);
		text_puts(out, "}\n");
	}
	for (size_t i = 0; i < 2; i++)
		half_free(&halves[i]);
	entries_free(&all);
	return ok && !out->failed;
}

bool render_ruleset(const struct model *m, FILE *file)
{
	struct text out = { 0 };
	bool ok = render(m, &out);

	return text_flush(&out, file) && ok;
}

char *render_ruleset_text(const struct model *m)
{
	struct text out = { 0 };

	if (!render(m, &out)) {
		free(out.data);
		return NULL;
	}
	return out.data;
}

bool render_flush(FILE *out)
{
	fprintf(out, "table " TABLE_FAMILY " " TABLE_NAME "\n"
		     "delete table " TABLE_FAMILY " " TABLE_NAME "\n");
	return !ferror(out);
}
