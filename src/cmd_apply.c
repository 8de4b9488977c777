/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kernel.h"
#include "render.h"
#include "state.h"
#include "sysctl.h"

#define LOCK_WAIT_SECONDS 10

static bool has_family(const struct model *m, int af)
{
	for (size_t i = 0; i < m->forward_count; i++)
		if (m->forwards[i].guest.family == af)
			return true;
	return false;
}

/*
 * Forwarding on for each family that has forwards, then the table replaced in one
 * transaction. When the transaction fails, the sysctls go back too: nothing half-applied.
 */
static enum exit_code apply(const struct options *opts, const struct model *m,
			    const char *text, struct kernel *k, struct error *err)
{
	const struct forwarding_sysctl *wanted[2];
	struct sysctl_change changes[2];
	size_t n_wanted = 0, n_changed = 0;
	char *before = NULL, *after = NULL;
	enum exit_code rc;

	if (has_family(m, AF_INET))
		wanted[n_wanted++] = &sysctl_ipv4_forward;
	if (has_family(m, AF_INET6))
		wanted[n_wanted++] = &sysctl_ipv6_forward;

	rc = kernel_list_table(k, &before, err);
	for (size_t i = 0; rc == EXIT_OK && i < n_wanted; i++) {
		rc = sysctl_enable(opts->state_dir, wanted[i], &changes[i], err);
		if (rc == EXIT_OK)
			n_changed++;
	}
	if (rc == EXIT_OK)
		rc = kernel_run(k, text, false, err);
	if (rc != EXIT_OK) {
		while (n_changed > 0)
			sysctl_undo(opts->state_dir, &changes[--n_changed]);
		free(before);
		return rc;
	}
	rc = kernel_list_table(k, &after, err);
	if (rc == EXIT_OK) {
		bool changed = !before || !after || strcmp(before, after) != 0;

		printf("nft-portfwd: applied %zu forward%s; table " TABLE_FAMILY " " TABLE_NAME
		       " %s\n",
		       m->forward_count, m->forward_count == 1 ? "" : "s",
		       changed ? "changed" : "unchanged");
		for (size_t i = 0; i < n_changed; i++)
			if (changes[i].written)
				printf("nft-portfwd: %s set to 1 (was %s; flush puts it back)\n",
				       changes[i].sysctl->name, changes[i].before);
	}
	free(before);
	free(after);
	return rc;
}

static enum exit_code run_apply(const struct options *opts)
{
	struct model m;
	struct error err;
	struct kernel *k = NULL;
	char *text = NULL;
	int lock_fd = -1;
	enum exit_code rc = options_load_model(opts, &m, &err);

	if (rc != EXIT_OK)
		return report_error(rc, &err);
	if (!(text = render_ruleset_text(&m))) {
		error_set(&err, "out of memory while rendering");
		rc = EXIT_SYSTEM;
	}
	if (rc == EXIT_OK)
		rc = kernel_open(&k, &err);
	if (rc == EXIT_OK)
		rc = state_lock(opts->state_dir, LOCK_WAIT_SECONDS, &lock_fd, &err);
	if (rc == EXIT_OK)
		rc = apply(opts, &m, text, k, &err);
	state_unlock(lock_fd);
	kernel_close(k);
	free(text);
	model_free(&m);
	return rc == EXIT_OK ? rc : report_error(rc, &err);
}

const struct command command_apply = {
	.name = "apply",
	.summary = "turn on forwarding and replace table inet portfwd in one transaction",
	.help = "Validates the config, turns on net.ipv4.ip_forward (and IPv6 forwarding when an\n"
		"IPv6 forward exists), remembering the old value for flush, then replaces table\n"
		"inet portfwd in one transaction. On any error the previous table and sysctls stay\n"
		"as they were. Applying the same config again changes nothing.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_FORWARD,
	.run = run_apply,
};
