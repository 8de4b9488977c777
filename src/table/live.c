/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reads libnftables' JSON listing (schema 1, nftables 1.0.6). Shapes seen there:
 *   map fwd4:     "elem": [[{"concat": ["tcp", 8080]}, {"concat": ["192.0.2.79", 80]}], ...]
 *   map fwdsrc4:  the key is {"concat": [SOURCE, "tcp", 2223]}; SOURCE is an address string
 *                 (a /32 or /128 network) or {"prefix": {"addr": "198.51.100.0", "len": 24}}
 *   set guest4:   "elem": [{"elem": {"val": {"concat": ["192.0.2.79", "tcp", 22]},
 *                                   "counter": {"packets": N, "bytes": N}}}, ...]
 *                 ("counter": null when listed stateless)
 *   comments:     a forward's name is the comment of its elements, "comment": "web" beside
 *                 "val" (in a map, in the key's {"elem": ...})
 * A hand edit can add shapes nft-portfwd never writes ({"range": [A, B]} for a source or a
 * port, for example); those are recorded as hand-made, never guessed at.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "table/live.h"
#include "table/render.h"
#include "table/schema.h"
#include "config/validate.h"

/* What is being read, for messages: "map fwdsrc4" and the element as nft listed it. */
struct where {
	const char *what, *name;
	json_t *elem;
};

/*
 * Record an element that nft-portfwd never writes and skip it: status reports it, apply
 * replaces it. EXIT_OK, or EXIT_SYSTEM when out of memory.
 */
static enum exit_code hand_made(const struct where *w, const char *problem, struct live_table *t,
				struct error *err)
{
	char *elem = json_dumps(w->elem, JSON_COMPACT | JSON_ENCODE_ANY), *line = NULL;
	char **grown = realloc(t->hand_made, (t->hand_made_count + 1) * sizeof(*grown));

	if (grown)
		t->hand_made = grown;
	if (!grown || !elem ||
	    asprintf(&line, "%s %s holds an element nft-portfwd never writes, %s: %s", w->what,
		     w->name, elem, problem) < 0) {
		free(elem);
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	free(elem);
	t->hand_made[t->hand_made_count++] = line;
	return EXIT_OK;
}

/* The items of {"concat": [...]} when there are exactly n of them. */
static json_t *concat_of(json_t *value, size_t n)
{
	json_t *items = json_object_get(value, "concat");

	return json_is_array(items) && json_array_size(items) == n ? items : NULL;
}

/*
 * An element with attached state ({"elem": {"val": V, "counter": ..., "comment": ...}}) or
 * the plain value. *counter is the attached counter, if any.
 */
static json_t *element_value(json_t *elem, json_t **counter)
{
	json_t *wrapped = json_object_get(elem, "elem");

	*counter = json_object_get(wrapped, "counter");
	return wrapped ? json_object_get(wrapped, "val") : elem;
}

/* Not a pointer to any comment: element_comment's answer for one nft-portfwd never writes. */
static const char BAD_COMMENT[] = "";

/*
 * The comment of an element, kept in `t` for the entry that names it: NULL for none,
 * BAD_COMMENT when it is not one nft-portfwd writes (names, ", " and " +N"; it is written back
 * unquoted), or when memory ran out (*failed).
 */
static const char *element_comment(json_t *elem, struct live_table *t, bool *failed)
{
	const char *comment = json_string_value(json_object_get(json_object_get(elem, "elem"),
								"comment"));
	size_t len = comment ? strlen(comment) : 0;
	char *copy;

	if (!comment)
		return NULL;
	if (len == 0 || len > ELEMENT_COMMENT_MAX ||
	    strspn(comment, FORWARD_NAME_CHARS ", +") != len)
		return BAD_COMMENT;
	if (t->comment_count == t->comment_capacity) {
		size_t capacity = t->comment_capacity ? 2 * t->comment_capacity : 64;
		char **grown = realloc(t->comments, capacity * sizeof(*grown));

		if (!grown) {
			*failed = true;
			return NULL;
		}
		t->comments = grown;
		t->comment_capacity = capacity;
	}
	if (!(copy = strdup(comment))) {
		*failed = true;
		return NULL;
	}
	return t->comments[t->comment_count++] = copy;
}

static bool get_addr(json_t *value, int family, struct addr *a)
{
	return json_is_string(value) && !parse_addr(json_string_value(value), a) &&
	       a->family == family;
}

static bool get_proto(json_t *value, enum proto *p)
{
	const char *name = json_string_value(value);

	if (!name)
		return false;
	if (strcmp(name, "tcp") == 0)
		*p = PROTO_TCP;
	else if (strcmp(name, "udp") == 0)
		*p = PROTO_UDP;
	else
		return false;
	return true;
}

static bool get_port(json_t *value, uint16_t *port)
{
	json_int_t n = json_integer_value(value);

	if (!json_is_integer(value) || n < 0 || n > 65535)
		return false;
	*port = (uint16_t)n;
	return true;
}

static bool get_count(json_t *counter, const char *key, uint64_t *n)
{
	json_t *value = json_object_get(counter, key);

	if (!json_is_integer(value) || json_integer_value(value) < 0)
		return false;
	*n = (uint64_t)json_integer_value(value);
	return true;
}

/* An address (one host) or {"prefix": {"addr": A, "len": N}}. */
static bool get_source(json_t *value, int family, struct prefix *p)
{
	unsigned max_len = family == AF_INET ? 32 : 128;
	json_t *prefix = json_object_get(value, "prefix");
	json_t *len = json_object_get(prefix, "len");

	if (!prefix) {
		p->len = (uint8_t)max_len;
		return get_addr(value, family, &p->addr);
	}
	if (!json_is_integer(len) || json_integer_value(len) < 0 ||
	    json_integer_value(len) > (json_int_t)max_len)
		return false;
	p->len = (uint8_t)json_integer_value(len);
	return get_addr(json_object_get(prefix, "addr"), family, &p->addr);
}

/* One element of fwdN or fwdsrcN: [KEY, VALUE]. */
static enum exit_code read_map_element(const struct where *w, int family, bool with_source,
				       struct live_table *t, struct error *err)
{
	struct entry *e = &t->entries.items[t->entries.count];
	size_t at = with_source; /* protocol and port follow the client network */
	json_t *counter, *key, *value, *k;
	bool failed = false;

	if (!json_is_array(w->elem) || json_array_size(w->elem) != 2)
		return hand_made(w, "expected [KEY, VALUE]", t, err);
	key = element_value(json_array_get(w->elem, 0), &counter);
	value = concat_of(json_array_get(w->elem, 1), 2);
	k = concat_of(key, with_source ? 3 : 2);
	*e = (struct entry){ .family = family, .forward = SIZE_MAX };
	if (!k)
		return hand_made(w, with_source ? "the key is not client network . protocol . port"
					      : "the key is not protocol . port",
			       t, err);
	if (with_source) {
		struct prefix *p = &t->sources[e - t->entries.items];

		if (!get_source(json_array_get(k, 0), family, p))
			return hand_made(w, "the client network is not one address or prefix of the "
					  "map's family", t, err);
		e->source = p;
	}
	if (!get_proto(json_array_get(k, at), &e->proto))
		return hand_made(w, "the protocol is not tcp or udp", t, err);
	if (!get_port(json_array_get(k, at + 1), &e->host_port))
		return hand_made(w, "the host port is not one port", t, err);
	if (!value || !get_addr(json_array_get(value, 0), family, &e->guest) ||
	    !get_port(json_array_get(value, 1), &e->guest_port))
		return hand_made(w, "the value is not guest address . port", t, err);
	e->name = element_comment(json_array_get(w->elem, 0), t, &failed);
	if (failed)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	if (e->name == BAD_COMMENT)
		return hand_made(w, "its comment is not a forward's name", t, err);
	t->entries.count++;
	return EXIT_OK;
}

/*
 * One element of guestN or masqN: address . protocol . port, recorded as an endpoint (an
 * entry with only family, guest and guest port), and for guestN its counter when asked.
 */
static enum exit_code read_endpoint_element(const struct where *w, int family, bool guest_set,
					    bool with_counters, struct live_table *t,
					    struct error *err)
{
	struct endpoint_stats s = { 0 };
	json_t *counter, *k = concat_of(element_value(w->elem, &counter), 3);
	struct entry_list *list = guest_set ? &t->guests : &t->masqueraded;
	bool failed = false;
	const char *name;

	if (!k || !get_addr(json_array_get(k, 0), family, &s.guest) ||
	    !get_proto(json_array_get(k, 1), &s.proto) || !get_port(json_array_get(k, 2), &s.port))
		return hand_made(w, "it is not guest address . protocol . port", t, err);
	if (guest_set && with_counters &&
	    (!get_count(counter, "packets", &s.packets) || !get_count(counter, "bytes", &s.bytes)))
		return hand_made(w, "it has no counter", t, err);
	name = element_comment(w->elem, t, &failed);
	if (failed)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	if (name == BAD_COMMENT)
		return hand_made(w, "its comment is not the names of forwards", t, err);
	list->items[list->count++] = (struct entry){ .family = family, .proto = s.proto,
						     .guest = s.guest, .guest_port = s.port,
						     .name = name, .forward = SIZE_MAX };
	if (guest_set && with_counters)
		t->stats[t->stats_count++] = s;
	return EXIT_OK;
}

/* One element of fwdtcpN or fwdudpN: a host port, with its counter when asked. */
static enum exit_code read_port_element(const struct where *w, int family, enum proto proto,
					bool with_counters, struct live_table *t, struct error *err)
{
	struct port_stats s = { .family = family, .proto = proto };
	json_t *counter;

	if (!get_port(element_value(w->elem, &counter), &s.port))
		return hand_made(w, "it is not one port", t, err);
	if (with_counters &&
	    (!get_count(counter, "packets", &s.packets) || !get_count(counter, "bytes", &s.bytes)))
		return hand_made(w, "it has no counter", t, err);
	if (with_counters)
		t->port_stats[t->port_stats_count++] = s;
	t->ports.items[t->ports.count++] = (struct entry){ .family = family, .proto = proto,
							   .host_port = s.port, .forward = SIZE_MAX };
	return EXIT_OK;
}

/* One element of hostN: an address of the host (host-ip, public-ip). */
static enum exit_code read_host_element(const struct where *w, int family, struct live_table *t,
					struct error *err)
{
	json_t *counter;

	if (!get_addr(element_value(w->elem, &counter), family, &t->hosts.items[t->hosts.count]))
		return hand_made(w, "it is not one address of the set's family", t, err);
	t->hosts.count++;
	return EXIT_OK;
}

bool live_hosts_are(const struct live_table *t, const struct model *m)
{
	const struct addr_list *configured[] = { &m->host_ips, &m->public_ips }, *live[] = { &t->hosts };
	size_t n_configured = 0, n_live = 0;
	/* as sets, sorted: a table may hold 100,000 host addresses */
	struct addr *want = addr_lists_sorted(configured, 2, &n_configured);
	struct addr *have = addr_lists_sorted(live, 1, &n_live);
	bool same = want && have && n_configured == n_live;

	for (size_t i = 0; same && i < n_live; i++)
		same = !addr_cmp(&want[i], &have[i]);
	free(want);
	free(have);
	return same;
}

/* The set or map object of a list entry ({"set": {...}} or {"map": {...}}), if it is one. */
static json_t *set_of(json_t *item, const char **what)
{
	json_t *set = json_object_get(item, *what = "map");

	return set ? set : json_object_get(item, *what = "set");
}

/* Which set of the schema a listed set or map is, when its elements are read back; NULL for
 * the others (hairpinN, the limits' sets). */
static const struct set_schema *known_set(json_t *set)
{
	const struct set_schema *s = schema_set_named(json_string_value(json_object_get(set, "name")));

	return s && s->kind != SET_HAIRPIN ? s : NULL;
}

/* Never NULL, even when empty, so callers can hand them to memcpy and qsort. */
static enum exit_code alloc_arrays(struct live_table *t, size_t n_entries, size_t n_guests,
				   size_t n_masqueraded, size_t n_hosts, size_t n_ports,
				   struct error *err)
{
	t->port_stats = calloc(n_ports + 1, sizeof(*t->port_stats));
	t->ports.items = calloc(n_ports + 1, sizeof(*t->ports.items));
	t->hosts.items = calloc(n_hosts + 1, sizeof(*t->hosts.items));
	t->entries.items = calloc(n_entries + 1, sizeof(*t->entries.items));
	/* Indexed like the entries, so that each source map element has its slot. */
	t->sources = calloc(n_entries + 1, sizeof(*t->sources));
	t->stats = calloc(n_guests + 1, sizeof(*t->stats));
	t->guests.items = calloc(n_guests + 1, sizeof(*t->guests.items));
	t->masqueraded.items = calloc(n_masqueraded + 1, sizeof(*t->masqueraded.items));
	if (!t->entries.items || !t->sources || !t->stats || !t->guests.items ||
	    !t->masqueraded.items || !t->hosts.items || !t->port_stats || !t->ports.items) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

static enum exit_code read_elements(json_t *list, bool with_counters, struct live_table *t,
				    struct error *err)
{
	size_t n_entries = 0, n_guests = 0, n_masqueraded = 0, n_hosts = 0, n_ports = 0, i, j;
	json_t *item;
	enum exit_code rc = EXIT_OK;

	/* Size the arrays first: entries point into `sources`, which must never move. */
	json_array_foreach(list, i, item) {
		const char *what;
		json_t *set = set_of(item, &what);
		const struct set_schema *known = known_set(set);
		size_t n = json_array_size(json_object_get(set, "elem"));

		if (!known)
			continue;
		if (known->kind == SET_GUEST)
			n_guests += n;
		else if (known->kind == SET_MASQ)
			n_masqueraded += n;
		else if (known->kind == SET_HOST)
			n_hosts += n;
		else if (known->kind == SET_TCP_PORT || known->kind == SET_UDP_PORT)
			n_ports += n;
		else
			n_entries += n;
	}
	rc = alloc_arrays(t, n_entries, n_guests, n_masqueraded, n_hosts, n_ports, err);
	if (rc != EXIT_OK)
		return rc;

	json_array_foreach(list, i, item) {
		struct where w;
		json_t *set = set_of(item, &w.what);
		const struct set_schema *known = known_set(set);
		json_t *elems = json_object_get(set, "elem");

		if (!known)
			continue;
		w.name = known->name;
		if (elems && !json_is_array(elems)) {
			w.elem = elems;
			rc = hand_made(&w, "expected a list of elements", t, err);
		}
		for (j = 0; rc == EXIT_OK && j < json_array_size(elems); j++) {
			w.elem = json_array_get(elems, j);
			if (known->kind == SET_HOST)
				rc = read_host_element(&w, known->family, t, err);
			else if (known->kind == SET_TCP_PORT || known->kind == SET_UDP_PORT)
				rc = read_port_element(&w, known->family,
						       known->kind == SET_TCP_PORT ? PROTO_TCP : PROTO_UDP,
						       with_counters, t, err);
			else if (known->kind == SET_GUEST || known->kind == SET_MASQ)
				rc = read_endpoint_element(&w, known->family, known->kind == SET_GUEST,
							   with_counters, t, err);
			else
				rc = read_map_element(&w, known->family, known->kind == SET_SOURCE_MAP,
						      t, err);
		}
		if (rc != EXIT_OK)
			return rc;
	}
	return EXIT_OK;
}

/* The table's named counters (one per limited forward: its drops), by name. */
static enum exit_code read_named_counters(json_t *list, struct live_table *t, struct error *err)
{
	size_t i, n = 0;
	json_t *item;

	json_array_foreach(list, i, item)
		n += json_object_get(item, "counter") != NULL;
	if (!(t->counters = calloc(n + 1, sizeof(*t->counters)))) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	json_array_foreach(list, i, item) {
		json_t *counter = json_object_get(item, "counter");
		const char *name = json_string_value(json_object_get(counter, "name"));
		struct named_counter *c = &t->counters[t->counter_count];

		if (!name || strlen(name) >= sizeof(c->name) ||
		    !get_count(counter, "packets", &c->packets))
			continue;
		snprintf(c->name, sizeof(c->name), "%s", name);
		t->counter_count++;
	}
	return EXIT_OK;
}

bool live_counter(const struct live_table *t, const char *name, uint64_t *packets)
{
	for (size_t i = 0; i < t->counter_count; i++)
		if (strcmp(t->counters[i].name, name) == 0) {
			*packets = t->counters[i].packets;
			return true;
		}
	return false;
}

/*
 * Remove what changes without the table changing: handles (new on every apply) and counter
 * values. A counter read with counters ({"packets": N, "bytes": N}) becomes null, as a
 * stateless listing prints it, so both reads give the same canonical form.
 */
static void strip_volatile(json_t *value)
{
	const char *key;
	json_t *child;
	size_t i;
	void *tmp;

	if (json_is_array(value)) {
		json_array_foreach(value, i, child)
			strip_volatile(child);
		return;
	}
	json_object_del(value, "handle");
	json_object_foreach_safe(value, tmp, key, child) {
		if (strcmp(key, "counter") == 0 && json_object_size(child) == 2 &&
		    json_object_get(child, "packets") && json_object_get(child, "bytes")) {
			json_object_set_new(value, key, json_null());
		} else if (strcmp(key, "counter") == 0 && json_object_get(child, "name")) {
			/* a named counter (a limit's drops): its values are not structure */
			json_object_del(child, "packets");
			json_object_del(child, "bytes");
			json_object_del(child, "handle");
		} else {
			strip_volatile(child);
		}
	}
}

/*
 * The table's structure: the listing without metainfo (it names the nft version, not the
 * table) and without any set or map elements, then stripped. Elements are compared as
 * entries (live_table.entries), so the canonical form can come from a terse listing, which
 * costs a fraction of a full one for a table with 10,000 forwards.
 */
static char *canonical_form(json_t *list)
{
	size_t i = 0;
	json_t *wrapper;
	char *text;

	while (i < json_array_size(list)) {
		json_t *item = json_array_get(list, i);
		const char *what;
		json_t *set = set_of(item, &what);

		if (json_object_get(item, "metainfo")) {
			json_array_remove(list, i);
			continue;
		}
		if (set)
			json_object_del(set, "elem");
		i++;
	}
	strip_volatile(list);
	wrapper = json_pack("{s:O}", "nftables", list);
	text = wrapper ? json_dumps(wrapper, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	json_decref(wrapper);
	return text;
}

/* Fill `t` from the JSON list of our table's objects (NULL: there is no table). */
static enum exit_code parse(json_t *list, bool with_counters, struct live_table *t,
			    struct error *err)
{
	enum exit_code rc;

	*t = (struct live_table){ .present = list != NULL };
	if (!list) {
		rc = alloc_arrays(t, 0, 0, 0, 0, 0, err);
		if (rc == EXIT_OK && !(t->canonical = strdup(""))) {
			error_set(err, "out of memory");
			rc = EXIT_SYSTEM;
		}
	} else {
		/* Elements and counters first: the canonical form drops them. */
		rc = read_elements(list, with_counters, t, err);
		if (rc == EXIT_OK && with_counters)
			rc = read_named_counters(list, t, err);
		if (rc == EXIT_OK && !(t->canonical = canonical_form(list))) {
			error_set(err, "out of memory");
			rc = EXIT_SYSTEM;
		}
	}
	if (rc != EXIT_OK)
		live_free(t);
	return rc;
}

static json_t *load_list(const char *text, const char *what, struct error *err)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *list = json_object_get(root, "nftables");

	if (!json_is_array(list)) {
		error_set(err, "libnftables listed %s as invalid JSON (%s); " INVALID_JSON_HINT, what,
			  root ? "no \"nftables\" list" : jerr.text);
		json_decref(root);
		return NULL;
	}
	json_incref(list);
	json_decref(root);
	return list;
}

/* Our table listed as `what` asks, and parsed. */
static enum exit_code read_listed(struct kernel *k, enum list_what what, struct live_table *t,
				  struct error *err)
{
	char *text = NULL;
	json_t *list = NULL;
	enum exit_code rc = kernel_list_table_json(k, TABLE_FAMILY, TABLE_NAME, what, &text, err);

	*t = (struct live_table){ 0 };
	if (rc != EXIT_OK)
		return rc;
	if (text && !(list = load_list(text, "table " TABLE_FAMILY " " TABLE_NAME, err))) {
		free(text);
		return EXIT_KERNEL;
	}
	free(text);
	rc = parse(list, what == LIST_COUNTERS, t, err);
	json_decref(list);
	return rc;
}

enum exit_code live_read_table(struct kernel *k, bool with_counters, struct live_table *t,
			       struct error *err)
{
	return read_listed(k, with_counters ? LIST_COUNTERS : LIST_ELEMENTS, t, err);
}

enum exit_code live_read_structure(struct kernel *k, struct live_table *t, struct error *err)
{
	return read_listed(k, LIST_TERSE, t, err);
}

/* Is this object of a ruleset listing part of table inet portfwd? */
static bool ours(json_t *item)
{
	const char *key;
	json_t *obj;

	json_object_foreach(item, key, obj) {
		const char *family = json_string_value(json_object_get(obj, "family"));
		const char *table = json_string_value(json_object_get(obj, strcmp(key, "table") == 0
										   ? "name" : "table"));

		return family && table && strcmp(family, TABLE_FAMILY) == 0 &&
		       strcmp(table, TABLE_NAME) == 0;
	}
	return false;
}

enum exit_code live_from_items(const json_t *all, bool with_counters, struct live_table *t,
			       struct error *err)
{
	json_t *list = json_array(), *item;
	bool present = false;
	size_t i;
	enum exit_code rc;

	*t = (struct live_table){ 0 };
	if (!list)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	json_array_foreach(all, i, item) {
		if (!ours(item))
			continue;
		present |= json_object_get(item, "table") != NULL;
		json_array_append(list, item);
	}
	rc = parse(present ? list : NULL, with_counters, t, err);
	json_decref(list);
	return rc;
}

void live_free(struct live_table *t)
{
	for (size_t i = 0; i < t->hand_made_count; i++)
		free(t->hand_made[i]);
	free(t->hand_made);
	entries_free(&t->entries);
	entries_free(&t->guests);
	entries_free(&t->masqueraded);
	entries_free(&t->ports);
	free(t->hosts.items);
	free(t->sources);
	free(t->stats);
	free(t->port_stats);
	free(t->canonical);
	free(t->counters);
	for (size_t i = 0; i < t->comment_count; i++)
		free(t->comments[i]);
	free(t->comments);
	*t = (struct live_table){ 0 };
}
