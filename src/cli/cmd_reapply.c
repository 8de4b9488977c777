/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reapply: apply again exactly what the last apply was given (its config file and forward
 * flags, recorded in the state dir), or nothing when nothing was applied since boot or a
 * flush. The libvirt network hook runs it after a network starts, for hosts without the
 * unit: it must not replace a `--config` or flags-only apply with /etc/nft-portfwd.conf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "sys/state.h"

static enum exit_code run_reapply(const struct options *opts)
{
	char *text = state_read_file(opts->state_dir, APPLIED_ARGS_FILE);
	struct options again = *opts;
	enum exit_code rc;

	if (!text) {
		if (!opts->quiet && !opts->json)
			printf("nft-portfwd: nothing to re-apply: no apply is recorded in %s (none "
			       "since boot, or a flush since)\n", opts->state_dir);
		else if (opts->json)
			printf("{\"command\": \"reapply\", \"ok\": true, \"exit_code\": 0, "
			       "\"changed\": false}\n");
		return EXIT_OK;
	}
	again.command = "apply";
	again.config_given = false;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		const char **slot = NULL;

		if (!eq)
			continue;
		*eq = '\0';
		if (!strcmp(line, "config")) {
			again.config_path = eq + 1;
			again.config_given = eq[1] != '\0';
			continue;
		}
		if (!strcmp(line, "config-dir")) {
			again.config_dir = eq + 1;
			continue;
		}
		for (size_t i = 0; i < FORWARD_FLAG_COUNT && !slot; i++)
			if (!strcmp(line, forward_flags[i].name))
				slot = &again.flag[i];
		if (slot)
			*slot = eq + 1;
	}
	rc = run_apply(&again);
	free(text);
	return rc;
}

const struct command command_reapply = {
	.name = "reapply",
	.summary = "apply again what the last apply was given, or nothing",
	.help = "Applies again exactly what the last successful apply was given: its config file,\n"
		"drop-in directory and forward flags, recorded in the state dir. Does nothing\n"
		"(exit 0) when no apply is recorded there: none since boot, or a flush since.\n"
		"The libvirt network hook runs it after a network starts.\n",
	.accepts = OPT_STATE_DIR | OPT_JSON | OPT_QUIET,
	.run = run_reapply,
};
