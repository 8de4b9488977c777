/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status: the report (cli/report.h) as text for a person or as JSON for a program, and as
 * its exit code: 0 in sync, 1 something differs.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/coexist.h"
#include "cli/report.h"
#include "config/describe.h"
#include "cli/commands.h"
#include "sys/hostcheck.h"
#include "sys/watchinfo.h"
#include "sys/state.h"
#include "config/validate.h"
#include "util/text.h"

/* How many detail lines a forward gets in the text report; a large range would flood it. */
#define DETAILS_PER_FORWARD 5

/* ---- text ---- */

/* "192.0.2.79:22", "[2001:db8::79]:22" */
static void print_guest(const struct entry *e)
{
	char buf[INET6_ADDRSTRLEN];

	printf(e->family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr_text(&e->guest, buf), e->guest_port);
}

/* One map key: "tcp 2223 from 198.51.100.0/24". */
static void print_key(const struct entry *e)
{
	char buf[64];

	printf("%s %u", proto_name(e->proto), e->host_port);
	if (e->source)
		printf(" from %s", prefix_text(e->source, false, buf));
}

static void print_details(const struct report *r, size_t forward, size_t *next)
{
	size_t shown = 0;

	for (; *next < r->mismatch_count && r->mismatches[*next].want->forward == forward; (*next)++) {
		const struct mismatch *x = &r->mismatches[*next];

		if (shown++ >= DETAILS_PER_FORWARD)
			continue;
		printf("      ");
		print_key(x->want);
		if (x->have && !entry_same_name(x->have, x->want) && addr_cmp(&x->have->guest, &x->want->guest) == 0 &&
		    x->have->guest_port == x->want->guest_port) {
			printf(": the live table names it %s%s%s\n", x->have->name ? "'" : "",
			       x->have->name ? x->have->name : "nothing", x->have->name ? "'" : "");
		} else if (x->have) {
			printf(": the live table sends it to ");
			print_guest(x->have);
			printf("\n");
		} else {
			printf(": not in the live table\n");
		}
	}
	if (shown > DETAILS_PER_FORWARD)
		printf("      and %zu more\n", shown - DETAILS_PER_FORWARD);
}

static void widen(int *width, int n)
{
	if (n > *width)
		*width = n;
}

/* "2026-12-01 13:22:02" in local time */
static const char *time_text(time_t t, char buf[32])
{
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}

static void print_watcher(const char *state_dir)
{
	struct watch_info wi;
	char since[32], last[32];

	if (!watch_info_read(state_dir, &wi)) {
		printf("  watcher: none running (nothing puts the forwards back when another program "
		       "removes them; systemctl enable --now nft-portfwd)\n");
		return;
	}
	printf("  watcher: running, pid %ld, since %s; %u heal%s", wi.pid, time_text(wi.started, since),
	       wi.heals, wi.heals == 1 ? "" : "s");
	if (wi.recent_count)
		printf(", the last at %s: %s", time_text(wi.recent[0].at, last), wi.recent[0].what);
	printf("%s\n", wi.backing_off ? "; backing off: another program keeps undoing the forwards" : "");
}

static json_t *json_watcher(const char *state_dir)
{
	struct watch_info wi;
	json_t *recent = json_array();

	if (!watch_info_read(state_dir, &wi)) {
		json_decref(recent);
		return json_pack("{s:b}", "running", 0);
	}
	for (size_t i = 0; recent && i < wi.recent_count; i++)
		json_array_append_new(recent, json_pack("{s:I, s:s}", "at", (json_int_t)wi.recent[i].at,
							"what", wi.recent[i].what));
	return json_pack("{s:b, s:I, s:I, s:I, s:o, s:s, s:o, s:b}", "running", 1, "pid",
			 (json_int_t)wi.pid, "since", (json_int_t)wi.started, "heals",
			 (json_int_t)wi.heals, "last_heal",
			 wi.recent_count ? json_integer((json_int_t)wi.recent[0].at) : json_null(),
			 "last_heal_what", wi.recent_count ? wi.recent[0].what : "",
			 "recent_heals", recent, "backing_off", wi.backing_off);
}

/* The `to vm` forwards that wait for their guest's address, and why. */
static void print_waiting(const struct model *m, int w_origin, int w_name)
{
	for (size_t i = 0; i < m->waiting_count; i++) {
		const struct waiting_forward *w = &m->waiting[i];
		char where[4200], *text = forward_text(m, &w->f, AS_STATUS);

		format_origin(&w->f.where, where, sizeof(where));
		printf("  %-*s  %-*s%s%s  waiting: %s\n", w_origin, where, w_name, w->f.name,
		       w_name ? "  " : "", text ? text : "", w->why);
		free(text);
	}
}

/*
 * "/etc/nft-portfwd.conf, 2 files of /etc/nft-portfwd.d and /run/nft-portfwd/flags.conf":
 * every source the forwards came from. The model keeps the paths of the drop-ins and the
 * flags record (owned_sources), the record last.
 */
static void sources_text(const struct options *opts, const struct model *m, char *buf, size_t size)
{
	const char *dir = options_config_dir(opts);
	size_t len = 0, dropins = m->owned_source_count, parts = 0;
	bool config = opts->config_given || access(opts->config_path, F_OK) == 0;
	const char *record = NULL;
	char record_path[4200];

	snprintf(record_path, sizeof(record_path), "%s/%s", opts->state_dir, FLAGS_RECORD_FILE);
	if (dropins && !strcmp(m->owned_sources[dropins - 1], record_path))
		record = m->owned_sources[--dropins];
	buf[0] = '\0';
	parts = config + (dropins > 0) + (record != NULL);
	if (config)
		len += (size_t)snprintf(buf + len, size - len, "%s", opts->config_path);
	if (dropins && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%s%zu file%s of %s",
					!len ? "" : parts == 2 || !record ? " and " : ", ", dropins,
					dropins == 1 ? "" : "s", dir ? dir : "");
	if (record && len < size)
		snprintf(buf + len, size - len, "%s%s", len ? " and " : "", record);
	if (!parts)
		snprintf(buf, size, "no config (%s does not exist)", opts->config_path);
}

static enum exit_code print_text(const struct report *r, const struct options *opts)
{
	char sources[9000], hint[600];
	char advice[768];
	const struct model *m = r->m;
	char **origins = calloc(m->forward_count + 1, sizeof(*origins));
	char **texts = calloc(m->forward_count + 1, sizeof(*texts));
	int w_origin = 0, w_name = 0, w_text = 0, w_packets = 0, w_bytes = 0;
	size_t next = 0;
	bool ok = origins && texts;

	/* Column widths first, so that every forward's line lines up. */
	for (size_t i = 0; ok && i < m->forward_count; i++) {
		char where[4200];

		format_origin(&m->forwards[i].where, where, sizeof(where));
		ok = (origins[i] = strdup(where)) && (texts[i] = forward_text(m, &m->forwards[i], AS_STATUS));
		if (!ok)
			break;
		widen(&w_origin, (int)strlen(origins[i]));
		widen(&w_name, (int)strlen(m->forwards[i].name));
		widen(&w_text, (int)strlen(texts[i]));
		widen(&w_packets, snprintf(NULL, 0, "%llu", (unsigned long long)r->forwards[i].packets));
		widen(&w_bytes, snprintf(NULL, 0, "%llu", (unsigned long long)r->forwards[i].bytes));
	}
	if (ok) {
		sources_text(opts, m, sources, sizeof(sources));
		options_hint(opts, "apply", hint, sizeof(hint));
		printf("table " TABLE_FAMILY " " TABLE_NAME ": %s, %s %s%s%s%s\n",
		       r->live.present ? "live" : "absent", report_in_sync(r) ? "in sync with" : "differs from",
		       sources, report_in_sync(r) ? "" : " ('sudo ", report_in_sync(r) ? "" : hint,
		       report_in_sync(r) ? "" : r->live.present ? "' puts the config in place)" : "' creates it)");
		for (size_t i = 0; i < r->found.count; i++)
			printf("  cannot work: %s\n      fix: %s\n", r->found.items[i].what,
			       r->found.items[i].fix);
		for (size_t i = 0; i < r->drift_count; i++)
			printf("  drift: %s\n", r->drift[i]);
		if (m->forward_count == 0)
			printf("  (the config has no forwards)\n");
		for (size_t i = 0; i < m->forward_count; i++) {
			const struct forward_status *st = &r->forwards[i];

			/* a name column only when some forward has a name */
			printf("  %-*s  %-*s%s%-*s  %-9s  %*llu packets  %*llu bytes\n", w_origin,
			       origins[i], w_name, m->forwards[i].name, w_name ? "  " : "", w_text,
			       texts[i], forward_state_names[st->state], w_packets,
			       (unsigned long long)st->packets, w_bytes, (unsigned long long)st->bytes);
			if (st->limited_known)
				printf("      limit: %llu new connection%s dropped above %u/%s\n",
				       (unsigned long long)st->limited, st->limited == 1 ? "" : "s",
				       m->forwards[i].limit.rate, rate_unit(&m->forwards[i].limit));
			/* Without a table every entry is missing: the drift line says it all. */
			if (r->live.present)
				print_details(r, i, &next);
		}
		print_waiting(m, w_origin, w_name);
		for (size_t i = 0; i < r->extra_count; i++) {
			char buf[64];

			printf("  extra: %s %u -> ", proto_name(r->extra[i]->proto), r->extra[i]->host_port);
			print_guest(r->extra[i]);
			if (r->extra[i]->source)
				printf(" from %s", prefix_text(r->extra[i]->source, false, buf));
			printf(" (live, in no config forward)\n");
		}
		for (size_t i = 0; i < r->foreign.count; i++) {
			const struct foreign_block *b = &r->foreign.blocks[i];

			printf("  firewall: %s %s %s (%s) would drop the forwards; nft-portfwd's accept "
			       "there: %s; %s\n", b->family, b->table, b->base_chain, b->kind,
			       report_accepts_state(r, i), b->placement);
		}
		for (size_t i = 0; i < r->foreign.skipped_count; i++)
			printf("  firewall: %s %s not analysed: %s\n", r->foreign.skipped[i].family,
			       r->foreign.skipped[i].table, r->foreign.skipped[i].why);
		if (hostcheck_legacy(model_mark(r->m), advice, sizeof(advice))) {
			printf("  firewall: %s\n", advice);
		}
		print_watcher(r->state_dir);
		for (size_t i = 0; i < 2; i++) {
			const struct forwarding_sysctl *s = r->sysctls[i].sysctl;
			int af = i == 0 ? AF_INET : AF_INET6;

			if (!r->sysctls[i].read)
				printf("%s: cannot read %s\n", s->name, s->proc_path);
			else if (strcmp(r->sysctls[i].value, "1") != 0 && model_has_family(m, af))
				printf("%s = %s (the %s forwards need 1; 'sudo %s' sets it)\n",
				       s->name, r->sysctls[i].value, af == AF_INET ? "IPv4" : "IPv6", hint);
			else
				printf("%s = %s\n", s->name, r->sysctls[i].value);
		}
	}
	for (size_t i = 0; origins && texts && i < m->forward_count; i++) {
		free(origins[i]);
		free(texts[i]);
	}
	free(origins);
	free(texts);
	return ok ? EXIT_OK : EXIT_SYSTEM;
}

/* ---- JSON: the schema is docs/status-json.md; keep them together ---- */

/* [{"what", "fix"}] of what on this host keeps the forwards from working. */
static json_t *json_findings(const struct host_findings *found)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < found->count; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "what", found->items[i].what, "fix",
						      found->items[i].fix));
	return list;
}

static json_t *json_prefix(const struct prefix *p)
{
	char buf[64];

	return p ? json_string(prefix_text(p, true, buf)) : json_null();
}

/* The forward as the config says (describe.c), and what the live table does with it. */
static json_t *json_forward(const struct report *r, size_t i)
{
	const struct forward *f = &r->m->forwards[i];
	const struct forward_status *st = &r->forwards[i];
	json_t *o = forward_json(r->m, f), *limit = json_object_get(o, "limit");

	if (!o || json_object_set_new(o, "state", json_string(forward_state_names[st->state])) ||
	    json_object_set_new(o, "packets", json_integer((json_int_t)st->packets)) ||
	    json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes)) ||
	    json_object_set_new(o, "endpoint_packets", json_integer((json_int_t)st->endpoint_packets)) ||
	    json_object_set_new(o, "endpoint_bytes", json_integer((json_int_t)st->endpoint_bytes)) ||
	    (json_is_object(limit) && json_object_set_new(limit, "dropped", st->limited_known
			     ? json_integer((json_int_t)st->limited) : json_null()))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A `to vm` forward that waits for its guest's address: not in the table. */
static json_t *json_waiting(const struct model *m, const struct waiting_forward *w)
{
	json_t *o = forward_json(m, &w->f);

	if (!o || json_object_set_new(o, "state", json_string("waiting")) ||
	    json_object_set_new(o, "why", json_string(w->why)) ||
	    json_object_set_new(o, "packets", json_integer(0)) ||
	    json_object_set_new(o, "bytes", json_integer(0)) ||
	    json_object_set_new(o, "endpoint_packets", json_integer(0)) ||
	    json_object_set_new(o, "endpoint_bytes", json_integer(0))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *json_extra(const struct entry *e)
{
	char guest[INET6_ADDRSTRLEN];

	return json_pack("{s:s, s:i, s:o, s:s, s:i}", "protocol", proto_name(e->proto),
			 "host_port", e->host_port, "source", json_prefix(e->source),
			 "guest", addr_text(&e->guest, guest), "guest_port", e->guest_port);
}

static json_t *json_sysctl(const struct report *r, size_t i)
{
	return r->sysctls[i].read ? json_string(r->sysctls[i].value) : json_null();
}

static json_t *json_firewall(const struct report *r, size_t i)
{
	const struct foreign_block *b = &r->foreign.blocks[i];

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", b->kind, "family",
			 b->family, "table", b->table, "chain", b->base_chain, "reason", b->reason,
			 "insert_chain", b->insert_chain, "placement", b->placement, "accepts",
			 report_accepts_state(r, i));
}

/*
 * One forward's object into `out` as an item of the root's "forwards" list, indented as
 * json_dumps would indent it there; `forward` is freed. Dumped and freed one at a time: a
 * tree of 10,000 forwards cost more to dump and free than the rest of status.
 */
static void forward_item(json_t *forward, bool first, struct text *out)
{
	char *text = forward ? json_dumps(forward, JSON_INDENT(2)) : NULL;
	const char *line = text;

	json_decref(forward);
	if (!text) {
		out->failed = true;
		return;
	}
	text_puts(out, first ? "\n    " : ",\n    ");
	for (const char *end; (end = strchr(line, '\n')); line = end + 1) {
		text_put(out, line, (size_t)(end - line + 1));
		text_puts(out, "    ");
	}
	text_puts(out, line);
	free(text);
}

/* The root's text with the forwards' items in its empty "forwards" list. */
static char *splice_forwards(const char *root, const struct text *items)
{
	static const char EMPTY[] = "\n  \"forwards\": []";
	const char *at = strstr(root, EMPTY);
	struct text out = { 0 };
	size_t open = sizeof(EMPTY) - 2; /* up to and with the '[' */

	if (!at || !items->len)
		return strdup(root);
	text_put(&out, root, (size_t)(at - root) + open);
	text_put(&out, items->data, items->len);
	text_puts(&out, "\n  ]");
	text_puts(&out, at + open + 1);
	return text_take(&out);
}

static enum exit_code print_json(const struct report *r, struct error *err)
{
	json_t *drift = json_array(), *extra = json_array(), *root;
	json_t *firewalls = json_array();
	bool ok = drift && extra && firewalls;
	struct text forwards = { 0 };
	char advice[768], *skeleton, *text = NULL;

	for (size_t i = 0; ok && i < r->drift_count; i++)
		ok = json_array_append_new(drift, json_string(r->drift[i])) == 0;
	for (size_t i = 0; ok && i < r->extra_count; i++)
		ok = json_array_append_new(extra, json_extra(r->extra[i])) == 0;
	for (size_t i = 0; ok && i < r->foreign.count; i++)
		ok = json_array_append_new(firewalls, json_firewall(r, i)) == 0;
	for (size_t i = 0; ok && i < r->m->forward_count; i++)
		forward_item(json_forward(r, i), i == 0, &forwards);
	for (size_t i = 0; ok && i < r->m->waiting_count; i++)
		forward_item(json_waiting(r->m, &r->m->waiting[i]), i + r->m->forward_count == 0,
			     &forwards);
	if (!ok || forwards.failed) {
		json_decref(firewalls);
		json_decref(drift);
		json_decref(extra);
		free(text_take(&forwards));
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	/* jansson keeps keys in insertion order: the order documented in docs/status-json.md */
	bool legacy = hostcheck_legacy(model_mark(r->m), advice, sizeof(advice));
	root = json_pack("{s:i, s:b, s:b, s:o, s:[], s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o}}", "schema_version", 1,
			 "table_present", r->live.present, "in_sync", report_in_sync(r), "drift", drift,
			 "forwards", "extra", extra, "firewalls", firewalls,
			 "not_analysed", coexist_skipped_json(&r->foreign),
			 "legacy_iptables", legacy ? json_string(advice) : json_null(),
			 "cannot_work", json_findings(&r->found),
			 "watcher", json_watcher(r->state_dir), "sysctls",
			 r->sysctls[0].sysctl->name, json_sysctl(r, 0),
			 r->sysctls[1].sysctl->name, json_sysctl(r, 1));
	skeleton = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	json_decref(root);
	if (skeleton)
		text = splice_forwards(skeleton, &forwards);
	free(skeleton);
	free(text_take(&forwards));
	if (!text) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	if (puts(text) == EOF) {
		free(text);
		error_set(err, "cannot write the status to standard output");
		return EXIT_SYSTEM;
	}
	free(text);
	return EXIT_OK;
}

static enum exit_code run_status(const struct options *opts)
{
	struct report r;
	struct error err;
	enum exit_code rc = report_read(opts, !opts->quiet, &r, &err);

	if (rc != EXIT_OK)
		return report_error(rc, &err);
	if (opts->quiet) /* the exit code says it all */
		rc = EXIT_OK;
	else if (opts->json)
		rc = print_json(&r, &err);
	else if ((rc = print_text(&r, opts)) != EXIT_OK)
		error_set(&err, "out of memory");
	if (rc == EXIT_OK && !report_in_sync(&r))
		rc = EXIT_DRIFT;
	report_free(&r);
	return rc == EXIT_OK || rc == EXIT_DRIFT ? rc : report_error(rc, &err);
}

const struct command command_status = {
	.name = "status",
	.summary = "compare the live table with the config, forward by forward, with counters",
	.help = "Reads table inet portfwd and compares its maps with the config. Each forward is\n"
		"live, missing (an entry of it is not in the table) or different (an entry goes to\n"
		"another guest address or port); live entries of no forward are extra. With the\n"
		"files the last apply left in the state dir, it also tells a table changed by hand\n"
		"and a config changed since that apply. Packets and bytes are the forward's own\n"
		"counters (of its host ports, both ways); --json adds its guest endpoints'. What\n"
		"on this host keeps the forwards from working is said too (a host-iface that does\n"
		"not exist, a guest without a route). Prints the forwarding sysctls. Changes\n"
		"nothing; needs CAP_NET_ADMIN. Exit 0 when in sync, 1 when anything differs.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_JSON | OPT_QUIET,
	.run = run_status,
};
