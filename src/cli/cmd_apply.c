/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "sys/kernel.h"
#include "cli/load.h"
#include "engine/coexist.h"
#include "util/outcome.h"
#include "engine/reconcile.h"
#include "sys/state.h"
#include "sys/watchinfo.h"

/*
 * What this apply was given, for `reapply` (the libvirt hook): the config's absolute path
 * and the drop-in directory read, one KEY=VALUE a line (the flags are in the flags
 * record). Nothing is recorded for a value that holds a newline (reapply then does
 * nothing, rather than guess).
 */
static void record_args(const struct options *opts)
{
	/* the drop-in directory that was read (reapply names it, so it is read again) */
	const char *read_dir = options_config_dir(opts);
	char *dir = read_dir ? realpath(read_dir, NULL) : NULL;
	char *config = realpath(opts->config_path, NULL), *text = NULL;
	struct error warning;
	const char *config_value = opts->config_given || config ? (config ? config : "") : NULL;
	bool ok = !(config_value && strchr(config_value, '\n')) && !(dir && strchr(dir, '\n'));

	if (ok && asprintf(&text, "%s%s%s%s%s%s", config_value ? "config=" : "",
			   config_value ? config_value : "", config_value ? "\n" : "",
			   dir ? "config-dir=" : "", dir ? dir : "", dir ? "\n" : "") < 0)
		text = NULL;
	if (text && state_write_file(opts->state_dir, APPLIED_ARGS_FILE, text, &warning) != EXIT_OK)
		fprintf(stderr, "nft-portfwd: warning: %s; reapply (the libvirt hook) will do nothing\n",
			warning.msg);
	if (!text)
		state_remove(opts->state_dir, APPLIED_ARGS_FILE);
	free(text);
	free(config);
	free(dir);
}

/* Does this run give a forward by flags (--host-port with --vm-ip or --vm)? */
static bool gives_forward(const struct options *opts)
{
	return opts->flag[FLAG_HOST_PORT] || opts->flag[FLAG_VM_IP] || opts->flag[FLAG_VM];
}

/*
 * The flags record after an apply that gave a forward by flags (options.h). Said when it
 * cannot be written: status would not know the forward.
 */
static void record_flags(const struct options *opts, const struct model *m)
{
	struct flag_record record;
	struct error warning;
	char *next = NULL;

	if (!gives_forward(opts) || load_record(opts, &record, &warning) != EXIT_OK)
		return;
	if (!(next = options_next_record(opts, &record, m)) ||
	    ((!record.text || strcmp(next, record.text)) &&
	     state_write_file(opts->state_dir, FLAGS_RECORD_FILE, next, &warning) != EXIT_OK))
		fprintf(stderr, "nft-portfwd: warning: %s; status, list and the watcher do not know "
				"what these flags applied\n", next ? warning.msg : "out of memory");
	free(next);
	flag_record_free(&record);
}

/*
 * What on this host keeps the forwards from working, for what this apply added: all of
 * them after a replace, the added elements after a change in place, nothing after a
 * no-op (the everyday path stays cheap; status and check look at everything).
 */
static void tell_host(const struct apply_run *run, struct outcome *out)
{
	bool everything = run->plan.step == TABLE_REPLACE || !run->plan.change_known;

	if (everything || run->plan.change.added_mappings.count)
		coexist_tell_host(out, run->m, run->foreign_read ? &run->foreign : NULL,
				  everything ? NULL : &run->plan.change.added_mappings);
}

/*
 * A running watcher (the unit) keeps the config it read last and would undo this apply as
 * someone else's change: SIGHUP makes it read its config again, so an edit of that config
 * (or an add, a remove) followed by apply is kept. Sent while we hold the lock, so its
 * reload applies after us (a no-op). An apply of another config is still undone.
 */
static void tell_watcher(const struct options *opts, struct outcome *out)
{
	struct watch_info wi;

	if (!watch_info_read(opts->state_dir, &wi))
		return;
	if (kill((pid_t)wi.pid, SIGHUP) == 0) {
		outcome_say(out, "told the watcher (pid %ld) to read the config again", wi.pid);
		outcome_set(out, "watcher_reloaded", json_integer(wi.pid));
	} else {
		fprintf(stderr, "nft-portfwd: warning: cannot tell the watcher (pid %ld) to read the "
				"config again: %s; it may undo this change: 'systemctl reload "
				"nft-portfwd'\n", wi.pid, strerror(errno));
	}
}

enum exit_code apply_into(const struct options *opts, struct outcome *out, bool locked,
			  struct error *err)
{
	struct model m = { 0 };
	struct kernel *k = NULL;
	char *text = NULL;
	int lock_fd = -1;
	struct apply_run run = { .state_dir = opts->state_dir, .m = &m };
	enum exit_code rc = kernel_open(&k, err);

	/* the config is read under the lock: an add or remove that holds it is not undone by
	 * an apply that read the files before it wrote them */
	if (rc == EXIT_OK && !locked)
		rc = state_lock(opts->state_dir, LOCK_WAIT_SECONDS, &lock_fd, err);
	if (rc == EXIT_OK)
		rc = load_rendered(opts, &m, RESOLVE_STRICT, &text, err);
	run.table_text = text;
	if (rc == EXIT_OK) {
		struct kernel_ops ops = kernel_ops_real(k);

		rc = reconcile_apply(&run, &ops, err);
	}
	if (rc == EXIT_OK) {
		reconcile_tell(&run, out);
		tell_host(&run, out);
		record_args(opts);
		record_flags(opts, &m);
		tell_watcher(opts, out);
	}
	apply_run_free(&run);
	state_unlock(lock_fd);
	kernel_close(k);
	free(text);
	model_free(&m);
	return rc;
}

enum exit_code run_apply(const struct options *opts)
{
	struct error err;
	struct outcome out;

	outcome_init(&out, "apply", opts->json, opts->quiet);
	return outcome_finish(&out, apply_into(opts, &out, false, &err), &err);
}

const struct command command_apply = {
	.name = "apply",
	.summary = "turn on forwarding and bring table inet portfwd to the config in one transaction",
	.help = "Validates the config, turns on net.ipv4.ip_forward (and IPv6 forwarding when an\n"
		"IPv6 forward exists), remembering the old value for flush, then commits what\n"
		"differs in one transaction: the changed forwards' elements in place (the others\n"
		"keep their counters and connections), or the whole of table inet portfwd when\n"
		"its structure changes. Other firewalls whose forward-hook chains would drop the\n"
		"forwards (libvirt, Docker, ufw, firewalld, any other) get one accept rule in the\n"
		"chain where it is safe, matching only the packet mark table inet portfwd sets on\n"
		"the forwards' packets, in the same transaction, unless integrate = off (then the\n"
		"accepts go, and apply says so). Names each forward added and removed since the\n"
		"last apply, and warns about what on this host keeps the forwards from working.\n"
		"On any error the previous table, rules and sysctls stay as they were. Applying\n"
		"the same config again changes nothing.\n"
		"\n"
		"A forward given by flags is kept in the state dir's flags record, with the\n"
		"setting flags given with it, until flush or remove: it adds to those earlier\n"
		"applies gave (one of the same family and protocol on an overlapping host port\n"
		"is replaced). Setting flags without a forward flag apply to this run only.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_FORWARD | OPT_JSON | OPT_QUIET,
	.run = run_apply,
};
