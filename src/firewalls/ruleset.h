/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other tables' rules, compiled for the analysis (foreign.c): libnftables' JSON listing
 * (`list ruleset` with handles) in, tables, chains and rules out, each match reduced to
 * the few keys a forward's packets are judged by. Our own table is skipped; our rules in
 * other chains (accept.h) are listed apart and left out of the chains, so the analysis
 * gives the same answer before and after they are in place. Pure: no kernel access.
 */
#ifndef NFT_PORTFWD_RULESET_H
#define NFT_PORTFWD_RULESET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/common.h"
#include "firewalls/foreign_parts.h"
#include "config/model.h"

/* Whether a match holds for a packet: NO, YES, or MAYBE when it depends on what the
 * analysis cannot know (the client's address, an iptables xt match, a mark). */
enum tri { NO, MAYBE, YES };

static inline enum tri tri_and(enum tri a, enum tri b)
{
	return a < b ? a : b;
}

static inline enum tri tri_or(enum tri a, enum tri b)
{
	return a > b ? a : b;
}

static inline enum tri tri_not(enum tri a)
{
	return (enum tri)(YES - a);
}

/* An interface name as a rule mentions it; for a wildcard ("virbr*") its prefix. */
struct name {
	const char *s;
	size_t len;
	bool wildcard; /* s is a prefix: any interface whose name starts with it */
};

enum key_kind {
	KEY_UNKNOWN, /* anything not modelled: MAYBE */
	KEY_NEVER,   /* a header our TCP and UDP packets never have (icmp type, sctp port) */
	KEY_IIF,
	KEY_OIF,
	KEY_SADDR,
	KEY_DADDR,
	KEY_L4PROTO,
	KEY_SPORT,
	KEY_DPORT,
	KEY_NFPROTO,
	KEY_CT_STATE,
	KEY_CT_STATUS,
	KEY_CT_DIR,
};

/*
 * A rule that matches an interface together with a network on its side of it (libvirt's
 * `-d 192.0.2.0/24 -o virbr0`) says the network lies behind that interface: a guest in it
 * is reached through it. As in routing, the longest prefix holding the guest wins.
 */
struct link {
	size_t name; /* index into the table's names */
	struct addr lo, hi;
	unsigned len; /* the network's prefix length, 1 or more */
};

/* The left side of a match, with the dependency nft adds implicitly (ip saddr: IPv4). */
struct key {
	enum key_kind kind;
	int family;      /* AF_INET / AF_INET6 when the expression needs it, else 0 */
	unsigned protos; /* PROTO_* when it needs one (tcp dport), else 0 */
};

enum pat_kind { PAT_UNKNOWN, PAT_ADDR, PAT_NUM, PAT_NAME, PAT_FLAGS };

/* One value on the right side of a match, or one component of a concatenation. */
struct pat {
	enum pat_kind kind;
	struct addr lo, hi; /* PAT_ADDR: a range; a prefix or an address is one too */
	unsigned len;       /* PAT_ADDR: the prefix length (full for an address); 0 for a range */
	uint32_t nlo, nhi;  /* PAT_NUM: a range; PAT_FLAGS: the bits in nlo */
	size_t name;        /* PAT_NAME: index into the table's names */
};

#define MAX_CONCAT 8

struct match {
	struct key keys[MAX_CONCAT]; /* more than one: a concatenation */
	size_t nkeys;
	bool negate;      /* != : none of the elements */
	bool unknown;     /* not understood (an xt match, a limit): MAYBE */
	bool iface;       /* a key is an interface: evaluated after the others */
	struct pat *pats; /* nelems rows of nkeys: the packet matches if it matches one row */
	size_t nelems;
};

enum verdict { V_NONE, V_ACCEPT, V_DROP, V_REJECT, V_JUMP, V_GOTO, V_RETURN };

struct rule {
	struct match *conds; /* all must match */
	size_t nconds;
	enum verdict verdict;
	size_t target;  /* V_JUMP, V_GOTO: index of the chain */
	long handle;
	size_t listed;  /* position among the chain's listed rules, ours included */
	bool first;     /* the first (or only) rule compiled from its listed rule */
	const json_t *expr; /* the listing's expressions, for the reason */
};

struct chain {
	const char *name;
	size_t table;
	bool forward_base; /* a base chain on the forward hook that the analysis walks */
	bool policy_drop;
	bool dnat_accept;  /* has a plain 'ct status dnat accept', as firewalld's forward chain */
	long prio;         /* a base chain's priority */
	struct rule *rules; /* without ours: the answer must not depend on them */
	size_t nrules, cap;
	size_t listed; /* rules listed, ours included */
};

struct table {
	const char *family, *name;
	bool is_our_table; /* table inet portfwd: not looked at */
	bool has_xt;      /* has xt expressions: iptables-nft wrote it */
	const json_t **sets; /* set and map objects, for "@name" */
	size_t nsets, sets_cap;
	struct name *names; /* interface names its rules and sets mention */
	size_t nnames, names_cap;
	size_t *names_index; /* index + 1 of each name, by hash (ruleset.c) */
	size_t names_index_cap;
	struct link *links; /* interfaces its rules pair with a network */
	size_t nlinks, links_cap;
};

struct chunk;

struct ruleset {
	struct chunk *arena; /* the compiled matches: many small pieces with one lifetime */
	struct table *tables;
	size_t ntables, tables_cap;
	struct chain *chains;
	size_t nchains, chains_cap;
	size_t *index; /* tables and chains by name (ruleset.c) */
	size_t index_cap;
	struct foreign_rule *ours;
	size_t nours, ours_cap;
};

/* ct state and ct status bits, as the kernel numbers them */
#define CT_ESTABLISHED (1u << 1)
#define CT_NEW (1u << 3)
#define ST_SEEN_REPLY (1u << 1)
#define ST_ASSURED (1u << 2)
#define ST_CONFIRMED (1u << 3)
#define ST_SNAT (1u << 4)
#define ST_DNAT (1u << 5)

/* Compile the listing's "nftables" array. false with err set when out of memory. */
bool ruleset_load(struct ruleset *rs, const json_t *items, struct error *err);
void ruleset_free(struct ruleset *rs);

/* The index of interface name `s` (not a wildcard) among the table's names, or SIZE_MAX. */
size_t ruleset_find_name(const struct table *t, const char *s, size_t len);

/* The chain named `name` in table `table`, or SIZE_MAX. */
size_t ruleset_find_chain(const struct ruleset *rs, size_t table, const char *name);

/* "ip", "ip6" or "inet" (af 0); false for any other family. */
bool family_af(const char *family, int *af);

/* The string member `key` of an object, or NULL. */
const char *jstr(const json_t *obj, const char *key);

/* Statements and listing items are objects with one key: {"match": {...}}. */
const char *json_kind(const json_t *obj, const json_t **value);

/* Set elements with a counter or comment come wrapped: {"elem": {"val": X, ...}}. */
const json_t *json_unwrap(const json_t *v);

/* What the left side of a match is, as the analysis models it. */
struct key ruleset_key_of(const json_t *left);

/* `items` with room for one more, or NULL when out of memory (`items` is still valid). */
void *room_for_one(void *items, size_t count, size_t *cap, size_t size);

#endif
