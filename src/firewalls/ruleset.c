/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firewalls/accept.h"
#include "util/hash.h"
#include "config/model.h"
#include "firewalls/ruleset.h"
#include "config/validate.h"

/* ---------------------------------------------------------------- memory */
/* The compiled rules are many small pieces with one lifetime: one arena, freed at once. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};


static void *arena_alloc(struct chunk **head, size_t n)
{
	void *p;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!*head || (*head)->size - (*head)->used < n) {
		size_t size = n > 65536 ? n : 65536;
		struct chunk *c = malloc(sizeof(*c) + size);

		if (!c)
			return NULL;
		*c = (struct chunk){ .next = *head, .size = size };
		*head = c;
	}
	p = (char *)(*head)->data + (*head)->used;
	(*head)->used += n;
	return memset(p, 0, n);
}

static void arena_free(struct chunk **head)
{
	while (*head) {
		struct chunk *next = (*head)->next;

		free(*head);
		*head = next;
	}
}

/* `items` with room for one more, or NULL when out of memory (`items` is still valid). */
void *room_for_one(void *items, size_t count, size_t *cap, size_t size)
{
	void *grown;

	if (count < *cap)
		return items;
	grown = realloc(items, (*cap ? *cap * 2 : 16) * size);
	if (grown)
		*cap = *cap ? *cap * 2 : 16;
	return grown;
}

void ruleset_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->ntables; i++) {
		free(rs->tables[i].sets);
		free(rs->tables[i].names);
		free(rs->tables[i].names_index);
		free(rs->tables[i].links);
	}
	for (size_t i = 0; i < rs->nchains; i++)
		free(rs->chains[i].rules);
	free(rs->tables);
	free(rs->chains);
	free(rs->index);
	free(rs->ours);
	arena_free(&rs->arena);
}

/*
 * Tables and chains by name: one open-addressing index of both (a chain's key includes its
 * table), so that a listing of thousands of chains compiles in time linear in its size.
 */
static uint64_t name_key(const struct name *n)
{
	return fnv1a(n->s, n->len, FNV_OFFSET ^ n->wildcard);
}

static uint64_t table_key(const char *family, const char *name)
{
	return fnv1a(name, strlen(name), fnv1a(family, strlen(family), FNV_OFFSET) * 31);
}

static uint64_t chain_key(size_t table, const char *name)
{
	return fnv1a(name, strlen(name), (FNV_OFFSET ^ table) * 0x9e3779b97f4a7c15ull + 1);
}

/* Slot values: 0 empty, else (index + 1) << 1 | is_chain. */
static bool slot_is(const struct ruleset *rs, size_t v, bool chain, const char *a, size_t table,
		    const char *name)
{
	size_t i = (v >> 1) - 1;

	if ((v & 1) != chain)
		return false;
	if (chain)
		return rs->chains[i].table == table && !strcmp(rs->chains[i].name, name);
	return !strcmp(rs->tables[i].family, a) && !strcmp(rs->tables[i].name, name);
}

static size_t lookup(const struct ruleset *rs, uint64_t key, bool chain, const char *family,
		     size_t table, const char *name)
{
	if (!rs->index_cap)
		return SIZE_MAX;
	for (size_t i = key & (rs->index_cap - 1); rs->index[i]; i = (i + 1) & (rs->index_cap - 1))
		if (slot_is(rs, rs->index[i], chain, family, table, name))
			return (rs->index[i] >> 1) - 1;
	return SIZE_MAX;
}

static uint64_t key_of(const struct ruleset *rs, size_t v)
{
	size_t i = (v >> 1) - 1;

	return v & 1 ? chain_key(rs->chains[i].table, rs->chains[i].name)
		     : table_key(rs->tables[i].family, rs->tables[i].name);
}

/* Index table or chain `i`; false when out of memory. */
static bool index_add(struct ruleset *rs, size_t i, bool chain)
{
	size_t v = (i + 1) << 1 | chain, at;

	if ((rs->ntables + rs->nchains) * 2 > rs->index_cap) {
		size_t cap = rs->index_cap ? rs->index_cap * 2 : 256, *old = rs->index;
		size_t old_cap = rs->index_cap;

		if (!(rs->index = calloc(cap, sizeof(*rs->index)))) {
			rs->index = old;
			return false;
		}
		rs->index_cap = cap;
		for (size_t j = 0; j < old_cap; j++)
			if (old[j]) {
				for (at = key_of(rs, old[j]) & (cap - 1); rs->index[at]; at = (at + 1) & (cap - 1))
					;
				rs->index[at] = old[j];
			}
		free(old);
	}
	for (at = key_of(rs, v) & (rs->index_cap - 1); rs->index[at]; at = (at + 1) & (rs->index_cap - 1))
		;
	rs->index[at] = v;
	return true;
}

static size_t find_table(const struct ruleset *rs, const char *family, const char *name)
{
	return lookup(rs, table_key(family, name), false, family, 0, name);
}

size_t ruleset_find_chain(const struct ruleset *rs, size_t table, const char *name)
{
	return lookup(rs, chain_key(table, name), true, NULL, table, name);
}

/* ---------------------------------------------------------------- reading the JSON */

const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Statements and listing items are objects with one key: {"match": {...}}. */
const char *json_kind(const json_t *obj, const json_t **value)
{
	void *it = json_is_object(obj) ? json_object_iter((json_t *)obj) : NULL;

	*value = it ? json_object_iter_value(it) : NULL;
	return it ? json_object_iter_key(it) : "";
}

/* Set elements with a counter or comment come wrapped: {"elem": {"val": X, ...}}. */
const json_t *json_unwrap(const json_t *v)
{
	const json_t *elem = json_object_get(v, "elem");

	return elem ? json_object_get(elem, "val") : v;
}

bool family_af(const char *family, int *af)
{
	*af = !strcmp(family, "ip") ? AF_INET : !strcmp(family, "ip6") ? AF_INET6 : 0;
	return *af || !strcmp(family, "inet");
}

/*
 * Remember an interface name for the walk, which tries each named interface (and one no
 * rule names) as the packet's input and output. A wildcard stands for some interface
 * with that prefix.
 */
size_t ruleset_find_name(const struct table *t, const char *s, size_t len)
{
	const struct name n = { s, len, false };

	if (!t->names_index_cap)
		return SIZE_MAX;
	for (size_t at = name_key(&n) & (t->names_index_cap - 1); t->names_index[at];
	     at = (at + 1) & (t->names_index_cap - 1)) {
		const struct name *m = &t->names[t->names_index[at] - 1];

		if (!m->wildcard && m->len == len && !memcmp(m->s, s, len))
			return t->names_index[at] - 1;
	}
	return SIZE_MAX;
}

static bool add_name(struct table *t, struct name n, size_t *index)
{
	struct name *names;
	size_t at;

	/* indexed by hash: a table may compare tens of thousands of interface names */
	if (t->nnames * 2 >= t->names_index_cap) {
		size_t cap = t->names_index_cap ? t->names_index_cap * 2 : 64;
		size_t *grown = calloc(cap, sizeof(*grown));

		if (!grown)
			return false;
		for (size_t i = 0; i < t->nnames; i++) {
			for (at = name_key(&t->names[i]) & (cap - 1); grown[at]; at = (at + 1) & (cap - 1))
				;
			grown[at] = i + 1;
		}
		free(t->names_index);
		t->names_index = grown;
		t->names_index_cap = cap;
	}
	for (at = name_key(&n) & (t->names_index_cap - 1); t->names_index[at];
	     at = (at + 1) & (t->names_index_cap - 1)) {
		const struct name *m = &t->names[t->names_index[at] - 1];

		if (m->len == n.len && m->wildcard == n.wildcard && !memcmp(m->s, n.s, n.len)) {
			*index = t->names_index[at] - 1;
			return true;
		}
	}
	names = room_for_one(t->names, t->nnames, &t->names_cap, sizeof(*names));
	if (!names)
		return false;
	t->names = names;
	*index = t->nnames;
	t->names[t->nnames++] = n;
	t->names_index[at] = t->nnames;
	return true;
}

struct key ruleset_key_of(const json_t *left)
{
	const char *what;
	const json_t *v;

	what = json_kind(left, &v);
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

static const struct flag ct_statuses[] = {
	{ "expected", 1 << 0 }, { "seen-reply", 1 << 1 }, { "assured", 1 << 2 },
	{ "confirmed", 1 << 3 }, { "snat", 1 << 4 }, { "dnat", 1 << 5 }, { "dying", 1 << 9 },
};

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
		*p = (struct pat){ .kind = PAT_NAME };
		return add_name(t, (struct name){ s, len - wildcard, wildcard }, &p->name);
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
	for (size_t k = 0; k < m->nkeys; k++) {
		m->keys[k] = ruleset_key_of(concat ? json_array_get(concat, k) : left);
		m->iface |= m->keys[k].kind == KEY_IIF || m->keys[k].kind == KEY_OIF;
	}

	if (!strcmp(op, "!=")) {
		m->negate = true;
	} else if (strcmp(op, "==") && strcmp(op, "in")) {
		/* <, >, <=, >= on one number: a range */
		bool lt, eq;
		struct pat bound;

		if (!op[0] || !strchr("<>", op[0]) || (op[1] && strcmp(op + 1, "=")) ||
		    m->nkeys != 1 || many || !pat_of(t, m->keys[0].kind, elements, &bound) ||
		    bound.kind != PAT_NUM) {
			m->unknown = true;
			return true;
		}
		lt = op[0] == '<';
		eq = op[1] == '=';
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
		const json_t *v = json_unwrap(many ? json_array_get(elements, e) : elements);
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
	const char *what = json_kind(stmt, &v);

	if (!strcmp(what, "accept"))
		return V_ACCEPT;
	if (!strcmp(what, "drop") || !strcmp(what, "queue"))
		return V_DROP;
	if (!strcmp(what, "reject"))
		return V_REJECT;
	if (!strcmp(what, "return"))
		return V_RETURN;
	if (!strcmp(what, "jump") || !strcmp(what, "goto")) {
		*target = ruleset_find_chain(rs, table, jstr(v, "target") ? jstr(v, "target") : "");
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
	c->rules[c->nrules] = *r;
	c->rules[c->nrules].first = !c->nrules || c->rules[c->nrules - 1].listed != r->listed;
	c->nrules++;
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
			if (!dev || !net || t->names[dev->name].wildcard || !net->len)
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
			  .listed = c->listed - 1, .expr = expr };

	r.conds = arena_alloc(&rs->arena, (n + 1) * sizeof(*r.conds));
	if (!r.conds)
		return false;
	for (size_t i = 0; i < n; i++) {
		const json_t *stmt = json_array_get(expr, i), *v;
		const char *what = json_kind(stmt, &v);

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

static bool add_ours(struct ruleset *rs, const json_t *obj, size_t position, bool legacy)
{
	struct foreign_rule *o = room_for_one(rs->ours, rs->nours, &rs->ours_cap, sizeof(*o));

	if (!o)
		return false;
	rs->ours = o;
	o = &rs->ours[rs->nours++];
	*o = (struct foreign_rule){ .handle = (long)json_integer_value(json_object_get(obj, "handle")),
				    .position = position, .legacy = legacy };
	snprintf(o->family, sizeof(o->family), "%s", jstr(obj, "family"));
	snprintf(o->table, sizeof(o->table), "%s", jstr(obj, "table"));
	snprintf(o->chain, sizeof(o->chain), "%s", jstr(obj, "chain"));
	snprintf(o->comment, sizeof(o->comment), "%s", jstr(obj, "comment"));
	return true;
}

/* Tables, chains and sets first (jumps and @names refer to them), then the rules. */
bool ruleset_load(struct ruleset *rs, const json_t *items, struct error *err)
{
	size_t n = json_array_size(items), last = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		const json_t *v;
		const char *what = json_kind(json_array_get(items, i), &v);
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
			/* a name listed twice (not from the kernel): the first is the one found */
			if (find_table(rs, family, name) != SIZE_MAX)
				continue;
			rs->tables[rs->ntables++] = (struct table){
				.family = family, .name = name,
				.is_our_table = !strcmp(family, TABLE_FAMILY) && !strcmp(name, TABLE_NAME),
			};
			if (!index_add(rs, rs->ntables - 1, false))
				goto oom;
			continue;
		}
		t = find_table(rs, family, jstr(v, "table") ? jstr(v, "table") : "");
		if (t == SIZE_MAX || rs->tables[t].is_our_table)
			continue;
		if (!strcmp(what, "chain")) {
			const char *hook = jstr(v, "hook"), *policy = jstr(v, "policy");
			struct chain *chains = room_for_one(rs->chains, rs->nchains, &rs->chains_cap,
							    sizeof(*chains));
			int af;

			if (!chains)
				goto oom;
			rs->chains = chains;
			if (ruleset_find_chain(rs, t, name) != SIZE_MAX)
				continue;
			rs->chains[rs->nchains++] = (struct chain){
				.name = name, .table = t,
				.forward_base = hook && !strcmp(hook, "forward") && family_af(family, &af),
				.policy_drop = policy && !strcmp(policy, "drop"),
				.prio = (long)json_integer_value(json_object_get(v, "prio")),
			};
			if (!index_add(rs, rs->nchains - 1, true))
				goto oom;
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
		const char *what = json_kind(json_array_get(items, i), &v);
		const char *family = jstr(v, "family"), *table = jstr(v, "table");
		const char *chain = jstr(v, "chain"), *comment = jstr(v, "comment");
		enum accept_owner ours;
		size_t t;

		if (strcmp(what, "rule") || !family || !table || !chain)
			continue;
		if (last == SIZE_MAX || strcmp(rs->chains[last].name, chain) ||
		    strcmp(rs->tables[rs->chains[last].table].name, table) ||
		    strcmp(rs->tables[rs->chains[last].table].family, family)) {
			t = find_table(rs, family, table);
			last = t == SIZE_MAX ? SIZE_MAX : ruleset_find_chain(rs, t, chain);
		}
		if (last == SIZE_MAX)
			continue; /* our own table's, or a listing we do not understand */
		if (comment && (ours = accept_recognise(comment, json_object_get(v, "expr"))) != ACCEPT_NOT_OURS) {
			if (!add_ours(rs, v, rs->chains[last].listed++, ours == ACCEPT_LEGACY))
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

