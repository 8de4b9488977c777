/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/describe.h"
#include "engine/coexist.h"
#include "engine/reconcile.h"
#include "engine/trace.h"
#include "engine/transaction.h"
#include "sys/state.h"
#include "util/text.h"

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
static enum exit_code read_ruleset(struct apply_run *run, const struct kernel_ops *k,
				   bool with_before, struct error *err)
{
	enum exit_code rc;

	foreign_report_free(&run->foreign);
	free(run->accept_needed);
	run->accept_needed = NULL;
	rc = k->read_firewalls(k->ctx, &run->entries, model_mark(run->m), run->cancel,
			       with_before ? &run->before : NULL, &run->foreign, err);
	if (rc != EXIT_OK)
		return rc;
	run->foreign_read = true;
	if (!coexist_accepts_needed(&run->foreign, &run->accept_needed)) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/*
 * One transaction: our table as the plan says, and our rules in other tables when they
 * were looked at. Rules there are deleted by handle, so a firewall that rebuilt its chains
 * since we read them fails the transaction; then read them again and retry once.
 */
static enum exit_code commit(struct apply_run *run, const struct kernel_ops *k,
			     struct error *err)
{
	struct transaction tx = { 0 };
	bool sent = false;
	enum exit_code rc = EXIT_OK;

	transaction_table(&tx, &run->plan, run->table_text);
	if (run->foreign_read)
		transaction_firewalls(&tx, &run->foreign, !run->m->no_integrate);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt > 0 && (rc = read_ruleset(run, k, false, err)) != EXIT_OK)
			return rc;
		rc = transaction_commit(&tx, k, false, &sent, err);
		if (rc == EXIT_OK || !transaction_wrote(&tx, PART_FIREWALLS))
			break;
	}
	if (rc == EXIT_OK && sent) {
		run->committed = true;
		run->foreign_changed = transaction_wrote(&tx, PART_FIREWALLS);
	}
	return rc;
}

/*
 * The elements a table holds: `text`, a record's rendering (the last apply's), or NULL
 * to read the live table back (after a transaction of someone else's, the only word to
 * trust; `live` is filled and *owned holds the text the elements point into).
 */
static enum exit_code table_elements(const struct kernel_ops *k, const char *text,
				     struct live_table *live, char **owned,
				     struct element_list *elements, struct error *err)
{
	char *structure = NULL;
	enum exit_code rc;

	*owned = NULL;
	if (!text) {
		rc = k->read_table(k->ctx, live, owned, err);
		if (rc != EXIT_OK)
			return rc;
		text = *owned;
	}
	if (!elements_split(text, &structure, elements))
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	free(structure);
	return EXIT_OK;
}

/* A line of forward_lines' builder: where it starts and how long it is. */
struct line_at {
	size_t start, len;
};

/* qsort_r's comparison: `base` is the builder's text the lines are in. */
static int cmp_line(const void *a, const void *b, void *base)
{
	const struct line_at *x = a, *y = b;
	const char *text = base;
	int c = memcmp(text + x->start, text + y->start, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Every forward of `m` (waiting ones too), a config line each, sorted, then "\n"-joined. */
static char *forward_lines(const struct model *m)
{
	size_t count = model_forward_count(m);
	struct line_at *at = calloc(count + 1, sizeof(*at));
	struct text all = { .failed = !at }, out = { .failed = !at };

	for (size_t i = 0; at && i < count; i++) {
		at[i].start = all.len;
		forward_text_append(&all, m, model_forward_at(m, i), AS_CONFIG);
		at[i].len = all.len - at[i].start;
	}
	if (!all.failed && count) {
		qsort_r(at, count, sizeof(*at), cmp_line, all.data);
		text_reserve(&out, all.len + count);
		for (size_t i = 0; i < count; i++) {
			text_put(&out, all.data + at[i].start, at[i].len);
			text_putc(&out, '\n');
		}
	}
	out.failed |= all.failed;
	free(all.data);
	free(at);
	return text_take(&out);
}

/* At most this many forwards are named in text; --json names them all. */
#define FORWARDS_NAMED_MAX 20

/* Say the lines of `from` that `to` lacks (both sorted), as `what`; all into `list`. */
static void tell_missing(const char *from, const char *to, const char *what, json_t *list,
			 struct outcome *out)
{
	size_t said = 0, more = 0;

	while (*from) {
		size_t n = strcspn(from, "\n"), k = strcspn(to, "\n");
		int c = *to ? strncmp(from, to, n < k ? n : k) : -1;

		if (!c && n != k)
			c = n < k ? -1 : 1;
		if (c > 0) {
			to += k + (to[k] == '\n');
			continue;
		}
		if (c < 0) {
			json_array_append_new(list, json_stringn(from, n));
			if (said++ < FORWARDS_NAMED_MAX)
				outcome_say(out, "%s: %.*s", what, (int)n, from);
			else
				more++;
		} else {
			to += k + (to[k] == '\n');
		}
		from += n + (from[n] == '\n');
	}
	if (more)
		outcome_say(out, "%s: %zu more (--json names them all)", what, more);
}

/*
 * The forwards of this apply against the last apply's (applied.forwards), which they
 * replace there. Without that record (the first apply since boot or a flush) nothing is
 * named: "applied N forwards" says it all.
 */
static void remember_forwards(struct apply_run *run)
{
	struct error warning;
	size_t lines = 0;

	run->forwards_before = state_read_file(run->state_dir, APPLIED_FORWARDS_FILE);
	for (const char *p = run->forwards_before; p && (p = strchr(p, '\n')); p++)
		lines++;
	/* An unchanged table, as many forwards: the same ones (the everyday no-op). Only
	 * waiting `to vm` forwards, which are not in the table, could have changed places. */
	if (!run->table_changed && run->forwards_before &&
	    lines == model_forward_count(run->m)) {
		free(run->forwards_before);
		run->forwards_before = NULL;
		return;
	}
	run->forwards_now = forward_lines(run->m);
	if (!run->forwards_now)
		state_remove(run->state_dir, APPLIED_FORWARDS_FILE);
	else if ((!run->forwards_before || strcmp(run->forwards_before, run->forwards_now)) &&
		 state_write_file(run->state_dir, APPLIED_FORWARDS_FILE, run->forwards_now,
				  &warning) != EXIT_OK)
		state_remove(run->state_dir, APPLIED_FORWARDS_FILE);
}

/* Name the forwards added and removed: a line each (at most FORWARDS_NAMED_MAX), and JSON. */
static void tell_forwards(const struct apply_run *run, struct outcome *out)
{
	json_t *added = json_array(), *removed = json_array();

	if (run->forwards_before && run->forwards_now) {
		tell_missing(run->forwards_now, run->forwards_before, "added", added, out);
		tell_missing(run->forwards_before, run->forwards_now, "removed", removed, out);
	}
	outcome_set(out, "forwards_added", added);
	outcome_set(out, "forwards_removed", removed);
}

/*
 * After a commit, or a read that found all in place: what the next apply may trust.
 * `record_same`: the last apply's record has the config's structure, so a replace may
 * have left the table as it was (its record lost, say) and the new structure is compared.
 * `record_current`: the record is already the config's rendering. The table is what the
 * config renders now (committed, or found so), and the record must say so.
 */
static void remember(struct apply_run *run, const struct kernel_ops *k, uint32_t gen_before,
		     bool record_same, bool record_current)
{
	const struct element_change *change = &run->plan.change;
	const char *dir = run->state_dir;
	struct error warning;
	char integrate[64];
	uint32_t gen_now;
	bool known = k->generation(k->ctx, &gen_now, &warning) == EXIT_OK;

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
	if (run->plan.step == TABLE_REPLACE) {
		/* the new structure, from a terse listing (cheap), for the reads after others' commits */
		struct live_table after = { 0 };

		run->table_changed = true; /* unless the structure is known to be the same */
		state_remove(dir, APPLIED_LIVE_FILE);
		if (k->read_structure(k->ctx, &after, &warning) == EXIT_OK && after.present) {
			run->table_changed = !record_same || !run->before.present || run->hosts_differ ||
					     change->deleted || change->added || !run->plan.change_known ||
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

/* The `to vm` forwards without an address now: a line each, and the outcome's "waiting". */
static void tell_waiting(const struct model *m, struct outcome *out)
{
	json_t *list = json_array();

	for (size_t i = 0; i < m->waiting_count; i++) {
		char *text = forward_text(m, &m->waiting[i].f, AS_STATUS);
		json_t *o = forward_json(m, &m->waiting[i].f);

		outcome_say(out, "waiting: %s: %s", text ? text : "", m->waiting[i].why);
		if (o && !json_object_set_new(o, "why", json_string(m->waiting[i].why)))
			json_array_append_new(list, o);
		else
			json_decref(o);
		free(text);
	}
	outcome_set(out, "waiting", list);
}

/* Say what apply did: in lines for people, or as JSON fields. */
void reconcile_tell(struct apply_run *run, struct outcome *out)
{
	const struct element_change *change = &run->plan.change;
	bool replaced = run->plan.step == TABLE_REPLACE;
	json_t *sysctls = json_array();
	bool sysctl_written = false;

	outcome_say(out, "applied %zu forward%s; table " TABLE_FAMILY " " TABLE_NAME " %s",
		    run->m->forward_count, run->m->forward_count == 1 ? "" : "s",
		    run->table_changed ? "changed" : "unchanged");
	if (run->table_changed && replaced)
		outcome_say(out, "replaced the whole table in one transaction: %s",
			    run->plan.why == REPLACE_FOR_SPEED ? "the kernel deletes from a map of client networks "
						      "one element at a time, each costing work of the "
						      "map's size, so this change in place would take "
						      "longer than a replace"
			    : run->before.present ? "its structure changed (rules, chains, set "
						    "definitions or host addresses)"
						  : "it was not there");
	else if (run->table_changed)
		outcome_say(out, "changed elements in place: %zu added, %zu deleted; the other forwards "
				 "keep their counters and connections", change->added, change->deleted);
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
		coexist_tell(out, &run->foreign, !run->m->no_integrate, run->accept_needed, true);
	/* integrate = off takes our accepts out of other firewalls' chains: say so */
	if (run->foreign_changed && run->m->no_integrate && run->foreign.ours_count)
		outcome_say(out, "removed %zu accept rule%s of nft-portfwd from other firewalls' "
				 "chains (integrate = off)", run->foreign.ours_count,
			    run->foreign.ours_count == 1 ? "" : "s");
	if (run->foreign_changed && run->foreign.trace_leftover) {
		char leftover[160];

		trace_leftover_text(run->foreign.trace_pid, leftover, sizeof(leftover));
		outcome_say(out, "deleted %s", leftover);
	}
	if (run->conntrack_removed)
		outcome_say(out, "removed %zu conntrack entr%s of changed, new or removed forwards",
			    run->conntrack_removed, run->conntrack_removed == 1 ? "y" : "ies");
	tell_forwards(run, out);
	tell_waiting(run->m, out);
	outcome_set(out, "changed",
		    json_boolean(run->table_changed || run->foreign_changed || sysctl_written));
	outcome_set(out, "table_changed", json_boolean(run->table_changed));
	outcome_set(out, "table_replaced", json_boolean(run->table_changed && replaced));
	/* in place only: a replace rewrites every element */
	outcome_set(out, "elements_added", json_integer(replaced ? 0 : (json_int_t)change->added));
	outcome_set(out, "elements_deleted",
		    json_integer(replaced ? 0 : (json_int_t)change->deleted));
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
static bool refused_as_recorded(const struct apply_run *run, const struct kernel_ops *k,
				uint32_t gen, const struct error *refused, struct error *err)
{
	uint32_t now;
	struct error ignored;

	if (k->generation(k->ctx, &now, &ignored) != EXIT_OK || now != gen)
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
 * that commit left (the record), and other firewalls' chains too. Only element deletions,
 * or nothing, when the structure and the integration are the same: anything else looks at
 * the other firewalls first (plan_needs_firewalls). *done false: another path must decide.
 */
static enum exit_code apply_untouched(struct apply_run *run, const struct kernel_ops *k,
				      const struct record *rec, const char *wanted_structure,
				      const struct element_list *wanted, bool *done,
				      struct error *err)
{
	struct table_known known = { .present = true, .structure_same = true,
				     .elements = &rec->elements };
	struct error refused;
	uint32_t gen;
	enum exit_code rc = k->generation(k->ctx, &gen, err);

	*done = false;
	if (rc != EXIT_OK || !state_generation_is(run->state_dir, gen) || !integrate_recorded(run) ||
	    !rec->text || strcmp(rec->structure, wanted_structure))
		return rc;
	if (!plan_table(&known, wanted, &run->plan))
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	if (plan_needs_firewalls(&run->plan)) {
		/* our table is the record (nothing happened since): apply_read need not list it */
		table_plan_free(&run->plan);
		run->table_as_left = true;
		return EXIT_OK;
	}
	run->before.present = true;
	*done = true;
	if (run->plan.step == TABLE_KEEP)
		return EXIT_OK;
	if (commit(run, k, &refused) == EXIT_OK) {
		remember(run, k, gen, true, false);
		return EXIT_OK;
	}
	if (refused_as_recorded(run, k, gen, &refused, err))
		return EXIT_KERNEL;
	/* someone's transaction since the generation was read: read then */
	table_plan_free(&run->plan);
	*done = false;
	return EXIT_OK;
}

/*
 * After someone else's transaction (or without a record): read our table's structure and
 * the other firewalls. The same structure as the last apply left: only element changes,
 * from the elements read back. Otherwise the whole table is replaced in one transaction.
 */
static enum exit_code apply_read(struct apply_run *run, const struct kernel_ops *k,
				 const struct record *rec, const char *wanted_structure,
				 const struct element_list *wanted, struct error *err)
{
	char *applied_live = state_read_file(run->state_dir, APPLIED_LIVE_FILE);
	char *live_text = NULL;
	struct element_list read_back = { 0 };
	struct table_known known = { 0 };
	struct live_table live = { 0 };
	uint32_t gen_before;
	bool record_same;
	enum exit_code rc = k->generation(k->ctx, &gen_before, err);

	if (rc == EXIT_OK)
		rc = read_ruleset(run, k, true, err);
	record_same = rc == EXIT_OK && rec->text && !strcmp(rec->structure, wanted_structure);
	known.present = run->before.present;
	known.structure_same = record_same && run->before.present && applied_live &&
			       !strcmp(applied_live, run->before.canonical);
	/* The elements before: read back when the table can stay (the record, when the
	 * watcher saw nobody touch the table), or for conntrack when it goes and there is
	 * no record of what it held. */
	if (rc == EXIT_OK && ((known.structure_same && !run->table_as_left) ||
			      (run->before.present && !rec->text))) {
		rc = table_elements(k, NULL, &live, &live_text, &read_back, err);
		known.elements = &read_back;
	} else if (rc == EXIT_OK && rec->text) {
		known.elements = &rec->elements;
	}
	/* A hand edit between the two listings, of the host addresses, or elements we never
	 * write: replace. */
	run->hosts_differ = live.canonical && !live_hosts_are(&live, run->m);
	if (known.structure_same && live.canonical &&
	    (live.hand_made_count || strcmp(live.canonical, run->before.canonical) || run->hosts_differ))
		known.structure_same = false;
	if (rc == EXIT_OK && !plan_table(&known, wanted, &run->plan))
		rc = (error_set(err, "out of memory"), EXIT_SYSTEM);
	if (rc == EXIT_OK) {
		rc = commit(run, k, err);
		/* elements from the record, refused: say whether the record is to blame */
		if (rc == EXIT_KERNEL && run->table_as_left && run->plan.step != TABLE_REPLACE) {
			struct error refused = *err;

			refused_as_recorded(run, k, gen_before, &refused, err);
		}
	}
	if (rc == EXIT_OK)
		remember(run, k, gen_before, record_same,
			 rec->text && !strcmp(rec->text, run->table_text));
	if (rc == EXIT_OK && run->plan.step != TABLE_REPLACE)
		run->table_changed = run->plan.change.deleted || run->plan.change.added;
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
enum exit_code reconcile_apply(struct apply_run *run, const struct kernel_ops *k,
			       struct error *err)
{
	const struct forwarding_sysctl *wanted_sysctls[2];
	size_t n_wanted = 0;
	char *wanted_structure = NULL;
	struct element_list wanted = { 0 };
	struct record rec;
	bool done = false;
	enum exit_code rc = EXIT_OK;

	if (model_has_family(run->m, AF_INET))
		wanted_sysctls[n_wanted++] = k->forwarding[0];
	if (model_has_family(run->m, AF_INET6))
		wanted_sysctls[n_wanted++] = k->forwarding[1];

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
		run->table_changed = run->plan.change.deleted || run->plan.change.added;
	if (rc == EXIT_OK)
		remember_forwards(run);
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
	if (run->committed && run->plan.change_known)
		run->conntrack_removed = k->conntrack_forget(k->ctx, &run->plan.change.removed_mappings,
							     &run->plan.change.added_mappings);
	else if (run->committed)
		run->conntrack_removed = k->conntrack_forget(k->ctx, &(struct entry_list){ 0 },
							     &run->entries);
	return EXIT_OK;
}

void apply_run_free(struct apply_run *run)
{
	entries_free(&run->entries);
	live_free(&run->before);
	table_plan_free(&run->plan);
	foreign_report_free(&run->foreign);
	free(run->accept_needed);
	free(run->forwards_before);
	free(run->forwards_now);
}


/*
 * What the table mapped, for conntrack: from the last apply's record, or read back
 * without one; gone->change.removed_mappings are its mappings.
 */
static enum exit_code flushed_mappings(const char *state_dir, const struct kernel_ops *k,
				       struct table_plan *gone, struct error *err)
{
	struct element_list old = { 0 };
	struct live_table live = { 0 };
	char *old_text = NULL, *record = state_read_file(state_dir, APPLIED_TEXT_FILE);
	struct table_known known = { .present = true, .structure_same = true, .elements = &old };
	enum exit_code rc = table_elements(k, record, &live, &old_text, &old, err);

	if (rc == EXIT_OK && !plan_table(&known, &(struct element_list){ 0 }, gone))
		rc = (error_set(err, "out of memory"), EXIT_SYSTEM);
	elements_free(&old);
	live_free(&live);
	free(old_text);
	free(record);
	return rc;
}

/*
 * Put the forwarding switches back, each on its own: one that cannot be put back must not
 * keep the other. The first error goes to *err (rc returned); what was put back, to
 * `restored_list`.
 */
static enum exit_code restore_sysctls(const char *state_dir, const struct kernel_ops *k,
				      const char *const forwarder[2], struct outcome *out,
				      json_t *restored_list, struct error *err)
{
	enum exit_code rc = EXIT_OK;

	for (size_t i = 0; i < 2; i++) {
		const struct forwarding_sysctl *s = k->forwarding[i];
		struct error this_err;
		char value[16], ifaces[512];
		bool restored;
		enum exit_code this_rc;

		/*
		 * libvirt and Docker turn forwarding on for their own networks, maybe after our
		 * first apply recorded it off (at boot nft-portfwd can run first): putting it
		 * back would cut their guests off. Leave it, and forget the record.
		 */
		if (forwarder[i][0] && sysctl_read(s, value) && !strcmp(value, "1") &&
		    sysctl_forget(state_dir, s)) {
			outcome_say(out, "%s left at 1: %s forwards its own networks too", s->name,
				    forwarder[i]);
			continue;
		}
		this_rc = sysctl_restore(state_dir, s, &restored, value, ifaces, sizeof(ifaces),
					 &this_err);
		if (this_rc != EXIT_OK && rc == EXIT_OK) {
			rc = this_rc;
			*err = this_err;
		}
		if (this_rc != EXIT_OK || !restored)
			continue;
		outcome_say(out, "%s put back to %s%s%s%s", s->name, value,
			    ifaces[0] ? " (and per interface: " : "", ifaces, ifaces[0] ? ")" : "");
		json_array_append_new(restored_list, json_pack("{s:s, s:s, s:s}", "name", s->name,
							       "value", value, "interfaces", ifaces));
	}
	return rc;
}

enum exit_code reconcile_flush(const char *state_dir, const struct kernel_ops *k,
			       struct outcome *out, struct error *err)
{
	struct live_table before = { 0 };
	struct foreign_report foreign = { 0 };
	struct table_plan gone = { 0 };
	struct transaction tx = { 0 };
	char trace_text[160];
	const char *forwarder[2];
	size_t foreign_removed = 0, conntrack_removed = 0;
	bool trace_removed = false, sent;
	json_t *restored_list;
	/* Our accepts in other firewalls' chains, which go in the same transaction as the
	 * table; our table's structure only: its elements are not needed to delete it. */
	enum exit_code rc = k->read_firewalls(k->ctx, &(struct entry_list){ 0 },
					      INTEGRATE_MARK_DEFAULT, NULL, &before, &foreign, err);

	if (rc == EXIT_OK && before.present && k->conntrack_tracked(k->ctx))
		rc = flushed_mappings(state_dir, k, &gone, err);
	if (rc == EXIT_OK) {
		transaction_delete_table(&tx);
		transaction_firewalls(&tx, &foreign, false);
		rc = transaction_commit(&tx, k, false, &sent, err);
	}
	if (rc != EXIT_OK) {
		live_free(&before);
		foreign_report_free(&foreign);
		table_plan_free(&gone);
		return rc;
	}
	foreign_removed = foreign.ours_count;
	trace_removed = foreign.trace_leftover;
	trace_leftover_text(foreign.trace_pid, trace_text, sizeof(trace_text));
	forwarder[0] = foreign.forwarder[0][0] ? foreign.forwarder[0] :
		       k->libvirt_forwards(k->ctx) ? "libvirt" : "";
	forwarder[1] = foreign.forwarder[1];
	state_remove(state_dir, APPLIED_TEXT_FILE);
	state_remove(state_dir, APPLIED_INTEGRATE_FILE);
	state_remove(state_dir, APPLIED_LIVE_FILE);
	state_remove(state_dir, APPLIED_GEN_FILE);
	state_remove(state_dir, APPLIED_ARGS_FILE);
	state_remove(state_dir, APPLIED_FORWARDS_FILE);
	state_remove(state_dir, FLAGS_RECORD_FILE);
	outcome_say(out, "%s", before.present ? "deleted table " TABLE_FAMILY " " TABLE_NAME
					      : "no table " TABLE_FAMILY " " TABLE_NAME " to delete");
	if (foreign_removed)
		outcome_say(out, "removed %zu accept rule%s of nft-portfwd from other firewalls' chains",
			    foreign_removed, foreign_removed == 1 ? "" : "s");
	if (trace_removed)
		outcome_say(out, "deleted %s", trace_text);
	/* Every binding the table made is stale now. */
	if (gone.change_known)
		conntrack_removed = k->conntrack_forget(k->ctx, &gone.change.removed_mappings,
							&(struct entry_list){ 0 });
	if (conntrack_removed)
		outcome_say(out, "removed %zu conntrack entr%s of the forwards", conntrack_removed,
			    conntrack_removed == 1 ? "y" : "ies");
	restored_list = json_array();
	rc = restore_sysctls(state_dir, k, forwarder, out, restored_list, err);
	outcome_set(out, "changed", json_boolean(before.present || json_array_size(restored_list) ||
						 foreign_removed || trace_removed));
	outcome_set(out, "foreign_rules_removed", json_integer((json_int_t)foreign_removed));
	outcome_set(out, "table_deleted", json_boolean(before.present));
	outcome_set(out, "sysctls_restored", restored_list);
	outcome_set(out, "conntrack_removed", json_integer((json_int_t)conntrack_removed));
	foreign_report_free(&foreign);
	table_plan_free(&gone);
	live_free(&before);
	return rc;
}
