/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live table in two reads. Its structure (chains, rules, set and map definitions) comes
 * from a terse JSON listing through libnftables, which is cheap and canonical. Its elements
 * and counters come straight over netlink (sys/netlink.h): the JSON listing of 10,000
 * forwards' elements costs libnftables 30 times what the kernel's dump does.
 *
 * An element is raw registers, each field of a concatenation padded to 4 bytes:
 *   map fwd4:     key tcp . 8080 (proto, port), value 192.0.2.79 . 80 (address, port)
 *   map fwdsrc4:  key 198.51.100.0 . tcp . 2223 to key_end 198.51.100.255 . tcp . 2223 (an
 *                 interval: the client network is the prefix it spans)
 *   set guest4:   192.0.2.79 . tcp . 22, with its counter
 *   set fwdtcp4:  8080 (2 bytes), with its counter
 *   comments:     a forward's name is the comment of its elements
 * A hand edit can add elements nft-portfwd never writes (a range of clients that is not a
 * prefix, a range of ports, another protocol): those are recorded as hand-made, never
 * guessed at.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "table/live.h"
#include "table/render.h"
#include "table/schema.h"
#include "config/validate.h"
#include "sys/events.h"
#include "sys/netlink.h"
#include "util/text.h"

#define REGISTER 4u /* each field of a concatenation takes a multiple of 4 bytes */

/* Reading one table's elements: where they go, and how full each array is. */
struct reader {
	struct live_table *t;
	bool with_counters;
	const struct set_schema *set;
	size_t entry_capacity, source_capacity, guest_capacity, masq_capacity, stats_capacity,
		port_capacity, port_stats_capacity, host_capacity, counter_capacity;
	/* the entries of maps fwdsrc4 and fwdsrc6, whose sources are pointed to at the end */
	size_t source_from[2], source_to[2], source_maps;
	struct error *err;
	enum exit_code rc;
};

/* Room for one more item in an array that grows by doubling; false when memory ran out. */
static bool room(void **items, size_t count, size_t *capacity, size_t size)
{
	size_t grown = *capacity ? 2 * *capacity : 64;
	void *moved;

	if (count < *capacity)
		return true;
	if (!(moved = realloc(*items, grown * size)))
		return false;
	*items = moved;
	*capacity = grown;
	return true;
}

static size_t addr_size(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void read_addr(const uint8_t *bytes, int family, struct addr *a)
{
	*a = (struct addr){ .family = family };
	memcpy(family == AF_INET ? (void *)&a->v4 : (void *)&a->v6, bytes, addr_size(family));
}

static uint16_t read_port(const uint8_t *bytes)
{
	return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

static bool read_proto(const uint8_t *bytes, enum proto *p)
{
	if (bytes[0] == IPPROTO_TCP)
		*p = PROTO_TCP;
	else if (bytes[0] == IPPROTO_UDP)
		*p = PROTO_UDP;
	else
		return false;
	return true;
}

/* The fields of a key or value, in the order of the set's type. */
enum field { FIELD_ADDR, FIELD_PROTO, FIELD_PORT };

struct layout {
	enum field fields[3];
	size_t count;
};

/* What a set's keys and a map's values hold, by kind. */
static void layouts_of(enum set_kind kind, struct layout *key, struct layout *value)
{
	*value = (struct layout){ 0 };
	switch (kind) {
	case SET_OPEN_MAP:
		*key = (struct layout){ { FIELD_PROTO, FIELD_PORT }, 2 };
		*value = (struct layout){ { FIELD_ADDR, FIELD_PORT }, 2 };
		break;
	case SET_SOURCE_MAP:
		*key = (struct layout){ { FIELD_ADDR, FIELD_PROTO, FIELD_PORT }, 3 };
		*value = (struct layout){ { FIELD_ADDR, FIELD_PORT }, 2 };
		break;
	case SET_GUEST:
	case SET_MASQ:
		*key = (struct layout){ { FIELD_ADDR, FIELD_PROTO, FIELD_PORT }, 3 };
		break;
	case SET_TCP_PORT:
	case SET_UDP_PORT:
		*key = (struct layout){ { FIELD_PORT }, 1 };
		break;
	case SET_HOST:
	case SET_HAIRPIN:
		*key = (struct layout){ { FIELD_ADDR }, 1 };
		break;
	}
}

/* The bytes a field takes in the registers (a port alone is its 2 bytes). */
static size_t field_size(enum field f, int family, size_t fields)
{
	if (f == FIELD_ADDR)
		return addr_size(family);
	return fields == 1 ? 2 : REGISTER;
}

/* Do `len` bytes hold exactly the fields of `l`? Each field's offset in *at. */
static bool fits(const struct layout *l, int family, uint32_t len, size_t at[3])
{
	size_t offset = 0;

	for (size_t i = 0; i < l->count; i++) {
		at[i] = offset;
		offset += field_size(l->fields[i], family, l->count);
	}
	/* a lone port may come padded */
	return len == offset || (l->count == 1 && l->fields[0] == FIELD_PORT && len == REGISTER);
}

/* One field as nft writes it ("192.0.2.7", "tcp", "8080"; another protocol as a number). */
static void field_text(enum field f, const uint8_t *bytes, int family, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	struct addr a;
	enum proto p;

	if (f == FIELD_ADDR) {
		read_addr(bytes, family, &a);
		snprintf(buf, size, "%s", addr_text(&a, text));
	} else if (f == FIELD_PROTO) {
		if (read_proto(bytes, &p))
			snprintf(buf, size, "%s", proto_name(p));
		else
			snprintf(buf, size, "%u", bytes[0]);
	} else {
		snprintf(buf, size, "%u", read_port(bytes));
	}
}

/*
 * Registers as nft writes them: "A . B . C", a field that key_end ends elsewhere as "A-B".
 * Bytes that fit no layout are shown in hex.
 */
static void fields_text(const struct layout *l, int family, const uint8_t *bytes,
			uint32_t len, const uint8_t *end, uint32_t end_len, struct text *out)
{
	size_t at[3];

	if (!fits(l, family, len, at) || (end && end_len != len)) {
		text_puts(out, "0x");
		for (uint32_t i = 0; i < len; i++)
			text_printf(out, "%02x", bytes[i]);
		return;
	}
	for (size_t i = 0; i < l->count; i++) {
		char from[64], to[64];
		size_t size = field_size(l->fields[i], family, l->count);

		field_text(l->fields[i], bytes + at[i], family, from, sizeof(from));
		text_printf(out, "%s%s", i ? " . " : "", from);
		if (end && memcmp(bytes + at[i], end + at[i], size) != 0) {
			field_text(l->fields[i], end + at[i], family, to, sizeof(to));
			text_printf(out, "-%s", to);
		}
	}
}

/*
 * Record an element that nft-portfwd never writes and skip it: status reports it, apply
 * replaces it. False when memory ran out.
 */
static bool hand_made(struct reader *r, const struct set_element *e, const char *problem)
{
	struct live_table *t = r->t;
	struct layout key, value;
	struct text line = { 0 };
	char **grown = realloc(t->hand_made, (t->hand_made_count + 1) * sizeof(*grown));

	if (!grown)
		return false;
	t->hand_made = grown;
	layouts_of(r->set->kind, &key, &value);
	text_printf(&line, "%s %s holds an element nft-portfwd never writes, ",
		  r->set->map ? "map" : "set", r->set->name);
	if (e->key)
		fields_text(&key, r->set->family, e->key, e->key_len, e->key_end, e->key_end_len,
			    &line);
	else
		text_puts(&line, "*");
	if (e->data) {
		text_puts(&line, " : ");
		fields_text(&value, r->set->family, e->data, e->data_len, NULL, 0, &line);
	}
	text_printf(&line, ": %s", problem);
	if (!(t->hand_made[t->hand_made_count] = text_take(&line)))
		return false;
	t->hand_made_count++;
	return true;
}

/* Not a pointer to any comment: element_comment's answer for one nft-portfwd never writes. */
static const char BAD_COMMENT[] = "";

/*
 * The comment of an element, kept in `t` for the entry that names it: NULL for none,
 * BAD_COMMENT when it is not one nft-portfwd writes (names, ", " and " +N"; it is written back
 * unquoted), or when memory ran out (*failed).
 */
static const char *element_comment(const char *comment, struct live_table *t, bool *failed)
{
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

/* The prefix that the interval from..to spans, if it is one. */
static bool interval_prefix(const struct addr *from, const struct addr *to, struct prefix *p)
{
	const uint8_t *a = from->family == AF_INET ? (const uint8_t *)&from->v4
						    : (const uint8_t *)&from->v6;
	const uint8_t *b = to->family == AF_INET ? (const uint8_t *)&to->v4 : (const uint8_t *)&to->v6;
	size_t bits = 8 * addr_size(from->family), len = 0;

	/* the common leading bits, then only zeros in `from` and ones in `to` */
	while (len < bits && ((a[len / 8] ^ b[len / 8]) & (0x80 >> (len % 8))) == 0)
		len++;
	for (size_t i = len; i < bits; i++)
		if ((a[i / 8] & (0x80 >> (i % 8))) || !(b[i / 8] & (0x80 >> (i % 8))))
			return false;
	p->addr = *from;
	p->len = (uint8_t)len;
	return true;
}

/*
 * Does the element's key hold the fields of its set's type? Their offsets in at[]. When it
 * does not, the element is recorded as hand-made (*ok false only when memory ran out).
 */
static bool key_fields(struct reader *r, const struct set_element *e, size_t at[3], bool *ok)
{
	struct layout key, value;

	layouts_of(r->set->kind, &key, &value);
	*ok = true;
	if (!e->key || (e->flags & NFT_SET_ELEM_CATCHALL))
		return *ok = hand_made(r, e, "a catch-all element"), false;
	if (!fits(&key, r->set->family, e->key_len, at))
		return *ok = hand_made(r, e, "its key is not of the set's type"), false;
	return true;
}

/* One element of fwdN or fwdsrcN: [client network .] protocol . port : guest . port. */
static bool read_map_element(struct reader *r, const struct set_element *e)
{
	struct live_table *t = r->t;
	int family = r->set->family;
	bool with_source = r->set->kind == SET_SOURCE_MAP, ok, failed = false;
	struct layout key, value;
	size_t at[3], value_at[3], proto_at, port_at;
	struct entry *entry;

	layouts_of(r->set->kind, &key, &value);
	if (!key_fields(r, e, at, &ok))
		return ok;
	proto_at = at[with_source];
	port_at = at[with_source + 1];
	if (!e->data || !fits(&value, family, e->data_len, value_at))
		return hand_made(r, e, "the value is not guest address . port");
	if (!room((void **)&t->entries.items, t->entries.count, &r->entry_capacity,
		  sizeof(*t->entries.items)) ||
	    !room((void **)&t->sources, t->entries.count, &r->source_capacity, sizeof(*t->sources)))
		return false;
	entry = &t->entries.items[t->entries.count];
	*entry = (struct entry){ .family = family, .forward = SIZE_MAX };
	if (with_source) {
		struct prefix *p = &t->sources[t->entries.count];
		struct addr from, to;

		if (!e->key_end || e->key_end_len != e->key_len ||
		    memcmp(e->key + addr_size(family), e->key_end + addr_size(family),
			   e->key_len - addr_size(family)) != 0)
			return hand_made(r, e, "the protocol or host port is a range");
		read_addr(e->key, family, &from);
		read_addr(e->key_end, family, &to);
		if (!interval_prefix(&from, &to, p))
			return hand_made(r, e, "the client network is not one address or prefix");
		/* entry->source is set when `sources` has stopped moving (read_elements) */
	}
	if (!read_proto(e->key + proto_at, &entry->proto))
		return hand_made(r, e, "the protocol is not tcp or udp");
	entry->host_port = read_port(e->key + port_at);
	read_addr(e->data + value_at[0], family, &entry->guest);
	entry->guest_port = read_port(e->data + value_at[1]);
	entry->name = element_comment(e->comment, t, &failed);
	if (failed)
		return false;
	if (entry->name == BAD_COMMENT)
		return hand_made(r, e, "its comment is not a forward's name");
	t->entries.count++;
	return true;
}

/*
 * One element of guestN or masqN: address . protocol . port, recorded as an endpoint (an
 * entry with only family, guest and guest port), and for guestN its counter when asked.
 */
static bool read_endpoint_element(struct reader *r, const struct set_element *e)
{
	struct live_table *t = r->t;
	bool guest_set = r->set->kind == SET_GUEST, ok, failed = false;
	struct entry_list *list = guest_set ? &t->guests : &t->masqueraded;
	struct endpoint_stats s = { .packets = e->packets, .bytes = e->bytes };
	size_t at[3];
	const char *name;

	if (!key_fields(r, e, at, &ok))
		return ok;
	read_addr(e->key + at[0], r->set->family, &s.guest);
	if (!read_proto(e->key + at[1], &s.proto))
		return hand_made(r, e, "the protocol is not tcp or udp");
	s.port = read_port(e->key + at[2]);
	if (guest_set && r->with_counters && !e->counted)
		return hand_made(r, e, "it has no counter");
	name = element_comment(e->comment, t, &failed);
	if (failed)
		return false;
	if (name == BAD_COMMENT)
		return hand_made(r, e, "its comment is not the names of forwards");
	if (!room((void **)&list->items, list->count,
		  guest_set ? &r->guest_capacity : &r->masq_capacity, sizeof(*list->items)))
		return false;
	list->items[list->count++] = (struct entry){ .family = r->set->family, .proto = s.proto,
						     .guest = s.guest, .guest_port = s.port,
						     .name = name, .forward = SIZE_MAX };
	if (guest_set && r->with_counters) {
		if (!room((void **)&t->stats, t->stats_count, &r->stats_capacity, sizeof(*t->stats)))
			return false;
		t->stats[t->stats_count++] = s;
	}
	return true;
}

/* One element of fwdtcpN or fwdudpN: a host port, with its counter when asked. */
static bool read_port_element(struct reader *r, const struct set_element *e)
{
	struct live_table *t = r->t;
	enum proto proto = r->set->kind == SET_TCP_PORT ? PROTO_TCP : PROTO_UDP;
	struct port_stats s = { .family = r->set->family, .proto = proto, .packets = e->packets,
				.bytes = e->bytes };
	size_t at[3];
	bool ok;

	if (!key_fields(r, e, at, &ok))
		return ok;
	s.port = read_port(e->key);
	if (r->with_counters && !e->counted)
		return hand_made(r, e, "it has no counter");
	if (r->with_counters) {
		if (!room((void **)&t->port_stats, t->port_stats_count, &r->port_stats_capacity,
			  sizeof(*t->port_stats)))
			return false;
		t->port_stats[t->port_stats_count++] = s;
	}
	if (!room((void **)&t->ports.items, t->ports.count, &r->port_capacity,
		  sizeof(*t->ports.items)))
		return false;
	t->ports.items[t->ports.count++] = (struct entry){ .family = s.family, .proto = proto,
							   .host_port = s.port, .forward = SIZE_MAX };
	return true;
}

/* One element of hostN: an address of the host (host-ip, public-ip). */
static bool read_host_element(struct reader *r, const struct set_element *e)
{
	struct live_table *t = r->t;
	size_t at[3];
	bool ok;

	if (!key_fields(r, e, at, &ok))
		return ok;
	if (!room((void **)&t->hosts.items, t->hosts.count, &r->host_capacity,
		  sizeof(*t->hosts.items)))
		return false;
	read_addr(e->key, r->set->family, &t->hosts.items[t->hosts.count++]);
	return true;
}

/* sys/netlink.h's callback: one element of the set being read. False: out of memory. */
static bool read_element(const struct set_element *e, void *data)
{
	struct reader *r = data;
	bool ok;

	switch (r->set->kind) {
	case SET_HOST: ok = read_host_element(r, e); break;
	case SET_TCP_PORT:
	case SET_UDP_PORT: ok = read_port_element(r, e); break;
	case SET_GUEST:
	case SET_MASQ: ok = read_endpoint_element(r, e); break;
	default: ok = read_map_element(r, e); break;
	}
	if (!ok)
		error_set(r->err, "out of memory");
	return ok;
}

static bool read_counter(const struct named_counter_value *c, void *data)
{
	struct reader *r = data;
	struct live_table *t = r->t;
	struct named_counter *n;

	if (strlen(c->name) >= sizeof(n->name))
		return true; /* not one of ours: a limit's counter is named limitN_... */
	if (!room((void **)&t->counters, t->counter_count, &r->counter_capacity,
		  sizeof(*t->counters))) {
		error_set(r->err, "out of memory");
		return false;
	}
	n = &t->counters[t->counter_count++];
	snprintf(n->name, sizeof(n->name), "%s", c->name);
	n->packets = c->packets;
	return true;
}

/*
 * The elements of the maps (`maps`: fwdN, fwdsrcN) or of the other sets the schema knows
 * (not hairpinN, whose elements are the kernel's), and with those and counters the
 * table's named counters. *interrupted: a ruleset change cut a dump short.
 */
static enum exit_code read_sets(struct reader *r, bool maps, bool *interrupted,
				struct error *err)
{
	struct live_table *t = r->t;
	enum exit_code rc = EXIT_OK;
	bool found;

	for (size_t i = 0; rc == EXIT_OK && i < schema_set_count; i++) {
		r->set = &schema_sets[i];
		if (r->set->kind == SET_HAIRPIN || r->set->map != maps)
			continue;
		if (r->set->kind == SET_SOURCE_MAP)
			r->source_from[r->source_maps] = t->entries.count;
		rc = kernel_set_elements(TABLE_NAME, r->set->name, read_element, r, &found,
					 interrupted, err);
		if (r->set->kind == SET_SOURCE_MAP)
			r->source_to[r->source_maps++] = t->entries.count;
	}
	if (rc == EXIT_OK && !maps && r->with_counters)
		rc = kernel_named_counters(TABLE_NAME, read_counter, r, interrupted, err);
	/* `sources` has stopped moving: point each source map entry at its client network */
	for (size_t m = 0; rc == EXIT_OK && m < r->source_maps; m++)
		for (size_t i = r->source_from[m]; i < r->source_to[m]; i++)
			t->entries.items[i].source = &t->sources[i];
	return rc;
}

/* The sets besides the maps, read by a thread of their own into a table of their own. */
struct set_job {
	struct live_table part;
	struct reader r;
	bool interrupted;
	enum exit_code rc;
	struct error err;
};

static void *read_other_sets(void *arg)
{
	struct set_job *job = arg;

	job->rc = read_sets(&job->r, false, &job->interrupted, &job->err);
	return NULL;
}

/* Append `n` pointers to a list of them; false when memory ran out. */
static bool append_pointers(char ***list, size_t *count, char **more, size_t n)
{
	char **grown;

	if (n == 0)
		return true;
	if (!(grown = realloc(*list, (*count + n) * sizeof(*grown))))
		return false;
	memcpy(grown + *count, more, n * sizeof(*more));
	*list = grown;
	*count += n;
	return true;
}

/* t's empty array replaced by part's, if that thread made one (t's stay allocated) */
#define TAKE(field)                                                                       \
	do {                                                                              \
		if (part->field) {                                                        \
			free(t->field);                                                   \
			t->field = part->field;                                           \
			part->field = NULL;                                               \
		}                                                                         \
	} while (0)

/*
 * Into `t`, what the other thread read into `part`: the sets' arrays, and its comments
 * and hand-made lines after t's own. false when memory ran out (`part` then keeps what it
 * could not hand over, for live_free).
 */
static bool take_sets(struct live_table *t, struct live_table *part)
{
	size_t comments = t->comment_count;

	TAKE(guests.items);
	t->guests.count = part->guests.count;
	TAKE(masqueraded.items);
	t->masqueraded.count = part->masqueraded.count;
	TAKE(stats);
	t->stats_count = part->stats_count;
	TAKE(ports.items);
	t->ports.count = part->ports.count;
	TAKE(port_stats);
	t->port_stats_count = part->port_stats_count;
	TAKE(hosts.items);
	t->hosts.count = part->hosts.count;
	TAKE(counters);
	t->counter_count = part->counter_count;
	if (!append_pointers(&t->comments, &t->comment_count, part->comments, part->comment_count) ||
	    !append_pointers(&t->hand_made, &t->hand_made_count, part->hand_made,
			     part->hand_made_count)) {
		/* the strings belong to exactly one list */
		t->comment_count = comments;
		return false;
	}
	t->comment_capacity = t->comment_count;
	part->comment_count = part->hand_made_count = 0;
	return true;
}

#undef TAKE

/*
 * The elements of every set and map the schema knows. Two dumps at once: the maps here,
 * the other sets in a thread. The kernel walks a hash set from its start again for every
 * 32 KiB it sends, so a dump's cost grows with the square of its elements, and fwd4 holds
 * one per forward and port; beside it the sets fwdtcp4 and fwdudp4 cost as much again.
 */
static enum exit_code read_elements(struct live_table *t, bool with_counters, bool *interrupted,
				    struct error *err)
{
	struct set_job job = { .r = { .with_counters = with_counters } };
	struct reader r = { .t = t, .with_counters = with_counters, .err = err };
	pthread_t thread;
	bool threaded;
	enum exit_code rc;

	job.r.t = &job.part;
	job.r.err = &job.err;
	threaded = pthread_create(&thread, NULL, read_other_sets, &job) == 0;
	rc = read_sets(&r, true, interrupted, err);
	if (threaded)
		pthread_join(thread, NULL);
	else
		read_other_sets(&job);
	*interrupted = *interrupted || job.interrupted;
	if (rc == EXIT_OK && job.rc != EXIT_OK) {
		*err = job.err;
		rc = job.rc;
	}
	if (rc == EXIT_OK && !take_sets(t, &job.part)) {
		error_set(err, "out of memory");
		rc = EXIT_SYSTEM;
	}
	live_free(&job.part);
	return rc;
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

/*
 * `t`'s structure from the JSON list of our table's objects (NULL: there is no table), its
 * arrays empty but allocated, so callers can hand them to memcpy and qsort.
 */
static enum exit_code parse_structure(json_t *list, struct live_table *t, struct error *err)
{
	*t = (struct live_table){ .present = list != NULL };
	t->entries.items = calloc(1, sizeof(*t->entries.items));
	t->sources = calloc(1, sizeof(*t->sources));
	t->guests.items = calloc(1, sizeof(*t->guests.items));
	t->masqueraded.items = calloc(1, sizeof(*t->masqueraded.items));
	t->stats = calloc(1, sizeof(*t->stats));
	t->ports.items = calloc(1, sizeof(*t->ports.items));
	t->port_stats = calloc(1, sizeof(*t->port_stats));
	t->hosts.items = calloc(1, sizeof(*t->hosts.items));
	t->counters = calloc(1, sizeof(*t->counters));
	if (!t->entries.items || !t->sources || !t->guests.items || !t->masqueraded.items ||
	    !t->stats || !t->ports.items || !t->port_stats || !t->hosts.items || !t->counters ||
	    !(t->canonical = list ? canonical_form(list) : strdup(""))) {
		live_free(t);
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
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

enum exit_code live_from_items(const json_t *all, struct live_table *t, struct error *err)
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
	rc = parse_structure(present ? list : NULL, t, err);
	json_decref(list);
	return rc;
}

/*
 * The structure from a terse listing. Of the whole ruleset, filtered: libnftables 1.0.6
 * fetches every element of a table it lists alone, terse or not (200 ms for 10,000
 * forwards), but not of a terse ruleset (3 ms). A table held by another process ('flags
 * owner') makes it fail to list the ruleset: then the table alone, the slow way.
 */
enum exit_code live_read_structure(struct kernel *k, struct live_table *t, struct error *err)
{
	struct kernel_table *tables = NULL;
	size_t count = 0;
	bool held = false;
	char *text = NULL;
	json_t *list = NULL;
	const char *what = "the ruleset";
	enum exit_code rc = kernel_list_tables(&tables, &count, err);

	*t = (struct live_table){ 0 };
	for (size_t i = 0; rc == EXIT_OK && i < count; i++)
		held |= (tables[i].flags & NFT_TABLE_F_OWNER) != 0;
	free(tables);
	if (rc != EXIT_OK)
		return rc;
	if (held) {
		what = "table " TABLE_FAMILY " " TABLE_NAME;
		rc = kernel_list_table_json(k, TABLE_FAMILY, TABLE_NAME, LIST_TERSE, &text, err);
	} else {
		rc = kernel_list_ruleset_json(k, true, &text, err);
	}
	if (rc != EXIT_OK)
		return rc;
	if (text && !(list = load_list(text, what, err))) {
		free(text);
		return EXIT_KERNEL;
	}
	free(text);
	rc = held ? parse_structure(list, t, err) : live_from_items(list, t, err);
	json_decref(list);
	return rc;
}

enum exit_code live_read_table(struct kernel *k, bool with_counters, struct live_table *t,
			       struct error *err)
{
	/* none of the transactions is ours: a read commits nothing */
	static const struct own_commits nobody = { .pid = -1, .name = "" };
	struct events *ev = NULL;
	enum exit_code rc;

	*t = (struct live_table){ 0 };
	/*
	 * Two reads and a dump per set belong together when no transaction touched our table
	 * meanwhile, as its notifications tell. The generation cannot: it counts every
	 * transaction of the namespace, and a host whose other firewalls commit a few times a
	 * second would never see 100,000 forwards read in one.
	 */
	rc = events_open(&ev, err);
	for (int attempt = 1; rc == EXIT_OK; attempt++) {
		struct change_batch b = { 0 };
		bool interrupted = false, changed;

		rc = live_read_structure(k, t, err);
		if (rc == EXIT_OK && t->present)
			rc = read_elements(t, with_counters, &interrupted, err);
		if (rc == EXIT_OK)
			rc = events_read(ev, &nobody, &b, err);
		changed = interrupted || (rc == EXIT_OK && (b.our_table || b.overflow ||
							    events_ours_midway(ev)));
		if (rc == EXIT_OK && !changed)
			break;
		live_free(t);
		if (!changed)
			break; /* an error of its own */
		if (attempt == 3) {
			error_set(err, "table " TABLE_FAMILY " " TABLE_NAME " kept changing while it "
				  "was read (three times); try again");
			rc = EXIT_KERNEL;
			break;
		}
		rc = EXIT_OK;
	}
	events_close(ev);
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
