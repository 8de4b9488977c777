/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "engine/coexist.h"
#include "sys/findings.h"
#include "sys/hostcheck.h"
#include "sys/netlink.h"
#include "table/live.h"
#include "util/nftsyntax.h"
#include "sys/process.h"
#include "table/render.h"
#include "sys/route.h"
#include "engine/trace.h"

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

/* Append table FAMILY NAME's objects (terse: without set elements) to `merged`. */
static enum exit_code append_table(struct kernel *k, const char *family, const char *table,
				   bool terse, json_t *merged, struct error *err)
{
	char *json = NULL;
	const json_t *items = NULL;
	json_t *root, *item;
	size_t i;
	enum exit_code rc = kernel_list_table_json(k, family, table,
						   terse ? LIST_TERSE : LIST_ELEMENTS, &json, err);

	/* gone since it was found: nothing of it to analyse */
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
			rc = append_table(k, family, table, false, merged, err);
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

/* "held by process 4242 (nft)": the netlink port of a table's owner is its pid, usually. */
static void owner_text(uint32_t port, char *buf, size_t size)
{
	char comm[32];

	process_name((long)port, comm, sizeof(comm));
	snprintf(buf, size, comm[0] ? "held by process %u (%s)" : "held by netlink port %u%s", port,
		 comm);
}

/*
 * One table is held by another process (flags owner), which libnftables 1.0.6 cannot list
 * as JSON: list every other table one by one instead, and name the held ones (and any whose
 * name nft cannot write, which cannot be listed alone) in `skipped`.
 */
static enum exit_code list_tables_apart(struct kernel *k, const struct kernel_table *tables,
					size_t count, json_t *merged, struct foreign_report *skipped,
					struct error *err)
{
	for (size_t i = 0; i < count; i++) {
		const struct kernel_table *t = &tables[i];
		char why[320], owner[64];
		enum exit_code rc;

		if (t->flags & NFT_TABLE_F_OWNER) {
			owner_text(t->owner, owner, sizeof(owner));
			snprintf(why, sizeof(why), "%s through nft's 'flags owner', which libnftables 1.0.6 "
				 "cannot list; its rules are not known, so nft-portfwd adds nothing there "
				 "(nor could it: only its owner may change it)", owner);
		} else if (!nft_name_ok(t->family) || !nft_name_ok(t->name)) {
			snprintf(why, sizeof(why), "its name cannot be written in nft syntax, so it "
				 "cannot be listed apart from a table held by another process");
		} else {
			rc = append_table(k, t->family, t->name, is_ours(t->family, t->name), merged, err);
			if (rc != EXIT_OK)
				return rc;
			continue;
		}
		if (!foreign_skip_add(skipped, t->family, t->name, why))
			return error_set(err, "out of memory"), EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/* The whole ruleset in one listing, tables with sets listed again in full (merge_listing). */
static enum exit_code list_ruleset(struct kernel *k, json_t *merged, struct error *err)
{
	char *json = NULL;
	const json_t *items = NULL;
	json_t *root = NULL;
	bool unwritable = false;
	enum exit_code rc = kernel_list_ruleset_json(k, true, &json, err);

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
	json_decref(root);
	return rc;
}

enum exit_code coexist_read(struct kernel *k, unsigned what, const struct entry_list *entries,
			    uint32_t mark, const volatile sig_atomic_t *cancel,
			    struct live_table *live, struct foreign_report *r, struct error *err)
{
	struct foreign_context ctx = { .steps = FOREIGN_STEPS_DEFAULT, .cancel = cancel };
	struct foreign_report skipped = { 0 };
	struct kernel_table *tables = NULL;
	size_t count = 0;
	bool held = false;
	json_t *merged = json_array();
	enum exit_code rc = merged ? kernel_list_tables(&tables, &count, err) : EXIT_SYSTEM;

	if (!merged)
		error_set(err, "out of memory");
	for (size_t i = 0; rc == EXIT_OK && i < count; i++) {
		char owner[64];

		if (!(tables[i].flags & NFT_TABLE_F_OWNER))
			continue;
		held = true;
		if (!is_ours(tables[i].family, tables[i].name))
			continue;
		owner_text(tables[i].owner, owner, sizeof(owner));
		error_set(err, "table " TABLE_FAMILY " " TABLE_NAME " is %s through nft's 'flags owner': "
			  "nft-portfwd can neither read nor change it while that process lives; end it",
			  owner);
		rc = EXIT_KERNEL;
	}
	if (rc == EXIT_OK)
		rc = held ? list_tables_apart(k, tables, count, merged, &skipped, err)
			  : list_ruleset(k, merged, err);
	free(tables);
	if (rc == EXIT_OK && live)
		rc = what & READ_OUR_ELEMENTS ? live_read_table(k, what & READ_COUNTERS, live, err)
					      : live_from_items(merged, live, err);
	if (rc == EXIT_OK)
		ctx.routes = route_guests(entries, cancel, &ctx.route_count);
	/* The listing libnftables gave could not be read (or memory ran out, or a signal came). */
	if (rc == EXIT_OK && !foreign_analyse_items(merged, entries, mark, &ctx, r, err))
		rc = EXIT_KERNEL;
	free((struct guest_route *)ctx.routes);
	if (rc == EXIT_OK)
		r->trace_leftover = trace_table_state(merged, &r->trace_pid) == TRACE_LEFTOVER;
	for (size_t i = 0; rc == EXIT_OK && i < skipped.skipped_count; i++)
		if (!foreign_skip_add(r, skipped.skipped[i].family, skipped.skipped[i].table,
				      skipped.skipped[i].why)) {
			error_set(err, "out of memory");
			rc = EXIT_SYSTEM;
		}
	foreign_report_free(&skipped);
	json_decref(merged);
	return rc;
}

bool coexist_render(const struct foreign_report *r, bool integrate, FILE *out)
{
	if (r->trace_leftover)
		fputs("# left by a diagnose --trace that was killed\n" TRACE_DELETE, out);
	return integrate ? foreign_render_integration(r, out) : foreign_render_removal(r, out);
}

bool coexist_accepts_needed(const struct foreign_report *r, bool **needed)
{
	*needed = calloc(r->count + 1, sizeof(**needed));
	if (!*needed)
		return false;
	for (size_t i = 0; i < r->count; i++)
		(*needed)[i] = r->blocks[i].insert_chain[0] && !r->blocks[i].in_place;
	return true;
}

void coexist_tell(struct outcome *out, const struct foreign_report *r, bool integrate,
		  const bool *accept_needed, bool committed)
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
		} else if (accept_needed[i]) {
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
	outcome_set(out, "not_analysed", coexist_skipped_json(r));
	for (size_t i = 0; i < r->skipped_count; i++)
		fprintf(stderr, "nft-portfwd: warning: %s %s not analysed: %s\n", r->skipped[i].family,
			r->skipped[i].table, r->skipped[i].why);
}

json_t *coexist_skipped_json(const struct foreign_report *r)
{
	json_t *list = json_array();

	for (size_t i = 0; i < r->skipped_count; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "family", r->skipped[i].family,
						      "table", r->skipped[i].table, "why",
						      r->skipped[i].why));
	return list;
}

bool coexist_routes_more(const struct model *m, const struct foreign_report *r, char *why,
			 size_t size)
{
	const char *families[2] = { NULL, NULL };

	for (int v6 = 0; v6 < 2; v6++)
		if (model_has_family(m, v6 ? AF_INET6 : AF_INET) && !m->route_guard[v6] &&
		    !r->forward_filtered[v6])
			families[v6] = v6 ? "IPv6" : "IPv4";
	if (!families[0] && !families[1])
		return false;
	snprintf(why, size, "the host routes more than the forwards: %s%s%s forwarding is on and "
		 "nothing filters the forward hook (routing = %s), so a client with a route through "
		 "this host reaches every port of the guests and the networks behind it; set "
		 "routing = forwards, or filter the forward hook (a drop policy)",
		 families[0] ? families[0] : "", families[0] && families[1] ? " and " : "",
		 families[1] ? families[1] : "",
		 m->routing == ROUTING_OPEN ? "open" : "auto, and forwarding was on before the first "
						       "apply");
	return true;
}

/* At most this many findings are written on stderr; the JSON holds them all. */
#define FINDINGS_SAID_MAX 10

void coexist_tell_host(struct outcome *out, const struct model *m, const struct foreign_report *r,
		       const struct entry_list *scope)
{
	json_t *list = json_array();
	char advice[768];
	struct host_findings found;

	if (r && coexist_routes_more(m, r, advice, sizeof(advice))) {
		fprintf(stderr, "nft-portfwd: warning: %s\n", advice);
		json_array_append_new(list, json_string(advice));
	}
	if (hostcheck_legacy(model_mark(m), advice, sizeof(advice))) {
		fprintf(stderr, "nft-portfwd: warning: %s\n", advice);
		json_array_append_new(list, json_string(advice));
	}
	host_findings_read(m, scope, &found);
	for (size_t i = 0; i < found.count; i++) {
		char *line = NULL;

		if (i < FINDINGS_SAID_MAX)
			fprintf(stderr, "nft-portfwd: warning: %s\n       fix: %s\n", found.items[i].what,
				found.items[i].fix);
		else if (i == FINDINGS_SAID_MAX)
			fprintf(stderr, "nft-portfwd: warning: and %zu more of these kinds (--json lists "
					"them all)\n", found.count - i);
		if (asprintf(&line, "%s; fix: %s", found.items[i].what, found.items[i].fix) >= 0) {
			json_array_append_new(list, json_string(line));
			free(line);
		}
	}
	host_findings_free(&found);
	outcome_set(out, "host_warnings", list);
}
