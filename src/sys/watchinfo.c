/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/process.h"
#include "sys/state.h"
#include "sys/watchinfo.h"

void watch_info_healed(struct watch_info *wi, time_t at, const char *what)
{
	size_t keep = wi->recent_count < WATCH_RECENT_HEALS ? wi->recent_count
							    : WATCH_RECENT_HEALS - 1;

	memmove(&wi->recent[1], &wi->recent[0], keep * sizeof(wi->recent[0]));
	wi->recent[0].at = at;
	snprintf(wi->recent[0].what, sizeof(wi->recent[0].what), "%s", what);
	wi->recent_count = keep + 1;
	wi->heals++;
}

enum exit_code watch_info_write(const char *dir, const struct watch_info *wi, struct error *err)
{
	json_t *recent = json_array();
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:b, s:o}", "pid", (json_int_t)wi->pid,
			      "start", (json_int_t)wi->start,
			      "started", (json_int_t)wi->started, "heals", (json_int_t)wi->heals,
			      "backing_off", wi->backing_off, "recent", recent);
	char *text;
	enum exit_code rc;

	for (size_t i = 0; o && i < wi->recent_count; i++)
		if (json_array_append_new(recent, json_pack("{s:I, s:s}", "at",
							    (json_int_t)wi->recent[i].at, "what",
							    wi->recent[i].what)) != 0) {
			json_decref(o);
			o = NULL;
		}
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
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
	json_int_t pid = 0, start = 0, started = 0, heals = 0;
	int backing = 0;
	json_t *recent = NULL, *heal;
	size_t i;
	bool ok;

	free(text);
	ok = o && !json_unpack(o, "{s:I, s:I, s:I, s:I, s:b, s:o}", "pid", &pid, "start", &start,
			       "started", &started, "heals", &heals, "backing_off", &backing,
			       "recent", &recent) &&
	     json_is_array(recent) && process_is((long)pid, (unsigned long long)start);
	if (ok) {
		*wi = (struct watch_info){ .pid = (long)pid, .start = (unsigned long long)start,
					   .started = (time_t)started, .heals = (unsigned)heals,
					   .backing_off = backing };
		json_array_foreach(recent, i, heal) {
			json_int_t at = 0;
			const char *what = NULL;

			if (wi->recent_count == WATCH_RECENT_HEALS ||
			    json_unpack(heal, "{s:I, s:s}", "at", &at, "what", &what))
				break;
			wi->recent[wi->recent_count].at = (time_t)at;
			snprintf(wi->recent[wi->recent_count].what,
				 sizeof(wi->recent[0].what), "%s", what);
			wi->recent_count++;
		}
	}
	json_decref(o);
	return ok;
}
