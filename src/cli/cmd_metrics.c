/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics: the report (cli/report.h) in Prometheus' text exposition format, on stdout for
 * a scrape, or with --output into node_exporter's textfile collector, replaced atomically
 * (nft-portfwd-metrics.timer does that every 15 s). The series and their labels are
 * documented in docs/metrics.md; their names are stable.
 */
#include <arpa/inet.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/report.h"
#include "config/validate.h"
#include "sys/safefile.h"
#include "sys/watchinfo.h"
#include "util/text.h"

#define PREFIX "nft_portfwd_"

/*
 * How many bytes of valid UTF-8 (RFC 3629: no overlong forms, no surrogates) start at s:
 * 1 to 4, or 0 when the byte there starts none.
 */
static size_t utf8_length(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef
		   ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	unsigned low = 0x80, high = 0xbf; /* what the second byte may be */

	if (s[0] == 0xe0)
		low = 0xa0;
	else if (s[0] == 0xed)
		high = 0x9f;
	else if (s[0] == 0xf0)
		low = 0x90;
	else if (s[0] == 0xf4)
		high = 0x8f;
	for (size_t i = 1; i < n; i++)
		if (s[i] < (i == 1 ? low : 0x80) || s[i] > (i == 1 ? high : 0xbf))
			return 0;
	return n;
}

/*
 * A label value as the exposition format escapes it (backslash, double quote, newline).
 * It must be UTF-8, or node_exporter drops the whole file: a byte that is not (a file
 * name in Latin-1) becomes the text \xNN (its backslash escaped, as any).
 */
static void label_value(struct text *out, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;

	while (*s) {
		size_t plain = 0, n;

		while (s[plain] && s[plain] < 0x80 && !strchr("\\\"\n", s[plain]))
			plain++;
		text_put(out, (const char *)s, plain);
		s += plain;
		if (!*s)
			break;
		n = utf8_length(s);
		if (n == 0)
			text_printf(out, "\\\\x%02x", *s);
		else if (n > 1)
			text_put(out, (const char *)s, n);
		else
			text_puts(out, *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : "\\\\");
		s += n ? n : 1;
	}
}

static void put_number(struct text *out, unsigned long long n)
{
	char digits[24], *p = digits + sizeof(digits) - 1;

	*p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while (n /= 10);
	text_puts(out, p);
}

static void family_header(struct text *out, const char *name, const char *type, const char *help)
{
	text_printf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

/* A forward's labels, without the braces: which forward a series is about. */
static void forward_labels(struct text *out, const struct forward *f)
{
	char origin[4200], guest[INET6_ADDRSTRLEN] = "";

	format_origin(&f->where, origin, sizeof(origin));
	if (f->source != GUEST_UNRESOLVED)
		addr_text(&f->guest, guest);
	text_puts(out, "name=\"");
	label_value(out, f->name);
	text_puts(out, "\",protocol=\"");
	text_puts(out, protos_name(f->protos));
	text_puts(out, "\",host_port=\"");
	put_number(out, f->host_port);
	if (f->host_port_last != f->host_port) {
		text_putc(out, '-');
		put_number(out, f->host_port_last);
	}
	text_puts(out, "\",guest=\"");
	text_puts(out, guest);
	text_puts(out, "\",vm=\"");
	label_value(out, f->vm.domain);
	text_puts(out, "\",origin=\"");
	label_value(out, origin);
	text_putc(out, '"');
}

/* Every forward, configured or waiting (status NULL), with its labels written once. */
struct forward_series {
	const struct forward *f;
	const struct forward_status *status;
	size_t labels, labels_len; /* where its labels are in the labels text */
};

static struct forward_series *forward_series(const struct report *r, struct text *labels,
					     size_t *count)
{
	size_t n = r->m->forward_count + r->m->waiting_count;
	struct forward_series *all = calloc(n + 1, sizeof(*all));

	for (size_t i = 0; all && i < n; i++) {
		bool waiting = i >= r->m->forward_count;

		all[i].f = waiting ? &r->m->waiting[i - r->m->forward_count].f : &r->m->forwards[i];
		all[i].status = waiting ? NULL : &r->forwards[i];
		all[i].labels = labels->len;
		forward_labels(labels, all[i].f);
		all[i].labels_len = labels->len - all[i].labels;
	}
	*count = n;
	return all;
}

enum forward_value { VALUE_PACKETS, VALUE_BYTES, VALUE_LIMIT_DROPPED, VALUE_UP, VALUE_STATE };

/* The series of family `name` for each forward that has one. */
static void each_forward(struct text *out, const char *name, enum forward_value value,
			 const struct forward_series *all, size_t count, const char *labels)
{
	for (size_t i = 0; i < count; i++) {
		const struct forward_status *s = all[i].status;
		unsigned long long n = 0;

		/* only limited forwards have drops, once their limit's counter is in the table */
		if (value == VALUE_LIMIT_DROPPED && (!all[i].f->limit.rate || !s || !s->limited_known))
			continue;
		/* puts, not printf: 50,000 lines for 10,000 forwards */
		text_puts(out, PREFIX);
		text_puts(out, name);
		text_putc(out, '{');
		text_put(out, labels + all[i].labels, all[i].labels_len);
		if (value == VALUE_STATE) {
			text_puts(out, ",state=\"");
			text_puts(out, s ? forward_state_names[s->state] : "waiting");
			text_putc(out, '"');
		}
		if (value == VALUE_PACKETS && s)
			n = s->packets;
		else if (value == VALUE_BYTES && s)
			n = s->bytes;
		else if (value == VALUE_LIMIT_DROPPED)
			n = s->limited;
		else if (value == VALUE_UP)
			n = s && s->state == STATE_LIVE;
		else if (value == VALUE_STATE)
			n = 1;
		text_puts(out, "} ");
		put_number(out, n);
		text_putc(out, '\n');
	}
}

static void host_gauge(struct text *out, const char *name, const char *help, long long value)
{
	family_header(out, name, "gauge", help);
	text_printf(out, PREFIX "%s %lld\n", name, value);
}

/* The series of each forward, in the order they are written. */
struct forward_family {
	const char *name, *type, *help;
	enum forward_value value;
};

static const struct forward_family forward_families[] = {
	{ "forward_packets_total", "counter",
	  "Packets to the forward's host ports (its elements of sets fwdtcpN and fwdudpN).",
	  VALUE_PACKETS },
	{ "forward_bytes_total", "counter",
	  "Bytes to the forward's host ports (its elements of sets fwdtcpN and fwdudpN).",
	  VALUE_BYTES },
	{ "forward_limit_dropped_total", "counter",
	  "New connections the forward's limit dropped (limited forwards only).",
	  VALUE_LIMIT_DROPPED },
	{ "forward_up", "gauge", "1 when the forward is live: in the table as configured.",
	  VALUE_UP },
	{ "forward_state", "gauge",
	  "The forward's state, in its label: live, missing, different (the table forwards it "
	  "elsewhere) or waiting (a VM without an address).",
	  VALUE_STATE },
};

/* false when memory ran out */
static bool render_metrics(const struct report *r, struct text *out)
{
	struct watch_info wi;
	bool watcher = watch_info_read(r->state_dir, &wi);
	struct text labels = { 0 };
	size_t n;
	struct forward_series *all = forward_series(r, &labels, &n);
	const char *l = labels.data;

	if (!all || labels.failed) {
		free(all);
		free(text_take(&labels));
		return false;
	}
	/* at once: five series of each forward's labels and 60 bytes more, 6 MB for 10,000 */
	text_reserve(out, 5 * (labels.len + 60 * n) + 8192);
	for (size_t i = 0; i < sizeof(forward_families) / sizeof(*forward_families); i++) {
		const struct forward_family *f = &forward_families[i];

		family_header(out, f->name, f->type, f->help);
		each_forward(out, f->name, f->value, all, n, l);
	}
	free(all);
	free(text_take(&labels));
	host_gauge(out, "table_present", "1 when table inet portfwd exists.", r->live.present);
	host_gauge(out, "in_sync", "1 when the table holds exactly the config (status exits 0).",
		   report_in_sync(r));
	host_gauge(out, "drift", "Table-wide differences status reports: a hand edit, a config "
		   "changed since the last apply, an accept missing in another firewall's chain.",
		   (long long)r->drift_count);
	host_gauge(out, "extra_elements", "Elements of the table that no configured forward has.",
		   (long long)r->extra_count);
	host_gauge(out, "watcher_up", "1 when the watcher (nft-portfwd watch, the unit) runs.",
		   watcher);
	family_header(out, "watcher_heals_total", "counter",
		      "What the running watcher put back since it started.");
	text_printf(out, PREFIX "watcher_heals_total %u\n", watcher ? wi.heals : 0);
	host_gauge(out, "watcher_last_heal_timestamp_seconds",
		   "When the running watcher last put something back (Unix time); 0: never.",
		   watcher && wi.recent_count ? (long long)wi.recent[0].at : 0);
	host_gauge(out, "watcher_backing_off",
		   "1 when the watcher backs off: another program keeps undoing the forwards.",
		   watcher && wi.backing_off);
	family_header(out, "forwarding", "gauge", "The forwarding sysctl's value.");
	for (size_t i = 0; i < 2; i++)
		if (r->sysctls[i].read)
			text_printf(out, PREFIX "forwarding{sysctl=\"%s\"} %s\n",
				    r->sysctls[i].sysctl->name, r->sysctls[i].value);
	return !out->failed;
}

/*
 * Replace FILE with the metrics: a fresh hidden file beside it, renamed into place, so the
 * textfile collector never reads half of it. The directory must exist: it is the
 * collector's, and where there is no collector there is nothing to write.
 */
static enum exit_code write_file(const char *path, const char *content, struct error *err)
{
	static const struct safe_dir kind = {
		.what = "metrics directory",
		.risk = "replace the metrics node_exporter serves",
		.other = "give --output a file in another directory",
		.create_mode = 0755,
	};
	char *dir_copy = strdup(path), *name_copy = strdup(path);
	enum exit_code rc = EXIT_SYSTEM;
	int dfd = -1;

	if (!dir_copy || !name_copy)
		error_set(err, "out of memory");
	else if ((dfd = safe_open_dir(&kind, dirname(dir_copy), false, &rc, err)) >= 0)
		rc = safe_write_at(dfd, dir_copy, basename(name_copy), content, 0644, false, err);
	if (dfd >= 0)
		close(dfd);
	free(dir_copy);
	free(name_copy);
	return rc;
}

static enum exit_code run_metrics(const struct options *opts)
{
	/* the timer also runs on a host with no forwards yet: that is metrics too, not an error */
	struct options no_config_is_none = *opts;
	struct report r;
	struct error err;
	struct text out = { 0 };
	char *content;
	enum exit_code rc;

	no_config_is_none.may_be_empty = true;
	rc = report_read(&no_config_is_none, false, &r, &err);

	if (rc != EXIT_OK)
		return report_error(rc, &err);
	if (!render_metrics(&r, &out))
		out.failed = true;
	report_free(&r);
	if (!(content = text_take(&out)))
		return report_error(EXIT_SYSTEM, &(struct error){ "out of memory" });
	if (opts->output_path)
		rc = write_file(opts->output_path, content, &err);
	else if (fputs(content, stdout) == EOF || fflush(stdout) != 0)
		rc = (error_set(&err, "cannot write the metrics to standard output"), EXIT_SYSTEM);
	free(content);
	return rc == EXIT_OK ? rc : report_error(rc, &err);
}

const struct command command_metrics = {
	.name = "metrics",
	.summary = "print each forward's counters and state for Prometheus",
	.help = "Prints Prometheus' text exposition format: per forward (labels name, protocol,\n"
		"host_port, guest, vm, origin) its packets, bytes, limit drops, whether it is live\n"
		"and its state, and for\n"
		"the host whether the table is in sync, the watcher and its heals, and the\n"
		"forwarding sysctls. With --output FILE it replaces FILE atomically, in a\n"
		"directory that must exist: nft-portfwd-metrics.timer writes\n"
		"/var/lib/prometheus/node-exporter/nft-portfwd.prom every 15 s for node_exporter's\n"
		"textfile collector. It reads what status reads, and never changes the table.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_OUTPUT,
	.run = run_metrics,
};
