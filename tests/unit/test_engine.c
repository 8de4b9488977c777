/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What apply and flush commit, against a fake kernel (fake_kernel.h), without root: a
 * fresh apply, a no-op, element changes with and without a look at other firewalls, a
 * structure change, someone else's transaction seen, a refusal retried or undone, a
 * record that does not match the table, and flush with and without a record. The same
 * paths run against the real kernel in tests/integration (incremental.sh, faults.sh,
 * foreign_ownership.sh); these pin down the decisions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/validate.h"
#include "engine/reconcile.h"
#include "fake_kernel.h"
#include "sys/state.h"
#include "table/render.h"
#include "util/text.h"
#include "expect.h"

#define CONFIG_A                                        \
	"host-ip = 192.0.2.1\n"                         \
	"forward tcp 8080 to 198.51.100.10:80 name web\n" \
	"forward udp 5353 to 198.51.100.11:53\n"
/* A without the udp forward: deletions only */
#define CONFIG_A_LESS "host-ip = 192.0.2.1\nforward tcp 8080 to 198.51.100.10:80 name web\n"
/* A with web's guest port changed: a deletion and an addition */
#define CONFIG_A_MOVED                                  \
	"host-ip = 192.0.2.1\n"                         \
	"forward tcp 8080 to 198.51.100.10:81 name web\n" \
	"forward udp 5353 to 198.51.100.11:53\n"
/* A on another host address: a structure change */
#define CONFIG_A_HOST                                   \
	"host-ip = 192.0.2.2\n"                         \
	"forward tcp 8080 to 198.51.100.10:80 name web\n" \
	"forward udp 5353 to 198.51.100.11:53\n"

#define WEB_LINE "\t\t\ttcp . 8080 comment \"web\" : 198.51.100.10 . 80,"
#define UDP_LINE "\t\t\tudp . 5353 : 198.51.100.11 . 53,"

/* One test's world: a fake kernel and a state dir. */
struct world {
	struct fake_kernel k;
	char state_dir[64];
};

static bool world_open(struct world *w)
{
	strcpy(w->state_dir, "/tmp/nft-portfwd-state-XXXXXX");
	if (!fake_kernel_init(&w->k) || !mkdtemp(w->state_dir)) {
		printf("FAIL: cannot make the fake kernel or state dir\n");
		failures++;
		return false;
	}
	return true;
}

static void world_close(struct world *w)
{
	static const char *const files[] = { APPLIED_TEXT_FILE, APPLIED_GEN_FILE,
					     APPLIED_LIVE_FILE, APPLIED_INTEGRATE_FILE,
					     APPLIED_ARGS_FILE, "ipv4-forward.before",
					     "ipv6-forward.before", "lock" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		state_remove(w->state_dir, files[i]);
	if (rmdir(w->state_dir) != 0)
		printf("note: %s not empty\n", w->state_dir);
	fake_kernel_free(&w->k);
}

/* The outcome of one apply, kept for the checks. */
struct applied {
	enum exit_code rc;
	struct error err;
	enum table_step step;
	enum replace_reason why;
	size_t added, deleted;
	bool table_changed, foreign_changed, committed;
};

static struct applied apply(struct world *w, const char *config)
{
	struct applied a = { .rc = EXIT_CONFIG };
	struct model m = { 0 };
	char *text = NULL;

	if (!config_parse(&m, config, strlen(config), "test.conf", &a.err) ||
	    !check_model(&m, &a.err) || !(text = render_ruleset_text(&m))) {
		printf("FAIL: the test's config: %s\n", a.err.msg);
		failures++;
	} else {
		struct apply_run run = { .state_dir = w->state_dir, .m = &m, .table_text = text };

		a.rc = reconcile_apply(&run, &w->k.ops, &a.err);
		a.step = run.plan.step;
		a.why = run.plan.why;
		a.added = run.plan.change.added;
		a.deleted = run.plan.change.deleted;
		a.table_changed = run.table_changed;
		a.foreign_changed = run.foreign_changed;
		a.committed = run.committed;
		apply_run_free(&run);
	}
	free(text);
	model_free(&m);
	return a;
}

static enum exit_code flush(struct world *w, struct error *err)
{
	struct outcome out;
	enum exit_code rc;

	outcome_init(&out, "flush", true, true);
	rc = reconcile_flush(w->state_dir, &w->k.ops, &out, err);
	outcome_discard(&out);
	return rc;
}

static bool has_record(const struct world *w)
{
	char *text = state_read_file(w->state_dir, APPLIED_TEXT_FILE);

	free(text);
	return text != NULL;
}

/* A world where CONFIG_A was applied; false (counted) when that failed. */
static bool world_applied(struct world *w)
{
	struct applied a;

	if (!world_open(w))
		return false;
	a = apply(w, CONFIG_A);
	EXPECT(a.rc == EXIT_OK, "the first apply: %s", a.err.msg);
	if (a.rc != EXIT_OK)
		world_close(w);
	return a.rc == EXIT_OK;
}

/* Remove one whole line from a table's text. */
static void drop_line(char *text, const char *line)
{
	char *at = strstr(text, line);
	size_t n = strlen(line) + 1;

	if (at)
		memmove(at, at + n, strlen(at + n) + 1);
}

static void test_fresh(void)
{
	struct world w;
	struct applied a;
	char value[16];

	if (!world_open(&w))
		return;
	a = apply(&w, CONFIG_A);
	EXPECT(a.rc == EXIT_OK, "apply: %s", a.err.msg);
	EXPECT(a.step == TABLE_REPLACE && a.why == REPLACE_ABSENT, "no table: created (%d, %d)",
	       a.step, a.why);
	EXPECT(w.k.commits == 1, "one transaction, not %u", w.k.commits);
	EXPECT(a.table_changed && a.committed, "changed and committed");
	EXPECT(fake_kernel_has_line(&w.k, WEB_LINE) && fake_kernel_has_line(&w.k, UDP_LINE),
	       "the table maps both forwards:\n%s", w.k.table);
	fake_kernel_sysctl(&w.k, 0, value);
	EXPECT(!strcmp(value, "1"), "IPv4 forwarding on, not %s", value);
	fake_kernel_sysctl(&w.k, 1, value);
	EXPECT(!strcmp(value, "0"), "IPv6 forwarding untouched (no IPv6 forward), not %s", value);
	EXPECT(has_record(&w), "the apply is recorded");
	EXPECT(!a.foreign_changed, "nothing written in other tables (there are none)");
	EXPECT(w.k.forget_calls == 1 && w.k.forgot_before == 0, "conntrack asked once to forget "
	       "bindings against the new mappings, with nothing known before (%u, %zu)",
	       w.k.forget_calls, w.k.forgot_before);
	world_close(&w);
}

static void test_noop(void)
{
	struct world w;
	struct applied a;
	unsigned reads;

	if (!world_applied(&w))
		return;
	reads = w.k.firewall_reads + w.k.table_reads + w.k.structure_reads;
	a = apply(&w, CONFIG_A);
	EXPECT(a.rc == EXIT_OK, "apply again: %s", a.err.msg);
	EXPECT(a.step == TABLE_KEEP && !a.table_changed && !a.committed, "nothing to do (%d)", a.step);
	EXPECT(w.k.commits == 1, "no second transaction (%u)", w.k.commits);
	EXPECT(w.k.firewall_reads + w.k.table_reads + w.k.structure_reads == reads,
	       "and nothing listed: the generation says nothing happened");
	world_close(&w);
}

/*
 * An element change on the everyday path, in place: `present` and `gone` are lines of the
 * table after it. One that adds a guest endpoint looks at other firewalls first (a new
 * endpoint may meet a drop); one that only deletes commits without a look.
 */
static void test_element_change(const char *config, bool adds, const char *present,
				const char *gone)
{
	struct world w;
	struct applied a;
	unsigned firewall_reads;

	if (!world_applied(&w))
		return;
	firewall_reads = w.k.firewall_reads;
	a = apply(&w, config);
	EXPECT(a.rc == EXIT_OK, "apply: %s", a.err.msg);
	EXPECT(a.step == TABLE_ELEMENTS && a.deleted > 0 && (a.added > 0) == adds,
	       "elements changed in place (%d, -%zu +%zu)", a.step, a.deleted, a.added);
	EXPECT(w.k.commits == 2 && !strstr(w.k.last_commit, "delete table"),
	       "one more transaction, no replace:\n%s", w.k.last_commit);
	EXPECT(w.k.firewall_reads == firewall_reads + adds, "%s (%u looks)",
	       adds ? "a new guest endpoint: other firewalls looked at first"
		    : "deleting adds nothing to accept: no look at other firewalls",
	       w.k.firewall_reads - firewall_reads);
	EXPECT(w.k.table_reads == 0, "our table not listed: the record is what is live");
	EXPECT(!a.foreign_changed, "nothing written in other tables");
	EXPECT(w.k.forget_calls == 2 && w.k.forgot_before == 1, "conntrack forgets the bindings of "
	       "the one mapping removed (%u calls, %zu)", w.k.forget_calls, w.k.forgot_before);
	EXPECT(fake_kernel_has_line(&w.k, present) && !fake_kernel_has_line(&w.k, gone),
	       "the table holds '%s' and not '%s':\n%s", present, gone, w.k.table);
	world_close(&w);
}

/* A config of one IPv6 forward from `sources` client addresses, on host port `port`. */
static char *allowlist_config(unsigned sources, unsigned port)
{
	struct text t = { 0 };

	text_printf(&t, "forward tcp %u to [2001:db8:1::10]:80 from ", port);
	for (unsigned i = 1; i <= sources; i++)
		text_printf(&t, "%s2001:db8:9::%x", i > 1 ? ", " : "", i);
	text_putc(&t, '\n');
	return text_take(&t);
}

/* A change in place that would cost more than a replace: replaced, and said why. */
static void test_replace_for_speed(void)
{
	struct world w;
	struct applied a;
	char *before = allowlist_config(2000, 8080), *after = allowlist_config(2000, 8081);

	if (before && after && world_open(&w)) {
		a = apply(&w, before);
		EXPECT(a.rc == EXIT_OK, "apply: %s", a.err.msg);
		a = apply(&w, after);
		EXPECT(a.rc == EXIT_OK, "apply: %s", a.err.msg);
		EXPECT(a.step == TABLE_REPLACE && a.why == REPLACE_FOR_SPEED && a.table_changed,
		       "2,000 deletions from a set of 2,000 intervals: a replace (%d, %d)", a.step,
		       a.why);
		EXPECT(strstr(w.k.last_commit, "delete table inet portfwd") != NULL, "committed as one");
		world_close(&w);
	}
	free(before);
	free(after);
}

/* The plan alone: a table whose elements are not known is replaced, never guessed at. */
static void test_plan_unknown_elements(void)
{
	struct element_list wanted = { 0 };
	struct table_known known = { .present = true, .structure_same = true, .elements = NULL };
	struct table_plan plan;

	EXPECT(plan_table(&known, &wanted, &plan), "plan");
	EXPECT(plan.step == TABLE_REPLACE && plan.why == REPLACE_UNKNOWN && !plan.change_known,
	       "replaced, no change known (%d, %d)", plan.step, plan.why);
	EXPECT(plan_needs_firewalls(&plan), "a replace looks at other firewalls first");
	table_plan_free(&plan);
}

static void test_structure_change(void)
{
	struct world w;
	struct applied a;

	if (!world_applied(&w))
		return;
	a = apply(&w, CONFIG_A_HOST);
	EXPECT(a.rc == EXIT_OK, "apply: %s", a.err.msg);
	EXPECT(a.step == TABLE_REPLACE && a.why == REPLACE_STRUCTURE, "replaced for its structure "
	       "(%d, %d)", a.step, a.why);
	EXPECT(fake_kernel_has_line(&w.k, "\t\t\t192.0.2.2,"), "the new host address:\n%s", w.k.table);
	world_close(&w);
}

static void test_foreign_commit_seen(void)
{
	struct world w;
	struct applied a;
	char *edited;

	if (!world_applied(&w))
		return;

	/* someone else's transaction that left our table alone: read, found in place */
	fake_kernel_commit_other(&w.k, w.k.table);
	a = apply(&w, CONFIG_A);
	EXPECT(a.rc == EXIT_OK && a.step == TABLE_KEEP && !a.committed, "nothing to commit (%d)",
	       a.step);
	EXPECT(w.k.firewall_reads == 2 && w.k.table_reads == 1, "the ruleset and our table read "
	       "(%u, %u)", w.k.firewall_reads, w.k.table_reads);

	/* and one that removed a forward by hand: put back in place */
	edited = strdup(w.k.table);
	drop_line(edited, UDP_LINE);
	fake_kernel_commit_other(&w.k, edited);
	free(edited);
	a = apply(&w, CONFIG_A);
	EXPECT(a.rc == EXIT_OK && a.step == TABLE_ELEMENTS && a.added == 1 && a.deleted == 0,
	       "the one element added back (%d, +%zu -%zu)", a.step, a.added, a.deleted);
	EXPECT(fake_kernel_has_line(&w.k, UDP_LINE), "udp forward back");

	/* and one that deleted our table */
	fake_kernel_commit_other(&w.k, NULL);
	a = apply(&w, CONFIG_A);
	EXPECT(a.rc == EXIT_OK && a.step == TABLE_REPLACE && a.why == REPLACE_ABSENT &&
	       a.table_changed, "the table created again (%d, %d)", a.step, a.why);
	EXPECT(fake_kernel_has_line(&w.k, WEB_LINE), "with its forwards");
	world_close(&w);
}

static void test_refusal_retried(void)
{
	struct world w;
	struct applied a;

	if (!world_applied(&w))
		return;
	/* a killed diagnose --trace left its table: apply deletes it with our rules in other
	 * tables; the first try is refused (a firewall rebuilt its chains meanwhile) */
	w.k.trace_leftover = true;
	fake_kernel_commit_other(&w.k, w.k.table);
	w.k.refuse = 1;
	a = apply(&w, CONFIG_A);
	EXPECT(a.rc == EXIT_OK, "apply after one refusal: %s", a.err.msg);
	EXPECT(w.k.refused == 1 && w.k.commits == 2, "refused once, then committed (%u, %u)",
	       w.k.refused, w.k.commits);
	EXPECT(w.k.firewall_reads == 3, "the other firewalls read again before the retry (%u)",
	       w.k.firewall_reads);
	EXPECT(!w.k.trace_leftover && a.foreign_changed, "the trace table is gone");
	world_close(&w);
}

static void test_refusal_undone(void)
{
	struct world w;
	struct applied a;
	char value[16];

	if (!world_open(&w))
		return;
	w.k.refuse = 5;
	a = apply(&w, CONFIG_A);
	EXPECT(a.rc == EXIT_KERNEL && strstr(a.err.msg, "refuses"), "the refusal is the error: %s",
	       a.err.msg);
	fake_kernel_sysctl(&w.k, 0, value);
	EXPECT(!strcmp(value, "0"), "IPv4 forwarding put back: nothing half-applied (%s)", value);
	EXPECT(!w.k.table && !has_record(&w), "no table, no record");
	EXPECT(w.k.refused == 1, "refused once: with nothing for other tables, no retry (%u)",
	       w.k.refused);
	world_close(&w);
}

static void test_record_does_not_match(void)
{
	struct world w;
	struct applied a;
	char gen[32];

	if (!world_applied(&w))
		return;
	/* the table changed behind the generation's back (a record that lies) */
	drop_line(w.k.table, UDP_LINE);
	a = apply(&w, CONFIG_A_LESS);
	EXPECT(a.rc == EXIT_KERNEL && strstr(a.err.msg, "does not match"),
	       "the refusal names the record: %s", a.err.msg);
	EXPECT(!state_read(w.state_dir, APPLIED_GEN_FILE, gen, sizeof(gen)),
	       "the generation is forgotten");
	a = apply(&w, CONFIG_A_LESS);
	EXPECT(a.rc == EXIT_OK && w.k.table_reads == 1, "the next apply reads the table back: %s",
	       a.err.msg);
	EXPECT(a.step == TABLE_ELEMENTS && a.deleted == 2 && a.added == 0,
	       "and deletes only what is still there: the guest endpoint and the udp port (%d, "
	       "-%zu +%zu)", a.step,
	       a.deleted, a.added);
	world_close(&w);
}

static void test_flush(bool with_record)
{
	struct world w;
	struct error err = { "" };
	char value[16];

	if (!world_applied(&w))
		return;
	if (!with_record)
		state_remove(w.state_dir, APPLIED_TEXT_FILE);
	EXPECT(flush(&w, &err) == EXIT_OK, "flush: %s", err.msg);
	EXPECT(!w.k.table && strstr(w.k.last_commit, "delete table inet portfwd"),
	       "the table deleted:\n%s", w.k.last_commit);
	EXPECT(w.k.table_reads == (with_record ? 0u : 1u), "%s (%u reads)",
	       with_record ? "the record says what it mapped" : "without a record, read back",
	       w.k.table_reads);
	EXPECT(w.k.forgot_before == 2, "conntrack forgets both forwards' bindings (%zu)",
	       w.k.forgot_before);
	fake_kernel_sysctl(&w.k, 0, value);
	EXPECT(!strcmp(value, "0"), "IPv4 forwarding back to 0 (%s)", value);
	EXPECT(!has_record(&w), "no record left");
	EXPECT(flush(&w, &err) == EXIT_OK && w.k.commits == 3, "a second flush succeeds too: %s",
	       err.msg);
	world_close(&w);
}

static void test_flush_beside_libvirt(void)
{
	struct world w;
	struct error err = { "" };
	char value[16];

	if (!world_applied(&w))
		return;
	w.k.libvirt = true;
	EXPECT(flush(&w, &err) == EXIT_OK, "flush: %s", err.msg);
	fake_kernel_sysctl(&w.k, 0, value);
	EXPECT(!strcmp(value, "1"), "IPv4 forwarding stays on for libvirt's networks (%s)", value);
	world_close(&w);
}

int main(void)
{
	test_fresh();
	test_noop();
	test_element_change(CONFIG_A_LESS, false, WEB_LINE, UDP_LINE);
	test_element_change(CONFIG_A_MOVED, true,
			    "\t\t\ttcp . 8080 comment \"web\" : 198.51.100.10 . 81,", WEB_LINE);
	test_replace_for_speed();
	test_plan_unknown_elements();
	test_structure_change();
	test_foreign_commit_seen();
	test_refusal_retried();
	test_refusal_undone();
	test_record_does_not_match();
	test_flush(true);
	test_flush(false);
	test_flush_beside_libvirt();
	return expect_summary("engine");
}
