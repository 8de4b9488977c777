/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a running watcher tells others (status), in the state dir: its pid, since when it
 * runs, how often and when it last healed, and whether it is backing off. Written by the
 * watcher after each change of these, removed when it stops.
 */
#ifndef NFT_PORTFWD_WATCHINFO_H
#define NFT_PORTFWD_WATCHINFO_H

#include <stdbool.h>
#include <time.h>

#include "util/common.h"

#define WATCH_INFO_FILE "watch.json"

struct watch_info {
	long pid;
	unsigned long long start; /* the process's start time (process.h): pid and start name it */
	time_t started, last_heal; /* last_heal 0: never */
	unsigned heals;
	bool backing_off;
	char last_what[768]; /* what the last heal put back */
};

enum exit_code watch_info_write(const char *dir, const struct watch_info *wi, struct error *err);

/*
 * The record of a watcher that is running now: the process of its pid started when it
 * says (another process that got the pid later is not it). false when none is, or the
 * file is stale.
 */
bool watch_info_read(const char *dir, struct watch_info *wi);

#endif
