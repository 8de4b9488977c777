/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "firewalls/accept.h"
#include "firewalls/foreign.h"
#include "util/nftsyntax.h"
#include "firewalls/placement.h"
#include "firewalls/ruleset.h"

static int endpoint_cmp(const void *pa, const void *pb)
{
	const struct foreign_endpoint *a = pa, *b = pb;

	return guest_endpoint_cmp(&a->guest, a->proto, a->port, &b->guest, b->proto, b->port);
}

static int route_cmp(const void *key, const void *item)
{
	return addr_cmp(key, &((const struct guest_route *)item)->guest);
}

/* The entries' guest endpoints, sorted, duplicates gone, adjacent ports merged; each with
 * the interface the host routes its guest through, when the context knows. */
static bool endpoints_of(const struct entry_list *entries, const struct foreign_context *ctx,
			 struct foreign_report *r)
{
	struct foreign_endpoint *eps = calloc(entries->count + 1, sizeof(*eps));
	size_t n = 0;

	if (!eps)
		return false;
	for (size_t i = 0; i < entries->count; i++)
		eps[i] = (struct foreign_endpoint){ .guest = entries->items[i].guest,
						    .proto = entries->items[i].proto,
						    .port = entries->items[i].guest_port,
						    .port_last = entries->items[i].guest_port };
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
	for (size_t i = 0; i < n; i++) {
		const struct guest_route *route = ctx->route_count ?
			bsearch(&eps[i].guest, ctx->routes, ctx->route_count, sizeof(*ctx->routes),
				route_cmp) : NULL;

		if (route)
			memcpy(eps[i].oif, route->oif, sizeof(eps[i].oif));
	}
	r->endpoints = eps;
	r->endpoint_count = n;
	return true;
}

/* Does base chain `c` end in a drop of whatever its rules did not accept? */
static bool ends_in_drop(const struct chain *c)
{
	const struct rule *last = c->nrules ? &c->rules[c->nrules - 1] : NULL;

	return c->policy_drop ||
	       (last && !last->nconds && (last->verdict == V_DROP || last->verdict == V_REJECT));
}

/*
 * libvirt's and Docker's own forwarding, seen in the chains they keep for it; and which
 * families some forward-hook base chain filters.
 */
static void find_forwarders(const struct ruleset *rs, struct foreign_report *r)
{
	r->forwarder[0] = r->forwarder[1] = "";
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct chain *c = &rs->chains[i];
		const struct table *t = &rs->tables[c->table];
		const char *who = NULL;
		int af;

		if (c->forward_base && ends_in_drop(c) && family_af(t->family, &af)) {
			r->forward_filtered[0] |= af != AF_INET6;
			r->forward_filtered[1] |= af != AF_INET;
		}
		if (c->nrules && (!strcmp(c->name, "LIBVIRT_FWO") ||
				  (!strcmp(t->name, "libvirt_network") && !strcmp(c->name, "guest_output"))))
			who = "libvirt";
		else if (!strcmp(c->name, "DOCKER-FORWARD") || !strcmp(c->name, "DOCKER-ISOLATION-STAGE-1"))
			who = "docker";
		if (!who || !family_af(t->family, &af))
			continue;
		if (af != AF_INET6 && !r->forwarder[0][0])
			r->forwarder[0] = who;
		if (af != AF_INET && !r->forwarder[1][0])
			r->forwarder[1] = who;
	}
}

json_t *foreign_parse_listing(const char *ruleset_json, const json_t **items, struct error *err)
{
	json_error_t jerr;
	json_t *root = json_loads(ruleset_json, 0, &jerr);

	*items = json_object_get(root, "nftables");
	if (!root) {
		error_set(err, "libnftables listed the ruleset as invalid JSON (%s, line %d, column "
			  "%d); " INVALID_JSON_HINT, jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_array(*items)) {
		json_decref(root);
		error_set(err, "cannot read the ruleset libnftables listed: no \"nftables\" array at "
			  "the top; is the JSON output flag set?");
		return NULL;
	}
	return root;
}

bool foreign_skip_add(struct foreign_report *r, const char *family, const char *table,
		      const char *why)
{
	struct foreign_skip *grown;

	if (foreign_skipped(r, family, table))
		return true;
	grown = realloc(r->skipped, (r->skipped_count + 1) * sizeof(*grown));
	if (!grown)
		return false;
	r->skipped = grown;
	grown = &r->skipped[r->skipped_count++];
	snprintf(grown->family, sizeof(grown->family), "%s", family);
	snprintf(grown->table, sizeof(grown->table), "%s", table);
	snprintf(grown->why, sizeof(grown->why), "%s", why);
	return true;
}

bool foreign_skipped(const struct foreign_report *r, const char *family, const char *table)
{
	for (size_t i = 0; i < r->skipped_count; i++)
		if (!strcmp(r->skipped[i].family, family) && !strcmp(r->skipped[i].table, table))
			return true;
	return false;
}

/* A table skipped after some of its base chains were decided: none of its blocks stay. */
static void drop_skipped_blocks(struct foreign_report *r)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->count; i++) {
		if (foreign_skipped(r, r->blocks[i].family, r->blocks[i].table)) {
			free(r->blocks[i].needs);
			continue;
		}
		r->blocks[kept++] = r->blocks[i];
	}
	r->count = kept;
}

bool foreign_analyse_items(const json_t *items, const struct entry_list *entries, uint32_t mark,
			   const struct foreign_context *ctx, struct foreign_report *out,
			   struct error *err)
{
	const struct foreign_context defaults = { .steps = FOREIGN_STEPS_DEFAULT };
	struct ruleset rs = { 0 };
	unsigned long long left, spent;
	enum placement_result result;
	size_t bases = 0;
	bool ok = false;

	if (!ctx)
		ctx = &defaults;
	left = ctx->steps;
	*out = (struct foreign_report){ .mark = mark, .forwarder = { "", "" } };
	if (!endpoints_of(entries, ctx, out)) {
		error_set(err, "out of memory while reading the ruleset");
		goto done;
	}
	if (!ruleset_load(&rs, items, err))
		goto done;
	find_forwarders(&rs, out);
	for (size_t i = 0; i < rs.nchains; i++)
		bases += rs.chains[i].forward_base;
	for (size_t i = 0; i < rs.nchains; i++) {
		const struct table *t = &rs.tables[rs.chains[i].table];
		/* a fair share of what is left: one big table cannot starve the others */
		struct foreign_context share = *ctx;
		char why[320];

		if (!rs.chains[i].forward_base)
			continue;
		share.steps = left / (bases ? bases : 1);
		bases--;
		if (foreign_skipped(out, t->family, t->name))
			continue;
		result = placement_analyse(&rs, i, &share, &spent, out);
		left -= spent < left ? spent : left; /* a walk may overshoot its share by a step */
		switch (result) {
		case PLACEMENT_DONE:
			continue;
		case PLACEMENT_UNDECIDED:
			snprintf(why, sizeof(why), "following the forwards' packets through chain %.64s "
				 "and its jumps took more than %llu steps (or %u interface pairs); "
				 "nft-portfwd adds nothing there and leaves its own rules there as they "
				 "are", rs.chains[i].name, share.steps, PLACEMENT_MAX_PAIRS);
			if (foreign_skip_add(out, t->family, t->name, why))
				continue;
			error_set(err, "out of memory while analysing the ruleset");
			goto done;
		case PLACEMENT_OOM:
			error_set(err, "out of memory while analysing the ruleset");
			goto done;
		case PLACEMENT_CANCELLED:
			error_set(err, "%s", FOREIGN_INTERRUPTED);
			goto done;
		}
	}
	drop_skipped_blocks(out);
	out->ours = rs.ours;
	out->ours_count = rs.nours;
	rs.ours = NULL;
	ok = true;
done:
	ruleset_free(&rs);
	if (!ok)
		foreign_report_free(out);
	return ok;
}

bool foreign_analyse(const char *ruleset_json, const struct entry_list *entries, uint32_t mark,
		     struct foreign_report *out, struct error *err)
{
	const json_t *items;
	json_t *root = foreign_parse_listing(ruleset_json, &items, err);
	bool ok;

	*out = (struct foreign_report){ .mark = mark, .forwarder = { "", "" } };
	if (!root)
		return false;
	ok = foreign_analyse_items(items, entries, mark, NULL, out, err);
	json_decref(root);
	return ok;
}

void foreign_report_free(struct foreign_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->blocks[i].needs);
	free(r->blocks);
	free(r->endpoints);
	free(r->ours);
	free(r->skipped);
	*r = (struct foreign_report){ 0 };
}

/* ---------------------------------------------------------------- rendering */

static bool in_chain(const struct foreign_rule *o, const struct foreign_block *b)
{
	return !strcmp(o->family, b->family) && !strcmp(o->table, b->table) &&
	       !strcmp(o->chain, b->insert_chain);
}

/* The first block that inserts into the same chain as block i: one accept per chain. */
static size_t first_with_chain(const struct foreign_report *r, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(r->blocks[j].family, r->blocks[i].family) &&
		    !strcmp(r->blocks[j].table, r->blocks[i].table) &&
		    !strcmp(r->blocks[j].insert_chain, r->blocks[i].insert_chain))
			return j;
	return i;
}

static void write_delete(const struct foreign_rule *o, FILE *out)
{
	if (nft_put_rule_ref(out, "delete", o->family, o->table, o->chain))
		fprintf(out, " handle %ld\n", o->handle);
	else
		fprintf(stderr, "nft-portfwd: warning: a rule of nft-portfwd (handle %ld) in a chain "
				"whose name nft cannot write is left there; delete it by hand with "
				"'nft -j' (JSON input)\n", o->handle);
}

bool foreign_render_integration(const struct foreign_report *r, FILE *out)
{
	bool *gone = calloc(r->ours_count + 1, sizeof(*gone));

	if (!gone)
		return false;
	for (size_t i = 0; i < r->count; i++) {
		const struct foreign_block *b = &r->blocks[i];

		if (!b->insert_chain[0] || first_with_chain(r, i) != i)
			continue;
		for (size_t o = 0; o < r->ours_count; o++)
			if (in_chain(&r->ours[o], b) && !b->in_place && !gone[o]) {
				write_delete(&r->ours[o], out);
				gone[o] = true;
			} else if (in_chain(&r->ours[o], b)) {
				gone[o] = true; /* in place: kept */
			}
		if (b->in_place)
			continue;
		fprintf(out, "# %s: %s %s %s: %s\n", b->kind, b->family, b->table, b->base_chain,
			b->reason);
		if (b->insert_before > 0) {
			nft_put_rule_ref(out, "insert", b->family, b->table, b->insert_chain);
			fprintf(out, " handle %ld ", b->insert_before);
		} else if (b->insert_before == 0) {
			nft_put_rule_ref(out, "insert", b->family, b->table, b->insert_chain);
			fputc(' ', out);
		} else {
			nft_put_rule_ref(out, "add", b->family, b->table, b->insert_chain);
			fputc(' ', out);
		}
		accept_write(out, r->mark);
		fputc('\n', out);
	}
	/* ours in chains that need none any more, and an earlier release's; in a table not
	 * analysed, nobody knows: left as they are */
	for (size_t o = 0; o < r->ours_count; o++)
		if (!gone[o] && !foreign_skipped(r, r->ours[o].family, r->ours[o].table))
			write_delete(&r->ours[o], out);
	free(gone);
	return !ferror(out);
}

bool foreign_render_removal(const struct foreign_report *r, FILE *out)
{
	for (size_t i = 0; i < r->ours_count; i++)
		write_delete(&r->ours[i], out);
	return !ferror(out);
}
