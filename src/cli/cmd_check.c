/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/load.h"
#include "config/entries.h"
#include "engine/coexist.h"
#include "engine/kernel_ops.h"
#include "engine/transaction.h"
#include "util/outcome.h"

/* The dry run covers what apply would commit: the table and our rules in other tables. */
static enum exit_code check(const struct model *m, const char *text, struct kernel *k,
			    struct outcome *out, struct error *err)
{
	struct kernel_ops ops = kernel_ops_real(k);
	struct table_plan whole = { .step = TABLE_REPLACE };
	struct transaction tx = { 0 };
	struct entry_list entries = { 0 };
	struct foreign_report foreign = { 0 };
	bool *accept_needed = NULL, sent;
	enum exit_code rc = EXIT_OK;

	if (!entries_from_model(m, &entries))
		rc = (error_set(err, "out of memory"), EXIT_SYSTEM);
	if (rc == EXIT_OK)
		rc = ops.read_firewalls(ops.ctx, &entries, model_mark(m), NULL, NULL, &foreign, err);
	if (rc == EXIT_OK && !coexist_accepts_needed(&foreign, &accept_needed))
		rc = (error_set(err, "out of memory"), EXIT_SYSTEM);
	if (rc == EXIT_OK) {
		transaction_table(&tx, &whole, text);
		transaction_firewalls(&tx, &foreign, !m->no_integrate);
		rc = transaction_commit(&tx, &ops, true, &sent, err);
	}
	if (rc == EXIT_OK) {
		outcome_say(out, "config is valid: %zu forward%s; the kernel accepts the ruleset "
				 "(dry run, nothing changed)",
			    m->forward_count, m->forward_count == 1 ? "" : "s");
		coexist_tell(out, &foreign, !m->no_integrate, accept_needed, false);
		coexist_tell_host(out, m, &foreign, NULL);
		outcome_set(out, "changed", json_false());
		outcome_set(out, "forwards", json_integer((json_int_t)m->forward_count));
	}
	free(accept_needed);
	foreign_report_free(&foreign);
	entries_free(&entries);
	return rc;
}

static enum exit_code run_check(const struct options *opts)
{
	struct model m = { 0 };
	struct error err;
	struct kernel *k = NULL;
	struct outcome out;
	char *text = NULL;
	enum exit_code rc;

	outcome_init(&out, "check", opts->json, opts->quiet);
	/* the kernel first: without CAP_NET_ADMIN that is the one thing to say */
	rc = kernel_open(&k, &err);
	if (rc == EXIT_OK)
		rc = load_rendered(opts, &m, RESOLVE_STRICT, &text, &err);
	if (rc == EXIT_OK)
		rc = check(&m, text, k, &out, &err);
	kernel_close(k);
	free(text);
	model_free(&m);
	return outcome_finish(&out, rc, &err);
}

const struct command command_check = {
	.name = "check",
	.summary = "validate the config and have the kernel check the ruleset, committing nothing",
	.help = "Parses and validates the config, renders the ruleset and sends it to the kernel\n"
		"as a dry run, with the accepts apply would add to other firewalls' chains, and\n"
		"names those firewalls. Needs CAP_NET_ADMIN; changes nothing.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_FORWARD | OPT_JSON | OPT_QUIET,
	.run = run_check,
};
