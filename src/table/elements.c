/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "table/elements.h"
#include "table/schema.h"
#include "util/hash.h"
#include "table/render.h"
#include "config/validate.h"

/*
 * The sets and maps whose elements come from the forwards are schema.h's first ones (an
 * element's `set` is its index there); everything else is structure.
 */
static bool with_source(uint8_t set)
{
	return schema_sets[set].kind == SET_SOURCE_MAP;
}

static const char ELEMENT_INDENT[] = "\t\t\t";
static const char ELEMENTS_OPEN[] = "\t\telements = {";

static int forward_set_of(const char *line, size_t len)
{
	char header[64];

	for (size_t i = 0; i < schema_set_count && schema_sets[i].forwards; i++) {
		schema_header(&schema_sets[i], header, sizeof(header));
		if (strlen(header) == len && !memcmp(line, header, len))
			return (int)i;
	}
	return -1;
}

static bool push(struct element_list *list, size_t *capacity, struct element e)
{
	if (list->count == *capacity) {
		size_t grown = *capacity ? *capacity * 2 : 1024;
		struct element *items = realloc(list->items, grown * sizeof(*items));

		if (!items)
			return false;
		list->items = items;
		*capacity = grown;
	}
	list->items[list->count++] = e;
	return true;
}

bool elements_split(const char *rendering, char **structure, struct element_list *elements)
{
	size_t total = strlen(rendering), capacity = 0, kept = 0;
	char *out = malloc(total + 1);
	int set = -1; /* inside which forward set, if any */
	const char *line = rendering;

	*elements = (struct element_list){ 0 };
	*structure = NULL;
	if (!out)
		return false;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		size_t next = len + (end != NULL);
		size_t indent = sizeof(ELEMENT_INDENT) - 1;

		if (line[0] == '\t' && line[1] != '\t')
			set = forward_set_of(line, len);
		/* "\t\t\tELEMENT,": an element of a forward set leaves the structure */
		if (set >= 0 && len > indent + 1 && !memcmp(line, ELEMENT_INDENT, indent) &&
		    line[len - 1] == ',') {
			struct element e = { line + indent, (uint32_t)(len - indent - 1), (uint8_t)set };

			if (!push(elements, &capacity, e)) {
				free(out);
				elements_free(elements);
				return false;
			}
		} else if (set >= 0 && ((len == strlen(ELEMENTS_OPEN) && !memcmp(line, ELEMENTS_OPEN, len)) ||
					(len == 3 && !memcmp(line, "\t\t}", 3)))) {
			/* a forward set's elements block: an empty set has none (nft refuses
			 * "elements = { }"), and is no other structure than a full one */
		} else if (line[0] != '#') {
			/* comments are for the reader (the vm forwards' addresses): no structure */
			memcpy(out + kept, line, next);
			kept += next;
		}
		line += next;
	}
	out[kept] = '\0';
	*structure = out;
	return true;
}

void elements_free(struct element_list *elements)
{
	free(elements->items);
	*elements = (struct element_list){ 0 };
}

/* A set of elements by value: open addressing over FNV-1a, for the difference in O(n). */
struct element_index {
	const struct element **slots;
	size_t mask;
};

static uint64_t element_hash(const struct element *e)
{
	return fnv1a(e->text, e->len, FNV_OFFSET ^ e->set);
}

static bool same_element(const struct element *a, const struct element *b)
{
	return a->set == b->set && a->len == b->len && !memcmp(a->text, b->text, a->len);
}

static bool index_build(struct element_index *ix, const struct element *items, size_t count)
{
	size_t size = 16;

	while (size < 2 * count)
		size *= 2;
	ix->slots = calloc(size, sizeof(*ix->slots));
	ix->mask = size - 1;
	if (!ix->slots)
		return false;
	for (size_t i = 0; i < count; i++) {
		size_t at = element_hash(&items[i]) & ix->mask;

		while (ix->slots[at])
			at = (at + 1) & ix->mask;
		ix->slots[at] = &items[i];
	}
	return true;
}

static bool index_has(const struct element_index *ix, const struct element *e)
{
	for (size_t at = element_hash(e) & ix->mask; ix->slots[at]; at = (at + 1) & ix->mask)
		if (same_element(ix->slots[at], e))
			return true;
	return false;
}

/* Where one set's elements are in a list: both writers put each set's together. */
static void set_range(const struct element_list *l, uint8_t set, size_t *begin, size_t *end)
{
	size_t i = 0;

	while (i < l->count && l->items[i].set != set)
		i++;
	*begin = i;
	while (i < l->count && l->items[i].set == set)
		i++;
	*end = i;
}

/* Elements of a[0..na) not in b[0..nb), appended to `out` (indices into a's list). */
static bool missing(const struct element *a, size_t na, const struct element *b, size_t nb,
		    const struct element **out, size_t *count)
{
	struct element_index ix;

	if (!na)
		return true;
	if (!index_build(&ix, b, nb))
		return false;
	for (size_t i = 0; i < na; i++)
		if (!index_has(&ix, &a[i]))
			out[(*count)++] = &a[i];
	free(ix.slots);
	return true;
}

/*
 * Per set, what `from` has and `to` lacks (gone) and the other way (new). The two come
 * from the same renderer in the same order, so a change of a few forwards leaves long
 * equal runs at both ends, skipped before anything is hashed.
 */
static bool compare(const struct element_list *from, const struct element_list *to,
		    const struct element **gone, size_t *n_gone, const struct element **new,
		    size_t *n_new, struct element_change *change)
{
	for (uint8_t set = 0; set < schema_set_count && schema_sets[set].forwards; set++) {
		size_t a0, a1, b0, b1, size, before = *n_gone;

		set_range(from, set, &a0, &a1);
		set_range(to, set, &b0, &b1);
		size = a1 - a0;
		while (a0 < a1 && b0 < b1 && same_element(&from->items[a0], &to->items[b0]))
			a0++, b0++;
		while (a0 < a1 && b0 < b1 && same_element(&from->items[a1 - 1], &to->items[b1 - 1]))
			a1--, b1--;
		if (!missing(from->items + a0, a1 - a0, to->items + b0, b1 - b0, gone, n_gone) ||
		    !missing(to->items + b0, b1 - b0, from->items + a0, a1 - a0, new, n_new))
			return false;
		/* the kernel's set of concatenated intervals (pipapo) rebuilds its lookup
		 * tables for each element deleted: work of the set's size per deletion */
		if (with_source(set))
			change->interval_work += (uint64_t)(*n_gone - before) * size;
	}
	return true;
}

bool elements_cheaper_replaced(const struct element_change *change, size_t elements)
{
	/* measured here (bench/RESULTS.md): an element deleted from an interval set of N
	 * costs about 20 ns x N in the kernel; a replace about 15 us per element of the
	 * table, plus some 30 ms; so in place loses past 750 x elements + 1.5 million */
	return change->interval_work > 750ull * elements + 1500000ull;
}

/* The key of a map element ("tcp . 8080" of "tcp . 8080 : 192.0.2.79 . 80"): what delete names. */
static uint32_t key_length(const struct element *e)
{
	const char *colon;

	if (!schema_sets[e->set].map)
		return e->len;
	colon = memmem(e->text, e->len, " : ", 3);
	return colon ? (uint32_t)(colon - e->text) : e->len;
}

/*
 * One map element back as an entry: "[SOURCE . ]PROTOCOL . PORT : GUEST . PORT", as the
 * renderer wrote it. The separators " . " and " : " appear in no address or number.
 */
static bool parse_mapping(const struct element *el, struct entry *e, struct prefix *source)
{
	char text[512], *fields[5], *end;
	size_t n = 0, want = with_source(el->set) ? 5 : 4, at = 0;
	unsigned long host_port, guest_port;

	char *comment;

	if (el->len >= sizeof(text))
		return false;
	memcpy(text, el->text, el->len);
	text[el->len] = '\0';
	/* ' comment "NAME"' follows the key; a name holds no quote */
	if ((comment = strstr(text, " comment \""))) {
		char *close = strchr(comment + 10, '"');

		if (!close)
			return false;
		memmove(comment, close + 1, strlen(close + 1) + 1);
	}
	for (char *p = text; p && n < want; n++) {
		char *dot = strstr(p, " . "), *colon = strstr(p, " : ");
		char *sep = dot && (!colon || dot < colon) ? dot : colon;

		fields[n] = p;
		if (sep)
			*sep = '\0';
		p = sep ? sep + 3 : NULL;
	}
	if (n != want)
		return false;
	*e = (struct entry){ .family = schema_sets[el->set].family, .forward = SIZE_MAX };
	if (with_source(el->set)) {
		if (parse_prefix(fields[at++], source) || source->addr.family != e->family)
			return false;
		e->source = source;
	}
	if (!strcmp(fields[at], "tcp"))
		e->proto = PROTO_TCP;
	else if (!strcmp(fields[at], "udp"))
		e->proto = PROTO_UDP;
	else
		return false;
	host_port = strtoul(fields[at + 1], &end, 10);
	if (*end || host_port > 65535 || parse_addr(fields[at + 2], &e->guest) ||
	    e->guest.family != e->family)
		return false;
	guest_port = strtoul(fields[at + 3], &end, 10);
	if (*end || guest_port > 65535)
		return false;
	e->host_port = (uint16_t)host_port;
	e->guest_port = (uint16_t)guest_port;
	return true;
}

/*
 * One command per set: "delete element" with the keys, or "add element" with the whole
 * elements (in set order: compare found them set by set). Map elements go to `mappings`.
 */
static bool write_command(const struct element *const *list, size_t count, bool deleting,
			  FILE *out, struct entry_list *mappings, struct prefix *sources)
{
	for (size_t i = 0; i < count; i++) {
		const struct element *e = list[i];
		bool first = i == 0 || list[i - 1]->set != e->set;

		if (first)
			fprintf(out, "%s%s element " TABLE_FAMILY " " TABLE_NAME " %s {\n",
				i ? "\n}\n" : "", deleting ? "delete" : "add", schema_sets[e->set].name);
		fprintf(out, "%s\t%.*s", first ? "" : ",\n",
			(int)(deleting ? key_length(e) : e->len), e->text);
		if (schema_sets[e->set].map &&
		    parse_mapping(e, &mappings->items[mappings->count], &sources[mappings->count]))
			mappings->count++;
	}
	if (count)
		fputs("\n}\n", out);
	return !ferror(out);
}

bool elements_diff(const struct element_list *from, const struct element_list *to, FILE *out,
		   struct element_change *change)
{
	const struct element **gone = calloc(from->count + 1, sizeof(*gone));
	const struct element **new = calloc(to->count + 1, sizeof(*new));
	bool ok;

	*change = (struct element_change){ 0 };
	ok = gone && new && compare(from, to, gone, &change->deleted, new, &change->added, change);
	if (ok) {
		change->removed_mappings.items = calloc(change->deleted + 1, sizeof(struct entry));
		change->added_mappings.items = calloc(change->added + 1, sizeof(struct entry));
		change->sources = calloc(change->deleted + change->added + 1, sizeof(struct prefix));
	}
	ok = ok && change->removed_mappings.items && change->added_mappings.items &&
	     change->sources &&
	     write_command(gone, change->deleted, true, out, &change->removed_mappings,
			   change->sources) &&
	     write_command(new, change->added, false, out, &change->added_mappings,
			   change->sources + change->deleted);
	free(gone);
	free(new);
	if (!ok) {
		element_change_free(change);
		return false;
	}
	entries_sort(change->removed_mappings.items, change->removed_mappings.count, BY_KEY);
	entries_sort(change->added_mappings.items, change->added_mappings.count, BY_KEY);
	return true;
}

void element_change_free(struct element_change *change)
{
	entries_free(&change->removed_mappings);
	entries_free(&change->added_mappings);
	free(change->sources);
	*change = (struct element_change){ 0 };
}
