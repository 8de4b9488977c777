/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diagnose: the old debug script, done properly. Checks, for the configured forwards,
 * everything the host can check itself, each with a pass/fail line and a fix; then a
 * summary of the core checks and the hints it cannot check (the router, hairpin from the
 * LAN, a capture command). Changes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/coexist.h"
#include "cli/commands.h"
#include "config/describe.h"
#include "config/entries.h"
#include "sys/findings.h"
#include "sys/hostcheck.h"
#include "sys/kernel.h"
#include "table/live.h"
#include "cli/load.h"
#include "table/render.h"
#include "sys/route.h"
#include "sys/sysctl.h"
#include "engine/trace.h"
#include "config/validate.h"

/* Guest endpoints probed at most: each costs up to a connect timeout. */
#define MAX_PROBES 16
#define PROBE_TIMEOUT_MS 1000

struct tally {
	unsigned core_passed, core_total, failed, total;
	char apply[600]; /* "sudo nft-portfwd ... apply" with the user's --config and --state-dir */
	json_t *checks, *notes; /* --json: every check and note; NULL: lines for people */
	bool quiet;             /* --quiet: only the failed checks and the warnings */
};

static void verdict(struct tally *t, bool core, bool pass, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * One check: "[PASS] what" or "[FAIL] what" and, indented below, how to fix it; with
 * --json an object of "checks"; with --quiet only a failed one.
 */
static void verdict(struct tally *t, bool core, bool pass, const char *fix, const char *fmt, ...)
{
	char what[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (t->checks)
		json_array_append_new(t->checks, json_pack("{s:s, s:b, s:s, s:o}", "result",
							   pass ? "pass" : "fail", "core", core,
							   "what", what, "fix", !pass && fix ?
							   json_string(fix) : json_null()));
	else if (!pass || !t->quiet)
		printf("[%s] %s\n", pass ? "PASS" : "FAIL", what);
	if (!t->checks && !pass && fix)
		printf("       fix: %s\n", fix);
	t->core_total += core;
	t->core_passed += core && pass;
	t->failed += !pass;
	t->total++;
}

static void note(struct tally *t, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What is no check: "[INFO] ..." (not with --quiet) or "[WARN] ..."; --json: "notes". */
static void note(struct tally *t, bool warning, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (t->notes)
		json_array_append_new(t->notes, json_pack("{s:s, s:s}", "kind",
							  warning ? "warning" : "info", "text", text));
	else if (warning || !t->quiet)
		printf("[%s] %s\n", warning ? "WARN" : "INFO", text);
}

/* Each `to vm` forward found its guest: one line per domain forward, found or waiting. */
static void check_vms(struct tally *t, const struct model *m)
{
	for (size_t i = 0; i < m->forward_count; i++) {
		char *text = m->forwards[i].vm.domain[0] ? forward_text(m, &m->forwards[i], AS_STATUS)
							 : NULL;

		if (text)
			verdict(t, false, true, NULL, "%s", text);
		free(text);
	}
	for (size_t i = 0; i < m->waiting_count; i++) {
		const struct waiting_forward *w = &m->waiting[i];
		char *text = forward_text(m, &w->f, AS_STATUS), fix[400];

		snprintf(fix, sizeof(fix), "virsh start %s, or see 'virsh domifaddr %s' and "
			 "'virsh net-dhcp-leases'; nft-portfwd.service follows it", w->f.vm.domain,
			 w->f.vm.domain);
		verdict(t, false, false, fix, "%s waits: %s", text ? text : "", w->why);
		free(text);
	}
}

/* Our table is there and maps every entry of the config as configured. */
static void check_table(struct tally *t, const struct entry_list *wanted,
			const struct live_table *live)
{
	struct entry_list off = { 0 };

	if (!live->present) {
		verdict(t, true, false, t->apply, "table " TABLE_FAMILY " " TABLE_NAME " is not live");
	} else if (!entries_stale(wanted, &live->entries, &off)) {
		verdict(t, true, false, NULL, "out of memory while comparing the table");
	} else {
		char fix[700];

		snprintf(fix, sizeof(fix), "%s (and its status shows which forwards)", t->apply);
		verdict(t, true, off.count == 0, fix,
			"table " TABLE_FAMILY " " TABLE_NAME " is live and maps %zu of the config's "
			"%zu map entries as configured",
			wanted->count - off.count, wanted->count);
	}
	entries_free(&off);
}

static void check_forwarding(struct tally *t, const struct model *m)
{
	const struct forwarding_sysctl *all[] = { &sysctl_ipv4_forward, &sysctl_ipv6_forward };

	for (size_t i = 0; i < 2; i++) {
		char value[16];
		char fix[700];

		if (!model_has_family(m, i == 0 ? AF_INET : AF_INET6))
			continue;
		snprintf(fix, sizeof(fix), "%s (or sysctl -w %s=1)", t->apply, all[i]->name);
		if (!sysctl_read(all[i], value))
			verdict(t, true, false, fix, "cannot read %s", all[i]->proc_path);
		else
			verdict(t, true, strcmp(value, "1") == 0, fix, "%s = %s", all[i]->name, value);
	}
}

static socklen_t sockaddr_of(const struct entry *e, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (e->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = e->guest.v4;
		sin->sin_port = htons(e->guest_port);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = e->guest.v6;
	sin6->sin6_port = htons(e->guest_port);
	return sizeof(*sin6);
}

/*
 * Connect straight to the guest (not through the forward), with a short timeout: 0 when it
 * answers, else the errno (ETIMEDOUT for silence). UDP: a datagram, then a short wait for
 * the ICMP port unreachable that a closed port sends back (ECONNREFUSED); silence is as
 * far as UDP can tell.
 */
static int probe(const struct entry *e, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(e, &ss);
	bool udp = e->proto == PROTO_UDP;
	int fd = socket(e->family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd pfd = { .fd = fd, .events = udp ? POLLIN : POLLOUT };
	int result = 0;
	socklen_t size = sizeof(result);

	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		result = errno;
	} else if (udp && send(fd, "", 0, 0) < 0) {
		result = errno;
	} else {
		int ready = poll(&pfd, 1, timeout_ms);

		if (ready == 0)
			result = udp ? 0 : ETIMEDOUT;
		else if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &size) < 0)
			result = errno;
	}
	close(fd);
	return result;
}

/* What to do about a failed probe. */
static const char *probe_fix(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "the guest is down or its firewall drops the port; try 'ping' from the "
		       "host and check the guest's firewall";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "the host has no route to the guest: is the guest network up ('virsh "
		       "net-list', 'ip route')?";
	default:
		return "start the service in the guest, listening on 0.0.0.0 (not 127.0.0.1), and "
		       "check the guest's own firewall";
	}
}

/* Does each guest answer on its port? Probes at most MAX_PROBES distinct endpoints. */
static void check_guests(struct tally *t, const struct entry_list *wanted)
{
	struct entry *sorted = malloc((wanted->count + 1) * sizeof(*sorted));
	size_t probed = 0, distinct = 0;

	if (!sorted) {
		verdict(t, true, false, NULL, "out of memory while listing guests");
		return;
	}
	if (wanted->count)
		memcpy(sorted, wanted->items, wanted->count * sizeof(*sorted));
	entries_sort(sorted, wanted->count, BY_GUEST);
	for (size_t i = 0; i < wanted->count; i++) {
		const struct entry *e = &sorted[i];
		char guest[INET6_ADDRSTRLEN + FORWARD_NAME_MAX + 3];
		int err;

		if (i > 0 && entry_cmp_guest(e, &sorted[i - 1]) == 0)
			continue;
		if (++distinct > MAX_PROBES)
			continue;
		probed++;
		/* "192.0.2.79 (ssh)": the name of the forward that leads there, if it has one */
		addr_text(&e->guest, guest);
		if (e->name)
			snprintf(guest + strlen(guest), sizeof(guest) - strlen(guest), " (%s)", e->name);
		err = probe(e, PROBE_TIMEOUT_MS);
		if (e->proto == PROTO_UDP && err == 0)
			verdict(t, true, true, NULL,
				"guest %s udp %u: no ICMP port unreachable (open, or silent: UDP cannot "
				"tell more)", guest, e->guest_port);
		else if (err == 0)
			verdict(t, true, true, NULL, "guest %s answers on tcp %u", guest, e->guest_port);
		else
			verdict(t, true, false, probe_fix(err), "guest %s %s %u: %s", guest,
				proto_name(e->proto), e->guest_port, strerror(err));
	}
	if (distinct > probed)
		note(t, false, "probed %zu of %zu guest endpoints", probed, distinct);
	free(sorted);
}

/* What findings.h finds on this host, in its words; PASS lines for the parts without any. */
static void check_host(struct tally *t, const struct model *m, const struct host_findings *found)
{
	if (found->host_ok && m->host_iface[0])
		verdict(t, false, true, NULL, "host-iface %s exists and is up%s", m->host_iface,
			m->host_ips.count ? ", and host-ip is on it" : "");
	else if (found->host_ok && m->host_ips.count)
		verdict(t, false, true, NULL, "host-ip is an address of this host");
	for (size_t i = 0; i < found->count; i++)
		verdict(t, false, false, found->items[i].fix, "%s", found->items[i].what);
	if (found->guests_ok)
		verdict(t, false, true, NULL, "every guest%s has a route from this host and is no "
			"network's network or broadcast address",
			found->guests_unchecked ? " checked" : "");
	if (found->guests_unchecked)
		note(t, false, "checked the routes of %d guests; %zu more were not checked",
		     GUESTS_CHECKED_MAX, found->guests_unchecked);
}

/* Other firewalls on the forward hook that would drop the forwards, and our accepts there. */
static void check_firewalls(struct tally *t, const struct model *m,
			    const struct foreign_report *r, const bool *accept_needed)
{
	char fix[700];

	snprintf(fix, sizeof(fix), "%s (it adds the accepts there)", t->apply);
	for (size_t i = 0; i < r->count; i++) {
		const struct foreign_block *b = &r->blocks[i];
		bool handled = !m->no_integrate && b->insert_chain[0] && !accept_needed[i];

		verdict(t, true, handled,
			m->no_integrate	      ? "set integrate = auto (the default), or accept the "
						"forwards in that chain yourself"
			: b->insert_chain[0] ? fix : b->placement,
			handled ? "%s %s %s (%s) would drop the forwards; nft-portfwd's accepts are in "
				  "place in %s"
				: "%s %s %s (%s) drops the forwards: %s",
			b->family, b->table, b->base_chain, b->kind,
			handled ? b->insert_chain : b->reason);
	}
	for (size_t i = 0; i < r->skipped_count; i++)
		note(t, true, "%s %s was not analysed: %s\n       look at it: sudo nft list table %s %s",
		     r->skipped[i].family, r->skipped[i].table, r->skipped[i].why,
		     r->skipped[i].family, r->skipped[i].table);
	if (r->count == 0)
		verdict(t, true, true, NULL, "no other firewall on the forward hook drops the forwards%s",
			r->skipped_count ? " (of the tables analysed)" : "");
}

/* What the host does beside us: routing beyond the forwards, iptables-legacy tables, ports
 * the host itself serves. */
static void check_host_side(struct tally *t, const struct model *m, const struct foreign_report *r)
{
	char advice[768];

	if (coexist_routes_more(m, r, advice, sizeof(advice)))
		verdict(t, false, false, "routing = forwards in the config, then apply", "%s", advice);
	else
		verdict(t, false, true, NULL, "the host routes only the forwards and translated "
			"connections, or a firewall filters the forward hook");
	if (hostcheck_legacy(model_mark(m), advice, sizeof(advice)))
		verdict(t, false, false, "look at those rules; accept the forwards there as shown",
			"%s", advice);
	else
		verdict(t, false, true, NULL, "no iptables-legacy table is loaded (nothing nft-portfwd "
			"cannot see)");
}

/*
 * keep-source only works when the guest's replies come back through this host: the guest
 * must be on a network the host is directly attached to (the host is then its gateway, as
 * on a libvirt NAT network). A guest behind another router answers the client directly.
 */
static void check_keep_source(struct tally *t, const struct model *m)
{
	struct ifaddrs *list = NULL;

	if (getifaddrs(&list) < 0)
		return;
	for (size_t i = 0; i < m->forward_count; i++) {
		const struct forward *f = &m->forwards[i];
		char guest[INET6_ADDRSTRLEN], where[512];
		bool attached = false;

		if (!forward_keeps_source(m, f))
			continue;
		for (const struct ifaddrs *ifa = list; ifa && !attached; ifa = ifa->ifa_next) {
			struct prefix net = { .addr.family = f->guest.family }, host;

			if (!ifa->ifa_addr || !ifa->ifa_netmask || ifa->ifa_addr->sa_family != f->guest.family)
				continue;
			if (f->guest.family == AF_INET) {
				net.addr.v4 = ((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr;
				net.len = (uint8_t)__builtin_popcount(
					((struct sockaddr_in *)(void *)ifa->ifa_netmask)->sin_addr.s_addr);
			} else {
				const uint8_t *mask =
					((struct sockaddr_in6 *)(void *)ifa->ifa_netmask)->sin6_addr.s6_addr;

				net.addr.v6 = ((struct sockaddr_in6 *)(void *)ifa->ifa_addr)->sin6_addr;
				for (size_t b = 0; b < 16; b++)
					net.len = (uint8_t)(net.len + __builtin_popcount(mask[b]));
			}
			net = prefix_network(&net);
			host = (struct prefix){ .addr = f->guest, .len = net.len };
			attached = prefixes_overlap(&host, &net);
		}
		addr_text(&f->guest, guest);
		format_origin(&f->where, where, sizeof(where));
		verdict(t, false, attached,
			"make this host the guest's default gateway, or drop keep-source so the "
			"forward is masqueraded",
			attached ? "keep-source (%s): guest %s is on a network this host is attached "
				   "to, so it can reply through the host (if the host is its gateway)"
				 : "keep-source (%s): guest %s is not on a network this host is attached "
				   "to; its replies will not come back through the host",
			where, guest);
	}
	freeifaddrs(list);
}

static bool read_number(const char *path, long *value)
{
	char text[16];

	if (!sysctl_read_path(path, text))
		return false;
	*value = strtol(text, NULL, 10);
	return true;
}

/*
 * A `from` allowlist trusts the source address. Where reverse path filtering is off, a
 * client can forge one in the allowed networks: its one-way UDP (and a TCP SYN, though no
 * connection) passes. rp_filter is checked where clients arrive: host-iface, or every
 * interface but loopback and those the guests are routed through. IPv4 only: IPv6 has no
 * such switch.
 */
static void check_rp_filter(struct tally *t, const struct model *m, const struct entry_list *wanted)
{
	bool v4 = false, v6 = false;
	size_t nroutes = 0, off = 0;
	struct guest_route *routes;
	char names[512] = "", path[PATH_MAX];
	long all = 0, own;
	DIR *d;
	struct dirent *de;

	for (size_t i = 0; i < m->forward_count; i++)
		for (size_t j = 0; j < m->forwards[i].sources.count; j++) {
			v4 |= m->forwards[i].sources.items[j].addr.family == AF_INET;
			v6 |= m->forwards[i].sources.items[j].addr.family == AF_INET6;
		}
	if (v6)
		note(t, false, "IPv6 has no rp_filter: a client can forge a source address in a 'from' "
			       "network unless a rule drops what fails the reverse path (nft: fib saddr . "
			       "iif oif missing drop)");
	if (!v4 || !read_number("/proc/sys/net/ipv4/conf/all/rp_filter", &all) ||
	    !(d = opendir("/proc/sys/net/ipv4/conf")))
		return;
	routes = route_guests(wanted, NULL, &nroutes);
	while ((de = readdir(d))) {
		bool guest_side = false;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "all") || !strcmp(de->d_name, "default") ||
		    !strcmp(de->d_name, "lo") || (m->host_iface[0] && strcmp(de->d_name, m->host_iface)))
			continue;
		for (size_t i = 0; i < nroutes; i++)
			guest_side |= !strcmp(routes[i].oif, de->d_name);
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", de->d_name);
		/* the kernel applies the larger of 'all' and the interface's own */
		if (guest_side || !read_number(path, &own) || own > 0 || all > 0)
			continue;
		if (off++ < 8)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 off > 1 ? ", " : "", de->d_name);
	}
	closedir(d);
	free(routes);
	verdict(t, false, off == 0,
		"sysctl -w net.ipv4.conf.all.rp_filter=1 (strict; 2 is loose), and keep it in "
		"/etc/sysctl.d",
		off ? "rp_filter is off where clients arrive (%s%s): a client there can forge a source "
		      "address in a 'from' network, and its one-way UDP passes the allowlist"
		    : "rp_filter is on where clients arrive%s%s: a forged source address in a 'from' "
		      "network is dropped",
		names, off > 8 ? ", ..." : "");
}

/* What the host cannot check itself. */
static void print_hints(const struct options *opts, const struct model *m)
{
	char addr[INET6_ADDRSTRLEN], hint[600];

	printf("\nThings this host cannot check:\n");
	for (size_t i = 0; i < m->public_ips.count; i++)
		printf("  - the router forwards %s (the public address) to this host for the host "
		       "ports above; test it from outside, e.g. a phone on mobile data\n",
		       addr_text(&m->public_ips.items[i], addr));
	if (m->public_ips.count == 0)
		printf("  - if a router forwards a public address to this host, it must send the "
		       "host ports above to this host's address\n");
	printf("  - from the LAN, the public address works only if the router does hairpin NAT; "
	       "from this host it works when public-ip is set\n");
	if (m->forward_count > 0) {
		const struct forward *f = &m->forwards[0];

		printf("  - watch a connection arrive: tcpdump -ni %s '%s port %u'\n",
		       m->host_iface[0] ? m->host_iface : "any",
		       f->protos & PROTO_TCP ? "tcp" : "udp", f->host_port);
		printf("  - watch it cross every table: sudo %s\n",
		       options_hint(opts, "diagnose --trace 10", hint, sizeof(hint)));
	}
}

static enum exit_code diagnose(const struct options *opts, const struct model *m, struct kernel *k,
			       struct outcome *out, struct error *err)
{
	struct entry_list wanted = { 0 };
	struct live_table live = { 0 };
	struct foreign_report foreign = { 0 };
	bool *accept_needed = NULL;
	struct tally t = { .quiet = opts->quiet };
	struct host_findings found;
	enum exit_code rc = EXIT_OK;
	char hint[sizeof(t.apply) - 5];

	snprintf(t.apply, sizeof(t.apply), "sudo %s", options_hint(opts, "apply", hint, sizeof(hint)));
	if (opts->json && (!(t.checks = json_array()) || !(t.notes = json_array()))) {
		json_decref(t.checks);
		return (error_set(err, "out of memory"), EXIT_SYSTEM);
	}
	if (!entries_from_model(m, &wanted))
		rc = (error_set(err, "out of memory"), EXIT_SYSTEM);
	if (rc == EXIT_OK)
		rc = coexist_read(k, READ_OUR_ELEMENTS, &wanted, model_mark(m), NULL, &live, &foreign,
				  err);
	if (rc == EXIT_OK && !coexist_accepts_needed(&foreign, &accept_needed)) {
		error_set(err, "out of memory");
		rc = EXIT_SYSTEM;
	}
	if (rc == EXIT_OK) {
		if (!opts->json && !opts->quiet)
			printf("nft-portfwd diagnose: %zu forward%s\n\n", m->forward_count,
			       m->forward_count == 1 ? "" : "s");
		check_table(&t, &wanted, &live);
		check_vms(&t, m);
		check_forwarding(&t, m);
		check_guests(&t, &wanted);
		host_findings_read(m, NULL, &found);
		check_host(&t, m, &found);
		host_findings_free(&found);
		check_firewalls(&t, m, &foreign, accept_needed);
		check_host_side(&t, m, &foreign);
		check_keep_source(&t, m);
		check_rp_filter(&t, m, &wanted);
		if (!opts->json && !opts->quiet) {
			printf("\nSummary: %u of %u checks pass, %u fail%s; of the core ones (table, "
			       "forwarding, guests, other firewalls) %u of %u pass.\n",
			       t.total - t.failed, t.total, t.failed, t.failed == 1 ? "s" : "",
			       t.core_passed, t.core_total);
			print_hints(opts, m);
		}
		outcome_set(out, "forwards", json_integer((json_int_t)m->forward_count));
		outcome_set(out, "checks", t.checks);
		outcome_set(out, "notes", t.notes);
		outcome_set(out, "passed", json_integer(t.total - t.failed));
		outcome_set(out, "failed", json_integer(t.failed));
		outcome_set(out, "core_passed", json_integer(t.core_passed));
		outcome_set(out, "core_total", json_integer(t.core_total));
		t.checks = t.notes = NULL;
	}
	json_decref(t.checks);
	json_decref(t.notes);
	free(accept_needed);
	foreign_report_free(&foreign);
	live_free(&live);
	entries_free(&wanted);
	if (rc == EXIT_OK && t.failed) {
		error_set(err, "%u of %u checks failed", t.failed, t.total);
		rc = EXIT_DRIFT;
	}
	return rc;
}

static enum exit_code run_diagnose(const struct options *opts)
{
	struct model m = { 0 };
	struct error err;
	struct kernel *k = NULL;
	struct outcome out;
	enum exit_code rc;

	outcome_init(&out, "diagnose", opts->json, opts->quiet);
	if (opts->trace_seconds && (opts->json || opts->quiet)) {
		error_set(&err, "--trace prints the packets as they come: it takes neither --json nor "
			       "--quiet");
		return outcome_finish(&out, EXIT_USAGE, &err);
	}
	rc = load_resolved(opts, &m, RESOLVE_UNKNOWN_WAITS, &err);
	if (rc == EXIT_OK)
		load_routing(opts, &m);
	if (rc == EXIT_OK)
		rc = kernel_open(&k, &err);
	if (rc == EXIT_OK && opts->trace_seconds) {
		struct entry_list entries = { 0 };

		if (!entries_from_model(&m, &entries)) {
			error_set(&err, "out of memory");
			rc = EXIT_SYSTEM;
		} else {
			rc = trace_run(k, &entries, opts->trace_seconds, stdout, &err);
		}
		entries_free(&entries);
	} else if (rc == EXIT_OK) {
		rc = diagnose(opts, &m, k, &out, &err);
	}
	kernel_close(k);
	model_free(&m);
	/* a failed check is the report's news, said by its lines (text) or "failed" (JSON) */
	if (rc == EXIT_DRIFT && !opts->json) {
		outcome_discard(&out);
		return rc;
	}
	return outcome_finish(&out, rc, &err);
}

const struct command command_diagnose = {
	.name = "diagnose",
	.summary = "check everything the forwards need and name what blocks them",
	.help = "For the configured forwards, checks with a PASS or FAIL line and a fix: table\n"
		"inet portfwd is live with every forward; IP forwarding is on; each guest answers\n"
		"on its port (a TCP connect with a short timeout; UDP best effort); host-iface\n"
		"exists and carries host-ip; every guest has a route and is no broadcast address;\n"
		"no other firewall's forward-hook chain drops the forwards without nft-portfwd's\n"
		"accepts in place (named by table and chain); keep-source guests can reply\n"
		"through the host. Then a summary that counts the checks printed, and what the\n"
		"host cannot check itself. --quiet prints only the failed checks and warnings;\n"
		"--json prints every check as one object (\"checks\", \"passed\", \"failed\").\n"
		"Changes nothing; needs CAP_NET_ADMIN. Exit 0 when every check passes, 1 when one\n"
		"fails.\n"
		"\n"
		"With --trace SECONDS, instead: marks new connections to the forwarded ports for\n"
		"nftables' packet tracing (from a temporary table inet portfwd-trace, always\n"
		"deleted afterwards, also on Ctrl-C), prints each packet's path through every\n"
		"table and chain with its verdict, and names the rule that dropped it.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_FORWARD | OPT_TRACE | OPT_JSON | OPT_QUIET,
	.run = run_diagnose,
};
