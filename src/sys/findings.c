/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/entries.h"
#include "config/validate.h"
#include "sys/findings.h"
#include "sys/hostcheck.h"
#include "sys/route.h"

static void add(struct host_findings *out, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(struct host_findings *out, const char *fix, const char *fmt, ...)
{
	struct host_finding *grown = realloc(out->items, (out->count + 1) * sizeof(*grown));
	char *what = NULL, *fix_copy = strdup(fix);
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (grown)
		out->items = grown;
	if (!grown || !what || !fix_copy) {
		free(what);
		free(fix_copy);
		return;
	}
	out->items[out->count++] = (struct host_finding){ what, fix_copy };
}

static bool addr_on(const struct ifaddrs *list, const struct addr *a, const char *iface)
{
	for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != a->family ||
		    (iface && strcmp(ifa->ifa_name, iface) != 0))
			continue;
		if (a->family == AF_INET
			    ? ((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr.s_addr == a->v4.s_addr
			    : memcmp(&((struct sockaddr_in6 *)(void *)ifa->ifa_addr)->sin6_addr, &a->v6,
				     sizeof(a->v6)) == 0)
			return true;
	}
	return false;
}

/* host-iface exists and is up; host-ip is an address of this host (on host-iface). */
static void check_host(const struct model *m, const struct ifaddrs *list, struct host_findings *out)
{
	static const char iface_fix[] = "set host-iface to the interface clients arrive on "
					"('ip -br link' lists them), or leave it out";
	const char *iface = m->host_iface[0] ? m->host_iface : NULL;

	if (iface) {
		bool up = false;

		for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next)
			if (strcmp(ifa->ifa_name, iface) == 0)
				up |= (ifa->ifa_flags & IFF_UP) != 0;
		if (if_nametoindex(iface) == 0)
			add(out, iface_fix, "host-iface %s does not exist: no client can reach the "
					    "forwards", iface);
		else if (!up)
			add(out, iface_fix, "host-iface %s exists but is down", iface);
	}
	for (size_t i = 0; i < m->host_ips.count; i++) {
		const struct addr *a = &m->host_ips.items[i];
		char text[INET6_ADDRSTRLEN];

		addr_text(a, text);
		if (addr_on(list, a, iface))
			continue;
		if (iface && addr_on(list, a, NULL))
			add(out, "set host-iface to the interface that carries host-ip, or leave "
				 "host-iface out",
			    "host-ip %s is on this host, but not on host-iface %s", text, iface);
		else
			add(out, "set host-ip to an address of this host ('ip -br addr'), or leave it "
				 "out to match any local address",
			    "host-ip %s is not an address of this host", text);
	}
}

/* Is `guest` the network or broadcast address of an IPv4 network this host is on? */
static void check_edge_address(const struct addr *guest, const struct ifaddrs *list,
			       struct host_findings *out)
{
	static const char fix[] = "forward to the guest's own address ('virsh domifaddr DOMAIN' "
				  "or 'ip neigh' on the host lists them)";

	for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		uint32_t addr, mask, g = ntohl(guest->v4.s_addr);
		char net[INET_ADDRSTRLEN], text[INET6_ADDRSTRLEN];
		int len;

		if (guest->family != AF_INET || !ifa->ifa_addr || !ifa->ifa_netmask ||
		    ifa->ifa_addr->sa_family != AF_INET)
			continue;
		addr = ntohl(((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr.s_addr);
		mask = ntohl(((struct sockaddr_in *)(void *)ifa->ifa_netmask)->sin_addr.s_addr);
		len = __builtin_popcount(mask);
		/* a /31 or /32 has neither (RFC 3021) */
		if (len > 30 || (g & mask) != (addr & mask) || (g != (addr & mask) && g != (addr | ~mask)))
			continue;
		inet_ntop(AF_INET, &(struct in_addr){ htonl(addr & mask) }, net, sizeof(net));
		addr_text(guest, text);
		add(out, fix, "guest %s is the %s address of %s/%d on %s, not a guest's: nothing "
			      "answers there", text, g == (addr & mask) ? "network" : "broadcast", net,
		    len, ifa->ifa_name);
		return;
	}
}

/* The routes (sorted by guest) hold one for `g`. */
static bool routed(const struct guest_route *routes, size_t count, const struct addr *g)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = addr_cmp(&routes[mid].guest, g);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Each distinct guest (the first GUESTS_CHECKED_MAX) has a route and is no network's edge. */
static void check_guests(const struct model *m, const struct entry_list *scope,
			 const struct ifaddrs *list, struct host_findings *out)
{
	struct entry_list entries = { 0 }, firsts = { 0 };
	struct guest_route *routes = NULL;
	size_t route_count = 0;

	if (scope && (entries.items = malloc((scope->count + 1) * sizeof(*entries.items)))) {
		memcpy(entries.items, scope->items, scope->count * sizeof(*entries.items));
		entries.count = scope->count;
	} else if (scope || !entries_from_model(m, &entries)) {
		return;
	}
	entries_sort(entries.items, entries.count, BY_GUEST);
	/* one entry per guest, so that the kernel is asked once per guest */
	firsts.items = entries.items;
	for (size_t i = 0; i < entries.count; i++) {
		if (i > 0 && addr_cmp(&entries.items[i].guest, &entries.items[i - 1].guest) == 0)
			continue;
		if (firsts.count == GUESTS_CHECKED_MAX) {
			out->guests_unchecked++;
			continue;
		}
		entries.items[firsts.count++] = entries.items[i];
	}
	routes = route_guests(&firsts, NULL, &route_count);
	for (size_t i = 0; i < firsts.count; i++) {
		const struct addr *g = &firsts.items[i].guest;
		char text[INET6_ADDRSTRLEN];

		addr_text(g, text);
		/* no answer at all (no netlink socket, no memory) is no finding */
		if (routes && !routed(routes, route_count, g))
			add(out, "forward to an address on a network of this host (a libvirt guest's: "
				 "'virsh domifaddr DOMAIN'), or add a route to it",
			    "guest %s: this host has no route to it ('ip route get %s' fails)", text, text);
		else
			check_edge_address(g, list, out);
	}
	free(routes);
	entries_free(&entries);
}

void host_findings_read(const struct model *m, const struct entry_list *scope,
			struct host_findings *out)
{
	struct ifaddrs *list = NULL;
	size_t before, count = 0;
	char **served;

	*out = (struct host_findings){ 0 };
	if (getifaddrs(&list) < 0) {
		add(out, "run it again; 'ip -br addr' shows them", "cannot list this host's addresses");
		return;
	}
	check_host(m, list, out);
	out->host_ok = out->count == 0;
	before = out->count;
	check_guests(m, scope, list, out);
	out->guests_ok = out->count == before;
	freeifaddrs(list);
	served = hostcheck_served_ports(m, scope, &count);
	for (size_t i = 0; i < count; i++) {
		add(out, "set host-ip to the addresses clients use to reach the host", "%s", served[i]);
		free(served[i]);
	}
	free(served);
}

void host_findings_free(struct host_findings *f)
{
	for (size_t i = 0; i < f->count; i++) {
		free(f->items[i].what);
		free(f->items[i].fix);
	}
	free(f->items);
	*f = (struct host_findings){ 0 };
}
