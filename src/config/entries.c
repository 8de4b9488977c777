/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "config/entries.h"

const char *proto_name(enum proto proto)
{
	return proto == PROTO_UDP ? "udp" : "tcp";
}

const char *protos_name(unsigned protos)
{
	return protos == (PROTO_TCP | PROTO_UDP) ? "tcp,udp" : proto_name((enum proto)protos);
}

int addr_cmp(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(&a->v6, &b->v6, a->family == AF_INET ? sizeof(a->v4) : sizeof(a->v6));
}

bool addr_list_has(const struct addr_list *list, const struct addr *a)
{
	for (size_t i = 0; i < list->count; i++)
		if (addr_cmp(&list->items[i], a) == 0)
			return true;
	return false;
}

bool addr_list_has_family(const struct addr_list *list, int family)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].family == family)
			return true;
	return false;
}

static int addr_qsort(const void *a, const void *b)
{
	return addr_cmp(a, b);
}

struct addr *addr_lists_sorted(const struct addr_list *const *lists, size_t nlists, size_t *count)
{
	size_t total = 0, n = 0;
	struct addr *all;

	for (size_t l = 0; l < nlists; l++)
		total += lists[l]->count;
	if (!(all = malloc((total + 1) * sizeof(*all))))
		return NULL;
	for (size_t l = 0; l < nlists; l++)
		for (size_t i = 0; i < lists[l]->count; i++)
			all[n++] = lists[l]->items[i];
	qsort(all, n, sizeof(*all), addr_qsort);
	*count = 0;
	for (size_t i = 0; i < n; i++)
		if (!*count || addr_cmp(&all[*count - 1], &all[i]))
			all[(*count)++] = all[i];
	return all;
}

const struct addr *addr_list_twice(const struct addr_list *list, struct addr *scratch)
{
	memcpy(scratch, list->items, list->count * sizeof(*scratch));
	qsort(scratch, list->count, sizeof(*scratch), addr_qsort);
	for (size_t i = 1; i < list->count; i++)
		if (!addr_cmp(&scratch[i - 1], &scratch[i]))
			return &scratch[i];
	return NULL;
}

static int prefix_cmp(const struct prefix *a, const struct prefix *b)
{
	int c;

	if (!a || !b) /* no allowlist sorts first */
		return (a != NULL) - (b != NULL);
	c = addr_cmp(&a->addr, &b->addr);
	return c ? c : (int)a->len - (int)b->len;
}

const char *addr_text(const struct addr *a, char buf[INET6_ADDRSTRLEN])
{
	const uint8_t *byte = (const uint8_t *)&a->v4;
	char *p = buf;

	if (a->family != AF_INET)
		return inet_ntop(a->family, &a->v6, buf, INET6_ADDRSTRLEN);
	/* inet_ntop formats IPv4 through sprintf, the renderer's hot spot at 10,000 forwards */
	for (int i = 0; i < 4; i++) {
		if (byte[i] >= 100)
			*p++ = (char)('0' + byte[i] / 100);
		if (byte[i] >= 10)
			*p++ = (char)('0' + byte[i] / 10 % 10);
		*p++ = (char)('0' + byte[i] % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return buf;
}

int entry_cmp_key(const struct entry *a, const struct entry *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	if (a->proto != b->proto)
		return (int)a->proto - (int)b->proto;
	if (a->host_port != b->host_port)
		return (int)a->host_port - (int)b->host_port;
	return prefix_cmp(a->source, b->source);
}

static int entry_qsort_guest(const void *a, const void *b)
{
	return entry_cmp_guest(a, b);
}

int guest_endpoint_cmp(const struct addr *a, enum proto a_proto, uint16_t a_port,
		 const struct addr *b, enum proto b_proto, uint16_t b_port)
{
	int c = addr_cmp(a, b);

	if (c)
		return c;
	if (a_proto != b_proto)
		return (int)a_proto - (int)b_proto;
	return (int)a_port - (int)b_port;
}

int entry_cmp_guest(const struct entry *a, const struct entry *b)
{
	return guest_endpoint_cmp(&a->guest, a->proto, a->guest_port, &b->guest, b->proto,
				  b->guest_port);
}

bool entries_from_model(const struct model *m, struct entry_list *out)
{
	size_t total = 0, n = 0;

	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];
		size_t ports = (size_t)(f->host_port_last - f->host_port) + 1;
		size_t protos = (size_t)!!(f->protos & PROTO_TCP) + !!(f->protos & PROTO_UDP);
		size_t sources = 0;

		for (size_t s = 0; s < f->sources.count; s++)
			sources += f->sources.items[s].addr.family == f->guest.family;
		total += ports * protos * (f->sources.count ? sources : 1);
	}
	out->items = calloc(total ? total : 1, sizeof(*out->items));
	out->count = 0;
	if (!out->items)
		return false;

	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];

		/* a `to vm` forward before it is resolved has no address to map to */
		for (unsigned proto = PROTO_TCP; f->source != GUEST_UNRESOLVED && proto <= PROTO_UDP;
		     proto <<= 1) {
			if (!(f->protos & proto))
				continue;
			for (unsigned port = f->host_port; port <= f->host_port_last; port++) {
				size_t s = 0;

				/* Without an allowlist, one entry with no source; else one per network
				 * of the guest's family. */
				do {
					const struct prefix *src = f->sources.count ? &f->sources.items[s] : NULL;

					if (src && src->addr.family != f->guest.family)
						continue;
					out->items[n++] = (struct entry){
						.family = f->guest.family,
						.proto = (enum proto)proto,
						.host_port = (uint16_t)port,
						.source = src,
						.guest = f->guest,
						.guest_port = (uint16_t)(f->guest_port + (port - f->host_port)),
						.keep_source = forward_keeps_source(m, f),
						.name = f->name[0] ? f->name : NULL,
						.forward = i,
					};
				} while (++s < f->sources.count);
			}
		}
	}
	out->count = n;
	return true;
}

void entries_free(struct entry_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

int entry_qsort_key(const void *a, const void *b)
{
	return entry_cmp_key(a, b);
}

/*
 * A number that orders like the comparison as far as it goes: family, protocol, port and
 * whether there is an allowlist (by key); family, IPv4 address, protocol, port (by guest,
 * IPv6 guests all tie). Equal numbers fall back to the full comparison.
 */
static uint64_t order_number(const struct entry *e, enum entry_order order)
{
	uint64_t v6 = e->family == AF_INET6;

	if (order == BY_KEY)
		return v6 << 40 | (uint64_t)e->proto << 32 | (uint64_t)e->host_port << 16 |
		       (e->source != NULL);
	if (v6)
		return 1ull << 63;
	return (uint64_t)ntohl(e->guest.v4.s_addr) << 24 | (uint64_t)e->proto << 16 | e->guest_port;
}

struct ordered {
	uint64_t number;
	const struct entry *entry;
};

static int cmp_ordered_key(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	return entry_cmp_key(x->entry, y->entry);
}

static int cmp_ordered_guest(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	return entry_cmp_guest(x->entry, y->entry);
}

/* Stable LSD radix sort by number, a byte at a time, skipping bytes all numbers share. */
static struct ordered *radix_sort(struct ordered *o, struct ordered *spare, size_t n)
{
	for (unsigned shift = 0; shift < 64 && n; shift += 8) {
		size_t count[256] = { 0 }, at = 0;
		struct ordered *swap;

		for (size_t i = 0; i < n; i++)
			count[o[i].number >> shift & 0xff]++;
		if (count[o[0].number >> shift & 0xff] == n)
			continue;
		for (size_t d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			spare[count[o[i].number >> shift & 0xff]++] = o[i];
		swap = o;
		o = spare;
		spare = swap;
	}
	return o;
}

void entries_sort(struct entry *items, size_t n, enum entry_order order)
{
	int (*full)(const void *, const void *) = order == BY_KEY ? cmp_ordered_key : cmp_ordered_guest;
	struct ordered *o, *spare;
	struct entry *copy;

	/* status sorts each forward's own entries: mostly one, which is sorted already */
	if (n < 2)
		return;
	o = malloc(n * sizeof(*o));
	spare = malloc(n * sizeof(*spare));
	copy = malloc(n * sizeof(*copy));
	if (!o || !spare || !copy) { /* slower, but the same order */
		qsort(items, n, sizeof(*items), order == BY_KEY ? entry_qsort_key : entry_qsort_guest);
	} else {
		struct ordered *sorted;

		for (size_t i = 0; i < n; i++)
			o[i] = (struct ordered){ order_number(&items[i], order), &items[i] };
		sorted = radix_sort(o, spare, n);
		/* equal numbers (IPv6 guests, allowlists of one port): the full comparison */
		for (size_t start = 0, end; start < n; start = end) {
			for (end = start + 1; end < n && sorted[end].number == sorted[start].number; end++)
				;
			if (end - start > 1)
				qsort(sorted + start, end - start, sizeof(*sorted), full);
		}
		for (size_t i = 0; i < n; i++)
			copy[i] = *sorted[i].entry;
		memcpy(items, copy, n * sizeof(*items));
	}
	free(o);
	free(spare);
	free(copy);
}

bool entries_stale(const struct entry_list *before, const struct entry_list *after,
		   struct entry_list *stale)
{
	struct entry *sorted = malloc((after->count + 1) * sizeof(*sorted));

	stale->items = calloc(before->count + 1, sizeof(*stale->items));
	stale->count = 0;
	if (!sorted || !stale->items) {
		free(sorted);
		entries_free(stale);
		return false;
	}
	if (after->count)
		memcpy(sorted, after->items, after->count * sizeof(*sorted));
	entries_sort(sorted, after->count, BY_KEY);
	for (size_t i = 0; i < before->count; i++) {
		const struct entry *old = &before->items[i];
		const struct entry *now = bsearch(old, sorted, after->count, sizeof(*sorted),
							  entry_qsort_key);

		if (!now || addr_cmp(&now->guest, &old->guest) != 0 || now->guest_port != old->guest_port)
			stale->items[stale->count++] = *old;
	}
	free(sorted);
	entries_sort(stale->items, stale->count, BY_KEY);
	return true;
}

bool entry_same_name(const struct entry *a, const struct entry *b)
{
	return a->name == b->name || (a->name && b->name && strcmp(a->name, b->name) == 0);
}
