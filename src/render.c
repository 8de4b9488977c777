/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

/* What differs between the IPv4 and the IPv6 half of the table. */
struct family {
	int af;
	const char *suffix;    /* set and map names: fwd4, fwd6 */
	const char *l3;        /* ip, ip6 */
	const char *nfproto;   /* ipv4, ipv6 */
	const char *addr_type; /* ipv4_addr, ipv6_addr */
	const char *loopback;  /* never DNAT the host's loopback traffic */
};

static const struct family families[] = {
	{ AF_INET, "4", "ip", "ipv4", "ipv4_addr", "127.0.0.0/8" },
	{ AF_INET6, "6", "ip6", "ipv6", "ipv6_addr", "::1" },
};

/* One (protocol, host port) -> guest endpoint mapping; a tcp,udp forward gives two. */
struct entry {
	const char *proto;
	uint16_t host_port;
	const struct addr *guest;
	uint16_t guest_port;
};

static int addr_cmp(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(&a->v6, &b->v6, a->family == AF_INET ? sizeof(a->v4) : sizeof(a->v6));
}

static int cmp_by_host_port(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = strcmp(a->proto, b->proto);

	return c ? c : (int)a->host_port - (int)b->host_port;
}

static int cmp_by_guest(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = addr_cmp(a->guest, b->guest);

	if (!c)
		c = strcmp(a->proto, b->proto);
	return c ? c : (int)a->guest_port - (int)b->guest_port;
}

static size_t collect_entries(const struct model *m, int af, struct entry *out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];

		if (f->guest.family != af)
			continue;
		if (f->protos & PROTO_TCP)
			out[n++] = (struct entry){ "tcp", f->host_port, &f->guest, f->guest_port };
		if (f->protos & PROTO_UDP)
			out[n++] = (struct entry){ "udp", f->host_port, &f->guest, f->guest_port };
	}
	return n;
}

static const char *addr_text(const struct addr *a, char *buf)
{
	return inet_ntop(a->family, &a->v6, buf, INET6_ADDRSTRLEN);
}

static void print_host_set(FILE *out, const struct model *m, const struct family *fam)
{
	char buf[INET6_ADDRSTRLEN];
	const struct addr_list *lists[] = { &m->host_ips, &m->public_ips };

	fprintf(out, "\tset host%s {\n\t\ttype %s\n", fam->suffix, fam->addr_type);
	fprintf(out, "\t\tcomment \"addresses clients use to reach the host: host-ip, public-ip\"\n");
	fprintf(out, "\t\telements = {\n");
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->count; i++)
			if (lists[l]->items[i].family == fam->af)
				fprintf(out, "\t\t\t%s,\n", addr_text(&lists[l]->items[i], buf));
	fprintf(out, "\t\t}\n\t}\n\n");
}

static void print_fwd_map(FILE *out, const struct family *fam, struct entry *e, size_t n)
{
	char buf[INET6_ADDRSTRLEN];

	qsort(e, n, sizeof(*e), cmp_by_host_port);
	fprintf(out, "\tmap fwd%s {\n\t\ttype inet_proto . inet_service : %s . inet_service\n",
		fam->suffix, fam->addr_type);
	fprintf(out, "\t\tcomment \"protocol . host port : guest address . guest port\"\n");
	fprintf(out, "\t\telements = {\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "\t\t\t%s . %u : %s . %u,\n", e[i].proto, e[i].host_port,
			addr_text(e[i].guest, buf), e[i].guest_port);
	fprintf(out, "\t\t}\n\t}\n\n");
}

static void print_guest_set(FILE *out, const struct family *fam, struct entry *e, size_t n)
{
	char buf[INET6_ADDRSTRLEN];

	qsort(e, n, sizeof(*e), cmp_by_guest);
	fprintf(out, "\tset guest%s {\n\t\ttype %s . inet_proto . inet_service\n", fam->suffix,
		fam->addr_type);
	fprintf(out, "\t\tcomment \"guest endpoints: guest address . protocol . guest port\"\n");
	fprintf(out, "\t\telements = {\n");
	for (size_t i = 0; i < n; i++) {
		/* Two host ports may lead to one guest endpoint; a set holds it once. */
		if (i > 0 && cmp_by_guest(&e[i - 1], &e[i]) == 0)
			continue;
		fprintf(out, "\t\t\t%s . %s . %u,\n", addr_text(e[i].guest, buf), e[i].proto,
			e[i].guest_port);
	}
	fprintf(out, "\t\t}\n\t}\n\n");
}

static bool list_has_family(const struct addr_list *list, int af)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].family == af)
			return true;
	return false;
}

static bool has_host_set(const struct model *m, int af)
{
	return list_has_family(&m->host_ips, af) || list_has_family(&m->public_ips, af);
}

enum hook { HOOK_PREROUTING, HOOK_OUTPUT, HOOK_INPUT };

/*
 * One rule per way a packet can be addressed to this host: the host set (host-ip and
 * public-ip) when given; any local address when no host-ip is given. `tail` completes the
 * rule after the match. The output hook leaves loopback alone: the kernel does not route
 * 127.0.0.1 off the host, so DNAT there would only break local services. The output hook
 * has no input interface.
 */
static void print_host_rules(FILE *out, const struct model *m, const struct family *fam,
			     enum hook hook, const char *tail)
{
	bool any_local = !list_has_family(&m->host_ips, fam->af);
	bool iface = m->host_iface[0] && hook != HOOK_OUTPUT;

	if (any_local) {
		fprintf(out, "\t\t");
		if (iface)
			fprintf(out, "iifname \"%s\" ", m->host_iface);
		if (hook == HOOK_OUTPUT)
			fprintf(out, "fib daddr type local %s daddr != %s", fam->l3, fam->loopback);
		else
			fprintf(out, "fib daddr type local meta nfproto %s", fam->nfproto);
		fprintf(out, " %s\n", tail);
	}
	if (has_host_set(m, fam->af)) {
		fprintf(out, "\t\t");
		if (iface)
			fprintf(out, "iifname \"%s\" ", m->host_iface);
		fprintf(out, "%s daddr @host%s %s\n", fam->l3, fam->suffix, tail);
	}
}

static void print_chains(FILE *out, const struct model *m, const bool used[2])
{
	char tail[256];

	fprintf(out, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	for (size_t i = 0; i < 2; i++) {
		if (!used[i])
			continue;
		snprintf(tail, sizeof(tail), "dnat %s to meta l4proto . th dport map @fwd%s comment "
			 "\"3 prerouting: DNAT connections to forwarded host ports\"",
			 families[i].l3, families[i].suffix);
		print_host_rules(out, m, &families[i], HOOK_PREROUTING, tail);
	}
	fprintf(out, "\t}\n\n");

	fprintf(out, "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n");
	for (size_t i = 0; i < 2; i++) {
		if (!used[i])
			continue;
		snprintf(tail, sizeof(tail), "dnat %s to meta l4proto . th dport map @fwd%s comment "
			 "\"4 output: DNAT the host's own connections to forwarded ports\"",
			 families[i].l3, families[i].suffix);
		print_host_rules(out, m, &families[i], HOOK_OUTPUT, tail);
	}
	fprintf(out, "\t}\n\n");

	fprintf(out, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
	for (size_t i = 0; i < 2; i++) {
		if (!used[i])
			continue;
		fprintf(out, "\t\tct status dnat %s daddr . meta l4proto . th dport @guest%s counter "
			     "accept comment \"5 forward: DNAT'd connections to guests\"\n",
			families[i].l3, families[i].suffix);
		fprintf(out, "\t\tct status dnat %s saddr . meta l4proto . th sport @guest%s counter "
			     "accept comment \"5 forward: guests' replies\"\n",
			families[i].l3, families[i].suffix);
	}
	fprintf(out, "\t}\n\n");

	fprintf(out, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	for (size_t i = 0; i < 2; i++) {
		if (!used[i])
			continue;
		fprintf(out, "\t\tct status dnat %s daddr . meta l4proto . th dport @guest%s masquerade "
			     "comment \"6 postrouting: guests reply through the host\"\n",
			families[i].l3, families[i].suffix);
	}
	fprintf(out, "\t}\n\n");

	fprintf(out, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
	for (size_t i = 0; i < 2; i++) {
		if (!used[i])
			continue;
		snprintf(tail, sizeof(tail), "meta l4proto . th dport @fwd%s counter accept comment "
			 "\"2 input: accept the forwarded host ports\"", families[i].suffix);
		print_host_rules(out, m, &families[i], HOOK_INPUT, tail);
	}
	fprintf(out, "\t}\n");
}

bool render_ruleset(const struct model *m, FILE *out)
{
	struct entry *entries = calloc(2 * m->forward_count + 1, sizeof(*entries));
	bool used[2] = { false, false };

	if (!entries)
		return false;

	fprintf(out,
		"# Rendered by nft-portfwd. Review it with 'nft-portfwd render'; 'nft-portfwd apply'\n"
		"# commits it as one transaction. The first two lines make the replace work whether\n"
		"# or not the table exists. Part 1 of the design, net.ipv4.ip_forward (and IPv6\n"
		"# forwarding), is a sysctl that apply sets; parts 2-6 are the rules below.\n"
		"table " TABLE_FAMILY " " TABLE_NAME "\n"
		"delete table " TABLE_FAMILY " " TABLE_NAME "\n"
		"table " TABLE_FAMILY " " TABLE_NAME " {\n"
		"\tcomment \"owned by nft-portfwd: apply replaces it, flush deletes it\"\n\n");

	for (size_t i = 0; i < 2; i++) {
		const struct family *fam = &families[i];
		size_t n = collect_entries(m, fam->af, entries);

		if (n == 0)
			continue;
		used[i] = true;
		if (has_host_set(m, fam->af))
			print_host_set(out, m, fam);
		print_fwd_map(out, fam, entries, n);
		print_guest_set(out, fam, entries, n);
	}
	print_chains(out, m, used);
	fprintf(out, "}\n");
	free(entries);
	return !ferror(out);
}

char *render_ruleset_text(const struct model *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	bool ok;

	if (!mem)
		return NULL;
	ok = render_ruleset(m, mem);
	if (fclose(mem) != 0 || !ok) {
		free(text);
		return NULL;
	}
	return text;
}

bool render_flush(FILE *out)
{
	fprintf(out, "table " TABLE_FAMILY " " TABLE_NAME "\n"
		     "delete table " TABLE_FAMILY " " TABLE_NAME "\n");
	return !ferror(out);
}
