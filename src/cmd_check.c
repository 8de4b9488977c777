/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "kernel.h"
#include "outcome.h"
#include "render.h"

static enum exit_code run_check(const struct options *opts)
{
	struct model m = { 0 };
	struct error err;
	struct kernel *k = NULL;
	struct outcome out;
	char *text = NULL;
	enum exit_code rc;

	outcome_init(&out, opts, "check");
	rc = options_load_rendered(opts, &m, &text, &err);
	if (rc == EXIT_OK)
		rc = kernel_open(&k, &err);
	if (rc == EXIT_OK)
		rc = kernel_run(k, text, true, &err);
	if (rc == EXIT_OK) {
		outcome_say(&out, "config is valid: %zu forward%s; the kernel accepts the ruleset "
				  "(dry run, nothing changed)",
			    m.forward_count, m.forward_count == 1 ? "" : "s");
		outcome_set(&out, "changed", json_false());
		outcome_set(&out, "forwards", json_integer((json_int_t)m.forward_count));
	}
	kernel_close(k);
	free(text);
	model_free(&m);
	return outcome_finish(&out, rc, &err);
}

const struct command command_check = {
	.name = "check",
	.summary = "validate the config and have the kernel check the ruleset, committing nothing",
	.help = "Parses and validates the config, renders the ruleset and sends it to the kernel\n"
		"as a dry run. Needs CAP_NET_ADMIN; changes nothing.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_FORWARD | OPT_JSON | OPT_QUIET,
	.run = run_check,
};
