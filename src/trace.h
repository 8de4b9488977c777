/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diagnose --trace: follow new connections to the forwarded host ports through every table
 * and chain of this network namespace with nftables' packet tracing, and name the rule
 * that drops them.
 */
#ifndef NFT_PORTFWD_TRACE_H
#define NFT_PORTFWD_TRACE_H

#include <stdio.h>

#include "common.h"
#include "entries.h"
#include "kernel.h"

/* The table the trace creates and always deletes; never touched by apply or flush. */
#define TRACE_TABLE "portfwd-trace"

/*
 * Trace new connections to the entries' host ports (each protocol and port once) for
 * `seconds` (at least 1). Prints to `out`, in this order: one line once tracing runs
 * ("connect now"); each packet's path as it completes (its addresses and ports, then every
 * table, chain, rule and verdict it met, and "DROPPED by FAMILY TABLE CHAIN: RULE" or
 * "passed"); a summary with the number of packets, the number dropped and the dropping
 * rules by count.
 *
 * `k` is open (kernel_open checked CAP_NET_ADMIN). Deletes table inet portfwd-trace left by
 * an earlier run that was killed, creates it, and always deletes it again before returning.
 * SIGINT, SIGTERM and SIGHUP end the trace early (the result so far is printed and the call
 * returns EXIT_OK); they are caught only during the call and SIGPIPE is ignored, and the
 * previous dispositions are restored. Runs `nft monitor` in one child process, which it
 * kills and reaps before returning.
 *
 * Errors: EXIT_CONFIG when there is no entry; EXIT_KERNEL when the table cannot be created
 * or deleted or the monitor fails; EXIT_SYSTEM for fork, pipe, output and memory failures.
 * Two traces at once in one network namespace share the table and disturb each other.
 */
enum exit_code trace_run(struct kernel *k, const struct entry_list *entries, unsigned seconds,
			 FILE *out, struct error *err);

#endif
