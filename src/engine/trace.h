/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diagnose --trace: follow new connections to the forwarded host ports through every table
 * and chain of this network namespace with nftables' packet tracing, and name the rule
 * that drops them.
 */
#ifndef NFT_PORTFWD_TRACE_H
#define NFT_PORTFWD_TRACE_H

#include <jansson.h>
#include <stdio.h>

#include "util/common.h"
#include "config/entries.h"
#include "sys/kernel.h"

/*
 * The table the trace creates and always deletes. Its rules' comment names the trace's
 * process (pid and start time, process.h): a table whose process is gone (killed with
 * SIGKILL) is a leftover, which apply, flush and the next trace delete and status names.
 */
#define TRACE_TABLE "portfwd-trace"

/* Delete it, whether or not it exists: one transaction, as for table inet portfwd. */
#define TRACE_DELETE "table inet " TRACE_TABLE "\ndelete table inet " TRACE_TABLE "\n"

enum trace_table {
	TRACE_NONE,     /* no table inet portfwd-trace */
	TRACE_RUNNING,  /* a trace that runs now made it */
	TRACE_LEFTOVER, /* its process is gone */
};

/*
 * What table inet portfwd-trace is in the objects of a listing (its "nftables" array);
 * *pid: the process named in it (0 when none is).
 */
enum trace_table trace_table_state(const json_t *items, long *pid);

/* "table inet portfwd-trace, left by a diagnose --trace that was killed (pid 4242)" */
void trace_leftover_text(long pid, char *buf, size_t size);

/*
 * Trace new connections to the entries' host ports (each protocol and port once) for
 * `seconds` (at least 1). Prints to `out`, in this order: one line once tracing runs
 * ("connect now"); each packet's path as it completes (its addresses and ports, then every
 * table, chain, rule and verdict it met, and "DROPPED by FAMILY TABLE CHAIN: RULE" or
 * "passed"); a summary with the number of packets, the number dropped and the dropping
 * rules by count.
 *
 * `k` is open (kernel_open checked CAP_NET_ADMIN). Refuses (EXIT_SYSTEM) while another
 * trace runs in this network namespace (two started in the same instant may both pass, and
 * one running in another pid namespace looks gone); deletes table inet portfwd-trace left
 * by an earlier run that was killed, creates it, and always deletes it again before
 * returning.
 * SIGINT, SIGTERM and SIGHUP end the trace early (the result so far is printed and the call
 * returns EXIT_OK); they are caught only during the call and SIGPIPE is ignored, and the
 * previous dispositions are restored. Runs `nft monitor` in one child process, which it
 * kills and reaps before returning.
 *
 * Errors: EXIT_CONFIG when there is no entry; EXIT_KERNEL when the table cannot be created
 * or deleted or the monitor fails; EXIT_SYSTEM for fork, pipe, output and memory failures.
 */
enum exit_code trace_run(struct kernel *k, const struct entry_list *entries, unsigned seconds,
			 FILE *out, struct error *err);

#endif
