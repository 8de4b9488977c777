/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diagnose --trace.
 *
 * Table inet portfwd-trace sets `meta nftrace` on new connections to the forwarded host
 * ports; the kernel then reports every chain, rule and verdict those packets meet, in every
 * table. A child process runs `nft monitor` (kernel_monitor), which turns the reports into
 * lines such as
 *     trace id 27b36b3f ip blocker fwd rule tcp dport 80 counter drop (verdict drop)
 * and writes them into a pipe. This process reads them for the requested time, groups them
 * by trace id (one per packet) and prints each packet's path.
 *
 * libnftables' monitor rather than libnftnl's trace API over libmnl: the monitor prints each
 * rule as written, where a trace message carries only the rule's handle, which would have
 * to be looked up and printed by hand. The child exists because `monitor` never returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sys/process.h"
#include "engine/trace.h"
#include "util/clock.h"

#define TRACE_NAME "inet " TRACE_TABLE

/* The monitor's line for the second half of TRACE_DELETE: proof that it listens. */
#define TRACE_DELETED_EVENT "delete table " TRACE_NAME

/* How long the monitor may take to read the ruleset and subscribe (10,000 forwards: ~0.5 s). */
#define READY_TIMEOUT_MS 10000
#define PROBE_WAIT_MS 200

/*
 * A packet crosses every hook within microseconds, so one whose events stopped this long
 * ago is complete and can be printed while the trace goes on.
 */
#define IDLE_MS 500

/* Packets assembled at once; the oldest is printed when another one starts. */
#define OPEN_MAX 64

/* Packets printed in full; later ones are only counted, so a flood cannot bury the summary. */
#define PRINT_MAX 100

/* The child's last line when libnftables gives up; monitor lines never start like this. */
#define LISTENER_ERROR "nft-portfwd listener: "

/*
 * The only global state: the signal that asked the trace to stop, 0 while none did. A
 * signal handler can only tell the reading loop through such a variable.
 */
static volatile sig_atomic_t stop_signal;

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
enum { STOP_SIGNAL_COUNT = sizeof(stop_signals) / sizeof(stop_signals[0]) };

struct saved_signals {
	struct sigaction stop[STOP_SIGNAL_COUNT], pipe;
};

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/*
 * Catch the stop signals without SA_RESTART, so they interrupt poll(); ignore SIGPIPE, so
 * a closed output (`| head`) cannot kill the process before the table is deleted.
 */
static void signals_catch(struct saved_signals *saved)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++)
		sigaction(stop_signals[i], &sa, &saved->stop[i]);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &saved->pipe);
}

static void signals_restore(const struct saved_signals *saved)
{
	for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++)
		sigaction(stop_signals[i], &saved->stop[i], NULL);
	sigaction(SIGPIPE, &saved->pipe, NULL);
}

/*
 * kernel_run with the stop signals held back until it returns: a handler without
 * SA_RESTART could otherwise break a netlink exchange halfway, and a commit that happened
 * would look failed, or the final delete would not happen.
 */
static enum exit_code run_blocked(struct kernel *k, const char *text, struct error *err)
{
	sigset_t block, old;
	enum exit_code rc;

	sigemptyset(&block);
	for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++)
		sigaddset(&block, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	rc = kernel_run(k, text, false, err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int pair_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * The trace table, replacing one left by an earlier run, as one transaction; *ports gets
 * the number of distinct protocol and host port pairs (one set element each, so 10,000
 * forwards are still one rule per chain). NULL when out of memory.
 *
 * Priority -199 is just after conntrack (-200), so `ct state new` works, and before every
 * chain that decides a forward's fate (mangle -150, dstnat -100, filter 0); only chains at
 * raw priority (-300) run before it and are not traced. Only new connections are traced,
 * in the original direction: the packets that open a connection are the ones other
 * firewalls drop (established traffic is accepted by conntrack rules everywhere), and
 * tracing every packet of a busy forward would flood the output. Replies are not traced.
 * In prerouting only packets addressed to the host itself (as DNAT needs them) are
 * marked, not the guests' own connections to other machines on the same port numbers; in
 * output any destination is, because the host may test its forwards through the public
 * address, which is not local.
 */
/* The comment of the trace's rules: "nft-portfwd diagnose --trace: pid 4242 start 987654". */
#define TRACE_OWNER_FORMAT "nft-portfwd diagnose --trace: pid %ld start %llu"

/* Is member `key` of `obj` the string `value`? */
static bool member_is(const json_t *obj, const char *key, const char *value)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && !strcmp(s, value);
}

enum trace_table trace_table_state(const json_t *items, long *pid)
{
	enum trace_table state = TRACE_NONE;
	unsigned long long start;
	size_t i;
	json_t *item;

	*pid = 0;
	json_array_foreach(items, i, item) {
		const json_t *table = json_object_get(item, "table"), *rule = json_object_get(item, "rule");
		const char *comment = json_string_value(json_object_get(rule, "comment"));

		if (member_is(table, "family", "inet") && member_is(table, "name", TRACE_TABLE))
			state = TRACE_LEFTOVER;
		if (member_is(rule, "family", "inet") && member_is(rule, "table", TRACE_TABLE) &&
		    comment && sscanf(comment, TRACE_OWNER_FORMAT, pid, &start) == 2 &&
		    process_is(*pid, start))
			return TRACE_RUNNING;
	}
	return state;
}

void trace_leftover_text(long pid, char *buf, size_t size)
{
	if (pid)
		snprintf(buf, size, "table " TRACE_NAME ", left by a diagnose --trace that was killed "
			 "(pid %ld)", pid);
	else
		snprintf(buf, size, "table " TRACE_NAME ", left by a diagnose --trace that was killed "
			 "(of a release that did not name its process)");
}

static char *trace_ruleset(const struct entry_list *entries, size_t *ports)
{
	char owner[128];
	unsigned long long start = 0;
	uint32_t *pairs = malloc(entries->count * sizeof(*pairs));
	char *text = NULL;
	size_t len;
	FILE *mem;

	if (!pairs)
		return NULL;
	for (size_t i = 0; i < entries->count; i++)
		pairs[i] = (uint32_t)entries->items[i].proto << 16 | entries->items[i].host_port;
	qsort(pairs, entries->count, sizeof(*pairs), pair_cmp);
	if (!(mem = open_memstream(&text, &len))) {
		free(pairs);
		return NULL;
	}
	fputs(TRACE_DELETE "table " TRACE_NAME " {\n\tset ports {\n"
	      "\t\ttype inet_proto . inet_service\n\t\telements = { ", mem);
	*ports = 0;
	for (size_t i = 0; i < entries->count; i++) {
		if (i > 0 && pairs[i] == pairs[i - 1])
			continue;
		fprintf(mem, "%s%s . %u", *ports ? ", " : "", proto_name((enum proto)(pairs[i] >> 16)),
			(unsigned)(pairs[i] & 0xffff));
		(*ports)++;
	}
	process_start(getpid(), &start);
	snprintf(owner, sizeof(owner), TRACE_OWNER_FORMAT, (long)getpid(), start);
	fprintf(mem, " }\n\t}\n\n"
		"\tchain prerouting {\n\t\ttype filter hook prerouting priority -199; policy accept;\n"
		"\t\tmeta l4proto . th dport @ports ct state new fib daddr type local "
		"meta nftrace set 1 comment \"%s\"\n\t}\n\n"
		"\tchain output {\n\t\ttype filter hook output priority -199; policy accept;\n"
		"\t\tmeta l4proto . th dport @ports ct state new meta nftrace set 1 comment \"%s\"\n"
		"\t}\n}\n", owner, owner);
	free(pairs);
	if (fclose(mem) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---------------------------------------------------------------- the listener */

/* The child: `nft monitor` into the pipe until the parent kills it. */
static _Noreturn void listener_run(int fd, pid_t parent)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };
	struct error err;
	FILE *out;

	/* A terminal's ^C or hangup is for the parent, which then ends this process itself. */
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	/* Die with the parent, even when it is killed outright. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(EXIT_SYSTEM);
	if (!(out = fdopen(fd, "w")))
		_exit(EXIT_SYSTEM);
	/* One write per line, so the parent sees each event as it happens. */
	setvbuf(out, NULL, _IOLBF, 0);
	kernel_monitor(out, &err);
	for (char *c = err.msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	fprintf(out, LISTENER_ERROR "%s\n", err.msg);
	fflush(out);
	/* _exit: the parent's stdio buffers, copied by fork, must not be written twice. */
	_exit(EXIT_KERNEL);
}

static enum exit_code listener_start(pid_t *child, int *fd, struct error *err)
{
	pid_t parent = getpid();
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) != 0) {
		error_set(err, "cannot create a pipe for the trace listener: %s", strerror(errno));
		return EXIT_SYSTEM;
	}
	*child = fork();
	if (*child < 0) {
		error_set(err, "cannot start the trace listener (fork): %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return EXIT_SYSTEM;
	}
	if (*child == 0) {
		close(fds[0]);
		listener_run(fds[1], parent);
	}
	close(fds[1]);
	*fd = fds[0];
	return EXIT_OK;
}

/* The listener's output, split into lines. */
struct reader {
	int fd;
	char *buf;
	size_t len, cap;
	char failure[sizeof(((struct error *)0)->msg)]; /* the listener's LISTENER_ERROR text */
};

/* One read(): > 0 bytes read, 0 at end of file, -1 on error (err set). */
static ssize_t reader_fill(struct reader *r, struct error *err)
{
	ssize_t n;

	if (r->cap - r->len < 4096) {
		size_t cap = r->cap ? 2 * r->cap : 65536;
		char *buf = realloc(r->buf, cap);

		if (!buf) {
			error_set(err, "out of memory while reading trace events");
			return -1;
		}
		r->buf = buf;
		r->cap = cap;
	}
	do
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		error_set(err, "cannot read trace events: %s", strerror(errno));
		return -1;
	}
	r->len += (size_t)n;
	return n;
}

/*
 * The next complete line (without its newline; valid until the next reader call), or NULL.
 * The listener's error line is kept aside, not returned.
 */
static char *reader_line(struct reader *r, size_t *used)
{
	char *start, *end;

	while (*used < r->len && (end = memchr(start = r->buf + *used, '\n', r->len - *used))) {
		*end = '\0';
		*used = (size_t)(end + 1 - r->buf);
		if (strncmp(start, LISTENER_ERROR, strlen(LISTENER_ERROR)) != 0)
			return start;
		snprintf(r->failure, sizeof(r->failure), "%s", start + strlen(LISTENER_ERROR));
	}
	return NULL;
}

/* Drop the lines reader_line returned. */
static void reader_consume(struct reader *r, size_t used)
{
	if (!used) /* also: nothing read yet, buf is still NULL */
		return;
	memmove(r->buf, r->buf + used, r->len - used);
	r->len -= used;
}

/*
 * Wait up to timeout_ms for the listener to write and read what it wrote. EXIT_OK also
 * when nothing came or a signal interrupted the wait; EXIT_KERNEL when the listener ended.
 */
static enum exit_code reader_wait(struct reader *r, long long timeout_ms, struct error *err)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	int ready = poll(&pfd, 1, timeout_ms > 60000 ? 60000 : (int)timeout_ms);
	ssize_t n;

	if (ready < 0 && errno != EINTR) {
		error_set(err, "cannot wait for trace events: %s", strerror(errno));
		return EXIT_SYSTEM;
	}
	if (ready <= 0)
		return EXIT_OK;
	n = reader_fill(r, err);
	if (n < 0)
		return EXIT_SYSTEM;
	if (n == 0) {
		error_set(err, "the trace listener (nft monitor) ended: %s",
			  r->failure[0] ? r->failure : "(it gave no reason)");
		return EXIT_KERNEL;
	}
	return EXIT_OK;
}

/*
 * The monitor subscribes only after reading the whole ruleset and does not say when. Make
 * a harmless change until it reports one: TRACE_DELETE while the table is absent creates
 * and deletes it, and the monitor prints TRACE_DELETED_EVENT.
 */
static enum exit_code listener_wait_ready(struct kernel *k, struct reader *r, struct error *err)
{
	long long give_up = monotonic_ms() + READY_TIMEOUT_MS;

	while (!stop_signal) {
		long long probe_end = monotonic_ms() + PROBE_WAIT_MS;
		struct error inner;
		enum exit_code rc;

		if (probe_end - PROBE_WAIT_MS >= give_up) {
			error_set(err, "the trace listener (nft monitor) did not start within %d "
				       "seconds; nothing was traced", READY_TIMEOUT_MS / 1000);
			return EXIT_KERNEL;
		}
		if ((rc = run_blocked(k, TRACE_DELETE, &inner)) != EXIT_OK) {
			error_set(err, "cannot create and delete table " TRACE_NAME " to see whether "
				       "the trace listener runs; nothing was traced: %.900s", inner.msg);
			return rc;
		}
		for (long long left; !stop_signal && (left = probe_end - monotonic_ms()) > 0;) {
			size_t used = 0;
			bool ready = false;
			char *line;

			if ((rc = reader_wait(r, left, err)) != EXIT_OK)
				return rc;
			while ((line = reader_line(r, &used)))
				ready = ready || strcmp(line, TRACE_DELETED_EVENT) == 0;
			reader_consume(r, used);
			if (ready)
				return EXIT_OK;
		}
	}
	return EXIT_OK;
}

/* ---------------------------------------------------------------- grouping the events */

struct traced_packet {
	char id[9];          /* the kernel's trace id, 8 hex digits */
	bool from_output;    /* our output chain marked it (a host's own connection) */
	long long last_ms;   /* when its latest event arrived */
	char *head;          /* addresses and ports of its first `packet:` line; NULL if none */
	char *seen;          /* the same of its latest one (head, or its own copy) */
	FILE *steps;         /* one indented line per step, into path */
	char *path;
	size_t path_len;
	char *dropped_by;    /* "FAMILY TABLE CHAIN: RULE" of the drop; NULL while none */
};

struct drop_count {
	char *by;
	unsigned count;
};

struct tracer {
	FILE *out;
	struct traced_packet *open[OPEN_MAX]; /* being assembled, oldest first; each malloc'd, as its
					  memstream writes through pointers into it */
	size_t open_count;
	unsigned packets, dropped;
	struct drop_count *drops;
	size_t drop_kinds;
	bool out_of_memory;
};

/*
 * Interfaces, addresses and ports of a `packet:` line; the rest (MAC addresses, TTL, IP id,
 * TCP window...) only lengthens every line. The whole text when none is found.
 */
static char *packet_summary(const char *text)
{
	static const char *const keys[] = {
		"iif", "oif", "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr",
		"tcp sport", "tcp dport", "udp sport", "udp dport",
	};
	char *summary = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&summary, &len);

	if (!mem)
		return NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t klen = strlen(keys[i]);

		for (const char *at = text; (at = strstr(at, keys[i])); at += klen) {
			if ((at == text || at[-1] == ' ') && at[klen] == ' ') {
				const char *value = at + klen + 1;

				fprintf(mem, "%s%s %.*s", len ? " " : "", keys[i],
					(int)strcspn(value, " "), value);
				fflush(mem);
				break;
			}
		}
	}
	if (!len)
		fputs(text, mem);
	if (fclose(mem) != 0) {
		free(summary);
		return NULL;
	}
	return summary;
}

static const char *last_occurrence(const char *text, const char *needle)
{
	const char *last = NULL;

	for (const char *at = text; (at = strstr(at, needle)); at++)
		last = at;
	return last;
}

/* Whether a step ("rule ... (verdict X)", "policy X", "verdict X") drops; reject shows so. */
static bool step_drops(const char *step)
{
	const char *verdict = NULL;

	if (strncmp(step, "policy ", 7) == 0)
		verdict = step + 7;
	else if (strncmp(step, "verdict ", 8) == 0)
		verdict = step + 8;
	else if ((verdict = last_occurrence(step, " (verdict ")))
		verdict += strlen(" (verdict ");
	return verdict && strncmp(verdict, "drop", 4) == 0 &&
	       (verdict[4] == ')' || verdict[4] == ' ' || verdict[4] == '\0');
}

/* "FAMILY TABLE CHAIN: RULE TEXT" for the step that dropped a packet. */
static char *drop_text(const char *family, const char *table, const char *chain,
		       const char *step)
{
	const char *verdict = last_occurrence(step, " (verdict ");
	unsigned long long handle;
	char *text;

	/* The monitor knows only the rules there were when it started. */
	if (sscanf(step, "unknown rule handle %llu", &handle) == 1) {
		if (asprintf(&text, "%s %s %s: rule handle %llu, changed after the trace began "
				    "('nft -a list chain %s %s %s' shows it)", family, table, chain,
			     handle, family, table, chain) < 0)
			return NULL;
		return text;
	}
	if (strncmp(step, "rule ", 5) == 0 && verdict) {
		if (asprintf(&text, "%s %s %s: %.*s", family, table, chain,
			     (int)(verdict - step - 5), step + 5) < 0)
			return NULL;
		return text;
	}
	if (asprintf(&text, "%s %s %s: %s", family, table, chain, step) < 0)
		return NULL;
	return text;
}

static void count_drop(struct tracer *t, char *by)
{
	struct drop_count *grown;

	for (size_t i = 0; i < t->drop_kinds; i++) {
		if (strcmp(t->drops[i].by, by) == 0) {
			t->drops[i].count++;
			free(by);
			return;
		}
	}
	if (!(grown = realloc(t->drops, (t->drop_kinds + 1) * sizeof(*grown)))) {
		t->out_of_memory = true;
		free(by);
		return;
	}
	t->drops = grown;
	t->drops[t->drop_kinds++] = (struct drop_count){ .by = by, .count = 1 };
}

/* Print open[i] (the first PRINT_MAX packets), count it and forget it. */
static void packet_finish(struct tracer *t, size_t i)
{
	struct traced_packet *p = t->open[i];
	bool complete = fclose(p->steps) == 0 && p->path;

	t->out_of_memory = t->out_of_memory || !complete;
	t->packets++;
	if (t->packets <= PRINT_MAX) {
		fprintf(t->out, "packet %u: %s\n%s", t->packets,
			p->head ? p->head : "(its headers were not traced)", complete ? p->path : "");
		if (p->dropped_by)
			fprintf(t->out, "    DROPPED by %s\n", p->dropped_by);
		else
			fprintf(t->out, "    passed every traced chain (no rule dropped it)\n");
		fflush(t->out);
	}
	if (p->dropped_by) {
		t->dropped++;
		count_drop(t, p->dropped_by);
	}
	if (p->seen != p->head)
		free(p->seen);
	free(p->head);
	free(p->path);
	free(p);
	memmove(&t->open[i], &t->open[i + 1], (t->open_count - i - 1) * sizeof(*t->open));
	t->open_count--;
}

static struct traced_packet *packet_start(struct tracer *t, const char *id, bool from_output)
{
	struct traced_packet *p;

	if (t->open_count == OPEN_MAX)
		packet_finish(t, 0);
	if (!(p = calloc(1, sizeof(*p))) || !(p->steps = open_memstream(&p->path, &p->path_len))) {
		free(p);
		t->out_of_memory = true;
		return NULL;
	}
	p->from_output = from_output;
	snprintf(p->id, sizeof(p->id), "%s", id);
	t->open[t->open_count++] = p;
	return p;
}

/* The index of the open packet with this trace id, or OPEN_MAX. */
static size_t packet_find(const struct tracer *t, const char *id)
{
	for (size_t i = t->open_count; i-- > 0;)
		if (strcmp(t->open[i]->id, id) == 0)
			return i;
	return OPEN_MAX;
}

/* A `packet:` line: the first gives the packet's heading; later ones show changes (DNAT). */
static void packet_seen(struct tracer *t, struct traced_packet *p, const char *text)
{
	char *summary = packet_summary(text);

	if (!summary) {
		t->out_of_memory = true;
	} else if (!p->head) {
		p->head = p->seen = summary;
	} else if (strcmp(summary, p->seen) != 0) {
		fprintf(p->steps, "    packet now: %s\n", summary);
		if (p->seen != p->head)
			free(p->seen);
		p->seen = summary;
	} else {
		free(summary);
	}
}

/* Cut `s` at its first space; the rest, or NULL when there is none. */
static char *split(char *s)
{
	char *space = strchr(s, ' ');

	if (!space)
		return NULL;
	*space = '\0';
	return space + 1;
}

/*
 * One monitor line. Trace lines are "trace id ID FAMILY TABLE CHAIN STEP" with STEP one of
 * "packet: ...", "rule RULE (verdict V)", "unknown rule handle N (verdict V)",
 * "policy V", "verdict V"; other lines are ruleset changes and are ignored.
 */
static void tracer_line(struct tracer *t, char *line, long long now)
{
	char *id, *family, *table, *chain, *step, *end;
	struct traced_packet *p = NULL;
	bool ours, is_packet;
	size_t i;

	if (strncmp(line, "trace id ", 9) != 0)
		return;
	id = line + 9;
	if (!(family = split(id)) || !(table = split(family)) || !(chain = split(table)) ||
	    !(step = split(chain)))
		return;
	for (end = step + strlen(step); end > step && end[-1] == ' ';)
		*--end = '\0';
	ours = strcmp(family, "inet") == 0 && strcmp(table, TRACE_TABLE) == 0;
	is_packet = strncmp(step, "packet: ", 8) == 0;
	if ((i = packet_find(t, id)) < OPEN_MAX)
		p = t->open[i];
	/*
	 * Our chain's `packet:` line opens every packet, so one for a known id is a new packet
	 * that got a finished packet's id, except a host's own packet coming back in through
	 * loopback, which our output chain marked and our prerouting chain sees again.
	 */
	if (p && ours && is_packet && !(p->from_output && strcmp(chain, "prerouting") == 0)) {
		packet_finish(t, i);
		p = NULL;
	}
	if (!p && !(p = packet_start(t, id, ours && strcmp(chain, "output") == 0)))
		return;
	p->last_ms = now;
	if (is_packet) {
		packet_seen(t, p, step + 8);
		return;
	}
	/* Our own chain's steps are the same for every packet. */
	if (ours)
		return;
	fprintf(p->steps, "    %s %s %s: %s\n", family, table, chain, step);
	if (!p->dropped_by && step_drops(step) &&
	    !(p->dropped_by = drop_text(family, table, chain, step)))
		t->out_of_memory = true;
}

/* Print the packets whose events stopped IDLE_MS ago (all of them with `all`). */
static void tracer_flush(struct tracer *t, long long now, bool all)
{
	for (size_t i = 0; i < t->open_count;) {
		if (all || now - t->open[i]->last_ms >= IDLE_MS)
			packet_finish(t, i);
		else
			i++;
	}
}

/* How long until the next open packet goes idle; `limit` when none is open. */
static long long tracer_next_idle(const struct tracer *t, long long now, long long limit)
{
	for (size_t i = 0; i < t->open_count; i++) {
		long long left = t->open[i]->last_ms + IDLE_MS - now;

		if (left < limit)
			limit = left < 0 ? 0 : left;
	}
	return limit;
}

static void tracer_take_lines(struct tracer *t, struct reader *r)
{
	long long now = monotonic_ms();
	size_t used = 0;
	char *line;

	while ((line = reader_line(r, &used)))
		tracer_line(t, line, now);
	reader_consume(r, used);
}

static enum exit_code trace_loop(struct tracer *t, struct reader *r, long long deadline,
				 struct error *err)
{
	while (!stop_signal) {
		long long now = monotonic_ms();
		enum exit_code rc;

		if (now >= deadline)
			return EXIT_OK;
		if ((rc = reader_wait(r, tracer_next_idle(t, now, deadline - now), err)) != EXIT_OK)
			return rc;
		tracer_take_lines(t, r);
		tracer_flush(t, monotonic_ms(), false);
	}
	return EXIT_OK;
}

static int drop_count_cmp(const void *a, const void *b)
{
	const struct drop_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->by, y->by);
}

static void tracer_summary(struct tracer *t, long long ran_ms, unsigned seconds)
{
	FILE *out = t->out;

	if (stop_signal)
		fprintf(out, "trace: stopped by SIG%s after %.1f of %u seconds\n",
			sigabbrev_np(stop_signal), ran_ms / 1000.0, seconds);
	if (t->packets > PRINT_MAX)
		fprintf(out, "trace: only the first %d packets are shown\n", PRINT_MAX);
	fprintf(out, "trace: %u packet%s traced, %u dropped\n", t->packets,
		t->packets == 1 ? "" : "s", t->dropped);
	if (t->drop_kinds) /* qsort's array must not be NULL, even when empty */
		qsort(t->drops, t->drop_kinds, sizeof(*t->drops), drop_count_cmp);
	for (size_t i = 0; i < t->drop_kinds; i++)
		fprintf(out, "  %u dropped by %s\n", t->drops[i].count, t->drops[i].by);
	if (t->packets == 0)
		fprintf(out, "trace: no new connection to a forwarded port arrived; if a client "
			     "tried meanwhile, its packets do not reach this host: check the "
			     "router's port forward, and watch the interface clients come in on "
			     "with tcpdump\n");
	else if (t->dropped == 0)
		fprintf(out, "trace: no rule on this host dropped them; if the client still fails, "
			     "the guest did not answer or its reply was lost (replies are not "
			     "traced: tcpdump on the guest's interface shows them)\n");
	fflush(out);
}

static void tracer_free(struct tracer *t)
{
	for (size_t i = 0; i < t->drop_kinds; i++)
		free(t->drops[i].by);
	free(t->drops);
}

/* ---------------------------------------------------------------- the whole run */

/* EXIT_OK unless another trace runs in this network namespace: they would share the table. */
static enum exit_code trace_running(struct kernel *k, struct error *err)
{
	char *json = NULL;
	json_t *root;
	long pid;
	enum exit_code rc = kernel_list_table_json(k, "inet", TRACE_TABLE, LIST_TERSE, &json, err);

	if (rc != EXIT_OK || !json)
		return rc;
	root = json_loads(json, 0, NULL);
	free(json);
	if (root && trace_table_state(json_object_get(root, "nftables"), &pid) == TRACE_RUNNING) {
		error_set(err, "another 'nft-portfwd diagnose --trace' (pid %ld) is tracing in this "
			       "network namespace; wait for it to finish", pid);
		rc = EXIT_SYSTEM;
	}
	json_decref(root);
	return rc;
}

enum exit_code trace_run(struct kernel *k, const struct entry_list *entries, unsigned seconds,
			 FILE *out, struct error *err)
{
	struct tracer t = { .out = out };
	struct reader r = { .fd = -1 };
	struct saved_signals saved;
	struct error inner; /* a kernel_run message, wrapped into err */
	long long started = 0, ended = 0;
	enum exit_code rc;
	size_t ports = 0;
	pid_t child = -1;
	char *ruleset;

	if (entries->count == 0) {
		error_set(err, "there is no forward to trace: the config has no forward line");
		return EXIT_CONFIG;
	}
	if (!(ruleset = trace_ruleset(entries, &ports))) {
		error_set(err, "out of memory");
		return EXIT_SYSTEM;
	}
	if ((rc = trace_running(k, err)) != EXIT_OK) {
		free(ruleset);
		return rc;
	}
	signals_catch(&saved);
	if ((rc = run_blocked(k, TRACE_DELETE, &inner)) != EXIT_OK)
		error_set(err, "cannot delete table " TRACE_NAME " left by an earlier trace; "
			       "nothing was traced: %.900s", inner.msg);
	if (rc == EXIT_OK && !stop_signal)
		rc = listener_start(&child, &r.fd, err);
	if (rc == EXIT_OK && !stop_signal)
		rc = listener_wait_ready(k, &r, err);
	if (rc == EXIT_OK && !stop_signal && (rc = run_blocked(k, ruleset, &inner)) != EXIT_OK)
		error_set(err, "cannot create table " TRACE_NAME "; nothing was traced: %.900s",
			  inner.msg);
	if (rc == EXIT_OK && !stop_signal) {
		fprintf(out, "trace: following new connections to %zu forwarded host port%s for %u "
			     "second%s; connect from a client now\n",
			ports, ports == 1 ? "" : "s", seconds, seconds == 1 ? "" : "s");
		fflush(out);
		started = monotonic_ms();
		rc = trace_loop(&t, &r, started + seconds * 1000LL, err);
		ended = monotonic_ms();
	}

	/* Always: stop marking packets, end the listener, take what it wrote before it died. */
	if (run_blocked(k, TRACE_DELETE, &inner) != EXIT_OK && rc == EXIT_OK) {
		error_set(err, "cannot delete table " TRACE_NAME "; delete it with 'sudo nft delete "
			       "table " TRACE_NAME "': %.900s", inner.msg);
		rc = EXIT_KERNEL;
	}
	if (child > 0) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		while (started && reader_fill(&r, &inner) > 0)
			tracer_take_lines(&t, &r);
		close(r.fd);
	}
	if (started) {
		tracer_flush(&t, 0, true);
		tracer_summary(&t, ended - started, seconds);
	} else if (stop_signal) {
		fprintf(out, "trace: stopped by SIG%s before tracing began\n",
			sigabbrev_np(stop_signal));
	}
	if (rc == EXIT_OK && t.out_of_memory) {
		error_set(err, "out of memory while tracing; the packets shown are incomplete");
		rc = EXIT_SYSTEM;
	}
	if (rc == EXIT_OK && fflush(out) != 0) {
		error_set(err, "cannot write the trace: %s", strerror(errno));
		rc = EXIT_SYSTEM;
	} else if (rc == EXIT_OK && ferror(out)) {
		error_set(err, "cannot write the trace: a write to its output failed");
		rc = EXIT_SYSTEM;
	}
	signals_restore(&saved);
	tracer_free(&t);
	free(r.buf);
	free(ruleset);
	return rc;
}
