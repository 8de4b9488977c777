/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/load.h"
#include "table/render.h"

static enum exit_code run_render(const struct options *opts)
{
	struct model m;
	struct error err;
	enum exit_code rc = load_resolved(opts, &m, RESOLVE_UNKNOWN_WAITS, &err);
	FILE *out = stdout;
	bool ok;

	if (rc != EXIT_OK)
		return report_error(rc, &err);
	if (!load_routing(opts, &m))
		fprintf(stderr, "nft-portfwd: warning: cannot read the state dir %s, so this rendering "
				"cannot know whether apply turned forwarding on and added chain routing; "
				"it is rendered without (as root, or with --routing, it is exact)\n",
			opts->state_dir);
	if (opts->output_path && !(out = fopen(opts->output_path, "w"))) {
		error_set(&err, "cannot write %s: %s", opts->output_path, strerror(errno));
		model_free(&m);
		return report_error(EXIT_SYSTEM, &err);
	}
	ok = render_ruleset(&m, out);
	ok = (out == stdout ? fflush(out) == 0 : fclose(out) == 0) && ok;
	model_free(&m);
	if (!ok) {
		error_set(&err, "cannot write the ruleset to %s: %s",
			  opts->output_path ? opts->output_path : "standard output", strerror(errno));
		return report_error(EXIT_SYSTEM, &err);
	}
	return EXIT_OK;
}

const struct command command_render = {
	.name = "render",
	.summary = "print the exact ruleset apply would commit (no privileges needed)",
	.help = "The output is nft syntax: 'nft -f' accepts it, and 'nft-portfwd apply' commits\n"
		"the same bytes. The same config always renders the same bytes on the same host:\n"
		"with routing = auto (the default), chain routing is there for a family whose\n"
		"forwarding is off (or was before the first apply, as the state dir records):\n"
		"apply turns it on, and then the host routes only the forwards.\n",
	.accepts = OPT_CONFIG | OPT_OUTPUT | OPT_FORWARD | OPT_STATE_DIR,
	.run = run_render,
};
