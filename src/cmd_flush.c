/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "coexist.h"
#include "commands.h"
#include "conntrack.h"
#include "entries.h"
#include "kernel.h"
#include "live.h"
#include "outcome.h"
#include "render.h"
#include "state.h"
#include "sysctl.h"

static enum exit_code flush(const struct options *opts, struct kernel *k, struct outcome *out,
			    struct error *err)
{
	const struct forwarding_sysctl *sysctls[] = { &sysctl_ipv4_forward, &sysctl_ipv6_forward };
	struct live_table before = { 0 };
	struct foreign_report foreign = { 0 };
	size_t foreign_removed;
	json_t *restored_list = json_array();
	char *text = NULL;
	size_t len = 0, conntrack_removed;
	bool any_restored = false;
	FILE *mem;
	/* Our table's entries (for conntrack) and our accepts in other firewalls' chains,
	 * which go in the same transaction as the table. */
	enum exit_code rc = coexist_read(k, false, &(struct entry_list){ 0 }, INTEGRATE_MARK_DEFAULT, &before, &foreign, err);

	if (rc != EXIT_OK) {
		live_free(&before);
		foreign_report_free(&foreign);
		json_decref(restored_list);
		return rc;
	}
	if (!(mem = open_memstream(&text, &len)) || !render_flush(mem) ||
	    !foreign_render_removal(&foreign, mem) || fclose(mem) != 0) {
		live_free(&before);
		foreign_report_free(&foreign);
		json_decref(restored_list);
		free(text);
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	foreign_removed = foreign.ours_count;
	foreign_report_free(&foreign);
	rc = kernel_run(k, text, false, err);
	free(text);
	if (rc != EXIT_OK) {
		live_free(&before);
		json_decref(restored_list);
		return rc;
	}
	state_remove(opts->state_dir, APPLIED_TEXT_FILE);
	state_remove(opts->state_dir, APPLIED_LIVE_FILE);
	state_remove(opts->state_dir, APPLIED_GEN_FILE);
	outcome_say(out, "%s", before.present ? "deleted table " TABLE_FAMILY " " TABLE_NAME
					      : "no table " TABLE_FAMILY " " TABLE_NAME " to delete");
	if (foreign_removed)
		outcome_say(out, "removed %zu accept rule%s of nft-portfwd from other firewalls' chains",
			    foreign_removed, foreign_removed == 1 ? "" : "s");
	/* Every binding the table made is stale now. */
	conntrack_removed = conntrack_forget_stale(&before.entries, &(struct entry_list){ 0 });
	if (conntrack_removed)
		outcome_say(out, "removed %zu conntrack entr%s of the forwards", conntrack_removed,
			    conntrack_removed == 1 ? "y" : "ies");
	/* Each sysctl on its own: one that cannot be put back must not keep the other. */
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		struct error this_err;
		char value[16];
		bool restored;
		enum exit_code this_rc = sysctl_restore(opts->state_dir, sysctls[i], &restored, value,
							&this_err);

		if (this_rc != EXIT_OK && rc == EXIT_OK) {
			rc = this_rc;
			*err = this_err;
		}
		if (this_rc != EXIT_OK || !restored)
			continue;
		any_restored = true;
		outcome_say(out, "%s put back to %s", sysctls[i]->name, value);
		json_array_append_new(restored_list, json_pack("{s:s, s:s}", "name", sysctls[i]->name,
							       "value", value));
	}
	outcome_set(out, "changed", json_boolean(before.present || any_restored || foreign_removed));
	outcome_set(out, "foreign_rules_removed", json_integer((json_int_t)foreign_removed));
	outcome_set(out, "table_deleted", json_boolean(before.present));
	outcome_set(out, "sysctls_restored", restored_list);
	outcome_set(out, "conntrack_removed", json_integer((json_int_t)conntrack_removed));
	live_free(&before);
	return rc;
}

static enum exit_code run_flush(const struct options *opts)
{
	struct error err;
	struct kernel *k = NULL;
	struct outcome out;
	int lock_fd = -1;
	enum exit_code rc;

	outcome_init(&out, opts, "flush");
	rc = kernel_open(&k, &err);
	if (rc == EXIT_OK)
		rc = state_lock(opts->state_dir, LOCK_WAIT_SECONDS, &lock_fd, &err);
	if (rc == EXIT_OK)
		rc = flush(opts, k, &out, &err);
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
