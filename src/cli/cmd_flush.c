/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "sys/kernel.h"
#include "util/outcome.h"
#include "engine/reconcile.h"
#include "sys/state.h"

static enum exit_code run_flush(const struct options *opts)
{
	struct error err;
	struct kernel *k = NULL;
	struct outcome out;
	int lock_fd = -1;
	enum exit_code rc;

	outcome_init(&out, "flush", opts->json, opts->quiet);
	rc = kernel_open(&k, &err);
	if (rc == EXIT_OK)
		rc = state_lock(opts->state_dir, LOCK_WAIT_SECONDS, &lock_fd, &err);
	if (rc == EXIT_OK) {
		struct kernel_ops ops = kernel_ops_real(k);

		rc = reconcile_flush(opts->state_dir, &ops, &out, &err);
	}
	state_unlock(lock_fd);
	kernel_close(k);
	return outcome_finish(&out, rc, &err);
}

const struct command command_flush = {
	.name = "flush",
	.summary = "delete table inet portfwd and put the forwarding sysctls back",
	.help = "Deletes the whole table in one transaction (succeeding when there is none) and\n"
		"puts net.ipv4.ip_forward (and IPv6 forwarding) back to the value they had before\n"
		"the first apply. The accepts apply added to other firewalls' chains (found by\n"
		"their comment) go in the same transaction. The config is not read.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_JSON | OPT_QUIET,
	.run = run_flush,
};
