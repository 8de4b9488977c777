/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>

#include "coexist.h"
#include "hostcheck.h"
#include "live.h"

enum exit_code coexist_read(struct kernel *k, bool with_counters, const struct entry_list *entries,
			    uint32_t mark, struct live_table *live, struct foreign_report *r, struct error *err)
{
	char *json = NULL;
	const json_t *items = NULL;
	json_t *root = NULL;
	enum exit_code rc = kernel_list_ruleset_json(k, with_counters, &json, err);

	/* parsed once for both readers: at 10,000 forwards the parse is a tenth of the work */
	if (rc == EXIT_OK && !(root = foreign_parse_listing(json, &items, err)))
		rc = EXIT_KERNEL;
	free(json);
	if (rc == EXIT_OK && live)
		rc = live_from_items(items, with_counters, live, err);
	/* The listing libnftables gave could not be read (or memory ran out). */
	if (rc == EXIT_OK && !foreign_analyse_items(items, entries, mark, r, err))
		rc = EXIT_KERNEL;
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
