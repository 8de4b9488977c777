/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A model's forwards as the kernel sees them: one entry per protocol, host port and
 * allowed client network. The renderer writes these as map elements; status and apply
 * compare them with the live table.
 */
#ifndef NFT_PORTFWD_ENTRIES_H
#define NFT_PORTFWD_ENTRIES_H

#include <stdbool.h>
#include <arpa/inet.h>
#include <stddef.h>

#include "config/model.h"

struct entry {
	int family;             /* AF_INET or AF_INET6 */
	enum proto proto;       /* PROTO_TCP or PROTO_UDP */
	uint16_t host_port;
	const struct prefix *source; /* NULL: any client */
	struct addr guest;
	uint16_t guest_port;
	bool keep_source;
	const char *name;       /* the forward's name, the comment of its elements; NULL: none */
	size_t forward;         /* index of the config forward it comes from */
};

struct entry_list {
	struct entry *items;
	size_t count;
};

/* Expand every forward; false when out of memory. Order: the forwards' order. */
bool entries_from_model(const struct model *m, struct entry_list *out);
void entries_free(struct entry_list *list);

/* Do two entries carry the same name (element comment), or both none? */
bool entry_same_name(const struct entry *a, const struct entry *b);

/* "tcp" or "udp" */
const char *proto_name(enum proto proto);

/* A forward's protocols as the config writes them: "tcp", "udp" or "tcp,udp". */
const char *protos_name(unsigned protos);

/* Orders by family, protocol, host port, then source: the map key. */
int entry_cmp_key(const struct entry *a, const struct entry *b);

/* Orders by family, guest address, protocol, guest port: the guest endpoint. */
int entry_cmp_guest(const struct entry *a, const struct entry *b);
/* The same order for an endpoint given by its parts (a counter of set guestN, say). */
int guest_endpoint_cmp(const struct addr *a, enum proto a_proto, uint16_t a_port,
		 const struct addr *b, enum proto b_proto, uint16_t b_port);

/* entry_cmp_key for qsort and bsearch. */
int entry_qsort_key(const void *a, const void *b);

enum entry_order { BY_KEY, BY_GUEST };

/* Sort by entry_cmp_key or entry_cmp_guest; fast (most comparisons are of one number). */
void entries_sort(struct entry *items, size_t n, enum entry_order order);

int addr_cmp(const struct addr *a, const struct addr *b);

/* Is `a` one of the list's addresses? */
bool addr_list_has(const struct addr_list *list, const struct addr *a);

/* Does the list hold an address of `family` (AF_INET, AF_INET6)? */
bool addr_list_has_family(const struct addr_list *list, int family);

/*
 * The addresses of `lists`, sorted (addr_cmp), each once: a malloc'd array of *count; NULL
 * when out of memory. For comparing lists as sets in n log n.
 */
struct addr *addr_lists_sorted(const struct addr_list *const *lists, size_t nlists, size_t *count);

/* The first address that two neighbours of a sorted copy of `list` share, or NULL. The
 * caller's `scratch` (list->count entries) holds the copy. */
const struct addr *addr_list_twice(const struct addr_list *list, struct addr *scratch);

/* The address as text (inet_ntop) in `buf`, which it returns. */
const char *addr_text(const struct addr *a, char buf[INET6_ADDRSTRLEN]);

/*
 * Entries of `before` that `after` no longer maps the same way: the key is gone, or it
 * leads to another guest address or port. Their conntrack entries hold stale NAT bindings.
 * `stale` holds copies (sources still point into `before`), sorted by key.
 */
bool entries_stale(const struct entry_list *before, const struct entry_list *after,
		   struct entry_list *stale);

#endif
