/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "watchinfo.h"

enum exit_code watch_info_write(const char *dir, const struct watch_info *wi, struct error *err)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:b, s:s}", "pid", (json_int_t)wi->pid,
			      "started", (json_int_t)wi->started, "heals", (json_int_t)wi->heals,
			      "last_heal", (json_int_t)wi->last_heal, "backing_off", wi->backing_off,
			      "last_heal_what", wi->last_what);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	enum exit_code rc;

	json_decref(o);
	if (!text)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	rc = state_write_file(dir, WATCH_INFO_FILE, text, err);
	free(text);
	return rc;
}

/* Is `pid` a running nft-portfwd? (A pid in a stale file may belong to anything now.) */
static bool is_watcher(long pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "nft-portfwd", 11);
}

bool watch_info_read(const char *dir, struct watch_info *wi)
{
	char *text = state_read_file(dir, WATCH_INFO_FILE);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	json_int_t pid = 0, started = 0, heals = 0, last = 0;
	int backing = 0;
	const char *what = "";
	bool ok;

	free(text);
	ok = o && !json_unpack(o, "{s:I, s:I, s:I, s:I, s:b, s:s}", "pid", &pid, "started", &started,
			       "heals", &heals, "last_heal", &last, "backing_off", &backing,
			       "last_heal_what", &what) && is_watcher((long)pid);
	if (ok) {
		*wi = (struct watch_info){ .pid = (long)pid, .started = (time_t)started,
					   .last_heal = (time_t)last, .heals = (unsigned)heals,
					   .backing_off = backing };
		snprintf(wi->last_what, sizeof(wi->last_what), "%s", what);
	}
	json_decref(o);
	return ok;
}
