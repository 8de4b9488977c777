/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/conntrack.h"
#include "config/validate.h"

struct sweep {
	const struct entry_list *stale; /* mappings that changed or went away */
	const struct entry_list *fresh; /* mappings that are new or changed */
	struct addr_list local;         /* this host's addresses */
	struct nf_conntrack **doomed; /* clones of the matching entries, deleted after the dump */
	size_t count, capacity;
	bool out_of_memory;
};

/* The conntrack entry's address attribute as our address type. */
static struct addr ct_addr(const struct nf_conntrack *ct, int family, int attr4, int attr6)
{
	struct addr a = { .family = family };

	if (family == AF_INET)
		a.v4.s_addr = nfct_get_attr_u32(ct, attr4);
	else
		memcpy(&a.v6, nfct_get_attr(ct, attr6), sizeof(a.v6));
	return a;
}

static bool in_network(const struct addr *a, const struct prefix *net)
{
	struct prefix host = { .addr = *a, .len = net->len };

	return a->family == net->addr.family && prefixes_overlap(&host, net);
}

static bool matches(const struct nf_conntrack *ct, const struct entry *e)
{
	struct addr guest = ct_addr(ct, e->family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC);
	struct addr client;

	if (addr_cmp(&guest, &e->guest) != 0 ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)) != e->guest_port)
		return false;
	if (!e->source)
		return true;
	client = ct_addr(ct, e->family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC);
	return in_network(&client, e->source);
}

/* The first stale entry for (family, protocol, port), or NULL: they sit together. */
static const struct entry *first_for_port(const struct entry_list *stale, const struct entry *key)
{
	size_t lo = 0, hi = stale->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct entry probe = stale->items[mid];

		probe.source = NULL; /* compare family, protocol and port only */
		if (entry_cmp_key(&probe, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == stale->count || stale->items[lo].family != key->family ||
	    stale->items[lo].proto != key->proto || stale->items[lo].host_port != key->host_port)
		return NULL;
	return &stale->items[lo];
}

static bool keep_clone(struct sweep *sweep, const struct nf_conntrack *ct)
{
	if (sweep->count == sweep->capacity) {
		size_t capacity = sweep->capacity ? sweep->capacity * 2 : 64;
		struct nf_conntrack **grown = realloc(sweep->doomed, capacity * sizeof(*grown));

		if (!grown)
			return false;
		sweep->doomed = grown;
		sweep->capacity = capacity;
	}
	if (!(sweep->doomed[sweep->count] = nfct_clone(ct)))
		return false;
	sweep->count++;
	return true;
}

/* Does an untranslated flow to this host match a new mapping (so it should be translated)? */
static bool matches_fresh(const struct sweep *sweep, const struct nf_conntrack *ct,
			  const struct entry *key)
{
	const struct entry *end = sweep->fresh->items + sweep->fresh->count;
	struct addr server = ct_addr(ct, key->family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST);
	struct addr client = ct_addr(ct, key->family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC);

	if (!addr_list_has(&sweep->local, &server))
		return false;
	for (const struct entry *e = first_for_port(sweep->fresh, key);
	     e && e < end && e->family == key->family && e->proto == key->proto &&
	     e->host_port == key->host_port;
	     e++)
		if (!e->source || in_network(&client, e->source))
			return true;
	return false;
}

/* Does a translated flow carry a binding that the new table no longer makes? */
static bool matches_stale(const struct sweep *sweep, const struct nf_conntrack *ct,
			  const struct entry *key)
{
	const struct entry *end = sweep->stale->items + sweep->stale->count;

	for (const struct entry *e = first_for_port(sweep->stale, key);
	     e && e < end && e->family == key->family && e->proto == key->proto &&
	     e->host_port == key->host_port;
	     e++)
		if (matches(ct, e))
			return true;
	return false;
}

/*
 * Collect the flows to delete: translated ones whose mapping changed or went away, and
 * untranslated UDP flows to this host on a newly forwarded port (a UDP "connection" never
 * ends while datagrams keep coming, so it would never reach the new guest). Untranslated
 * TCP connections to a host service are left to finish.
 */
static int collect(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct sweep *sweep = data;
	uint8_t l4 = nfct_get_attr_u8(ct, ATTR_L4PROTO);
	struct entry key = { 0 };
	bool translated, doomed;

	(void)type;
	if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP)
		return NFCT_CB_CONTINUE;
	translated = nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT;
	key.family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	key.proto = l4 == IPPROTO_TCP ? PROTO_TCP : PROTO_UDP;
	key.host_port = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	doomed = translated ? matches_stale(sweep, ct, &key)
			    : key.proto == PROTO_UDP && matches_fresh(sweep, ct, &key);
	if (doomed && !keep_clone(sweep, ct)) {
		sweep->out_of_memory = true;
		return NFCT_CB_STOP;
	}
	return NFCT_CB_CONTINUE;
}

/* This host's addresses, to tell flows to the host from flows through it. */
static bool read_local_addresses(struct sweep *sweep)
{
	struct ifaddrs *list, *ifa;
	size_t n = 0;

	if (getifaddrs(&list) < 0)
		return false;
	for (ifa = list; ifa; ifa = ifa->ifa_next)
		n++;
	sweep->local.items = calloc(n + 1, sizeof(*sweep->local.items));
	for (ifa = list; sweep->local.items && ifa; ifa = ifa->ifa_next) {
		struct addr *a = &sweep->local.items[sweep->local.count];

		if (!ifa->ifa_addr)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			a->family = AF_INET;
			a->v4 = ((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr;
			sweep->local.count++;
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			a->family = AF_INET6;
			a->v6 = ((struct sockaddr_in6 *)(void *)ifa->ifa_addr)->sin6_addr;
			sweep->local.count++;
		}
	}
	freeifaddrs(list);
	return sweep->local.items != NULL;
}

bool conntrack_any_tracked(void)
{
	char count[32] = "";
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_count", "re");

	if (!f)
		return errno != ENOENT; /* not loaded: nothing tracked; unreadable: look */
	if (!fgets(count, sizeof(count), f))
		count[0] = '\0';
	fclose(f);
	return strcmp(count, "0\n") != 0;
}

/*
 * Delete the conntrack entries that were DNAT'd by one of `stale`: same family, protocol
 * and original destination port, the client inside the entry's source network (if any),
 * and translated to the entry's old guest address and port. Also delete untranslated UDP
 * flows to this host that one of `fresh` now forwards. Both lists sorted by key, as
 * entries_stale gives them. *removed counts the deleted entries.
 */
static enum exit_code conntrack_forget(const struct entry_list *stale,
				       const struct entry_list *fresh, size_t *removed,
				       struct error *err)
{
	struct sweep sweep = { .stale = stale, .fresh = fresh };
	struct nfct_handle *h;
	enum exit_code rc = EXIT_OK;

	*removed = 0;
	if ((stale->count == 0 && fresh->count == 0) || !conntrack_any_tracked())
		return EXIT_OK;
	if (!read_local_addresses(&sweep)) {
		error_set(err, "cannot list this host's addresses: %s", strerror(errno));
		return EXIT_SYSTEM;
	}
	h = nfct_open(CONNTRACK, 0);
	if (!h) {
		error_set(err, "cannot open the conntrack table to remove stale NAT bindings: %s",
			  strerror(errno));
		free(sweep.local.items);
		return EXIT_SYSTEM;
	}
	nfct_callback_register(h, NFCT_T_ALL, collect, &sweep);
	for (size_t i = 0; i < 2 && rc == EXIT_OK; i++) {
		uint32_t family = i == 0 ? AF_INET : AF_INET6;

		if (nfct_query(h, NFCT_Q_DUMP, &family) < 0 && !sweep.out_of_memory) {
			error_set(err, "cannot list conntrack entries: %s", strerror(errno));
			rc = EXIT_SYSTEM;
		}
	}
	nfct_callback_unregister(h);
	if (sweep.out_of_memory && rc == EXIT_OK) {
		error_set(err, "out of memory while listing conntrack entries");
		rc = EXIT_SYSTEM;
	}
	for (size_t i = 0; i < sweep.count; i++) {
		/* An entry that expired meanwhile is already gone: that is fine. */
		if (rc == EXIT_OK && (nfct_query(h, NFCT_Q_DESTROY, sweep.doomed[i]) == 0 ||
				      errno == ENOENT))
			(*removed)++;
		nfct_destroy(sweep.doomed[i]);
	}
	free(sweep.doomed);
	free(sweep.local.items);
	nfct_close(h);
	return rc;
}

size_t conntrack_forget_stale(const struct entry_list *before, const struct entry_list *after)
{
	struct entry_list stale = { 0 }, fresh = { 0 };
	struct error err;
	size_t removed = 0;

	bool ok = entries_stale(before, after, &stale) && entries_stale(after, before, &fresh);
	size_t udp = 0;

	/* Only UDP flows to the host are followed onto new forwards (see collect). */
	for (size_t i = 0; ok && i < fresh.count; i++)
		if (fresh.items[i].proto == PROTO_UDP)
			fresh.items[udp++] = fresh.items[i];
	fresh.count = udp;
	if (!ok)
		fprintf(stderr, "nft-portfwd: warning: out of memory; stale conntrack entries were "
				"not removed\n");
	else if (conntrack_forget(&stale, &fresh, &removed, &err) != EXIT_OK)
		fprintf(stderr, "nft-portfwd: warning: %s; connections of changed or removed "
				"forwards keep their old mapping until they time out\n", err.msg);
	entries_free(&stale);
	entries_free(&fresh);
	return removed;
}
