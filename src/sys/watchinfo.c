/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/process.h"
#include "sys/state.h"
#include "sys/watchinfo.h"

enum exit_code watch_info_write(const char *dir, const struct watch_info *wi, struct error *err)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "pid", (json_int_t)wi->pid,
			      "start", (json_int_t)wi->start,
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

bool watch_info_read(const char *dir, struct watch_info *wi)
{
	char *text = state_read_file(dir, WATCH_INFO_FILE);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	json_int_t pid = 0, start = 0, started = 0, heals = 0, last = 0;
	int backing = 0;
	const char *what = "";
	bool ok;

	free(text);
	ok = o && !json_unpack(o, "{s:I, s:I, s:I, s:I, s:I, s:b, s:s}", "pid", &pid, "start", &start,
			       "started", &started, "heals", &heals, "last_heal", &last,
			       "backing_off", &backing, "last_heal_what", &what) &&
	     process_is((long)pid, (unsigned long long)start);
	if (ok) {
		*wi = (struct watch_info){ .pid = (long)pid, .start = (unsigned long long)start,
					   .started = (time_t)started,
					   .last_heal = (time_t)last, .heals = (unsigned)heals,
					   .backing_off = backing };
		snprintf(wi->last_what, sizeof(wi->last_what), "%s", what);
	}
	json_decref(o);
	return ok;
}
