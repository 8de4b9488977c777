/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coexist.h"
#include "conntrack.h"
#include "entries.h"
#include "hostcheck.h"
#include "live.h"
#include "reconcile.h"
#include "render.h"
#include "state.h"
#include "sysctl.h"

/* Does the live table map exactly the config's entries? */
static bool same_entries(const struct entry_list *live, const struct entry_list *wanted)
{
	struct entry_list off = { 0 };
	bool same = entries_stale(live, wanted, &off) && off.count == 0;

	entries_free(&off);
	same = same && entries_stale(wanted, live, &off) && off.count == 0;
	entries_free(&off);
	return same;
}

/*
 * What the last apply committed, kept in the state dir: when the config renders the same
 * text and the live table is still as that apply left it (no transaction anywhere since,
 * or the same structure) with the config's entries, there is nothing to commit, and
 * skipping the commit keeps the counters and the conntrack entries as they are.
 */
static bool already_applied(const struct apply_run *run)
{
	const char *dir = run->state_dir;
	char *applied_text = state_read_file(dir, APPLIED_TEXT_FILE);
	char *applied_live = state_read_file(dir, APPLIED_LIVE_FILE);
	bool same = run->before.present && run->entries_live && applied_text &&
		    strcmp(applied_text, run->table_text) == 0 &&
		    (run->untouched ||
		     (applied_live && strcmp(applied_live, run->before.canonical) == 0));
	struct error ignored;

	/* Untouched since our commit: this listing is what it left; remember its structure
	 * for when other firewalls' transactions move the generation on. */
	if (same && !applied_live)
		state_write_file(dir, APPLIED_LIVE_FILE, run->before.canonical, &ignored);
	free(applied_text);
	free(applied_live);
	return same;
}

/*
 * Read the ruleset once: our table as it is (only the first time: `before`) and the other
 * firewalls, and decide what our rules in their chains must become.
 */
static enum exit_code read_ruleset(struct apply_run *run, struct kernel *k, bool with_before,
				   struct error *err)
{
	size_t len = 0;
	FILE *mem;
	enum exit_code rc;

	foreign_report_free(&run->foreign);
	free(run->pending);
	free(run->foreign_text);
	run->pending = NULL;
	run->foreign_text = NULL;
	rc = coexist_read(k, false, &run->entries, model_mark(run->m), with_before ? &run->before : NULL,
			  &run->foreign, err);
	if (rc != EXIT_OK)
		return rc;
	mem = open_memstream(&run->foreign_text, &len);
	if (!mem || !coexist_render(&run->foreign, !run->m->no_integrate, mem) || fclose(mem) != 0 ||
	    !coexist_pending(&run->foreign, &run->pending)) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/*
 * One transaction: the table (unless already applied) and our rules in other tables. Rules
 * there are deleted by handle, so a firewall that rebuilt its chains since we read them
 * fails the transaction; then read them again and retry once.
 */
static enum exit_code commit(struct apply_run *run, struct kernel *k, bool table_needed,
			     struct error *err)
{
	enum exit_code rc = EXIT_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		char *text = NULL;

		if (attempt > 0 && (rc = read_ruleset(run, k, false, err)) != EXIT_OK)
			return rc;
		if (!table_needed && !run->foreign_text[0])
			return EXIT_OK;
		if (asprintf(&text, "%s%s", table_needed ? run->table_text : "", run->foreign_text) < 0) {
			error_set(err, "out of memory");
			return EXIT_SYSTEM;
		}
		rc = kernel_run(k, text, false, err);
		free(text);
		if (rc == EXIT_OK || !run->foreign_text[0])
			break;
	}
	if (rc == EXIT_OK)
		run->foreign_changed = run->foreign_text[0] != '\0';
	return rc;
}

/*
 * After a commit of the table: remember what it is now, for the next apply and status.
 * Whether it changed is plain unless the old table had the same entries; only then is the
 * new structure listed (a terse listing, cheap) and compared.
 */
static enum exit_code remember(struct apply_run *run, struct kernel *k, struct error *err)
{
	const char *dir = run->state_dir;
	struct error warning;
	enum exit_code rc = EXIT_OK;

	state_remove(dir, APPLIED_LIVE_FILE);
	run->table_changed = true;
	if (run->before.present && run->entries_live) {
		rc = live_read_structure(k, &run->after, err);
		if (rc != EXIT_OK)
			return rc;
		run->table_changed = strcmp(run->before.canonical, run->after.canonical) != 0;
		state_write_file(dir, APPLIED_LIVE_FILE, run->after.canonical, &warning);
	}
	if (state_write_file(dir, APPLIED_TEXT_FILE, run->table_text, &warning) != EXIT_OK)
		fprintf(stderr, "nft-portfwd: warning: %s; the next apply commits again, and status "
				"cannot tell hand-made changes from this apply\n", warning.msg);
	return EXIT_OK;
}

/* After any commit: the generation it left, which says "untouched" to the next reader. */
static void remember_generation(struct apply_run *run)
{
	struct error warning;

	run->gen_known = kernel_generation(&run->gen_after, &warning) == EXIT_OK;
	if (!run->gen_known || state_write_generation(run->state_dir, run->gen_after, &warning) != EXIT_OK)
		state_remove(run->state_dir, APPLIED_GEN_FILE);
}

/* Say what apply did: in lines for people, or as JSON fields. */
void reconcile_tell(struct apply_run *run, struct outcome *out)
{
	json_t *sysctls = json_array();
	bool sysctl_written = false;

	outcome_say(out, "applied %zu forward%s; table " TABLE_FAMILY " " TABLE_NAME " %s",
		    run->m->forward_count, run->m->forward_count == 1 ? "" : "s",
		    run->table_changed ? "changed" : "unchanged");
	for (size_t i = 0; i < run->n_changes; i++) {
		const struct sysctl_change *c = &run->changes[i];

		if (!c->written)
			continue;
		sysctl_written = true;
		outcome_say(out, "%s set to 1 (was %s; flush puts it back)", c->sysctl->name,
			    c->before);
		json_array_append_new(sysctls, json_pack("{s:s, s:s, s:s}", "name", c->sysctl->name,
							  "before", c->before, "after", "1"));
	}
	coexist_tell(out, &run->foreign, !run->m->no_integrate, run->pending, true);
	if (run->conntrack_removed)
		outcome_say(out, "removed %zu conntrack entr%s of changed, new or removed forwards",
			    run->conntrack_removed, run->conntrack_removed == 1 ? "y" : "ies");
	outcome_set(out, "changed",
		    json_boolean(run->table_changed || run->foreign_changed || sysctl_written));
	outcome_set(out, "table_changed", json_boolean(run->table_changed));
	outcome_set(out, "foreign_changed", json_boolean(run->foreign_changed));
	outcome_set(out, "forwards", json_integer((json_int_t)run->m->forward_count));
	outcome_set(out, "sysctls_set", sysctls);
	outcome_set(out, "conntrack_removed", json_integer((json_int_t)run->conntrack_removed));
}

/*
 * Forwarding on for each family that has forwards, then the table and our accepts in other
 * firewalls' chains in one transaction. When the transaction fails, the sysctls go back
 * too: nothing half-applied.
 */
enum exit_code reconcile_apply(struct apply_run *run, struct kernel *k, struct error *err)
{
	const struct forwarding_sysctl *wanted[2];
	size_t n_wanted = 0;
	enum exit_code rc;

	if (model_has_family(run->m, AF_INET))
		wanted[n_wanted++] = &sysctl_ipv4_forward;
	if (model_has_family(run->m, AF_INET6))
		wanted[n_wanted++] = &sysctl_ipv6_forward;

	if (!entries_from_model(run->m, &run->entries)) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	/* The generation around the listing: unchanged, and the one our last commit left,
	 * means the listing shows the table exactly as that apply left it. */
	uint32_t gen_before, gen_after;

	rc = kernel_generation(&gen_before, err);
	if (rc == EXIT_OK)
		rc = read_ruleset(run, k, true, err);
	if (rc == EXIT_OK)
		rc = kernel_generation(&gen_after, err);
	if (rc == EXIT_OK) {
		run->entries_live = same_entries(&run->before.entries, &run->entries);
		run->untouched = gen_before == gen_after &&
				 state_generation_is(run->state_dir, gen_after);
	}
	for (size_t i = 0; rc == EXIT_OK && i < n_wanted; i++) {
		rc = sysctl_enable(run->state_dir, wanted[i], &run->changes[i], err);
		if (rc == EXIT_OK)
			run->n_changes++;
	}
	bool table_needed = rc == EXIT_OK && !already_applied(run);

	if (rc == EXIT_OK)
		rc = commit(run, k, table_needed, err);
	if (rc != EXIT_OK) {
		/* A later sysctl or the transaction failed: put back the sysctls this run set. */
		while (run->n_changes > 0)
			sysctl_undo(run->state_dir, &run->changes[--run->n_changes]);
		return rc;
	}
	/* Committed: from here on, a failure is only a warning; the forwards are in place. */
	if (table_needed || run->foreign_changed)
		remember_generation(run);
	if (table_needed) {
		struct error warning;

		if (remember(run, k, &warning) != EXIT_OK)
			fprintf(stderr, "nft-portfwd: warning: the table is applied, but %s; the next "
					"apply commits again\n", warning.msg);
		run->conntrack_removed = conntrack_forget_stale(&run->before.entries, &run->entries);
	}
	return EXIT_OK;
}

void apply_run_free(struct apply_run *run)
{
	entries_free(&run->entries);
	live_free(&run->before);
	live_free(&run->after);
	foreign_report_free(&run->foreign);
	free(run->pending);
	free(run->foreign_text);
}


enum exit_code reconcile_flush(const char *state_dir, struct kernel *k, struct outcome *out,
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
	const char *forwarder[2];
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
	forwarder[0] = foreign.forwarder[0][0] ? foreign.forwarder[0] :
		       hostcheck_libvirt_forwards() ? "libvirt" : "";
	forwarder[1] = foreign.forwarder[1];
	foreign_report_free(&foreign);
	rc = kernel_run(k, text, false, err);
	free(text);
	if (rc != EXIT_OK) {
		live_free(&before);
		json_decref(restored_list);
		return rc;
	}
	state_remove(state_dir, APPLIED_TEXT_FILE);
	state_remove(state_dir, APPLIED_LIVE_FILE);
	state_remove(state_dir, APPLIED_GEN_FILE);
	state_remove(state_dir, APPLIED_ARGS_FILE);
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
		enum exit_code this_rc;

		/*
		 * libvirt and Docker turn forwarding on for their own networks, maybe after our
		 * first apply recorded it off (at boot nft-portfwd can run first): putting it
		 * back would cut their guests off. Leave it, and forget the record.
		 */
		if (forwarder[i][0] && sysctl_read(sysctls[i], value) && !strcmp(value, "1") &&
		    sysctl_forget(state_dir, sysctls[i])) {
			outcome_say(out, "%s left at 1: %s forwards its own networks too", sysctls[i]->name,
				    forwarder[i]);
			continue;
		}
		this_rc = sysctl_restore(state_dir, sysctls[i], &restored, value, &this_err);

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
