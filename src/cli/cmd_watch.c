/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * watch: the unit's main process. Applies the config, then follows the kernel's nftables
 * change notifications (events.h) and, after each burst of other programs' changes,
 * applies again: a commit only when our table, our accepts in other firewalls' chains or
 * the forwarding sysctls are no longer what the config renders (a libvirtd restart, `nft
 * flush ruleset`, `ufw reload`, a new blocking chain). Its own commits are left out by the
 * committing process the kernel names with each generation. When another program keeps
 * undoing the forwards, it backs off and says so instead of fighting. SIGHUP re-reads the
 * config; SIGTERM and SIGINT flush and end it. Every heal is one log line: what was put
 * back, who changed what, and how long the forwards were out.
 */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "sys/events.h"
#include "sys/kernel.h"
#include "sys/libvirt.h"
#include "cli/load.h"
#include "util/outcome.h"
#include "sys/process.h"
#include "config/resolve.h"
#include "config/validate.h"
#include "engine/heal.h"
#include "engine/reconcile.h"
#include "table/render.h"
#include "sys/state.h"
#include "sys/sysctl.h"
#include "sys/watchinfo.h"
#include "util/clock.h"

struct watcher {
	const struct options *opts;
	struct model m;
	char *text;            /* the rendered table */
	struct kernel *k;
	struct kernel_ops ops;  /* through k */
	struct events *ev;
	struct change_batch batch;
	struct heal_policy heal;
	bool has_vms;               /* the config has `to vm` forwards */
	struct libvirt_follow *vms; /* following libvirt for them; NULL: not (yet) */
	long long next_vm_look_ms;  /* when to resolve them again without an event */
	long long reapply_ms;       /* a vm change whose apply failed is tried again then; 0: none */
	/* our table is what the last reconcile left: no notification since touched it */
	bool table_as_left;
	struct watch_info info;
	struct own_commits own;
	bool cut_short;        /* the last look was stopped by a signal, which waits to be taken */
};

/*
 * Signals are taken by handlers, not a signalfd: a handler runs whatever the watcher is
 * doing, so a long analysis of other firewalls' chains stops within microseconds (it reads
 * `signalled` as its cancel flag) and SIGTERM or SIGHUP is answered at once. The pipe
 * wakes the poll loop. Both are the process's, set up once by run_watch.
 */
static volatile sig_atomic_t signalled; /* the last of SIGTERM, SIGINT, SIGHUP; 0: none */
static volatile sig_atomic_t wake_write_fd = -1;
static int wake_fd[2] = { -1, -1 };
static const int watched_signals[] = { SIGHUP, SIGTERM, SIGINT };

static void on_signal(int sig)
{
	int saved = errno;

	/* a stop outranks a reload that is still waiting */
	if (signalled != SIGTERM && signalled != SIGINT)
		signalled = sig;
	if (wake_write_fd >= 0 && write(wake_write_fd, "", 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

/* The watched signals in a set (for sigaction's mask and sigprocmask). */
static void watched_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(watched_signals) / sizeof(watched_signals[0]); i++)
		sigaddset(set, watched_signals[i]);
}

static bool signals_take(struct error *err)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) != 0)
		return error_set(err, "cannot take signals: %s", strerror(errno));
	wake_write_fd = wake_fd[1];
	watched_set(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(watched_signals) / sizeof(watched_signals[0]); i++)
		if (sigaction(watched_signals[i], &sa, NULL) != 0)
			return error_set(err, "cannot take signals: %s", strerror(errno));
	return true;
}

/* The default dispositions again, then the pipe closed: no handler writes to it after. */
static void signals_release(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (size_t i = 0; i < sizeof(watched_signals) / sizeof(watched_signals[0]); i++)
		sigaction(watched_signals[i], &dfl, NULL);
	wake_write_fd = -1;
	for (size_t i = 0; i < 2; i++)
		if (wake_fd[i] >= 0)
			close(wake_fd[i]);
	wake_fd[0] = wake_fd[1] = -1;
}

/*
 * Empty the wake-up pipe and take the signal that came: 0 for none. The signals are held
 * back meanwhile, so that one arriving between the read and the reset is not lost.
 */
static int signal_take(void)
{
	sigset_t block, old;
	char buf[64];
	int sig;

	watched_set(&block);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (read(wake_fd[0], buf, sizeof(buf)) > 0)
		;
	sig = signalled;
	signalled = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return sig;
}

static void log_line(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr; under systemd (the journal) with its syslog priority prefix. */
static void log_line(const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%snft-portfwd: ", getenv("JOURNAL_STREAM") ? level : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void publish(struct watcher *w)
{
	struct error err;

	if (watch_info_write(w->opts->state_dir, &w->info, &err) != EXIT_OK)
		log_line(SD_WARNING, "warning: %s; status cannot see this watcher", err.msg);
	sd_notifyf(0, "STATUS=watching %zu forward%s; %u heal%s%s", w->m.forward_count,
		   w->m.forward_count == 1 ? "" : "s", w->info.heals, w->info.heals == 1 ? "" : "s",
		   w->info.backing_off ? "; backing off" : "");
}

/*
 * What a heal put back, from what the apply found and did, for the log; and where it
 * wrote (our table, the chains of our accepts; ", "-separated), to tell an answer to it.
 */
static void heal_what(const struct apply_run *run, char *what, size_t size, char *where,
		      size_t where_size)
{
	size_t len = 0, wlen = 0;

	what[0] = where[0] = '\0';
	if (run->table_changed) {
		len += (size_t)snprintf(what, size, "%s", run->before.present ?
					"table " TABLE_FAMILY " " TABLE_NAME " differed from the config" :
					"table " TABLE_FAMILY " " TABLE_NAME " was missing");
		wlen += (size_t)snprintf(where, where_size, TABLE_FAMILY " " TABLE_NAME);
	}
	for (size_t i = 0; run->foreign_changed && i < run->foreign.count; i++) {
		const struct foreign_block *b = &run->foreign.blocks[i];

		if (!run->accept_needed[i])
			continue;
		if (len < size)
			len += (size_t)snprintf(what + len, size - len, "%sthe accept in %s %s %s was "
						"missing or out of place", len ? "; " : "", b->family,
						b->table, b->insert_chain);
		if (wlen < where_size)
			wlen += (size_t)snprintf(where + wlen, where_size - wlen, "%s%s %s %s",
						 wlen ? ", " : "", b->family, b->table, b->insert_chain);
	}
	if (run->foreign_changed && run->foreign.trace_leftover && len < size)
		len += (size_t)snprintf(what + len, size - len, "%stable inet portfwd-trace of a killed "
					"diagnose --trace was deleted", len ? "; " : "");
	if (run->foreign_changed && !len)
		len += (size_t)snprintf(what, size, "a stale accept of ours was removed");
	for (size_t i = 0; i < run->n_changes && len < size; i++)
		if (run->changes[i].written)
			len += (size_t)snprintf(what + len, size - len, "%s%s was %s", len ? "; " : "",
						run->changes[i].sysctl->name, run->changes[i].before);
}

/* Apply under the lock. `initial`: say what was applied, as `apply` does. */
static enum exit_code reconcile(struct watcher *w, bool initial, bool *healed, char *what,
				size_t size)
{
	struct apply_run run = { .state_dir = w->opts->state_dir, .m = &w->m, .table_text = w->text,
				 .table_as_left = w->table_as_left, .cancel = &signalled };
	struct outcome out;
	struct error err;
	int lock_fd = -1;
	enum exit_code rc;

	outcome_init(&out, "apply", w->opts->json, w->opts->quiet);
	rc = state_lock(w->opts->state_dir, LOCK_WAIT_SECONDS, &lock_fd, &err);
	if (rc == EXIT_OK)
		rc = reconcile_apply(&run, &w->ops, &err);
	if (rc == EXIT_OK && run.gen_known)
		own_commit(&w->own, run.gen_after);
	state_unlock(lock_fd);
	/* followed since before this look (events_open comes first): it knows our table now */
	w->table_as_left = rc == EXIT_OK;
	*healed = rc == EXIT_OK && (run.table_changed || run.foreign_changed);
	for (size_t i = 0; rc == EXIT_OK && i < run.n_changes; i++)
		*healed |= run.changes[i].written;
	if (rc == EXIT_OK && *healed)
		heal_what(&run, what, size, w->heal.healed_where, sizeof(w->heal.healed_where));
	if (rc == EXIT_OK && initial)
		reconcile_tell(&run, &out);
	apply_run_free(&run);
	/* a look that found all in place prints nothing; one a signal cut short neither: the
	 * caller takes the signal next */
	w->cut_short = rc != EXIT_OK && !strcmp(err.msg, FOREIGN_INTERRUPTED);
	if ((!initial && rc == EXIT_OK) || w->cut_short) {
		outcome_discard(&out);
		return rc;
	}
	return outcome_finish(&out, rc, &err);
}

/* The back-off ended: status and systemd say so. */
static void publish_calm(struct watcher *w)
{
	w->info.backing_off = false;
	publish(w);
}

/* A burst is over: look, heal if needed, and notice a fight. */
static void settle(struct watcher *w)
{
	char what[768];
	bool healed = false;
	long long start = w->heal.first_ms, now;
	struct change_batch b = w->batch;
	bool contested = heal_begin(&w->heal, monotonic_ms(), heal_answers(&w->heal, &b));

	memset(&w->batch, 0, sizeof(w->batch));
	if (b.our_table || b.overflow)
		w->table_as_left = false;
	if (reconcile(w, false, &healed, what, sizeof(what)) != EXIT_OK) {
		if (w->cut_short)
			return; /* the loop takes the signal now */
		log_line(SD_ERR, "the re-apply after %s (pid %ld) changed the ruleset failed; the next "
			 "change tries again", b.who[0] ? b.who : "another program", (long)b.pid);
		return;
	}
	now = monotonic_ms();
	if (!healed)
		return;
	if (!b.commits && !b.overflow)
		log_line(SD_NOTICE, "healed: %s; someone turned forwarding off (sysctls are read "
			 "every %d s, so the forwards were out up to that long)", what,
			 HEAL_SYSCTL_CHECK_S);
	else
		log_line(SD_NOTICE, "healed: %s; after %s (pid %ld, %u transaction%s) changed %s; "
			 "the forwards were out %lld ms", what, b.who[0] ? b.who : "another program",
			 (long)b.pid, b.commits, b.commits == 1 ? "" : "s",
			 b.overflow ? "the ruleset (too many changes to follow one by one)" :
			 b.touched[0] ? b.touched : "the ruleset", now - start);
	watch_info_healed(&w->info, time(NULL), what);
	if (heal_done(&w->heal, now, contested) == HEAL_BACK_OFF)
		log_line(SD_WARNING, "warning: %s (pid %ld) keeps undoing the forwards (%u heals in a "
			 "row that its changes did not let settle); not fighting it: the next heal "
			 "waits %lld s. Find what rewrites %s", b.who[0] ? b.who : "another program",
			 (long)b.pid, w->heal.contested, w->heal.backoff_ms / 1000,
			 b.touched[0] ? b.touched : "the ruleset");
	w->info.backing_off = w->heal.backing_off;
	publish(w);
}

/*
 * The `to vm` forwards' guests are looked up again this often without an event: an address
 * known from ARP, or a lease that expired, changes without one.
 */
#define VM_LOOK_S 30

/* The comment lines render writes for the vm forwards (table/render.c), one per forward. */
static bool vm_line(const char *text, const char *line, size_t len)
{
	for (const char *at = text; (at = strstr(at, "\n#   ")); at += 5)
		if (!strncmp(at + 1, line, len) && at[1 + len] == '\n')
			return true;
	return false;
}

/*
 * Resolve the `to vm` forwards again (a domain started, stopped or moved, a lease came):
 * when that changes the rendering, log each forward that changed and apply, as a heal does
 * (the table changes its elements in place; the old address's connections are forgotten).
 * A domain undefined meanwhile waits instead of failing.
 */
static void follow_vms(struct watcher *w)
{
	struct libvirt *lv = libvirt_open(model_libvirt_uri(&w->m));
	struct vm_resolver resolver;
	struct error err = { "out of memory" };
	/* resolved on a copy of the forward arrays (the rest is shared): on any failure the
	 * model and the text stay as they were, together */
	struct model next = w->m;
	char *text = NULL, what[768];
	bool healed, ok = lv != NULL;

	w->next_vm_look_ms = monotonic_ms() + VM_LOOK_S * 1000LL;
	next.forwards = malloc((w->m.forward_capacity + 1) * sizeof(*next.forwards));
	next.waiting = malloc((w->m.waiting_count + 1) * sizeof(*next.waiting));
	ok = ok && next.forwards && next.waiting;
	if (ok) {
		memcpy(next.forwards, w->m.forwards, w->m.forward_count * sizeof(*next.forwards));
		memcpy(next.waiting, w->m.waiting, w->m.waiting_count * sizeof(*next.waiting));
		resolver = libvirt_resolver(lv);
		ok = model_unresolve_vms(&next) &&
		     model_resolve_vms(&next, &resolver, RESOLVE_UNKNOWN_WAITS | RESOLVE_KEEP_LAST,
				       &err) &&
		     check_model(&next, &err);
	}
	libvirt_close(lv);
	if (ok) {
		load_routing(w->opts, &next);
		ok = (text = render_ruleset_text(&next)) != NULL;
	}
	if (!ok || !strcmp(text, w->text)) {
		if (!ok)
			log_line(SD_ERR, "looking up the vm forwards' guests: %s; the table stays",
				 err.msg);
		free(next.forwards);
		free(next.waiting);
		free(text);
		return;
	}
	for (const char *at = text; (at = strstr(at, "\n#   ")); at += 5) {
		size_t len = strcspn(at + 1, "\n");

		if (!vm_line(w->text, at + 1, len))
			log_line(SD_NOTICE, "vm forward now: %.*s", (int)len - 4, at + 5);
	}
	free(w->m.forwards);
	free(w->m.waiting);
	w->m = next;
	free(w->text);
	w->text = text;
	/* a failed apply (the lock, the kernel) is tried again soon, not at the next event */
	if (reconcile(w, false, &healed, what, sizeof(what)) != EXIT_OK)
		w->reapply_ms = monotonic_ms() + 1000;
	publish(w);
}

/*
 * Follow libvirt when the config has `to vm` forwards, through its libvirt-uri (again at
 * each reload: the URI may have changed, or the forwards gone). Without it (no libvirt at
 * build time, no thread), they are looked up every VM_LOOK_S only.
 */
static void follow_start(struct watcher *w)
{
	struct error err;

	libvirt_follow_stop(w->vms);
	w->vms = NULL;
	w->has_vms = model_has_vms(&w->m);
	w->next_vm_look_ms = monotonic_ms() + VM_LOOK_S * 1000LL;
	if (w->has_vms &&
	    libvirt_follow_start(model_libvirt_uri(&w->m), &w->vms, &err) != EXIT_OK)
		log_line(SD_WARNING, "warning: %s; the vm forwards are looked up again every %d s only",
			 err.msg, VM_LOOK_S);
}

/* Read the config again; a bad one is logged and the previous one stays (EXIT_CONFIG). */
static enum exit_code reload_model(struct watcher *w)
{
	struct model m = { 0 };
	struct error err;
	char *text = NULL;
	enum exit_code rc = load_rendered(w->opts, &m, RESOLVE_UNKNOWN_WAITS, &text, &err);

	if (rc != EXIT_OK) {
		log_line(SD_ERR, "reload: %s; the forwards of the previous config stay", err.msg);
		model_free(&m);
		free(text);
		return rc;
	}
	model_free(&w->m);
	free(w->text);
	w->m = m;
	w->text = text;
	return EXIT_OK;
}

static void reload(struct watcher *w)
{
	bool healed;
	char what[768];

	sd_notify(0, "RELOADING=1");
	if (reload_model(w) == EXIT_OK) {
		follow_start(w);
		reconcile(w, true, &healed, what, sizeof(what));
	}
	sd_notify(0, "READY=1");
	publish(w);
}

/* Did someone turn off a forwarding sysctl that the forwards need? */
static bool forwarding_off(const struct watcher *w)
{
	const struct forwarding_sysctl *need[2] = {
		model_has_family(&w->m, AF_INET) ? &sysctl_ipv4_forward : NULL,
		model_has_family(&w->m, AF_INET6) ? &sysctl_ipv6_forward : NULL,
	};
	char value[16];

	for (size_t i = 0; i < 2; i++)
		if (need[i] && sysctl_read(need[i], value) && !strcmp(value, "0"))
			return true;
	return false;
}

/* Milliseconds poll may sleep: until the burst settles, the sysctls or the vms are due. */
static int wait_ms(const struct watcher *w)
{
	long long now = monotonic_ms();
	long long ms = heal_wait(&w->heal, now, heal_answers(&w->heal, &w->batch));

	if (w->has_vms && w->next_vm_look_ms - now < ms)
		ms = w->next_vm_look_ms > now ? w->next_vm_look_ms - now : 0;
	if (w->reapply_ms && w->reapply_ms - now < ms)
		ms = w->reapply_ms > now ? w->reapply_ms - now : 0;
	return (int)ms;
}

static enum exit_code watch(struct watcher *w)
{
	struct pollfd fds[3] = { { .fd = wake_fd[0], .events = POLLIN },
				 { .fd = events_fd(w->ev), .events = POLLIN },
				 { .events = POLLIN } };
	struct error err;

	for (;;) {
		int n, sig;
		bool vm_event;

		/* a reload may have started or stopped the follower */
		fds[2].fd = w->vms ? libvirt_follow_fd(w->vms) : -1;
		n = signalled ? 0 : poll(fds, 3, wait_ms(w));

		if (n < 0 && errno != EINTR) {
			error_set(&err, "poll: %s", strerror(errno));
			return report_error(EXIT_SYSTEM, &err);
		}
		/* a signal that interrupted a look (cancelled) is taken here too */
		if ((sig = signal_take())) {
			log_line(SD_INFO, "%s", sig == SIGHUP ? "SIGHUP: reading the config again"
							      : "stopping");
			if (sig != SIGHUP)
				return EXIT_OK; /* SIGTERM, SIGINT: the caller flushes */
			reload(w);
			continue;
		}
		if (n > 0 && (fds[1].revents & (POLLIN | POLLERR))) {
			unsigned commits = w->batch.commits;
			bool overflow = w->batch.overflow;

			if (events_read(w->ev, &w->own, &w->batch, &err) != EXIT_OK)
				return report_error(EXIT_SYSTEM, &err);
			/* only another program's commit starts or extends a burst */
			if ((w->batch.commits != commits || w->batch.overflow != overflow) &&
			    heal_change(&w->heal, monotonic_ms()))
				publish_calm(w);
		}
		/* a domain's event or a lease: resolve again (due also every VM_LOOK_S) */
		/* always drained, so that it never stays readable */
		vm_event = w->vms && n > 0 && (fds[2].revents & POLLIN) && libvirt_follow_take(w->vms);
		if (w->has_vms && (vm_event || monotonic_ms() >= w->next_vm_look_ms))
			follow_vms(w);
		if (w->reapply_ms && monotonic_ms() >= w->reapply_ms) {
			bool healed;
			char what[768];

			w->reapply_ms = 0;
			if (reconcile(w, false, &healed, what, sizeof(what)) != EXIT_OK)
				w->reapply_ms = monotonic_ms() + 1000;
		}
		/* the burst's own clock: the vm look may have made wait_ms 0 */
		if (w->heal.pending &&
		    heal_wait(&w->heal, monotonic_ms(), heal_answers(&w->heal, &w->batch)) == 0)
			settle(w);
		else if (!w->heal.pending && n == 0 && forwarding_off(w)) {
			/* no nftables event tells of these: a heal of its own */
			heal_sysctl_off(&w->heal, monotonic_ms());
			settle(w);
		}
	}
}

/*
 * Is the handover file (state.h) for this watcher, written for this stop? It names the
 * watcher it was written for ("PID START", process.h) and holds for HANDOVER_SECONDS: a
 * file left by an upgrade whose restart failed keeps neither a later watcher's forwards
 * nor this one's at a stop long after.
 */
static bool handover_for(const char *state_dir, const struct watch_info *me)
{
	char value[64];
	long pid;
	unsigned long long start;
	time_t written;

	return state_read(state_dir, HANDOVER_FILE, value, sizeof(value)) &&
	       sscanf(value, "%ld %llu", &pid, &start) == 2 && pid == me->pid &&
	       start == me->start && state_mtime(state_dir, HANDOVER_FILE, &written) &&
	       time(NULL) - written <= HANDOVER_SECONDS && time(NULL) >= written;
}

/* Flush under the lock, as `flush` does: what a stop does unless handing over. */
static enum exit_code stop_flush(const struct options *opts, const struct kernel_ops *k)
{
	struct outcome out;
	struct error err;
	int lock_fd = -1;
	enum exit_code rc;

	outcome_init(&out, "flush", opts->json, opts->quiet);
	rc = state_lock(opts->state_dir, LOCK_WAIT_SECONDS, &lock_fd, &err);
	if (rc == EXIT_OK)
		rc = reconcile_flush(opts->state_dir, k, &out, &err);
	state_unlock(lock_fd);
	return outcome_finish(&out, rc, &err);
}

static enum exit_code run_watch(const struct options *opts)
{
	struct watcher w = { .opts = opts, .own = { .pid = getpid(), .name = "nft-portfwd" } };
	struct error err;
	bool healed;
	char what[768];
	enum exit_code rc;

	/* under systemd stdout is the journal, not a terminal: a line at a time */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!signals_take(&err))
		return report_error(EXIT_SYSTEM, &err);
	rc = load_rendered(opts, &w.m, RESOLVE_UNKNOWN_WAITS, &w.text, &err);
	if (rc == EXIT_OK)
		rc = kernel_open(&w.k, &err);
	w.ops = kernel_ops_real(w.k);
	/* Follow changes before the first apply, so none is missed between the two. */
	if (rc == EXIT_OK)
		rc = events_open(&w.ev, &err);
	if (rc != EXIT_OK) {
		report_error(rc, &err);
		goto done;
	}
	/* a handover is for the watcher it names: none is for this one, which just started */
	state_remove(opts->state_dir, HANDOVER_FILE);
	rc = reconcile(&w, true, &healed, what, sizeof(what));
	/* a signal stopped the first look: SIGHUP reads the config again and looks again,
	 * SIGTERM and SIGINT stop, and a stop still flushes */
	while (rc != EXIT_OK && w.cut_short) {
		int sig = signal_take();

		if (sig != SIGHUP) {
			log_line(SD_INFO, "stopping");
			rc = stop_flush(opts, &w.ops);
			goto done;
		}
		log_line(SD_INFO, "SIGHUP: reading the config again");
		reload_model(&w); /* a bad config: the one read first stays */
		rc = reconcile(&w, true, &healed, what, sizeof(what));
	}
	if (rc != EXIT_OK)
		goto done;
	w.info = (struct watch_info){ .pid = getpid(), .started = time(NULL) };
	process_start(w.info.pid, &w.info.start);
	publish(&w);
	sd_notify(0, "READY=1");
	follow_start(&w);
	log_line(SD_INFO, "watching nftables for changes that undo the forwards");
	rc = watch(&w);
	sd_notify(0, "STOPPING=1");
	state_remove(opts->state_dir, WATCH_INFO_FILE);
	/* A package upgrade restarts the watcher to run the new binary: the forwards stay for
	 * the next one, which finds them in place and commits nothing. */
	if (rc == EXIT_OK && handover_for(opts->state_dir, &w.info)) {
		log_line(SD_INFO, "handing the forwards over to the next watcher: not flushing");
	} else if (rc == EXIT_OK) {
		rc = stop_flush(opts, &w.ops);
	}
	state_remove(opts->state_dir, HANDOVER_FILE);
done:
	libvirt_follow_stop(w.vms);
	events_close(w.ev);
	kernel_close(w.k);
	model_free(&w.m);
	free(w.text);
	signals_release();
	return rc;
}

const struct command command_watch = {
	.name = "watch",
	.summary = "apply, then keep the forwards in place while other programs change nftables",
	.help = "Applies the config as apply does, then follows the kernel's nftables change\n"
		"notifications. After each burst of changes by other programs (a libvirtd restart,\n"
		"'nft flush ruleset', 'ufw reload', a firewalld reload, a new chain that would\n"
		"drop the forwards) it applies again within a second when anything of ours is\n"
		"missing, out of place or different; its own commits are ignored. When another\n"
		"program keeps undoing the forwards it backs off (" STRINGIFY(HEAL_BACKOFF_FIRST_S)
		" s, doubling up to " STRINGIFY(HEAL_BACKOFF_MAX_S) " s)\n"
		"and logs it. Every heal is logged with what changed and how long the forwards\n"
		"were out.\n"
		"SIGHUP re-reads the config and applies it; SIGTERM or SIGINT flushes and exits,\n"
		"unless the state dir holds the file 'handover' naming this watcher (its pid and\n"
		"start time, as in watch.json) written in the last " STRINGIFY(HANDOVER_SECONDS)
		" s: then it leaves the\n"
		"forwards for the next watcher (what a package upgrade does). The file is removed\n"
		"at every start and stop.\n"
		"Tells systemd when it is ready (Type=notify). This is what nft-portfwd.service runs.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_FORWARD,
	.run = run_watch,
};
