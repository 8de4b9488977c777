/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "coexist.h"
#include "hostcheck.h"
#include "live.h"
#include "nftsyntax.h"
#include "render.h"

/* The (family, table) of an object of a listing. */
static bool table_of(const json_t *item, const char **family, const char **table)
{
	const char *key;
	json_t *obj;

	json_object_foreach((json_t *)item, key, obj) {
		*family = json_string_value(json_object_get(obj, "family"));
		*table = json_string_value(json_object_get(obj, strcmp(key, "table") ? "table" : "name"));
		return *family && *table;
	}
	return false;
}

static bool is_ours(const char *family, const char *table)
{
	return !strcmp(family, TABLE_FAMILY) && !strcmp(table, TABLE_NAME);
}

/* Does another table than ours have a named set or map (whose elements a terse listing left out)? */
static bool has_sets(const json_t *items, const char *family, const char *table)
{
	size_t i;
	json_t *item;

	json_array_foreach(items, i, item) {
		const char *f, *t;

		if ((json_object_get(item, "set") || json_object_get(item, "map")) &&
		    table_of(item, &f, &t) && !strcmp(f, family) && !strcmp(t, table))
			return true;
	}
	return false;
}

/* Append the objects of one table, listed with everything in it, to `merged`. */
static enum exit_code append_full_table(struct kernel *k, const char *family, const char *table,
					json_t *merged, struct error *err)
{
	char *json = NULL;
	const json_t *items = NULL;
	json_t *root = NULL, *item;
	size_t i;
	enum exit_code rc = kernel_list_table_json(k, family, table, false, &json, err);

	/* gone since the ruleset was listed: nothing of it to analyse */
	if (rc != EXIT_OK || !json)
		return rc;
	root = foreign_parse_listing(json, &items, err);
	free(json);
	if (!root)
		return EXIT_KERNEL;
	json_array_foreach(items, i, item)
		if (!json_object_get(item, "metainfo"))
			json_array_append(merged, item);
	json_decref(root);
	return EXIT_OK;
}

/*
 * The terse ruleset listing with every other table that holds named sets or maps listed
 * again in full: the analysis reads their elements (a blocklist, a verdict map), while the
 * elements of ours, the bulk of a big ruleset, are never listed. A set-holding table whose
 * name nft cannot write is listed the only other way: the whole ruleset.
 */
static enum exit_code merge_listing(struct kernel *k, const json_t *terse, json_t *merged,
				    bool *unwritable, struct error *err)
{
	const char *skip_family = NULL, *skip_table = NULL;
	size_t i;
	json_t *item;
	enum exit_code rc = EXIT_OK;

	json_array_foreach(terse, i, item) {
		const char *family, *table;

		if (!table_of(item, &family, &table)) {
			json_array_append(merged, item);
			continue;
		}
		if (skip_family && !strcmp(family, skip_family) && !strcmp(table, skip_table))
			continue;
		skip_family = NULL;
		if (json_object_get(item, "table") && !is_ours(family, table) &&
		    has_sets(terse, family, table)) {
			if (!nft_name_ok(family) || !nft_name_ok(table)) {
				*unwritable = true;
				return EXIT_OK;
			}
			rc = append_full_table(k, family, table, merged, err);
			if (rc != EXIT_OK)
				return rc;
			skip_family = family;
			skip_table = table;
			continue;
		}
		json_array_append(merged, item);
	}
	return EXIT_OK;
}

enum exit_code coexist_read(struct kernel *k, unsigned what, const struct entry_list *entries,
			    uint32_t mark, const struct foreign_limits *limits,
			    struct live_table *live, struct foreign_report *r, struct error *err)
{
	char *json = NULL;
	const json_t *items = NULL;
	json_t *root = NULL, *merged = json_array();
	bool unwritable = false;
	enum exit_code rc = merged ? kernel_list_ruleset_json(k, true, &json, err) : EXIT_SYSTEM;

	if (!merged)
		error_set(err, "out of memory");
	if (rc == EXIT_OK && !(root = foreign_parse_listing(json, &items, err)))
		rc = EXIT_KERNEL;
	free(json);
	if (rc == EXIT_OK)
		rc = merge_listing(k, items, merged, &unwritable, err);
	if (rc == EXIT_OK && unwritable) {
		/* a table name nft cannot write: the full listing, the old way */
		json_decref(root);
		json_array_clear(merged);
		root = NULL;
		json = NULL;
		rc = kernel_list_ruleset_json(k, false, &json, err);
		if (rc == EXIT_OK && !(root = foreign_parse_listing(json, &items, err)))
			rc = EXIT_KERNEL;
		free(json);
		if (rc == EXIT_OK)
			json_array_extend(merged, (json_t *)items);
	}
	if (rc == EXIT_OK && live)
		rc = what & READ_OUR_ELEMENTS ? live_read_table(k, what & READ_COUNTERS, live, err)
					      : live_from_items(merged, false, live, err);
	/* The listing libnftables gave could not be read (or memory ran out). */
	if (rc == EXIT_OK && !foreign_analyse_items(merged, entries, mark, limits, r, err))
		rc = EXIT_KERNEL;
	json_decref(merged);
	json_decref(root);
	return rc;
}

bool coexist_render(const struct foreign_report *r, bool integrate, FILE *out)
{
	return integrate ? foreign_render_integration(r, out) : foreign_render_removal(r, out);
}

bool coexist_pending(const struct foreign_report *r, bool **pending)
{
	*pending = calloc(r->count + 1, sizeof(**pending));
	if (!*pending)
		return false;
	for (size_t i = 0; i < r->count; i++)
		(*pending)[i] = r->blocks[i].insert_chain[0] && !r->blocks[i].in_place;
	return true;
}

void coexist_tell(struct outcome *out, const struct foreign_report *r, bool integrate,
		  const bool *pending, bool committed)
{
	json_t *list = json_array();

	for (size_t i = 0; i < r->count; i++) {
		const struct foreign_block *b = &r->blocks[i];
		const char *action;

		if (!integrate) {
			action = "none (integrate = off)";
			fprintf(stderr, "nft-portfwd: warning: %s %s %s (%s) would drop forwarded "
					"connections: %s; integrate = auto (the default) accepts them "
					"there\n", b->family, b->table, b->base_chain, b->kind, b->reason);
		} else if (!b->insert_chain[0]) {
			action = "none (no safe place)";
			fprintf(stderr, "nft-portfwd: warning: %s %s %s (%s) would drop forwarded "
					"connections: %s; %s\n", b->family, b->table, b->base_chain,
				b->kind, b->reason, b->placement);
		} else if (pending[i]) {
			action = committed ? "added" : "to add";
			outcome_say(out, "%s the accept for the forwards to %s %s %s (%s), %s; it would "
				    "drop them: %s", committed ? "added" : "apply will add", b->family,
				    b->table, b->insert_chain, b->kind, b->placement, b->reason);
		} else {
			action = "in place";
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
						      "kind", b->kind, "family", b->family, "table",
						      b->table, "chain", b->base_chain, "reason", b->reason,
						      "insert_chain", b->insert_chain, "placement",
						      b->placement, "accepts", action));
	}
	outcome_set(out, "foreign", list);
}

void coexist_tell_host(struct outcome *out, const struct model *m)
{
	json_t *list = json_array();
	char advice[768];
	size_t count;
	char **served = hostcheck_served_ports(m, &count);

	if (hostcheck_legacy(model_mark(m), advice, sizeof(advice))) {
		fprintf(stderr, "nft-portfwd: warning: %s\n", advice);
		json_array_append_new(list, json_string(advice));
	}
	for (size_t i = 0; i < count; i++) {
		fprintf(stderr, "nft-portfwd: warning: %s\n", served[i]);
		json_array_append_new(list, json_string(served[i]));
		free(served[i]);
	}
	free(served);
	outcome_set(out, "host_warnings", list);
}
