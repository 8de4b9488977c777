/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a running watcher tells others (status, metrics, the Cockpit page), in the state
 * dir: its pid, since when it runs, how often it healed, its last heals, and whether it is
 * backing off. Written by the watcher after each change of these, removed when it stops.
 */
#ifndef NFT_PORTFWD_WATCHINFO_H
#define NFT_PORTFWD_WATCHINFO_H

#include <stdbool.h>
#include <time.h>

#include "util/common.h"

#define WATCH_INFO_FILE "watch.json"

/* How many of its last heals a watcher keeps, newest first. */
#define WATCH_RECENT_HEALS 5

struct heal_record {
	time_t at;
	char what[768]; /* what it put back */
};

struct watch_info {
	long pid;
	unsigned long long start; /* the process's start time (process.h): pid and start name it */
	time_t started;
	unsigned heals;
	bool backing_off;
	struct heal_record recent[WATCH_RECENT_HEALS]; /* its last heals, newest first */
	size_t recent_count;
};

/* A heal at `at` that put back `what`: counted, and first of the recent ones. */
void watch_info_healed(struct watch_info *wi, time_t at, const char *what);

enum exit_code watch_info_write(const char *dir, const struct watch_info *wi, struct error *err);

/*
 * The record of a watcher that is running now: the process of its pid started when it
 * says (another process that got the pid later is not it). false when none is, or the
 * file is stale.
 */
bool watch_info_read(const char *dir, struct watch_info *wi);

#endif
