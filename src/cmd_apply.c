/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "conntrack.h"
#include "entries.h"
#include "kernel.h"
#include "live.h"
#include "outcome.h"
#include "render.h"
#include "state.h"
#include "sysctl.h"

/* After a commit: remove conntrack entries whose NAT binding the new table no longer makes. */
static size_t forget_stale_bindings(const struct model *m, const struct live_table *before)
{
	struct entry_list wanted = { 0 };
	size_t removed = 0;

	if (entries_from_model(m, &wanted))
		removed = conntrack_forget_stale(&before->entries, &wanted);
	else
		fprintf(stderr, "nft-portfwd: warning: out of memory; stale conntrack entries were "
				"not removed\n");
	entries_free(&wanted);
	return removed;
}

/*
 * What the last apply committed, kept in the state dir: when the config renders the same
 * text and the live table is still what that apply left, there is nothing to commit, and
 * skipping the commit keeps the counters and the conntrack entries as they are.
 */
static bool already_applied(const char *state_dir, const char *text, const struct live_table *live)
{
	char *applied_text = state_read_file(state_dir, APPLIED_TEXT_FILE);
	char *applied_live = state_read_file(state_dir, APPLIED_LIVE_FILE);
	bool same = live->present && applied_text && applied_live &&
		    strcmp(applied_text, text) == 0 && strcmp(applied_live, live->canonical) == 0;

	free(applied_text);
	free(applied_live);
	return same;
}

/* Say what apply did: in lines for people, or as JSON fields. */
static void tell(struct outcome *out, const struct model *m, bool table_changed,
		 const struct sysctl_change *changes, size_t n_changes, size_t conntrack_removed)
{
	json_t *sysctls = json_array();
	bool sysctl_written = false;

	outcome_say(out, "applied %zu forward%s; table " TABLE_FAMILY " " TABLE_NAME " %s",
		    m->forward_count, m->forward_count == 1 ? "" : "s",
		    table_changed ? "changed" : "unchanged");
	for (size_t i = 0; i < n_changes; i++) {
		if (!changes[i].written)
			continue;
		sysctl_written = true;
		outcome_say(out, "%s set to 1 (was %s; flush puts it back)", changes[i].sysctl->name,
			    changes[i].before);
		json_array_append_new(sysctls, json_pack("{s:s, s:s, s:s}", "name",
							  changes[i].sysctl->name, "before",
							  changes[i].before, "after", "1"));
	}
	if (conntrack_removed)
		outcome_say(out, "removed %zu conntrack entr%s of changed, new or removed forwards",
			    conntrack_removed, conntrack_removed == 1 ? "y" : "ies");
	outcome_set(out, "changed", json_boolean(table_changed || sysctl_written));
	outcome_set(out, "table_changed", json_boolean(table_changed));
	outcome_set(out, "forwards", json_integer((json_int_t)m->forward_count));
	outcome_set(out, "sysctls_set", sysctls);
	outcome_set(out, "conntrack_removed", json_integer((json_int_t)conntrack_removed));
}

/*
 * Forwarding on for each family that has forwards, then the table replaced in one
 * transaction. When the transaction fails, the sysctls go back too: nothing half-applied.
 */
static enum exit_code apply(const struct options *opts, const struct model *m,
			    const char *text, struct kernel *k, struct outcome *out,
			    struct error *err)
{
	const struct forwarding_sysctl *wanted[2];
	struct sysctl_change changes[2];
	struct live_table before = { 0 }, after = { 0 };
	size_t n_wanted = 0, n_changed = 0, conntrack_removed = 0;
	bool changed = false;
	enum exit_code rc;

	if (model_has_family(m, AF_INET))
		wanted[n_wanted++] = &sysctl_ipv4_forward;
	if (model_has_family(m, AF_INET6))
		wanted[n_wanted++] = &sysctl_ipv6_forward;

	rc = live_read(k, false, &before, err);
	for (size_t i = 0; rc == EXIT_OK && i < n_wanted; i++) {
		rc = sysctl_enable(opts->state_dir, wanted[i], &changes[i], err);
		if (rc == EXIT_OK)
			n_changed++;
	}
	if (rc == EXIT_OK && !already_applied(opts->state_dir, text, &before)) {
		rc = kernel_run(k, text, false, err);
		if (rc != EXIT_OK) {
			while (n_changed > 0)
				sysctl_undo(opts->state_dir, &changes[--n_changed]);
		} else if ((rc = live_read(k, false, &after, err)) == EXIT_OK) {
			struct error warning;

			changed = !before.present || strcmp(before.canonical, after.canonical) != 0;
			if (state_write_file(opts->state_dir, APPLIED_TEXT_FILE, text, &warning) != EXIT_OK ||
			    state_write_file(opts->state_dir, APPLIED_LIVE_FILE, after.canonical,
					     &warning) != EXIT_OK)
				fprintf(stderr, "nft-portfwd: warning: %s; status cannot tell hand-made "
						"changes from this apply\n", warning.msg);
			conntrack_removed = forget_stale_bindings(m, &before);
		}
	}
	if (rc == EXIT_OK)
		tell(out, m, changed, changes, n_changed, conntrack_removed);
	live_free(&before);
	live_free(&after);
	return rc;
}

static enum exit_code run_apply(const struct options *opts)
{
	struct model m = { 0 };
	struct error err;
	struct kernel *k = NULL;
	struct outcome out;
	char *text = NULL;
	int lock_fd = -1;
	enum exit_code rc;

	outcome_init(&out, opts, "apply");
	rc = options_load_rendered(opts, &m, &text, &err);
	if (rc == EXIT_OK)
		rc = kernel_open(&k, &err);
	if (rc == EXIT_OK)
		rc = state_lock(opts->state_dir, LOCK_WAIT_SECONDS, &lock_fd, &err);
	if (rc == EXIT_OK)
		rc = apply(opts, &m, text, k, &out, &err);
	state_unlock(lock_fd);
	kernel_close(k);
	free(text);
	model_free(&m);
	return outcome_finish(&out, rc, &err);
}

const struct command command_apply = {
	.name = "apply",
	.summary = "turn on forwarding and replace table inet portfwd in one transaction",
	.help = "Validates the config, turns on net.ipv4.ip_forward (and IPv6 forwarding when an\n"
		"IPv6 forward exists), remembering the old value for flush, then replaces table\n"
		"inet portfwd in one transaction. On any error the previous table and sysctls stay\n"
		"as they were. Applying the same config again changes nothing.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_FORWARD | OPT_JSON | OPT_QUIET,
	.run = run_apply,
};
