/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/coexist.h"
#include "sys/conntrack.h"
#include "table/elements.h"
#include "config/entries.h"
#include "sys/hostcheck.h"
#include "table/live.h"
#include "engine/reconcile.h"
#include "table/render.h"
#include "sys/state.h"
#include "sys/sysctl.h"
#include "engine/trace.h"

/* What our accepts in other firewalls' chains are made for: "auto MARK" or "off". */
static void integrate_record(const struct model *m, char *value, size_t size)
{
	if (m->no_integrate)
		snprintf(value, size, "off");
	else
		snprintf(value, size, "auto 0x%08x", model_mark(m));
}

static bool integrate_recorded(const struct apply_run *run)
{
	char recorded[64], now[64];

	integrate_record(run->m, now, sizeof(now));
	return state_read(run->state_dir, APPLIED_INTEGRATE_FILE, recorded, sizeof(recorded)) &&
	       !strcmp(recorded, now);
}

/*
 * Read the ruleset: our table's structure (only the first time: `before`) and the other
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
	rc = coexist_read(k, 0, &run->entries, model_mark(run->m),
			  run->cancel,
			  with_before ? &run->before : NULL, &run->foreign, err);
	if (rc != EXIT_OK)
		return rc;
	run->foreign_read = true;
	mem = open_memstream(&run->foreign_text, &len);
	if (!mem || !coexist_render(&run->foreign, !run->m->no_integrate, mem) || fclose(mem) != 0 ||
	    !coexist_pending(&run->foreign, &run->pending)) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/*
 * One transaction: `table_part` (the whole table, or element changes, or nothing) and our
 * rules in other tables. Rules there are deleted by handle, so a firewall that rebuilt its
 * chains since we read them fails the transaction; then read them again and retry once.
 */
static enum exit_code commit(struct apply_run *run, struct kernel *k, const char *table_part,
			     struct error *err)
{
	const char *foreign_text = run->foreign_text ? run->foreign_text : "";
	enum exit_code rc = EXIT_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		char *text = NULL;

		if (attempt > 0 && (rc = read_ruleset(run, k, false, err)) != EXIT_OK)
			return rc;
		foreign_text = run->foreign_text ? run->foreign_text : "";
		if (!table_part[0] && !foreign_text[0])
			return EXIT_OK;
		if (asprintf(&text, "%s%s", table_part, foreign_text) < 0) {
			error_set(err, "out of memory");
			return EXIT_SYSTEM;
		}
		rc = kernel_run(k, text, false, err);
		free(text);
		if (rc == EXIT_OK || !foreign_text[0])
			break;
	}
	if (rc == EXIT_OK) {
		run->committed = true;
		run->foreign_changed = foreign_text[0] != '\0';
	}
	return rc;
}

/* Elements of a live table as a rendering would hold them. */
static bool live_elements(const struct live_table *t, char **text)
{
	size_t len = 0;
	FILE *mem = open_memstream(text, &len);
	bool ok = mem && render_elements(&t->entries, &t->guests, &t->masqueraded, mem);

	if (!mem || fclose(mem) != 0 || !ok) {
		free(*text);
		*text = NULL;
		return false;
	}
	return true;
}

/*
 * The elements a table holds: `text`, a record's rendering (the last apply's), or NULL
 * to read the live table back (after a transaction of someone else's, the only word to
 * trust; `live` is filled and *owned holds the text the elements point into).
 */
static enum exit_code table_elements(struct kernel *k, const char *text, struct live_table *live,
				     char **owned, struct element_list *elements, struct error *err)
{
	char *structure = NULL;
	enum exit_code rc;

	*owned = NULL;
	if (!text) {
		rc = live_read_table(k, false, live, err);
		if (rc != EXIT_OK)
			return rc;
		if (!live_elements(live, owned))
			return error_set(err, "out of memory"), EXIT_SYSTEM;
		text = *owned;
	}
	if (!elements_split(text, &structure, elements))
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	free(structure);
	return EXIT_OK;
}

/* The commands from `old` to the config's elements; *change says what they do. */
static enum exit_code element_commands(const struct element_list *old,
				       const struct element_list *wanted, char **text,
				       struct element_change *change, struct error *err)
{
	size_t len = 0;
	FILE *mem = open_memstream(text, &len);
	bool ok = mem && elements_diff(old, wanted, mem, change);

	if (!mem || fclose(mem) != 0 || !ok) {
		free(*text);
		*text = NULL;
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/*
 * After a commit, or a read that found all in place: what the next apply may trust.
 * `record_same`: the last apply's record has the config's structure, so a replace may
 * have left the table as it was (its record lost, say) and the new structure is compared.
 * `record_current`: the record is already the config's rendering. The table is what the
 * config renders now (committed, or found so), and the record must say so.
 */
static void remember(struct apply_run *run, struct kernel *k, uint32_t gen_before,
		     bool record_same, bool record_current)
{
	const char *dir = run->state_dir;
	struct error warning;
	char integrate[64];
	uint32_t gen_now;
	bool known = kernel_generation(&gen_now, &warning) == EXIT_OK;

	/* Exactly our transaction since gen_before (or none): the state is what we know. */
	bool trusted = known && gen_now == gen_before + (run->committed ? 1u : 0u);

	run->gen_known = run->committed && known;
	run->gen_after = gen_now;
	if (!record_current &&
	    state_write_file(dir, APPLIED_TEXT_FILE, run->table_text, &warning) != EXIT_OK) {
		fprintf(stderr, "nft-portfwd: warning: %s; the next apply reads the table back, and "
				"status cannot tell hand-made changes from this apply\n", warning.msg);
		state_remove(dir, APPLIED_TEXT_FILE);
		trusted = false;
	}
	if (run->replaced) {
		/* the new structure, from a terse listing (cheap), for the reads after others' commits */
		struct live_table after = { 0 };

		run->table_changed = true; /* unless the structure is known to be the same */
		state_remove(dir, APPLIED_LIVE_FILE);
		if (live_read_structure(k, &after, &warning) == EXIT_OK && after.present) {
			run->table_changed = !record_same || !run->before.present || run->hosts_differ ||
					     run->change.deleted ||
					     run->change.added || !run->old_known ||
					     strcmp(run->before.canonical, after.canonical) != 0;
			state_write_file(dir, APPLIED_LIVE_FILE, after.canonical, &warning);
		}
		live_free(&after);
	}
	if (run->foreign_read) {
		integrate_record(run->m, integrate, sizeof(integrate));
		state_write(dir, APPLIED_INTEGRATE_FILE, integrate, &warning);
	}
	if (!trusted || state_write_generation(dir, gen_now, &warning) != EXIT_OK)
		state_remove(dir, APPLIED_GEN_FILE);
}

/* Say what apply did: in lines for people, or as JSON fields. */
void reconcile_tell(struct apply_run *run, struct outcome *out)
{
	json_t *sysctls = json_array();
	bool sysctl_written = false;

	outcome_say(out, "applied %zu forward%s; table " TABLE_FAMILY " " TABLE_NAME " %s",
		    run->m->forward_count, run->m->forward_count == 1 ? "" : "s",
		    run->table_changed ? "changed" : "unchanged");
	if (run->table_changed && run->replaced)
		outcome_say(out, "replaced the whole table in one transaction: %s",
			    run->replaced_for_speed ? "the kernel deletes from a map of client networks "
						      "one element at a time, each costing work of the "
						      "map's size, so this change in place would take "
						      "longer than a replace"
			    : run->before.present ? "its structure changed (rules, chains, set "
						    "definitions or host addresses)"
						  : "it was not there");
	else if (run->table_changed)
		outcome_say(out, "changed elements in place: %zu added, %zu deleted; the other forwards "
				 "keep their counters and connections", run->change.added,
			    run->change.deleted);
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
	if (run->foreign_read)
		coexist_tell(out, &run->foreign, !run->m->no_integrate, run->pending, true);
	if (run->foreign_changed && run->foreign.trace_leftover) {
		char leftover[160];

		trace_leftover_text(run->foreign.trace_pid, leftover, sizeof(leftover));
		outcome_say(out, "deleted %s", leftover);
	}
	if (run->conntrack_removed)
		outcome_say(out, "removed %zu conntrack entr%s of changed, new or removed forwards",
			    run->conntrack_removed, run->conntrack_removed == 1 ? "y" : "ies");
	outcome_set(out, "changed",
		    json_boolean(run->table_changed || run->foreign_changed || sysctl_written));
	outcome_set(out, "table_changed", json_boolean(run->table_changed));
	outcome_set(out, "table_replaced", json_boolean(run->table_changed && run->replaced));
	/* in place only: a replace rewrites every element */
	outcome_set(out, "elements_added",
		    json_integer(run->replaced ? 0 : (json_int_t)run->change.added));
	outcome_set(out, "elements_deleted",
		    json_integer(run->replaced ? 0 : (json_int_t)run->change.deleted));
	outcome_set(out, "foreign_changed", json_boolean(run->foreign_changed));
	outcome_set(out, "forwards", json_integer((json_int_t)run->m->forward_count));
	outcome_set(out, "sysctls_set", sysctls);
	outcome_set(out, "conntrack_removed", json_integer((json_int_t)run->conntrack_removed));
}

/* What the last apply committed (applied.nft), split once for both paths below. */
struct record {
	char *text;            /* NULL: no record */
	char *structure;
	struct element_list elements;
};

static bool record_load(const char *state_dir, struct record *r)
{
	*r = (struct record){ .text = state_read_file(state_dir, APPLIED_TEXT_FILE) };
	return !r->text || elements_split(r->text, &r->structure, &r->elements);
}

static void record_free(struct record *r)
{
	elements_free(&r->elements);
	free(r->structure);
	free(r->text);
}

/*
 * The kernel refused a change computed from the record, and no transaction since `gen`
 * explains it: unless something else refuses (an owner, a security module), the record is
 * not what is live. Say so rather than cover it, and forget the generation so that the
 * next apply reads the table back. False (err untouched) when someone's transaction did
 * happen: then reading back is the answer.
 */
static bool refused_as_recorded(const struct apply_run *run, uint32_t gen,
				const struct error *refused, struct error *err)
{
	uint32_t now;
	struct error ignored;

	if (kernel_generation(&now, &ignored) != EXIT_OK || now != gen)
		return false;
	state_remove(run->state_dir, APPLIED_GEN_FILE);
	error_set(err, "%s\nNo transaction since the last apply explains it: if nothing else "
		       "refuses (an owner, a security module), the record of that apply in %s does "
		       "not match table " TABLE_FAMILY " " TABLE_NAME " (edited?). The next apply "
		       "reads the table back.", refused->msg, run->state_dir);
	return true;
}

/*
 * The everyday path: no transaction anywhere since our last commit, so the table is what
 * that commit left (the record), and other firewalls' chains too. Only element changes,
 * or nothing, when the structure and the integration are the same. *done false: another
 * path must decide.
 */
static enum exit_code apply_untouched(struct apply_run *run, struct kernel *k,
				      const struct record *rec, const char *wanted_structure,
				      const struct element_list *wanted, bool *done,
				      struct error *err)
{
	char *commands = NULL;
	uint32_t gen;
	enum exit_code rc = kernel_generation(&gen, err);

	*done = false;
	if (rc != EXIT_OK || !state_generation_is(run->state_dir, gen) || !integrate_recorded(run) ||
	    !rec->text || strcmp(rec->structure, wanted_structure))
		return rc;
	run->before.present = true;
	run->old_known = true;
	rc = element_commands(&rec->elements, wanted, &commands, &run->change, err);
	if (rc == EXIT_OK && elements_cheaper_replaced(&run->change, wanted->count)) {
		/* no change may cost more than a fresh apply: apply_read replaces, taking our
		 * table from the record (nothing happened since) */
		element_change_free(&run->change);
		run->ours_known = true;
	} else if (rc == EXIT_OK && run->change.added) {
		/* New elements (a guest endpoint, a port, a client network) may meet drops in
		 * other firewalls that the old ones did not: look at those first. Our table is
		 * the record (nothing happened since), so it is not listed. */
		element_change_free(&run->change);
		run->ours_known = true;
	} else if (rc == EXIT_OK && commands[0]) {
		struct error refused;

		if (commit(run, k, commands, &refused) == EXIT_OK) {
			*done = true;
			remember(run, k, gen, true, false);
		} else if (refused_as_recorded(run, gen, &refused, err)) {
			*done = true;
			rc = EXIT_KERNEL;
		} else {
			/* someone's transaction since the generation was read: read then */
			element_change_free(&run->change);
		}
	} else {
		*done = rc == EXIT_OK;
	}
	free(commands);
	return rc;
}

/*
 * After someone else's transaction (or without a record): read our table's structure and
 * the other firewalls. The same structure as the last apply left: only element changes,
 * from the elements read back. Otherwise the whole table is replaced in one transaction.
 */
static enum exit_code apply_read(struct apply_run *run, struct kernel *k,
				 const struct record *rec, const char *wanted_structure,
				 const struct element_list *wanted, struct error *err)
{
	char *applied_live = state_read_file(run->state_dir, APPLIED_LIVE_FILE);
	char *live_text = NULL, *commands = NULL;
	struct element_list read_back = { 0 };
	const struct element_list *old = NULL;
	struct live_table live = { 0 };
	uint32_t gen_before;
	bool record_same, same_structure;
	enum exit_code rc = kernel_generation(&gen_before, err);

	if (rc == EXIT_OK)
		rc = read_ruleset(run, k, true, err);
	record_same = rc == EXIT_OK && rec->text && !strcmp(rec->structure, wanted_structure);
	same_structure = record_same && run->before.present && applied_live &&
			 !strcmp(applied_live, run->before.canonical);
	/* The elements before: read back when the table can stay (the record, when the
	 * watcher saw nobody touch the table), or for conntrack when it goes and there is
	 * no record of what it held. */
	if (rc == EXIT_OK && ((same_structure && !run->ours_known) ||
			      (run->before.present && !rec->text))) {
		rc = table_elements(k, NULL, &live, &live_text, &read_back, err);
		old = &read_back;
	} else if (rc == EXIT_OK && rec->text) {
		old = &rec->elements;
	}
	run->old_known = rc == EXIT_OK && old;
	/* A hand edit between the two listings, of the host addresses, or elements we never
	 * write: replace. */
	run->hosts_differ = live.canonical && !live_hosts_are(&live, run->m);
	if (same_structure && live.canonical &&
	    (live.foreign_count || strcmp(live.canonical, run->before.canonical) ||
	     run->hosts_differ))
		same_structure = false;
	/* the changes, for the commit or for conntrack; nothing before: nothing to compare */
	if (rc == EXIT_OK && run->old_known)
		rc = element_commands(old, wanted, &commands, &run->change, err);
	/* no change may cost more than a fresh apply: a replace, when in place would be slower */
	if (rc == EXIT_OK && same_structure && run->old_known &&
	    elements_cheaper_replaced(&run->change, wanted->count)) {
		same_structure = false;
		run->replaced_for_speed = true;
	}
	if (rc == EXIT_OK) {
		run->replaced = !same_structure;
		rc = commit(run, k, run->replaced ? run->table_text : commands ? commands : "", err);
		/* elements from the record, refused: say whether the record is to blame */
		if (rc == EXIT_KERNEL && run->ours_known && !run->replaced) {
			struct error refused = *err;

			refused_as_recorded(run, gen_before, &refused, err);
		}
	}
	if (rc == EXIT_OK)
		remember(run, k, gen_before, record_same,
			 rec->text && !strcmp(rec->text, run->table_text));
	if (rc == EXIT_OK && !run->replaced)
		run->table_changed = run->change.deleted || run->change.added;
	free(commands);
	elements_free(&read_back);
	free(live_text);
	free(applied_live);
	live_free(&live);
	return rc;
}

/*
 * Forwarding on for each family that has forwards, then what differs in the table and in
 * our accepts in other firewalls' chains, in one transaction. When the transaction
 * fails, the sysctls go back too: nothing half-applied.
 */
enum exit_code reconcile_apply(struct apply_run *run, struct kernel *k, struct error *err)
{
	const struct forwarding_sysctl *wanted_sysctls[2];
	size_t n_wanted = 0;
	char *wanted_structure = NULL;
	struct element_list wanted = { 0 };
	struct record rec;
	bool done = false;
	enum exit_code rc = EXIT_OK;

	if (model_has_family(run->m, AF_INET))
		wanted_sysctls[n_wanted++] = &sysctl_ipv4_forward;
	if (model_has_family(run->m, AF_INET6))
		wanted_sysctls[n_wanted++] = &sysctl_ipv6_forward;

	if (!record_load(run->state_dir, &rec) || !entries_from_model(run->m, &run->entries) ||
	    !elements_split(run->table_text, &wanted_structure, &wanted)) {
		record_free(&rec);
		free(wanted_structure);
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	for (size_t i = 0; rc == EXIT_OK && i < n_wanted; i++) {
		rc = sysctl_enable(run->state_dir, wanted_sysctls[i], &run->changes[i], err);
		if (rc == EXIT_OK)
			run->n_changes++;
	}
	if (rc == EXIT_OK)
		rc = apply_untouched(run, k, &rec, wanted_structure, &wanted, &done, err);
	if (rc == EXIT_OK && !done) {
		live_free(&run->before);
		rc = apply_read(run, k, &rec, wanted_structure, &wanted, err);
	}
	if (rc == EXIT_OK && done)
		run->table_changed = run->change.deleted || run->change.added;
	elements_free(&wanted);
	free(wanted_structure);
	record_free(&rec);
	if (rc != EXIT_OK) {
		/* A later sysctl or the transaction failed: put back the sysctls this run set. */
		while (run->n_changes > 0)
			sysctl_undo(run->state_dir, &run->changes[--run->n_changes]);
		return rc;
	}
	/* Committed: from here on, a failure is only a warning; the forwards are in place. */
	if (run->committed && run->old_known)
		run->conntrack_removed = conntrack_forget_stale(&run->change.removed_mappings,
							       &run->change.added_mappings);
	else if (run->committed)
		run->conntrack_removed = conntrack_forget_stale(&(struct entry_list){ 0 }, &run->entries);
	return EXIT_OK;
}

void apply_run_free(struct apply_run *run)
{
	entries_free(&run->entries);
	live_free(&run->before);
	element_change_free(&run->change);
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
	bool trace_removed;
	char trace_text[160];
	json_t *restored_list = json_array();
	char *text = NULL;
	size_t len = 0, conntrack_removed;
	bool any_restored = false;
	const char *forwarder[2];
	FILE *mem;
	/* Our accepts in other firewalls' chains, which go in the same transaction as the
	 * table; our table's structure only: its elements are not needed to delete it. */
	enum exit_code rc = coexist_read(k, 0, &(struct entry_list){ 0 }, INTEGRATE_MARK_DEFAULT,
					 NULL, &before, &foreign, err);
	struct entry_list mappings = { 0 };
	struct element_change gone = { 0 };
	char *old_text = NULL;

	/* What the table mapped, for conntrack (when it tracks anything): the last apply's
	 * record, read back without one. */
	if (rc == EXIT_OK && before.present && conntrack_any_tracked()) {
		struct element_list old = { 0 };
		struct live_table live = { 0 };
		char *discard = NULL, *record = state_read_file(state_dir, APPLIED_TEXT_FILE);

		rc = table_elements(k, record, &live, &old_text, &old, err);
		if (rc == EXIT_OK)
			rc = element_commands(&old, &(struct element_list){ 0 }, &discard, &gone, err);
		mappings = gone.removed_mappings;
		free(discard);
		free(record);
		elements_free(&old);
		live_free(&live);
	}

	if (rc != EXIT_OK) {
		live_free(&before);
		foreign_report_free(&foreign);
		element_change_free(&gone);
		free(old_text);
		json_decref(restored_list);
		return rc;
	}
	if (!(mem = open_memstream(&text, &len)) || !render_flush(mem) ||
	    !coexist_render(&foreign, false, mem) || fclose(mem) != 0) {
		live_free(&before);
		foreign_report_free(&foreign);
		element_change_free(&gone);
		free(old_text);
		json_decref(restored_list);
		free(text);
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	foreign_removed = foreign.ours_count;
	trace_removed = foreign.trace_leftover;
	trace_leftover_text(foreign.trace_pid, trace_text, sizeof(trace_text));
	forwarder[0] = foreign.forwarder[0][0] ? foreign.forwarder[0] :
		       hostcheck_libvirt_forwards() ? "libvirt" : "";
	forwarder[1] = foreign.forwarder[1];
	foreign_report_free(&foreign);
	rc = kernel_run(k, text, false, err);
	free(text);
	if (rc != EXIT_OK) {
		live_free(&before);
		element_change_free(&gone);
		free(old_text);
		json_decref(restored_list);
		return rc;
	}
	state_remove(state_dir, APPLIED_TEXT_FILE);
	state_remove(state_dir, APPLIED_INTEGRATE_FILE);
	state_remove(state_dir, APPLIED_LIVE_FILE);
	state_remove(state_dir, APPLIED_GEN_FILE);
	state_remove(state_dir, APPLIED_ARGS_FILE);
	outcome_say(out, "%s", before.present ? "deleted table " TABLE_FAMILY " " TABLE_NAME
					      : "no table " TABLE_FAMILY " " TABLE_NAME " to delete");
	if (foreign_removed)
		outcome_say(out, "removed %zu accept rule%s of nft-portfwd from other firewalls' chains",
			    foreign_removed, foreign_removed == 1 ? "" : "s");
	if (trace_removed)
		outcome_say(out, "deleted %s", trace_text);
	/* Every binding the table made is stale now. */
	conntrack_removed = conntrack_forget_stale(&mappings, &(struct entry_list){ 0 });
	element_change_free(&gone);
	free(old_text);
	if (conntrack_removed)
		outcome_say(out, "removed %zu conntrack entr%s of the forwards", conntrack_removed,
			    conntrack_removed == 1 ? "y" : "ies");
	/* Each sysctl on its own: one that cannot be put back must not keep the other. */
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		struct error this_err;
		char value[16], ifaces[512];
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
		this_rc = sysctl_restore(state_dir, sysctls[i], &restored, value, ifaces, sizeof(ifaces),
					 &this_err);

		if (this_rc != EXIT_OK && rc == EXIT_OK) {
			rc = this_rc;
			*err = this_err;
		}
		if (this_rc != EXIT_OK || !restored)
			continue;
		any_restored = true;
		outcome_say(out, "%s put back to %s%s%s%s", sysctls[i]->name, value,
			    ifaces[0] ? " (and per interface: " : "", ifaces, ifaces[0] ? ")" : "");
		json_array_append_new(restored_list, json_pack("{s:s, s:s, s:s}", "name", sysctls[i]->name,
							       "value", value, "interfaces", ifaces));
	}
	outcome_set(out, "changed", json_boolean(before.present || any_restored || foreign_removed ||
						 trace_removed));
	outcome_set(out, "foreign_rules_removed", json_integer((json_int_t)foreign_removed));
	outcome_set(out, "table_deleted", json_boolean(before.present));
	outcome_set(out, "sysctls_restored", restored_list);
	outcome_set(out, "conntrack_removed", json_integer((json_int_t)conntrack_removed));
	live_free(&before);
	return rc;
}
