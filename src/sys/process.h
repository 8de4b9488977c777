/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who a process is: a pid names a process only while it lives, and the kernel gives it to
 * the next one after; the pid with the process's start time (clock ticks after boot,
 * /proc/PID/stat) names one process for the whole boot. Records that name a process
 * (watch.json, the handover file, the trace table) keep both.
 */
#ifndef NFT_PORTFWD_PROCESS_H
#define NFT_PORTFWD_PROCESS_H

#include <stdbool.h>
#include <stddef.h>

/* The start time of process `pid`; false when there is no such process. */
bool process_start(long pid, unsigned long long *start);

/* The command name of process `pid` (/proc/PID/comm) in `buf`; "" when there is none. */
void process_name(long pid, char *buf, size_t size);

/* Is process `pid` the one that started at `start`, running now? */
bool process_is(long pid, unsigned long long start);

#endif
