/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "cli/load.h"
#include "engine/coexist.h"
#include "engine/trace.h"
#include "sys/kernel.h"
#include "sys/netlink.h"
#include "sys/state.h"
#include "table/render.h"
#include "table/schema.h"

const char *const forward_state_names[] = { "live", "different", "missing" };

static const char NO_TABLE[] = "table " TABLE_FAMILY " " TABLE_NAME " does not exist";
static const char HAND_CHANGED[] = "the live table was changed by hand since the last apply";
static const char CONFIG_CHANGED[] = "the config changed since the last apply";

bool report_in_sync(const struct report *r)
{
	return r->drift_count == 0 && r->mismatch_count == 0 && r->extra_count == 0;
}

/* Guest endpoints ordered as entry_cmp_guest orders entries (address, protocol, port). */
static int cmp_stats(const void *a, const void *b)
{
	const struct endpoint_stats *x = a, *y = b;

	return guest_endpoint_cmp(&x->guest, x->proto, x->port, &y->guest, y->proto, y->port);
}

/* Match every config entry with the live entry of the same key. */
static bool compare_entries(struct report *r)
{
	size_t n = r->live.entries.count;
	bool *claimed = calloc(n + 1, sizeof(*claimed));

	r->have = malloc((n + 1) * sizeof(*r->have));
	r->mismatches = calloc(r->wanted.count + 1, sizeof(*r->mismatches));
	r->extra = calloc(n + 1, sizeof(*r->extra));
	if (!claimed || !r->have || !r->mismatches || !r->extra) {
		free(claimed);
		return false;
	}
	memcpy(r->have, r->live.entries.items, n * sizeof(*r->have));
	entries_sort(r->have, n, BY_KEY); /* entry_qsort_key's order, by radix */
	for (size_t i = 0; i < r->wanted.count; i++) {
		const struct entry *want = &r->wanted.items[i];
		const struct entry *have = bsearch(want, r->have, n, sizeof(*r->have), entry_qsort_key);
		enum forward_state state = STATE_MISSING;
		struct forward_status *f = &r->forwards[want->forward];

		if (have) {
			claimed[have - r->have] = true;
			state = addr_cmp(&have->guest, &want->guest) == 0 &&
					have->guest_port == want->guest_port && entry_same_name(have, want)
				? STATE_LIVE : STATE_DIFFERENT;
		}
		if (state != STATE_LIVE)
			r->mismatches[r->mismatch_count++] = (struct mismatch){ want, have };
		if (state > f->state)
			f->state = state;
	}
	for (size_t i = 0; i < n; i++)
		if (!claimed[i])
			r->extra[r->extra_count++] = &r->have[i];
	free(claimed);
	return true;
}

/* The drops of each limited forward, from its named counter. */
static void count_limited(struct report *r)
{
	for (size_t i = 0; i < r->m->forward_count; i++) {
		const struct forward *f = &r->m->forwards[i];
		char name[32];

		if (!f->limit.rate)
			continue;
		render_limit_name(name, f);
		r->forwards[i].limited_known = live_counter(&r->live, name, &r->forwards[i].limited);
	}
}

/* Where a host port's counter is in count_traffic's index: by family, protocol and port. */
static size_t port_slot(int family, enum proto proto, uint16_t port)
{
	return ((size_t)(family == AF_INET6) * 2 + (proto == PROTO_UDP)) * 65536 + port;
}

/*
 * Each forward's counters: its own, the counters of its host ports (sets fwdtcpN and
 * fwdudpN: one forward per family, protocol and port), and beside them those of the
 * distinct guest endpoints it leads to, which other forwards to the same endpoint share.
 */
static bool count_traffic(struct report *r)
{
	struct endpoint_stats *stats = r->live.stats;
	size_t n_stats = r->live.stats_count;
	struct entry *own = malloc((r->wanted.count + 1) * sizeof(*own));
	/* every possible host port: sorting 100,000 counters cost more than this */
	const struct port_stats **by_port = calloc(port_slot(AF_INET6, PROTO_UDP, 65535) + 1,
						   sizeof(*by_port));

	if (!own || !by_port) {
		free(own);
		free(by_port);
		return false;
	}
	qsort(stats, n_stats, sizeof(*stats), cmp_stats);
	for (size_t i = 0; i < r->live.port_stats_count; i++) {
		const struct port_stats *s = &r->live.port_stats[i];

		by_port[port_slot(s->family, s->proto, s->port)] = s;
	}
	for (size_t start = 0, end; start < r->wanted.count; start = end) {
		size_t forward = r->wanted.items[start].forward, n;
		struct forward_status *f = &r->forwards[forward];

		/* entries_from_model keeps each forward's entries together */
		end = start + 1;
		while (end < r->wanted.count && r->wanted.items[end].forward == forward)
			end++;
		n = end - start;
		memcpy(own, &r->wanted.items[start], n * sizeof(*own));
		entries_sort(own, n, BY_KEY);
		for (size_t i = 0; i < n; i++) {
			size_t slot = port_slot(own[i].family, own[i].proto, own[i].host_port);
			const struct port_stats *s = by_port[slot];

			/* one counter per port, whatever client networks it has */
			if (i > 0 && slot == port_slot(own[i - 1].family, own[i - 1].proto,
						       own[i - 1].host_port))
				continue;
			if (s) {
				f->packets += s->packets;
				f->bytes += s->bytes;
			}
		}
		entries_sort(own, n, BY_GUEST);
		for (size_t i = 0; i < n; i++) {
			struct endpoint_stats key = { .guest = own[i].guest, .proto = own[i].proto,
						      .port = own[i].guest_port };
			const struct endpoint_stats *s;

			if (i > 0 && entry_cmp_guest(&own[i], &own[i - 1]) == 0)
				continue;
			s = bsearch(&key, stats, n_stats, sizeof(*stats), cmp_stats);
			if (s) {
				f->endpoint_packets += s->packets;
				f->endpoint_bytes += s->bytes;
			}
		}
	}
	free(by_port);
	free(own);
	return true;
}

static bool add_drift(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool add_drift(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->drift_count == r->drift_capacity) {
		size_t capacity = r->drift_capacity ? 2 * r->drift_capacity : 8;
		char **grown = realloc(r->drift, capacity * sizeof(*grown));

		if (!grown)
			return false;
		r->drift = grown;
		r->drift_capacity = capacity;
	}
	va_start(ap, fmt);
	n = vasprintf(&r->drift[r->drift_count], fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	r->drift_count++;
	return true;
}

/*
 * The live structure as applied.live, for the reads after this one, when no transaction
 * has come since the last apply. Only under the lock, which it never waits for, and only
 * if that still holds then: an apply that replaces the table removes this file and writes
 * it again under the lock, and an older structure written in between would read as a hand
 * edit until the next replace (status runs every 3 s from Cockpit, metrics every 15 s).
 */
static void remember_structure(const char *state_dir, const char *canonical)
{
	struct error ignored;
	uint32_t gen;
	char *now;
	int lock_fd;

	if (state_lock(state_dir, 0, &lock_fd, &ignored) != EXIT_OK)
		return; /* an apply holds it, and writes the file itself */
	now = state_read_file(state_dir, APPLIED_LIVE_FILE);
	if (!now && kernel_generation(&gen, &ignored) == EXIT_OK &&
	    state_generation_is(state_dir, gen))
		state_write_file(state_dir, APPLIED_LIVE_FILE, canonical, &ignored);
	free(now);
	state_unlock(lock_fd);
}

/* At most this many drift lines for the elements of one kind that sets hold or lack. */
#define SET_LINES_SHOWN 5

/* Host ports ordered by family, protocol, port (as sets fwdtcpN and fwdudpN hold them). */
static int cmp_port(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	if (x->proto != y->proto)
		return (int)x->proto - (int)y->proto;
	return (int)x->host_port - (int)y->host_port;
}

static int cmp_endpoint(const void *a, const void *b)
{
	return entry_cmp_guest(a, b);
}

/*
 * A copy of `list` without repeats by `cmp`, sorted in `order` (by radix), which sorts
 * what `cmp` calls equal next to each other; NULL when memory ran out.
 */
static struct entry *sorted_once(const struct entry_list *list, enum entry_order order,
				 int (*cmp)(const void *, const void *), size_t *count)
{
	struct entry *copy = malloc((list->count + 1) * sizeof(*copy));
	size_t n = 0;

	if (!copy)
		return NULL;
	memcpy(copy, list->items, list->count * sizeof(*copy));
	entries_sort(copy, list->count, order);
	for (size_t i = 0; i < list->count; i++)
		if (n == 0 || cmp(&copy[n - 1], &copy[i]) != 0)
			copy[n++] = copy[i];
	*count = n;
	return copy;
}

/* What one kind of set should hold, and the words for what it holds or lacks. */
struct set_check {
	enum set_kind tcp_kind, udp_kind; /* the set by protocol (the same for endpoints) */
	int (*cmp)(const void *, const void *);
	const char *held, *lacked;        /* NULL: a missing element is not reported */
};

/* "192.0.2.79 . tcp . 22" or "8080", as the set holds it. */
static void element_text(const struct set_check *check, const struct entry *e, char *buf,
			 size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if (check->cmp == cmp_port)
		snprintf(buf, size, "%u", e->host_port);
	else
		snprintf(buf, size, "%s . %s . %u", addr_text(&e->guest, addr), proto_name(e->proto),
			 e->guest_port);
}

/* Drift lines for what `have` holds beyond `want` (sorted, once each), and what it lacks. */
static bool compare_set(struct report *r, const struct set_check *check, const struct entry *want,
			size_t n_want, const struct entry *have, size_t n_have)
{
	size_t i = 0, j = 0, held = 0, lacked = 0;
	bool ok = true;

	while (ok && (i < n_have || j < n_want)) {
		int c = i == n_have ? 1 : j == n_want ? -1 : check->cmp(&have[i], &want[j]);
		const struct entry *e = c < 0 ? &have[i] : &want[j];
		const char *words = c < 0 ? check->held : check->lacked;
		size_t *shown = c < 0 ? &held : &lacked;
		char text[80];

		i += c <= 0;
		j += c >= 0;
		if (c == 0 || !words || (*shown)++ >= SET_LINES_SHOWN)
			continue;
		element_text(check, e, text, sizeof(text));
		ok = add_drift(r, "set %s %s %s, %s", schema_set(e->proto == PROTO_UDP ? check->udp_kind
									: check->tcp_kind,
								e->family)->name,
			       c < 0 ? "holds" : "lacks", text, words);
	}
	if (ok && held > SET_LINES_SHOWN)
		ok = add_drift(r, "and %zu more such elements held", held - SET_LINES_SHOWN);
	if (ok && lacked > SET_LINES_SHOWN)
		ok = add_drift(r, "and %zu more such elements lacked", lacked - SET_LINES_SHOWN);
	return ok;
}

/*
 * The sets besides the maps against the live maps they follow (not against the config,
 * whose changes the forwards' states show already): guestN holds every endpoint a map
 * entry leads to and nothing else, masqN only such endpoints, fwdtcpN and fwdudpN every
 * forwarded host port and nothing else. An endpoint added to guest4 by hand is let through
 * other firewalls' chains by our accept, and no map comparison would see it.
 */
static bool compare_sets(struct report *r)
{
	static const struct set_check guests = {
		SET_GUEST, SET_GUEST, cmp_endpoint,
		"an endpoint no forward of the table leads to (a hand edit): our accepts let "
		"connections to it through; apply removes it",
		"where a forward of the table leads (a hand edit): other firewalls may drop its "
		"connections; apply puts it back",
	};
	static const struct set_check masqueraded = {
		SET_MASQ, SET_MASQ, cmp_endpoint,
		"an endpoint no forward of the table leads to (a hand edit); apply removes it", NULL,
	};
	static const struct set_check ports = {
		SET_TCP_PORT, SET_UDP_PORT, cmp_port,
		"a port no forward of the table has (a hand edit); apply removes it",
		"the host port of a forward of the table (a hand edit): its packets are not counted; "
		"apply puts it back",
	};
	size_t n_endpoints, n_guests, n_masq, n_ports, n_have_ports;
	struct entry *endpoints = sorted_once(&r->live.entries, BY_GUEST, cmp_endpoint, &n_endpoints);
	struct entry *have_guests = sorted_once(&r->live.guests, BY_GUEST, cmp_endpoint, &n_guests);
	struct entry *have_masq = sorted_once(&r->live.masqueraded, BY_GUEST, cmp_endpoint, &n_masq);
	/* by key: family, protocol, host port first, as cmp_port */
	struct entry *want_ports = sorted_once(&r->live.entries, BY_KEY, cmp_port, &n_ports);
	struct entry *have_ports = sorted_once(&r->live.ports, BY_KEY, cmp_port, &n_have_ports);
	bool ok = endpoints && have_guests && have_masq && want_ports && have_ports &&
		  compare_set(r, &guests, endpoints, n_endpoints, have_guests, n_guests) &&
		  compare_set(r, &masqueraded, endpoints, n_endpoints, have_masq, n_masq) &&
		  compare_set(r, &ports, want_ports, n_ports, have_ports, n_have_ports);

	free(endpoints);
	free(have_guests);
	free(have_masq);
	free(want_ports);
	free(have_ports);
	return ok;
}

/*
 * Table-wide drift: no table, a hand edit, a config edit, elements nft-portfwd never
 * writes, and our accepts missing from another firewall's chain (libvirt rebuilds its
 * chains when a network restarts).
 */
static bool check_drift(struct report *r, const char *state_dir, const char *rendered)
{
	char *applied_text = state_read_file(state_dir, APPLIED_TEXT_FILE);
	char *applied_live = state_read_file(state_dir, APPLIED_LIVE_FILE);
	bool ok = true;

	if (!r->live.present && r->m->forward_count > 0)
		ok = add_drift(r, "%s", NO_TABLE);
	/*
	 * Without these files (no apply yet, or flushed since) there is nothing to compare. No
	 * transaction anywhere since the last apply (its generation) means no hand edit either.
	 */
	if (ok && applied_live && !r->untouched && strcmp(applied_live, r->live.canonical) != 0)
		ok = add_drift(r, "%s", HAND_CHANGED);
	/* Untouched since that apply: remember its structure for later reads (a cache in the
	 * state dir; the kernel is not changed). */
	if (ok && !applied_live && r->untouched)
		remember_structure(state_dir, r->live.canonical);
	if (ok && applied_text && strcmp(applied_text, rendered) != 0)
		ok = add_drift(r, "%s", CONFIG_CHANGED);
	if (ok && r->live.present && !live_hosts_are(&r->live, r->m))
		ok = add_drift(r, "the host addresses in set host4 or host6 are not host-ip and "
				  "public-ip (a hand edit); apply puts them back");
	for (size_t i = 0; ok && i < r->live.hand_made_count; i++)
		ok = add_drift(r, "%s", r->live.hand_made[i]);
	if (ok && r->live.present)
		ok = compare_sets(r);
	if (ok && r->foreign.trace_leftover) {
		char leftover[160];

		trace_leftover_text(r->foreign.trace_pid, leftover, sizeof(leftover));
		ok = add_drift(r, "%s, still marks new connections for tracing; apply or flush "
				  "deletes it", leftover);
	}
	for (size_t i = 0; ok && !r->m->no_integrate && i < r->foreign.count; i++) {
		const struct foreign_block *b = &r->foreign.blocks[i];

		if (r->accept_needed[i])
			ok = add_drift(r, "the accept of nft-portfwd is missing or out of place in %s %s "
					  "%s (%s), which would drop the forwards: %s",
				       b->family, b->table, b->insert_chain, b->kind, b->reason);
	}
	free(applied_text);
	free(applied_live);
	return ok;
}

/* What our accepts in a blocking chain are: in place, missing, or deliberately none. */
const char *report_accepts_state(const struct report *r, size_t i)
{
	if (r->m->no_integrate)
		return "none (integrate = off)";
	if (!r->foreign.blocks[i].insert_chain[0])
		return "none (no safe place)";
	return r->accept_needed[i] ? "missing" : "in place";
}

static void read_sysctls(struct report *r)
{
	const struct forwarding_sysctl *all[] = { &sysctl_ipv4_forward, &sysctl_ipv6_forward };

	for (size_t i = 0; i < 2; i++) {
		r->sysctls[i].sysctl = all[i];
		r->sysctls[i].read = sysctl_read(all[i], r->sysctls[i].value);
	}
}

void report_free(struct report *r)
{
	bool loaded = r->m != NULL;

	live_free(&r->live);
	entries_free(&r->wanted);
	free(r->have);
	free(r->forwards);
	free(r->mismatches);
	free(r->extra);
	for (size_t i = 0; i < r->drift_count; i++)
		free(r->drift[i]);
	free(r->drift);
	foreign_report_free(&r->foreign);
	host_findings_free(&r->found);
	free(r->accept_needed);
	if (loaded)
		model_free(&r->model);
	*r = (struct report){ 0 };
}

/* The live table and the other firewalls against the model, and the state dir's word. */
static enum exit_code compare(const struct options *opts, struct report *r, struct kernel *k,
			      const char *rendered, bool findings, struct error *err)
{
	uint32_t gen_before, gen_after;
	enum exit_code rc;
	bool ok;

	r->forwards = calloc(r->m->forward_count + 1, sizeof(*r->forwards));
	ok = r->forwards && entries_from_model(r->m, &r->wanted);
	if (!ok) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	rc = kernel_generation(&gen_before, err);
	if (rc == EXIT_OK)
		rc = coexist_read(k, READ_OUR_ELEMENTS | READ_COUNTERS, &r->wanted, model_mark(r->m),
				  NULL, &r->live, &r->foreign, err);
	if (rc == EXIT_OK)
		rc = kernel_generation(&gen_after, err);
	if (rc == EXIT_OK)
		r->untouched = gen_before == gen_after &&
			       state_generation_is(opts->state_dir, gen_after);
	if (rc == EXIT_OK && !coexist_accepts_needed(&r->foreign, &r->accept_needed)) {
		error_set(err, "out of memory");
		rc = EXIT_SYSTEM;
	}
	if (rc == EXIT_OK) {
		ok = compare_entries(r) && count_traffic(r) && check_drift(r, opts->state_dir, rendered);
		count_limited(r);
		if (!ok) {
			error_set(err, "out of memory");
			rc = EXIT_SYSTEM;
		}
	}
	if (rc != EXIT_OK)
		return rc;
	read_sysctls(r);
	if (findings)
		host_findings_read(r->m, NULL, &r->found);
	return EXIT_OK;
}

enum exit_code report_read(const struct options *opts, bool findings, struct report *r,
			   struct error *err)
{
	struct kernel *k = NULL;
	char *rendered = NULL;
	enum exit_code rc;

	*r = (struct report){ .state_dir = opts->state_dir };
	rc = load_rendered(opts, &r->model, RESOLVE_UNKNOWN_WAITS, &rendered, err);
	if (rc != EXIT_OK)
		return rc;
	r->m = &r->model;
	/* what it records would be someone else's word: refuse to read it */
	rc = state_check(opts->state_dir, err);
	if (rc == EXIT_OK)
		rc = kernel_open(&k, err);
	if (rc == EXIT_OK)
		rc = compare(opts, r, k, rendered, findings, err);
	kernel_close(k);
	free(rendered);
	if (rc != EXIT_OK)
		report_free(r);
	return rc;
}
