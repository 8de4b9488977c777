/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "foreign.h"
#include "render.h"
#include "validate.h"

/* ---------------------------------------------------------------- three-valued logic */

/*
 * Whether an expression matches our packet: YES, NO, or MAYBE when that depends on what
 * the analysis does not know (the client's address, an iptables xt match, a mark).
 */
enum tri { NO, MAYBE, YES };

static enum tri tri_and(enum tri a, enum tri b)
{
	return a < b ? a : b;
}

static enum tri tri_or(enum tri a, enum tri b)
{
	return a > b ? a : b;
}

static enum tri tri_not(enum tri a)
{
	return (enum tri)(YES - a);
}

/* ---------------------------------------------------------------- memory */

/* The compiled rules are many small pieces with one lifetime: one arena, freed at once. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	void *p;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!a->head || a->head->size - a->head->used < n) {
		size_t size = n > 65536 ? n : 65536;
		struct chunk *c = malloc(sizeof(*c) + size);

		if (!c)
			return NULL;
		*c = (struct chunk){ .next = a->head, .size = size };
		a->head = c;
	}
	p = (char *)a->head->data + a->head->used;
	a->head->used += n;
	return memset(p, 0, n);
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* `items` with room for one more, or NULL when out of memory (`items` is still valid). */
static void *room_for_one(void *items, size_t count, size_t *cap, size_t size)
{
	void *grown;

	if (count < *cap)
		return items;
	grown = realloc(items, (*cap ? *cap * 2 : 16) * size);
	if (grown)
		*cap = *cap ? *cap * 2 : 16;
	return grown;
}

/* ---------------------------------------------------------------- the compiled ruleset */

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
 * `-d 192.0.2.0/24 -o virbr0`, `-s 192.0.2.0/24 -i virbr0`) says the network lies behind
 * that interface: a guest in it is reached through it. As in routing, the longest prefix
 * holding the guest wins.
 */
struct link {
	struct name name;
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
	struct name name;   /* PAT_NAME */
};

#define MAX_CONCAT 8

struct match {
	struct key keys[MAX_CONCAT]; /* more than one: a concatenation */
	size_t nkeys;
	bool negate;      /* != : none of the elements */
	bool unknown;     /* not understood (an xt match, a limit): MAYBE */
	struct pat *pats; /* nelems rows of nkeys: the packet matches if it matches one row */
	size_t nelems;
};

enum verdict { V_NONE, V_ACCEPT, V_DROP, V_REJECT, V_JUMP, V_GOTO, V_RETURN };

struct rule {
	struct match *conds; /* all must match */
	size_t nconds;
	enum verdict verdict;
	size_t target; /* V_JUMP, V_GOTO: index of the chain */
	long handle;
	const json_t *expr; /* the listing's expressions, for the reason */
};

struct chain {
	const char *name;
	size_t table;
	bool forward_base; /* a base chain on the forward hook that the analysis walks */
	bool policy_drop;
	bool dnat_accept;  /* has a plain 'ct status dnat accept', as firewalld's forward chain */
	struct rule *rules; /* without ours: the answer must not depend on them */
	size_t nrules, cap;
	size_t listed; /* rules listed so far, ours included: the next one's position */
};

struct table {
	const char *family, *name;
	bool ours;        /* table inet portfwd: not looked at */
	bool has_xt;      /* has xt expressions: iptables-nft wrote it */
	const json_t **sets; /* set and map objects, for "@name" */
	size_t nsets, sets_cap;
	struct name *names; /* interface names its rules and sets mention */
	size_t nnames, names_cap;
	struct link *links; /* interfaces its rules pair with a network */
	size_t nlinks, links_cap;
};

struct ruleset {
	struct arena arena;
	struct table *tables;
	size_t ntables, tables_cap;
	struct chain *chains;
	size_t nchains, chains_cap;
	struct foreign_rule *ours;
	size_t nours, ours_cap;
};

static void ruleset_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->ntables; i++) {
		free(rs->tables[i].sets);
		free(rs->tables[i].names);
		free(rs->tables[i].links);
	}
	for (size_t i = 0; i < rs->nchains; i++)
		free(rs->chains[i].rules);
	free(rs->tables);
	free(rs->chains);
	free(rs->ours);
	arena_free(&rs->arena);
}

static size_t find_table(const struct ruleset *rs, const char *family, const char *name)
{
	for (size_t i = 0; i < rs->ntables; i++)
		if (!strcmp(rs->tables[i].family, family) && !strcmp(rs->tables[i].name, name))
			return i;
	return SIZE_MAX;
}

static size_t find_chain(const struct ruleset *rs, size_t table, const char *name)
{
	for (size_t i = 0; i < rs->nchains; i++)
		if (rs->chains[i].table == table && !strcmp(rs->chains[i].name, name))
			return i;
	return SIZE_MAX;
}

/* ---------------------------------------------------------------- reading the JSON */

static const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Statements and listing items are objects with one key: {"match": {...}}. */
static const char *kind_of(const json_t *obj, const json_t **value)
{
	void *it = json_is_object(obj) ? json_object_iter((json_t *)obj) : NULL;

	*value = it ? json_object_iter_value(it) : NULL;
	return it ? json_object_iter_key(it) : "";
}

/* Set elements with a counter or comment come wrapped: {"elem": {"val": X, ...}}. */
static const json_t *unwrap(const json_t *v)
{
	const json_t *elem = json_object_get(v, "elem");

	return elem ? json_object_get(elem, "val") : v;
}

static bool is_family(const char *family, int *af)
{
	*af = !strcmp(family, "ip") ? AF_INET : !strcmp(family, "ip6") ? AF_INET6 : 0;
	return *af || !strcmp(family, "inet");
}

/*
 * Remember an interface name for the walk, which tries each named interface (and one no
 * rule names) as the packet's input and output. A wildcard stands for some interface
 * with that prefix.
 */
static bool add_name(struct table *t, struct name n)
{
	struct name *names;

	for (size_t i = 0; i < t->nnames; i++)
		if (t->names[i].len == n.len && t->names[i].wildcard == n.wildcard &&
		    !memcmp(t->names[i].s, n.s, n.len))
			return true;
	names = room_for_one(t->names, t->nnames, &t->names_cap, sizeof(*names));
	if (!names)
		return false;
	t->names = names;
	t->names[t->nnames++] = n;
	return true;
}

static struct key key_of(const json_t *left)
{
	const char *what;
	const json_t *v;

	what = kind_of(left, &v);
	if (!strcmp(what, "payload")) {
		const char *proto = jstr(v, "protocol"), *field = jstr(v, "field");
		static const char *const never[] = {
			"icmp", "icmpv6", "igmp", "sctp", "dccp", "udplite", "esp", "ah", "comp", "arp",
		};

		if (!proto || !field)
			return (struct key){ KEY_UNKNOWN, 0, 0 };
		if (!strcmp(proto, "ip") || !strcmp(proto, "ip6")) {
			int af = proto[2] ? AF_INET6 : AF_INET;

			if (!strcmp(field, "saddr"))
				return (struct key){ KEY_SADDR, af, 0 };
			if (!strcmp(field, "daddr"))
				return (struct key){ KEY_DADDR, af, 0 };
			if (!strcmp(field, af == AF_INET ? "protocol" : "nexthdr"))
				return (struct key){ KEY_L4PROTO, af, 0 };
			return (struct key){ KEY_UNKNOWN, af, 0 };
		}
		if (!strcmp(proto, "tcp") || !strcmp(proto, "udp") || !strcmp(proto, "th")) {
			unsigned protos = proto[0] == 't' && proto[1] == 'h' ? PROTO_TCP | PROTO_UDP :
					  proto[0] == 't' ? PROTO_TCP : PROTO_UDP;

			if (!strcmp(field, "sport"))
				return (struct key){ KEY_SPORT, 0, protos };
			if (!strcmp(field, "dport"))
				return (struct key){ KEY_DPORT, 0, protos };
			return (struct key){ KEY_UNKNOWN, 0, protos };
		}
		for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
			if (!strcmp(proto, never[i]))
				return (struct key){ KEY_NEVER, 0, 0 };
	} else if (!strcmp(what, "meta")) {
		const char *key = jstr(v, "key");
		static const struct {
			const char *name;
			enum key_kind kind;
		} metas[] = {
			{ "iifname", KEY_IIF }, { "iif", KEY_IIF },
			{ "oifname", KEY_OIF }, { "oif", KEY_OIF },
			{ "l4proto", KEY_L4PROTO },
			{ "nfproto", KEY_NFPROTO }, { "protocol", KEY_NFPROTO },
		};

		for (size_t i = 0; key && i < sizeof(metas) / sizeof(metas[0]); i++)
			if (!strcmp(key, metas[i].name))
				return (struct key){ metas[i].kind, 0, 0 };
	} else if (!strcmp(what, "ct") && !json_object_get(v, "dir")) {
		const char *key = jstr(v, "key");

		if (key && !strcmp(key, "state"))
			return (struct key){ KEY_CT_STATE, 0, 0 };
		if (key && !strcmp(key, "status"))
			return (struct key){ KEY_CT_STATUS, 0, 0 };
		if (key && !strcmp(key, "direction"))
			return (struct key){ KEY_CT_DIR, 0, 0 };
	}
	return (struct key){ KEY_UNKNOWN, 0, 0 };
}

struct flag {
	const char *name;
	unsigned bit;
};

static const struct flag ct_states[] = {
	{ "invalid", 1 << 0 }, { "established", 1 << 1 }, { "related", 1 << 2 },
	{ "new", 1 << 3 }, { "untracked", 1 << 6 },
};
#define CT_ESTABLISHED (1u << 1)
#define CT_NEW (1u << 3)

static const struct flag ct_statuses[] = {
	{ "expected", 1 << 0 }, { "seen-reply", 1 << 1 }, { "assured", 1 << 2 },
	{ "confirmed", 1 << 3 }, { "snat", 1 << 4 }, { "dnat", 1 << 5 }, { "dying", 1 << 9 },
};
#define ST_SEEN_REPLY (1u << 1)
#define ST_ASSURED (1u << 2)
#define ST_CONFIRMED (1u << 3)
#define ST_SNAT (1u << 4)
#define ST_DNAT (1u << 5)

/* "established" or ["established", "related"]: the bits; false for a name not known. */
static bool flags_of(const struct flag *flags, size_t n, const json_t *v, uint32_t *bits)
{
	size_t count = json_is_array(v) ? json_array_size(v) : 1;

	*bits = 0;
	for (size_t i = 0; i < count; i++) {
		const char *s = json_string_value(json_is_array(v) ? json_array_get(v, i) : v);
		size_t f = 0;

		while (s && f < n && strcmp(s, flags[f].name))
			f++;
		if (!s || f == n)
			return false;
		*bits |= flags[f].bit;
	}
	return true;
}

/* A port, protocol, family or direction: a number, or the name nft prints for it. */
static bool number_of(enum key_kind kind, const json_t *v, uint32_t *n)
{
	static const struct {
		enum key_kind kind;
		const char *name;
		uint32_t number;
	} names[] = {
		{ KEY_L4PROTO, "icmp", 1 }, { KEY_L4PROTO, "igmp", 2 }, { KEY_L4PROTO, "tcp", 6 },
		{ KEY_L4PROTO, "udp", 17 }, { KEY_L4PROTO, "dccp", 33 }, { KEY_L4PROTO, "gre", 47 },
		{ KEY_L4PROTO, "esp", 50 }, { KEY_L4PROTO, "ah", 51 }, { KEY_L4PROTO, "icmpv6", 58 },
		{ KEY_L4PROTO, "ipv6-icmp", 58 }, { KEY_L4PROTO, "sctp", 132 },
		{ KEY_L4PROTO, "udplite", 136 },
		{ KEY_NFPROTO, "ipv4", AF_INET }, { KEY_NFPROTO, "ip", AF_INET },
		{ KEY_NFPROTO, "ipv6", AF_INET6 }, { KEY_NFPROTO, "ip6", AF_INET6 },
		{ KEY_CT_DIR, "original", 0 }, { KEY_CT_DIR, "reply", 1 },
	};
	const char *s = json_string_value(v);

	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= UINT32_MAX) {
		/* meta nfproto and meta protocol print numbers in their own encodings */
		*n = (uint32_t)json_integer_value(v);
		return kind != KEY_NFPROTO;
	}
	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].kind == kind && !strcmp(s, names[i].name)) {
			*n = names[i].number;
			return true;
		}
	return false;
}

/* The last address of a network: the host bits set. */
static struct addr prefix_last(const struct prefix *p)
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

static void addr_pat(const json_t *v, struct pat *p)
{
	const json_t *prefix = json_object_get(v, "prefix"), *range = json_object_get(v, "range");
	struct addr a, b;

	if (json_is_string(v) && !parse_addr(json_string_value(v), &a)) {
		*p = (struct pat){ .kind = PAT_ADDR, .lo = a, .hi = a,
				   .len = a.family == AF_INET ? 32 : 128 };
	} else if (prefix && jstr(prefix, "addr") && !parse_addr(jstr(prefix, "addr"), &a)) {
		json_int_t len = json_integer_value(json_object_get(prefix, "len"));
		struct prefix net = { .addr = a, .len = (uint8_t)len };

		if (len >= 0 && len <= (a.family == AF_INET ? 32 : 128))
			*p = (struct pat){ .kind = PAT_ADDR, .lo = prefix_network(&net).addr,
					   .hi = prefix_last(&net), .len = (unsigned)len };
	} else if (json_array_size(range) == 2 && json_is_string(json_array_get(range, 0)) &&
		   json_is_string(json_array_get(range, 1)) &&
		   !parse_addr(json_string_value(json_array_get(range, 0)), &a) &&
		   !parse_addr(json_string_value(json_array_get(range, 1)), &b) &&
		   a.family == b.family) {
		*p = (struct pat){ .kind = PAT_ADDR, .lo = a, .hi = b };
	}
}

/* One value for one key; PAT_UNKNOWN when not understood. False when out of memory. */
static bool pat_of(struct table *t, enum key_kind kind, const json_t *v, struct pat *p)
{
	const json_t *range = json_object_get(v, "range");

	*p = (struct pat){ .kind = PAT_UNKNOWN };
	switch (kind) {
	case KEY_SADDR:
	case KEY_DADDR:
		addr_pat(v, p);
		return true;
	case KEY_IIF:
	case KEY_OIF: {
		const char *s = json_string_value(v);
		size_t len = s ? strlen(s) : 0;
		/* iptables' "virbr+" lists as "virbr*"; "\*" would be a literal star */
		bool wildcard = len && s[len - 1] == '*' && (len < 2 || s[len - 2] != '\\');

		if (!s)
			return true;
		*p = (struct pat){ .kind = PAT_NAME, .name = { s, len - wildcard, wildcard } };
		return add_name(t, p->name);
	}
	case KEY_CT_STATE:
	case KEY_CT_STATUS:
		if (kind == KEY_CT_STATE ?
			    flags_of(ct_states, sizeof(ct_states) / sizeof(ct_states[0]), v, &p->nlo) :
			    flags_of(ct_statuses, sizeof(ct_statuses) / sizeof(ct_statuses[0]), v, &p->nlo))
			p->kind = PAT_FLAGS;
		return true;
	case KEY_L4PROTO:
	case KEY_SPORT:
	case KEY_DPORT:
	case KEY_NFPROTO:
	case KEY_CT_DIR:
		if (range ? json_array_size(range) == 2 &&
				    number_of(kind, json_array_get(range, 0), &p->nlo) &&
				    number_of(kind, json_array_get(range, 1), &p->nhi) :
			    number_of(kind, v, &p->nlo)) {
			if (!range)
				p->nhi = p->nlo;
			p->kind = PAT_NUM;
		}
		return true;
	case KEY_UNKNOWN:
	case KEY_NEVER:
		return true;
	}
	return true;
}

/* The elements of "@name", a set or map of the same table; NULL when there is none. */
static const json_t *named_elements(const struct table *t, const char *ref, bool *found)
{
	*found = false;
	for (size_t i = 0; i < t->nsets; i++)
		if (!strcmp(jstr(t->sets[i], "name"), ref + 1)) {
			*found = true;
			return json_object_get(t->sets[i], "elem"); /* absent when empty */
		}
	return NULL;
}

/*
 * Compile `left op elements` (elements: one value, or an array of them). An expression we
 * cannot read becomes an unknown match rather than an error: it could match anything.
 */
static bool compile_match(struct ruleset *rs, struct table *t, const json_t *left, const char *op,
			  const json_t *elements, bool many, struct match *m)
{
	const json_t *concat = json_object_get(left, "concat");
	size_t nelems = many ? json_array_size(elements) : 1;

	*m = (struct match){ .nkeys = concat ? json_array_size(concat) : 1 };
	if (!m->nkeys || m->nkeys > MAX_CONCAT) {
		m->unknown = true;
		return true;
	}
	for (size_t k = 0; k < m->nkeys; k++)
		m->keys[k] = key_of(concat ? json_array_get(concat, k) : left);

	if (!strcmp(op, "!=")) {
		m->negate = true;
	} else if (strcmp(op, "==") && strcmp(op, "in")) {
		/* <, >, <=, >= on one number: a range */
		bool lt = op[0] == '<', eq = op[1] == '=';
		struct pat bound;

		if (!op[0] || !strchr("<>", op[0]) || (op[1] && strcmp(op + 1, "=")) ||
		    m->nkeys != 1 || many || !pat_of(t, m->keys[0].kind, elements, &bound) ||
		    bound.kind != PAT_NUM) {
			m->unknown = true;
			return true;
		}
		m->pats = arena_alloc(&rs->arena, sizeof(*m->pats));
		if (!m->pats)
			return false;
		m->nelems = 1;
		*m->pats = (struct pat){ .kind = PAT_NUM,
					 .nlo = lt ? 0 : bound.nlo + !eq,
					 .nhi = lt ? bound.nlo - !eq : UINT32_MAX };
		if ((lt && !eq && bound.nlo == 0) || (!lt && !eq && bound.nlo == UINT32_MAX))
			m->nelems = 0; /* < 0, > max: nothing */
		return true;
	}
	/* ct status is a bit mask: only "in" (any of these bits) is modelled */
	if (m->nkeys == 1 && m->keys[0].kind == KEY_CT_STATUS && strcmp(op, "in")) {
		m->unknown = true;
		return true;
	}

	m->nelems = nelems;
	m->pats = arena_alloc(&rs->arena, (nelems ? nelems : 1) * m->nkeys * sizeof(*m->pats));
	if (!m->pats)
		return false;
	for (size_t e = 0; e < nelems; e++) {
		const json_t *v = unwrap(many ? json_array_get(elements, e) : elements);
		const json_t *parts = json_object_get(v, "concat");

		if (m->nkeys > 1 && json_array_size(parts) != m->nkeys) {
			for (size_t k = 0; k < m->nkeys; k++)
				m->pats[e * m->nkeys + k] = (struct pat){ .kind = PAT_UNKNOWN };
			continue;
		}
		for (size_t k = 0; k < m->nkeys; k++)
			if (!pat_of(t, m->keys[k].kind, m->nkeys > 1 ? json_array_get(parts, k) : v,
				    &m->pats[e * m->nkeys + k]))
				return false;
	}
	return true;
}

/* The right side of a match: an anonymous set, "@name", or one value. */
static bool compile_right(struct ruleset *rs, struct table *t, const json_t *left, const char *op,
			  const json_t *right, struct match *m)
{
	const json_t *set = json_object_get(right, "set");
	const char *ref = json_string_value(right);

	if (set)
		return compile_match(rs, t, left, op, set, true, m);
	if (ref && ref[0] == '@') {
		bool found;
		const json_t *elems = named_elements(t, ref, &found);

		if (!found) {
			*m = (struct match){ .unknown = true };
			return true;
		}
		return compile_match(rs, t, left, op, elems, true, m);
	}
	return compile_match(rs, t, left, op, right, false, m);
}

/* xt targets that log or mark and let the packet go on; any other could end it. */
static bool xt_target_continues(const char *name)
{
	static const char *const go_on[] = {
		"LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CHECKSUM", "TCPMSS", "CLASSIFY", "DSCP",
		"TOS", "TTL", "HL", "ECN", "TRACE", "AUDIT", "CT", "NOTRACK", "SECMARK",
		"CONNSECMARK", "SET", "IDLETIMER", "LED", "TEE", "HMARK",
	};

	for (size_t i = 0; i < sizeof(go_on) / sizeof(go_on[0]); i++)
		if (!strcmp(name, go_on[i]))
			return true;
	return false;
}

static enum verdict verdict_of(const struct ruleset *rs, size_t table, const json_t *stmt,
			       size_t *target)
{
	const json_t *v;
	const char *what = kind_of(stmt, &v);

	if (!strcmp(what, "accept"))
		return V_ACCEPT;
	if (!strcmp(what, "drop") || !strcmp(what, "queue"))
		return V_DROP;
	if (!strcmp(what, "reject"))
		return V_REJECT;
	if (!strcmp(what, "return"))
		return V_RETURN;
	if (!strcmp(what, "jump") || !strcmp(what, "goto")) {
		*target = find_chain(rs, table, jstr(v, "target") ? jstr(v, "target") : "");
		if (*target == SIZE_MAX)
			return V_NONE;
		return what[0] == 'j' ? V_JUMP : V_GOTO;
	}
	if (!strcmp(what, "xt") && jstr(v, "type") && !strcmp(jstr(v, "type"), "target")) {
		const char *name = jstr(v, "name") ? jstr(v, "name") : "";

		if (!strcmp(name, "REJECT"))
			return V_REJECT;
		return xt_target_continues(name) ? V_NONE : V_DROP;
	}
	return V_NONE;
}

/* Statements that neither decide nor stop the rule. */
static bool is_side_effect(const char *what)
{
	static const char *const names[] = {
		"counter", "log", "mangle", "set", "map", "notrack", "dup", "secmark", "continue",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(what, names[i]))
			return true;
	return false;
}

static bool add_rule(struct chain *c, const struct rule *r)
{
	struct rule *rules = room_for_one(c->rules, c->nrules, &c->cap, sizeof(*rules));

	if (!rules)
		return false;
	c->rules = rules;
	c->rules[c->nrules++] = *r;
	return true;
}

/* The single value a plain `key == value` match compares with, else NULL. */
static const struct pat *single(const struct match *m, enum key_kind kind, enum pat_kind pat)
{
	if (m->unknown || m->negate || m->nkeys != 1 || m->keys[0].kind != kind || m->nelems != 1 ||
	    m->pats[0].kind != pat)
		return NULL;
	return &m->pats[0];
}

/* Record the rule's pairing of an output interface with a destination network, or of an
 * input interface with a source network. */
static bool note_link(struct table *t, const struct rule *r)
{
	for (size_t i = 0; i < r->nconds; i++)
		for (size_t j = 0; j < r->nconds; j++) {
			const struct pat *dev = single(&r->conds[i], KEY_OIF, PAT_NAME);
			const struct pat *net = single(&r->conds[j], KEY_DADDR, PAT_ADDR);
			struct link *links;

			if (!dev || !net) {
				dev = single(&r->conds[i], KEY_IIF, PAT_NAME);
				net = single(&r->conds[j], KEY_SADDR, PAT_ADDR);
			}
			/* a default route's 0.0.0.0/0 says nothing about where a guest is */
			if (!dev || !net || dev->name.wildcard || !net->len)
				continue;
			links = room_for_one(t->links, t->nlinks, &t->links_cap, sizeof(*links));
			if (!links)
				return false;
			t->links = links;
			t->links[t->nlinks++] = (struct link){ dev->name, net->lo, net->hi, net->len };
		}
	return true;
}

/*
 * One listed rule into one compiled rule, or several for a verdict map: each element
 * `key : verdict` becomes `conditions, key == element, verdict`.
 */
static bool compile_rule(struct ruleset *rs, size_t ci, const json_t *obj)
{
	struct chain *c = &rs->chains[ci];
	struct table *t = &rs->tables[c->table];
	const json_t *expr = json_object_get(obj, "expr");
	size_t n = json_array_size(expr);
	struct rule r = { .handle = (long)json_integer_value(json_object_get(obj, "handle")),
			  .expr = expr };

	r.conds = arena_alloc(&rs->arena, (n + 1) * sizeof(*r.conds));
	if (!r.conds)
		return false;
	for (size_t i = 0; i < n; i++) {
		const json_t *stmt = json_array_get(expr, i), *v;
		const char *what = kind_of(stmt, &v);

		if (!strcmp(what, "xt"))
			t->has_xt = true;
		if (!strcmp(what, "match")) {
			if (!compile_right(rs, t, json_object_get(v, "left"),
					   jstr(v, "op") ? jstr(v, "op") : "", json_object_get(v, "right"),
					   &r.conds[r.nconds++]))
				return false;
		} else if (!strcmp(what, "vmap")) {
			const json_t *data = json_object_get(v, "data");
			const json_t *pairs = json_object_get(data, "set");
			bool found = true;

			if (json_is_string(data))
				pairs = named_elements(t, json_string_value(data), &found);
			if (!found) {
				/* unreadable: any verdict, so possibly a drop */
				r.conds[r.nconds++] = (struct match){ .unknown = true };
				r.verdict = V_DROP;
				return add_rule(c, &r);
			}
			for (size_t e = 0; e < json_array_size(pairs); e++) {
				const json_t *pair = json_array_get(pairs, e);
				struct rule one = r;

				one.conds = arena_alloc(&rs->arena, (r.nconds + 1) * sizeof(*one.conds));
				if (!one.conds)
					return false;
				memcpy(one.conds, r.conds, r.nconds * sizeof(*r.conds));
				if (!compile_match(rs, t, json_object_get(v, "key"), "==",
						   json_array_get(pair, 0), false, &one.conds[one.nconds++]))
					return false;
				one.verdict = verdict_of(rs, c->table, json_array_get(pair, 1), &one.target);
				if (one.verdict != V_NONE && !add_rule(c, &one))
					return false;
			}
			return true;
		} else if ((r.verdict = verdict_of(rs, c->table, stmt, &r.target)) != V_NONE) {
			break;
		} else if (!is_side_effect(what) &&
			   !(!strcmp(what, "xt") && jstr(v, "type") && !strcmp(jstr(v, "type"), "target"))) {
			/* an xt match, limit, quota, or anything newer: could match or not */
			r.conds[r.nconds++] = (struct match){ .unknown = true };
		}
	}
	if (!note_link(t, &r))
		return false;
	if (r.verdict == V_ACCEPT && r.nconds == 1 && !r.conds[0].unknown && r.conds[0].nkeys == 1 &&
	    r.conds[0].keys[0].kind == KEY_CT_STATUS && r.conds[0].nelems == 1 &&
	    r.conds[0].pats[0].kind == PAT_FLAGS && (r.conds[0].pats[0].nlo & ST_DNAT))
		c->dnat_accept = true;
	return r.verdict == V_NONE || add_rule(c, &r);
}

static bool add_ours(struct ruleset *rs, const json_t *obj, size_t position)
{
	struct foreign_rule *o = room_for_one(rs->ours, rs->nours, &rs->ours_cap, sizeof(*o));

	if (!o)
		return false;
	rs->ours = o;
	o = &rs->ours[rs->nours++];
	*o = (struct foreign_rule){ .handle = (long)json_integer_value(json_object_get(obj, "handle")),
				    .position = position };
	snprintf(o->family, sizeof(o->family), "%s", jstr(obj, "family"));
	snprintf(o->table, sizeof(o->table), "%s", jstr(obj, "table"));
	snprintf(o->chain, sizeof(o->chain), "%s", jstr(obj, "chain"));
	snprintf(o->comment, sizeof(o->comment), "%s", jstr(obj, "comment"));
	return true;
}

/* Tables, chains and sets first (jumps and @names refer to them), then the rules. */
static bool load(struct ruleset *rs, const json_t *items, struct error *err)
{
	size_t n = json_array_size(items), last = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		const json_t *v;
		const char *what = kind_of(json_array_get(items, i), &v);
		const char *family = jstr(v, "family"), *name = jstr(v, "name");
		size_t t;

		if (!family || !name)
			continue;
		if (!strcmp(what, "table")) {
			struct table *tables = room_for_one(rs->tables, rs->ntables, &rs->tables_cap,
							    sizeof(*tables));

			if (!tables)
				goto oom;
			rs->tables = tables;
			rs->tables[rs->ntables++] = (struct table){
				.family = family, .name = name,
				.ours = !strcmp(family, TABLE_FAMILY) && !strcmp(name, TABLE_NAME),
			};
			continue;
		}
		t = find_table(rs, family, jstr(v, "table") ? jstr(v, "table") : "");
		if (t == SIZE_MAX || rs->tables[t].ours)
			continue;
		if (!strcmp(what, "chain")) {
			const char *hook = jstr(v, "hook"), *policy = jstr(v, "policy");
			struct chain *chains = room_for_one(rs->chains, rs->nchains, &rs->chains_cap,
							    sizeof(*chains));
			int af;

			if (!chains)
				goto oom;
			rs->chains = chains;
			rs->chains[rs->nchains++] = (struct chain){
				.name = name, .table = t,
				.forward_base = hook && !strcmp(hook, "forward") && is_family(family, &af),
				.policy_drop = policy && !strcmp(policy, "drop"),
			};
		} else if (!strcmp(what, "set") || !strcmp(what, "map")) {
			struct table *tb = &rs->tables[t];
			const json_t **sets = room_for_one(tb->sets, tb->nsets, &tb->sets_cap,
							   sizeof(*sets));

			if (!sets)
				goto oom;
			tb->sets = sets;
			tb->sets[tb->nsets++] = v;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *v;
		const char *what = kind_of(json_array_get(items, i), &v);
		const char *family = jstr(v, "family"), *table = jstr(v, "table");
		const char *chain = jstr(v, "chain"), *comment = jstr(v, "comment");
		size_t t;

		if (strcmp(what, "rule") || !family || !table || !chain)
			continue;
		if (last == SIZE_MAX || strcmp(rs->chains[last].name, chain) ||
		    strcmp(rs->tables[rs->chains[last].table].name, table) ||
		    strcmp(rs->tables[rs->chains[last].table].family, family)) {
			t = find_table(rs, family, table);
			last = t == SIZE_MAX ? SIZE_MAX : find_chain(rs, t, chain);
		}
		if (last == SIZE_MAX)
			continue; /* our own table's, or a listing we do not understand */
		if (comment && !strncmp(comment, FOREIGN_COMMENT_PREFIX, strlen(FOREIGN_COMMENT_PREFIX))) {
			if (!add_ours(rs, v, rs->chains[last].listed++))
				goto oom;
			continue;
		}
		rs->chains[last].listed++;
		if (!compile_rule(rs, last, v))
			goto oom;
	}
	return true;
oom:
	return error_set(err, "out of memory while reading the ruleset");
}

/* ---------------------------------------------------------------- walking a chain */

/* The packet being followed: one endpoint, one direction, one pair of interfaces. */
struct packet {
	const struct foreign_endpoint *ep;
	bool reply;                   /* false: client to guest, a new connection */
	const struct name *iif, *oif; /* NULL: an interface no rule names */
};

static enum tri num_in(const struct pat *p, uint32_t lo, uint32_t hi)
{
	if (p->kind != PAT_NUM)
		return MAYBE;
	if (lo >= p->nlo && hi <= p->nhi)
		return YES;
	return hi < p->nlo || lo > p->nhi ? NO : MAYBE;
}

static enum tri addr_in(const struct pat *p, const struct addr *a)
{
	if (!a || p->kind != PAT_ADDR)
		return MAYBE;
	if (p->lo.family != a->family)
		return NO;
	return addr_cmp(&p->lo, a) <= 0 && addr_cmp(a, &p->hi) <= 0 ? YES : NO;
}

static enum tri name_in(const struct pat *p, const struct name *n)
{
	if (p->kind != PAT_NAME)
		return MAYBE;
	if (!n)
		return NO;
	if (p->name.wildcard)
		return n->len >= p->name.len && !memcmp(n->s, p->name.s, p->name.len) ? YES : NO;
	return n->len == p->name.len && !memcmp(n->s, p->name.s, n->len) ? YES : NO;
}

/*
 * ct status bits of our packets at the forward hook. A new connection was DNAT'd in
 * prerouting and is not confirmed yet; a reply belongs to a confirmed connection that has
 * seen a reply, and may be masqueraded and assured.
 */
static enum tri status_in(const struct pat *p, bool reply)
{
	enum tri any = NO;

	if (p->kind != PAT_FLAGS)
		return MAYBE;
	if (p->nlo & ST_DNAT)
		any = YES;
	if (reply && (p->nlo & (ST_SEEN_REPLY | ST_CONFIRMED)))
		any = YES;
	if (reply && (p->nlo & (ST_SNAT | ST_ASSURED)))
		any = tri_or(any, MAYBE);
	return any;
}

static enum tri pat_match(const struct key *k, const struct pat *p, const struct packet *pk)
{
	const struct foreign_endpoint *ep = pk->ep;

	if (p->kind == PAT_UNKNOWN)
		return MAYBE;
	switch (k->kind) {
	case KEY_SADDR:
		return addr_in(p, pk->reply ? &ep->guest : NULL);
	case KEY_DADDR:
		return addr_in(p, pk->reply ? NULL : &ep->guest);
	case KEY_SPORT:
		return pk->reply ? num_in(p, ep->port, ep->port_last) : MAYBE;
	case KEY_DPORT:
		return pk->reply ? MAYBE : num_in(p, ep->port, ep->port_last);
	case KEY_L4PROTO: {
		uint32_t number = ep->proto == PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;

		return num_in(p, number, number);
	}
	case KEY_NFPROTO:
		return num_in(p, (uint32_t)ep->guest.family, (uint32_t)ep->guest.family);
	case KEY_CT_DIR:
		return num_in(p, pk->reply, pk->reply);
	case KEY_IIF:
		return name_in(p, pk->iif);
	case KEY_OIF:
		return name_in(p, pk->oif);
	case KEY_CT_STATE:
		if (p->kind != PAT_FLAGS)
			return MAYBE;
		return p->nlo & (pk->reply ? CT_ESTABLISHED : CT_NEW) ? YES : NO;
	case KEY_CT_STATUS:
		return status_in(p, pk->reply);
	case KEY_UNKNOWN:
	case KEY_NEVER:
		break;
	}
	return MAYBE;
}

static enum tri match_packet(const struct match *m, const struct packet *pk)
{
	enum tri any = NO;

	if (m->unknown)
		return MAYBE;
	/* A failed dependency (tcp dport on a UDP packet) fails the match, even with != */
	for (size_t k = 0; k < m->nkeys; k++) {
		const struct key *key = &m->keys[k];

		if (key->kind == KEY_NEVER || (key->family && key->family != pk->ep->guest.family) ||
		    (key->protos && !(key->protos & pk->ep->proto)))
			return NO;
	}
	for (size_t e = 0; e < m->nelems && any != YES; e++) {
		enum tri row = YES;

		for (size_t k = 0; k < m->nkeys && row != NO; k++)
			row = tri_and(row, pat_match(&m->keys[k], &m->pats[e * m->nkeys + k], pk));
		any = tri_or(any, row);
	}
	return m->negate ? tri_not(any) : any;
}

enum outcome { OUT_PASS, OUT_ACCEPT, OUT_BLOCK };

/* Where a packet was or may be dropped. */
struct drop {
	size_t chain;
	const struct rule *rule; /* NULL: the base chain's policy */
	bool certain;            /* reached for sure, by matches that surely match */
};

struct walk {
	const struct ruleset *rs;
	const struct packet *pk;
	size_t accept_at;  /* a chain where our accepts would sit at the top, or SIZE_MAX */
	struct drop drop;  /* the certain drop, or else the first possible one */
	bool dropped;
};

static void note_drop(struct walk *w, size_t chain, const struct rule *r, bool certain)
{
	if (!w->dropped || (certain && !w->drop.certain))
		w->drop = (struct drop){ chain, r, certain };
	w->dropped = true;
}

/*
 * Follow the packet through one chain. `definite`: it surely gets here. Only definite
 * paths end the walk (accept, return); on a path that only may be taken, an accept is
 * ignored and a drop is noted as possible, and the walk goes on.
 */
static enum outcome walk_chain(struct walk *w, size_t ci, bool definite, unsigned depth)
{
	const struct chain *c = &w->rs->chains[ci];

	if (ci == w->accept_at && definite)
		return OUT_ACCEPT;
	if (depth > 16) /* the kernel refuses deeper jumps: no listing has them */
		return OUT_PASS;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		enum tri m = YES;
		bool sure;
		enum outcome o;

		for (size_t k = 0; k < r->nconds && m != NO; k++)
			m = tri_and(m, match_packet(&r->conds[k], w->pk));
		if (m == NO)
			continue;
		sure = definite && m == YES;
		switch (r->verdict) {
		case V_ACCEPT:
			if (sure)
				return OUT_ACCEPT;
			break;
		case V_DROP:
		case V_REJECT:
			note_drop(w, ci, r, sure);
			if (sure)
				return OUT_BLOCK;
			break;
		case V_RETURN:
			if (sure)
				return OUT_PASS;
			break;
		case V_JUMP:
		case V_GOTO:
			o = walk_chain(w, r->target, sure, depth + 1);
			if (o != OUT_PASS)
				return o;
			if (r->verdict == V_GOTO && sure)
				return OUT_PASS; /* goto's chain returned: so does this one */
			break;
		case V_NONE:
			break;
		}
	}
	return OUT_PASS;
}

/* Could the packet be dropped in base chain `base`? Sets w->drop when so. */
static bool dropped(struct walk *w, size_t base)
{
	w->dropped = false;
	if (walk_chain(w, base, true, 0) == OUT_PASS && w->rs->chains[base].policy_drop)
		note_drop(w, base, NULL, true);
	return w->dropped;
}

/* ---------------------------------------------------------------- the analysis */

static int endpoint_cmp(const void *pa, const void *pb)
{
	const struct foreign_endpoint *a = pa, *b = pb;
	int c = addr_cmp(&a->guest, &b->guest);

	if (c)
		return c;
	if (a->proto != b->proto)
		return (int)a->proto - (int)b->proto;
	return (int)a->port - (int)b->port;
}

/* The entries' guest endpoints, sorted, duplicates gone, adjacent ports merged. */
static bool endpoints_of(const struct entry_list *entries, struct foreign_report *r)
{
	struct foreign_endpoint *eps = calloc(entries->count + 1, sizeof(*eps));
	size_t n = 0;

	if (!eps)
		return false;
	for (size_t i = 0; i < entries->count; i++)
		eps[i] = (struct foreign_endpoint){ entries->items[i].guest, entries->items[i].proto,
						    entries->items[i].guest_port,
						    entries->items[i].guest_port };
	qsort(eps, entries->count, sizeof(*eps), endpoint_cmp);
	for (size_t i = 0; i < entries->count; i++) {
		struct foreign_endpoint *prev = n ? &eps[n - 1] : NULL;

		if (prev && !addr_cmp(&prev->guest, &eps[i].guest) && prev->proto == eps[i].proto &&
		    eps[i].port <= (unsigned)prev->port_last + 1) {
			if (eps[i].port_last > prev->port_last)
				prev->port_last = eps[i].port_last;
		} else {
			eps[n++] = eps[i];
		}
	}
	r->endpoints = eps;
	r->endpoint_count = n;
	return true;
}

/* "8000" or "5000-5002", as nft and our comments write a port run. */
static const char *ports_text(const struct foreign_endpoint *ep, char buf[12])
{
	if (ep->port == ep->port_last)
		snprintf(buf, 12, "%u", ep->port);
	else
		snprintf(buf, 12, "%u-%u", ep->port, ep->port_last);
	return buf;
}

/* "192.0.2.79 tcp 8000" */
static void endpoint_text(const struct foreign_endpoint *ep, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN], ports[12];

	snprintf(buf, size, "%s %s %s", addr_text(&ep->guest, addr), proto_name(ep->proto),
		 ports_text(ep, ports));
}

/* Appends to a fixed buffer, cutting what does not fit. */
struct text {
	char *buf;
	size_t size, len;
};

__attribute__((format(printf, 2, 3)))
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = t->len + (size_t)n < t->size ? t->len + (size_t)n : t->size - 1;
}

/* A value as nft prints it, roughly: enough to recognise the rule in `nft -a list`. */
static void value_text(struct text *t, const json_t *v, bool quote)
{
	const json_t *inner;
	const char *what;

	if (json_is_string(v)) {
		text_add(t, quote ? "\"%s\"" : "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		text_add(t, "%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			text_add(t, i ? "," : "");
			value_text(t, json_array_get(v, i), quote);
		}
	} else if (!strcmp(what = kind_of(v, &inner), "prefix")) {
		text_add(t, "%s/%lld", jstr(inner, "addr") ? jstr(inner, "addr") : "?",
			 (long long)json_integer_value(json_object_get(inner, "len")));
	} else if (!strcmp(what, "range") || !strcmp(what, "concat")) {
		for (size_t i = 0; i < json_array_size(inner); i++) {
			text_add(t, i ? (what[0] == 'r' ? "-" : " . ") : "");
			value_text(t, json_array_get(inner, i), quote);
		}
	} else if (!strcmp(what, "set")) {
		text_add(t, "{ ");
		for (size_t i = 0; i < json_array_size(inner) && i < 3; i++) {
			text_add(t, i ? ", " : "");
			value_text(t, unwrap(json_array_get(inner, i)), quote);
		}
		text_add(t, json_array_size(inner) > 3 ? ", ... }" : " }");
	} else if (!strcmp(what, "elem")) {
		value_text(t, unwrap(v), quote);
	} else {
		text_add(t, "%s", what[0] ? what : "?");
	}
}

static void left_text(struct text *t, const json_t *left)
{
	const json_t *v;
	const char *what = kind_of(left, &v);

	if (!strcmp(what, "payload") && jstr(v, "protocol"))
		text_add(t, "%s %s", jstr(v, "protocol"), jstr(v, "field") ? jstr(v, "field") : "?");
	else if (!strcmp(what, "meta") && jstr(v, "key"))
		text_add(t, key_of(left).kind == KEY_IIF || key_of(left).kind == KEY_OIF ? "%s" : "meta %s",
			 jstr(v, "key"));
	else if (!strcmp(what, "ct") && jstr(v, "key"))
		text_add(t, "ct %s", jstr(v, "key"));
	else if (!strcmp(what, "concat"))
		for (size_t i = 0; i < json_array_size(v); i++) {
			text_add(t, i ? " . " : "");
			left_text(t, json_array_get(v, i));
		}
	else
		text_add(t, "%s", what[0] ? what : "?");
}

/* The rule in about the words `nft list` uses; xt expressions as "xt match conntrack". */
static void rule_text(struct text *t, const json_t *expr)
{
	for (size_t i = 0; i < json_array_size(expr); i++) {
		const json_t *v;
		const char *what = kind_of(json_array_get(expr, i), &v);

		text_add(t, i ? " " : "");
		if (!strcmp(what, "match")) {
			const json_t *left = json_object_get(v, "left");
			const char *op = jstr(v, "op") ? jstr(v, "op") : "";
			struct key k = key_of(left);

			left_text(t, left);
			text_add(t, strcmp(op, "==") && strcmp(op, "in") ? " %s " : " ", op);
			value_text(t, json_object_get(v, "right"), k.kind == KEY_IIF || k.kind == KEY_OIF);
		} else if (!strcmp(what, "xt")) {
			text_add(t, "xt %s %s", jstr(v, "type") ? jstr(v, "type") : "?",
				 jstr(v, "name") ? jstr(v, "name") : "?");
		} else if (!strcmp(what, "jump") || !strcmp(what, "goto")) {
			text_add(t, "%s %s", what, jstr(v, "target") ? jstr(v, "target") : "?");
		} else {
			text_add(t, "%s", what);
		}
	}
}

static const char *block_kind(const struct ruleset *rs, size_t base, const struct drop *d)
{
	const struct table *t = &rs->tables[rs->chains[base].table];
	const char *chain = rs->chains[d->chain].name;

	if (!strcmp(t->family, "inet") && !strcmp(t->name, "firewalld"))
		return "firewalld";
	if (!strcmp(t->name, "libvirt_network"))
		return "libvirt-nftables";
	if (!strncmp(chain, "LIBVIRT_", 8))
		return "libvirt-iptables";
	if (!strncmp(chain, "DOCKER", 6) ||
	    (!d->rule && find_chain(rs, rs->chains[base].table, "DOCKER-USER") != SIZE_MAX))
		return "docker";
	if (!strncmp(chain, "ufw", 3) ||
	    (!d->rule && (find_chain(rs, rs->chains[base].table, "ufw-before-forward") != SIZE_MAX ||
			  find_chain(rs, rs->chains[base].table, "ufw6-before-forward") != SIZE_MAX)))
		return "ufw";
	return "other";
}

static void reason_text(const struct ruleset *rs, size_t base, const struct drop *d,
			const struct packet *pk, const char *kind, char *buf, size_t size)
{
	struct text t = { buf, size, 0 };
	const struct chain *c = &rs->chains[d->chain];
	char ep[INET6_ADDRSTRLEN + 32];
	bool reject = d->rule && d->rule->verdict == V_REJECT;

	buf[0] = '\0';
	endpoint_text(pk->ep, ep, sizeof(ep));
	if (d->rule) {
		text_add(&t, "rule '");
		rule_text(&t, d->rule->expr);
		text_add(&t, "' (handle %ld) in %s %s", d->rule->handle, c->name,
			 d->certain ? (reject ? "rejects" : "drops") : (reject ? "may reject" : "may drop"));
	} else {
		text_add(&t, "policy drop of %s drops", rs->chains[base].name);
	}
	text_add(&t, pk->reply ? " replies from %s" : " new connections to %s", ep);
	if (pk->iif)
		text_add(&t, " arriving on \"%.*s%s\"", (int)pk->iif->len, pk->iif->s,
			 pk->iif->wildcard ? "*" : "");
	if (pk->oif)
		text_add(&t, " leaving through \"%.*s%s\"", (int)pk->oif->len, pk->oif->s,
			 pk->oif->wildcard ? "*" : "");
	if (!d->rule)
		text_add(&t, " (nothing in it accepts them)");
	if (!strcmp(kind, "firewalld") && !rs->chains[base].dnat_accept)
		text_add(&t, "; firewalld accepts DNAT'd connections unless StrictForwardPorts=yes, and "
			 "%s has no 'ct status dnat accept'", rs->chains[base].name);
	/* names come from the kernel: keep the reason one printable line */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Names written unquoted in nft commands: nftables 1.0.6 takes no quoted chain names. */
static bool plain_name(const char *s)
{
	if (!*s || !(strchr("_.", *s) || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (; *s; s++)
		if (!(strchr("/-_.", *s) || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/*
 * The chains their owners leave for rules like ours, best first. Each is used only if
 * every packet that needs an accept surely reaches it before anything could drop it.
 */
static const struct {
	const char *chain;
	const char *why;
} preferred[] = {
	{ "DOCKER-USER", "DOCKER-USER: Docker keeps it for the administrator's rules and never "
			 "rewrites it" },
	{ "LIBVIRT_FWI", "LIBVIRT_FWI: libvirt rebuilds it when a network starts or its firewall "
			 "reloads; apply again then (libvirt's network hook)" },
	{ "guest_input", "guest_input: libvirt rebuilds its table when a network starts; apply "
			 "again then (libvirt's network hook)" },
};

static void base_placement(const char *kind, const char *base, const char *skipped, char *buf,
			   size_t size)
{
	if (skipped)
		snprintf(buf, size, "top of %s: %s is reached only after a rule that may drop", base,
			 skipped);
	else if (!strcmp(kind, "ufw"))
		snprintf(buf, size, "top of %s: ufw rewrites only its own ufw-* chains on reload "
			 "(%s too with MANAGE_BUILTINS=yes)", base, base);
	else if (!strcmp(kind, "firewalld"))
		snprintf(buf, size, "top of %s: firewalld rewrites its table on reload; apply again "
			 "after 'firewall-cmd --reload'", base);
	else
		snprintf(buf, size, "top of %s: the base chain itself, before anything that could drop",
			 base);
}

/*
 * The interfaces a packet may use, as pointers: every name the table mentions and NULL
 * for one it does not. `guest` gets those on the guest's side: the ones the table pairs
 * with the longest network prefix holding the guest's address, else all of them too.
 * Both arrays have room for nnames + 1.
 */
struct sides {
	const struct name **any, **guest;
	size_t nany, nguest;
};

static bool sides_init(const struct table *t, struct sides *s)
{
	s->any = calloc(t->nnames + 1, sizeof(*s->any));
	s->guest = calloc(t->nnames + 1, sizeof(*s->guest));
	if (!s->any || !s->guest) {
		free(s->any);
		free(s->guest);
		return false;
	}
	for (size_t i = 0; i < t->nnames; i++)
		s->any[i + 1] = &t->names[i];
	s->nany = t->nnames + 1;
	return true;
}

static bool link_holds(const struct link *l, const struct addr *guest)
{
	return l->lo.family == guest->family && addr_cmp(&l->lo, guest) <= 0 &&
	       addr_cmp(guest, &l->hi) <= 0;
}

static void sides_for(const struct table *t, const struct addr *guest, struct sides *s)
{
	unsigned longest = 0;

	for (size_t i = 0; i < t->nlinks; i++)
		if (link_holds(&t->links[i], guest) && t->links[i].len > longest)
			longest = t->links[i].len;
	s->nguest = 0;
	for (size_t i = 0; i < t->nlinks; i++) {
		const struct link *l = &t->links[i];
		size_t seen = 0;

		if (l->len != longest || !link_holds(l, guest))
			continue;
		while (seen < s->nguest && (s->guest[seen]->len != l->name.len ||
					    memcmp(s->guest[seen]->s, l->name.s, l->name.len)))
			seen++;
		if (seen == s->nguest && s->nguest < s->nany)
			s->guest[s->nguest++] = &l->name;
	}
	if (!s->nguest) {
		memcpy(s->guest, s->any, s->nany * sizeof(*s->guest));
		s->nguest = s->nany;
	}
}

/*
 * Could a packet of this endpoint and direction be dropped in `base`, with any pair of
 * interfaces? The guest's side varies first, the other side starts with an interface no
 * rule names (the uplink, usually). On true, *found is the packet and w->drop the drop.
 */
static bool endpoint_dropped(struct walk *w, size_t base, const struct foreign_endpoint *ep,
			     unsigned dir, struct sides *s, struct packet *found)
{
	sides_for(&w->rs->tables[w->rs->chains[base].table], &ep->guest, s);
	for (size_t c = 0; c < s->nany; c++)
		for (size_t g = 0; g < s->nguest; g++) {
			bool reply = dir == FOREIGN_FROM_GUEST;

			*found = (struct packet){ ep, reply, reply ? s->guest[g] : s->any[c],
						  reply ? s->any[c] : s->guest[g] };
			w->pk = found;
			if (dropped(w, base))
				return true;
		}
	return false;
}

/* With our accepts at the top of chain `at`, does every packet in needs pass? */
static bool passes_with_accepts_at(struct walk *w, size_t base, size_t at, const unsigned *needs,
				   const struct foreign_report *r, struct sides *s)
{
	struct packet pk;

	w->accept_at = at;
	for (size_t e = 0; e < r->endpoint_count; e++)
		for (unsigned dir = FOREIGN_TO_GUEST; dir <= FOREIGN_FROM_GUEST; dir <<= 1)
			if ((needs[e] & dir) && endpoint_dropped(w, base, &r->endpoints[e], dir, s, &pk))
				return false;
	return true;
}

static void place(struct walk *w, size_t base, struct foreign_block *b,
		  const struct foreign_report *r, struct sides *s)
{
	const struct ruleset *rs = w->rs;
	size_t table = rs->chains[base].table;
	const char *skipped = NULL;

	if (!plain_name(b->table) || !plain_name(b->base_chain)) {
		snprintf(b->placement, sizeof(b->placement),
			 "nowhere: the name of %s %s %s cannot be written in nft syntax; add an accept "
			 "there by hand", b->family, b->table, b->base_chain);
		return;
	}
	for (size_t i = 0; i < sizeof(preferred) / sizeof(preferred[0]); i++) {
		size_t at = find_chain(rs, table, preferred[i].chain);

		if (at == SIZE_MAX || at == base)
			continue;
		if (passes_with_accepts_at(w, base, at, b->needs, r, s)) {
			snprintf(b->insert_chain, sizeof(b->insert_chain), "%s", preferred[i].chain);
			snprintf(b->placement, sizeof(b->placement), "%s", preferred[i].why);
			return;
		}
		skipped = skipped ? skipped : preferred[i].chain;
	}
	snprintf(b->insert_chain, sizeof(b->insert_chain), "%s", b->base_chain);
	base_placement(b->kind, b->base_chain, skipped, b->placement, sizeof(b->placement));
}

/* Walk one base chain for every endpoint of its family, direction and interface pair. */
static bool analyse_base(const struct ruleset *rs, size_t base, struct foreign_report *r)
{
	const struct chain *c = &rs->chains[base];
	const struct table *t = &rs->tables[c->table];
	struct walk w = { .rs = rs, .accept_at = SIZE_MAX };
	struct foreign_block b = { .rule_handle = -1 };
	struct drop worst = { 0 };
	struct packet pk, worst_pk = { 0 };
	struct sides s;
	bool any = false, ok = false;
	int af;
	void *grown;

	is_family(t->family, &af);
	b.needs = calloc(r->endpoint_count + 1, sizeof(*b.needs));
	if (!b.needs || !sides_init(t, &s)) {
		free(b.needs);
		return false;
	}
	for (size_t e = 0; e < r->endpoint_count; e++)
		for (unsigned dir = FOREIGN_TO_GUEST; dir <= FOREIGN_FROM_GUEST; dir <<= 1) {
			if ((af && r->endpoints[e].guest.family != af) ||
			    !endpoint_dropped(&w, base, &r->endpoints[e], dir, &s, &pk))
				continue;
			b.needs[e] |= dir;
			if (!any || (w.drop.certain && !worst.certain)) {
				worst = w.drop;
				worst_pk = pk;
			}
			any = true;
		}
	if (!any) {
		ok = true;
		goto done;
	}
	snprintf(b.family, sizeof(b.family), "%s", t->family);
	snprintf(b.table, sizeof(b.table), "%s", t->name);
	snprintf(b.base_chain, sizeof(b.base_chain), "%s", c->name);
	snprintf(b.chain, sizeof(b.chain), "%s", rs->chains[worst.chain].name);
	b.rule_handle = worst.rule ? worst.rule->handle : -1;
	b.kind = block_kind(rs, base, &worst);
	reason_text(rs, base, &worst, &worst_pk, b.kind, b.reason, sizeof(b.reason));
	b.iptables_owned = t->has_xt || (af && !strcmp(t->name, "filter") && !strcmp(c->name, "FORWARD"));
	place(&w, base, &b, r, &s);

	grown = realloc(r->blocks, (r->count + 1) * sizeof(*r->blocks));
	if (grown) {
		r->blocks = grown;
		r->blocks[r->count++] = b;
		b.needs = NULL;
		ok = true;
	}
done:
	free(b.needs);
	free(s.any);
	free(s.guest);
	return ok;
}

bool foreign_analyse(const char *ruleset_json, const struct entry_list *entries,
		     struct foreign_report *out, struct error *err)
{
	struct ruleset rs = { 0 };
	json_error_t jerr;
	json_t *root = json_loads(ruleset_json, 0, &jerr);
	const json_t *items = json_object_get(root, "nftables");
	bool ok = false;

	*out = (struct foreign_report){ 0 };
	if (!root)
		return error_set(err, "libnftables listed the ruleset as invalid JSON (%s, line %d, "
				 "column %d); " INVALID_JSON_HINT, jerr.text, jerr.line, jerr.column);
	if (!json_is_array(items)) {
		json_decref(root);
		return error_set(err, "cannot read the ruleset libnftables listed: no \"nftables\" "
				 "array at the top; is the JSON output flag set?");
	}
	if (!endpoints_of(entries, out)) {
		error_set(err, "out of memory while reading the ruleset");
		goto done;
	}
	if (!load(&rs, items, err))
		goto done;
	for (size_t i = 0; i < rs.nchains; i++)
		if (rs.chains[i].forward_base && !analyse_base(&rs, i, out)) {
			error_set(err, "out of memory while analysing the ruleset");
			goto done;
		}
	out->ours = rs.ours;
	out->ours_count = rs.nours;
	rs.ours = NULL;
	ok = true;
done:
	ruleset_free(&rs);
	json_decref(root);
	if (!ok)
		foreign_report_free(out);
	return ok;
}

void foreign_report_free(struct foreign_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->blocks[i].needs);
	free(r->blocks);
	free(r->endpoints);
	free(r->ours);
	*r = (struct foreign_report){ 0 };
}

/* ---------------------------------------------------------------- rendering */

/* One rule to insert: its text after "insert rule FAMILY TABLE CHAIN ". */
struct wanted {
	char *body;    /* the matches and verdict */
	char comment[129];
};

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static bool add_wanted(struct wanted **w, size_t *n, char *body, const char *comment)
{
	struct wanted *grown = body ? realloc(*w, (*n + 1) * sizeof(**w)) : NULL;

	if (!grown) {
		free(body);
		return false;
	}
	*w = grown;
	(*w)[*n].body = body;
	snprintf((*w)[*n].comment, sizeof((*w)[*n].comment), "%s", comment);
	(*n)++;
	return true;
}

/*
 * iptables-owned tables: `ip daddr A tcp dport P` and `ip saddr A tcp sport P`, nothing
 * iptables cannot read back (no ct, no sets), one rule per endpoint and direction.
 */
static bool wanted_plain(const struct foreign_report *r, const unsigned *needs, int af,
			 struct wanted **w, size_t *n)
{
	for (size_t e = 0; e < r->endpoint_count; e++) {
		const struct foreign_endpoint *ep = &r->endpoints[e];
		char addr[INET6_ADDRSTRLEN], ports[12], what[INET6_ADDRSTRLEN + 32], comment[129];

		if (af && ep->guest.family != af)
			continue;
		addr_text(&ep->guest, addr);
		ports_text(ep, ports);
		endpoint_text(ep, what, sizeof(what));
		for (unsigned dir = FOREIGN_TO_GUEST; dir <= FOREIGN_FROM_GUEST; dir <<= 1) {
			char *body = NULL;
			bool to = dir == FOREIGN_TO_GUEST;

			if (!(needs[e] & dir))
				continue;
			if (asprintf(&body, "%s %s %s %s %s %s counter accept",
				     ep->guest.family == AF_INET ? "ip" : "ip6", to ? "daddr" : "saddr",
				     addr, proto_name(ep->proto), to ? "dport" : "sport", ports) < 0)
				body = NULL;
			snprintf(comment, sizeof(comment), FOREIGN_COMMENT_PREFIX ": %s guest %s",
				 to ? "to" : "replies from", what);
			if (!add_wanted(w, n, body, comment))
				return false;
		}
	}
	return true;
}

/*
 * nft-native tables: per family and direction one rule with an anonymous set, and only
 * for DNAT'd connections. The comment carries a hash of the rule, so a changed set is a
 * changed comment.
 */
static bool wanted_set(const struct foreign_report *r, const unsigned *needs, int table_af,
		       struct wanted **w, size_t *n)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t f = 0; f < 2; f++) {
		int af = families[f];

		if (table_af && table_af != af)
			continue;
		for (unsigned dir = FOREIGN_TO_GUEST; dir <= FOREIGN_FROM_GUEST; dir <<= 1) {
			bool to = dir == FOREIGN_TO_GUEST, first = true;
			char *body = NULL, comment[129];
			size_t size = 0;
			FILE *s = open_memstream(&body, &size);

			if (!s)
				return false;
			fprintf(s, "ct status dnat %s %s . meta l4proto . th %s { ",
				af == AF_INET ? "ip" : "ip6", to ? "daddr" : "saddr", to ? "dport" : "sport");
			for (size_t e = 0; e < r->endpoint_count; e++) {
				const struct foreign_endpoint *ep = &r->endpoints[e];
				char addr[INET6_ADDRSTRLEN], ports[12];

				if (ep->guest.family != af || !(needs[e] & dir))
					continue;
				fprintf(s, "%s%s . %s . %s", first ? "" : ", ", addr_text(&ep->guest, addr),
					proto_name(ep->proto), ports_text(ep, ports));
				first = false;
			}
			fprintf(s, " } counter accept");
			if (fclose(s) || !body) {
				free(body);
				return false;
			}
			if (first) { /* no endpoint of this family needs this direction */
				free(body);
				continue;
			}
			snprintf(comment, sizeof(comment), FOREIGN_COMMENT_PREFIX ": %s guests #%08x",
				 to ? "to" : "replies from", fnv1a(body));
			if (!add_wanted(w, n, body, comment))
				return false;
		}
	}
	return true;
}

static void free_wanted(struct wanted *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i].body);
	free(w);
}

static bool same_chain(const struct foreign_rule *o, const struct foreign_block *b)
{
	return !strcmp(o->family, b->family) && !strcmp(o->table, b->table) &&
	       !strcmp(o->chain, b->insert_chain);
}

/* Our rules already at the top of the chain, exactly these, in this order? */
static bool in_place(const struct foreign_report *r, const struct foreign_block *b,
		     const struct wanted *w, size_t n)
{
	size_t found = 0;

	for (size_t i = 0; i < r->ours_count; i++) {
		if (!same_chain(&r->ours[i], b))
			continue;
		if (found >= n || r->ours[i].position != found ||
		    strcmp(r->ours[i].comment, w[found].comment))
			return false;
		found++;
	}
	return found == n;
}

static void write_delete(const struct foreign_rule *o, FILE *out)
{
	fprintf(out, "delete rule %s %s %s handle %ld\n", o->family, o->table, o->chain, o->handle);
}

/* Blocks that share an insert chain get one list: the union of what they need. */
static size_t first_with_chain(const struct foreign_report *r, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(r->blocks[j].family, r->blocks[i].family) &&
		    !strcmp(r->blocks[j].table, r->blocks[i].table) &&
		    !strcmp(r->blocks[j].insert_chain, r->blocks[i].insert_chain))
			return j;
	return i;
}

/* The rules the insert chain of block `bi` needs: the union of what its blocks need. */
static bool chain_wanted(const struct foreign_report *r, size_t bi, struct wanted **w, size_t *n)
{
	const struct foreign_block *b = &r->blocks[bi];
	unsigned *needs = calloc(r->endpoint_count + 1, sizeof(*needs));
	int af;
	bool ok;

	*w = NULL;
	*n = 0;
	if (!needs)
		return false;
	for (size_t j = bi; j < r->count; j++)
		if (first_with_chain(r, j) == bi)
			for (size_t e = 0; e < r->endpoint_count; e++)
				needs[e] |= r->blocks[j].needs[e];
	is_family(b->family, &af);
	ok = b->iptables_owned ? wanted_plain(r, needs, af, w, n) : wanted_set(r, needs, af, w, n);
	free(needs);
	return ok;
}

bool foreign_block_in_place(const struct foreign_report *r, size_t bi, bool *in_place_out)
{
	struct wanted *w;
	size_t n;
	bool ok;

	bi = first_with_chain(r, bi);
	ok = chain_wanted(r, bi, &w, &n);
	*in_place_out = ok && in_place(r, &r->blocks[bi], w, n);
	free_wanted(w, n);
	return ok;
}

static bool render_chain(const struct foreign_report *r, size_t bi, FILE *out)
{
	const struct foreign_block *b = &r->blocks[bi];
	struct wanted *w;
	size_t n;
	bool ok = chain_wanted(r, bi, &w, &n);

	if (ok && !in_place(r, b, w, n)) {
		for (size_t j = bi; j < r->count; j++)
			if (first_with_chain(r, j) == bi)
				fprintf(out, "# %s: %s %s %s: %s\n", r->blocks[j].kind, r->blocks[j].family,
					r->blocks[j].table, r->blocks[j].base_chain, r->blocks[j].reason);
		for (size_t i = 0; i < r->ours_count; i++)
			if (same_chain(&r->ours[i], b))
				write_delete(&r->ours[i], out);
		/* each insert goes to the top: the last one first */
		for (size_t i = n; i-- > 0;)
			fprintf(out, "insert rule %s %s %s %s comment \"%s\"\n", b->family, b->table,
				b->insert_chain, w[i].body, w[i].comment);
	}
	free_wanted(w, n);
	return ok;
}

bool foreign_render_integration(const struct foreign_report *r, FILE *out)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->blocks[i].insert_chain[0] && first_with_chain(r, i) == i &&
		    !render_chain(r, i, out))
			return false;
	/* ours in chains that need nothing any more */
	for (size_t i = 0; i < r->ours_count; i++) {
		bool wanted = false;

		for (size_t j = 0; j < r->count && !wanted; j++)
			wanted = r->blocks[j].insert_chain[0] && same_chain(&r->ours[i], &r->blocks[j]);
		if (!wanted)
			write_delete(&r->ours[i], out);
	}
	return !ferror(out);
}

bool foreign_render_removal(const struct foreign_report *r, FILE *out)
{
	for (size_t i = 0; i < r->ours_count; i++)
		write_delete(&r->ours[i], out);
	return !ferror(out);
}
