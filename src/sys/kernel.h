/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The only unit that talks to libnftables: run a ruleset (commit or dry run), list a table,
 * follow events.
 */
#ifndef NFT_PORTFWD_KERNEL_H
#define NFT_PORTFWD_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/common.h"

struct kernel;

/*
 * Connect to libnftables. Fails with EXIT_PERMISSION and a one-line message when this
 * process lacks CAP_NET_ADMIN, before the library can print its own text.
 */
enum exit_code kernel_open(struct kernel **k, struct error *err);
void kernel_close(struct kernel *k);

/* Run nft text as one transaction; with dry_run the kernel checks it but nothing commits. */
enum exit_code kernel_run(struct kernel *k, const char *text, bool dry_run, struct error *err);

/*
 * The whole ruleset, every table, as libnftables' JSON with rule handles and without
 * counters (`nft -j -a -s list ruleset`), as a malloc'd string. With terse (-t), without
 * the elements of named sets and maps: the structure of every table, cheap however many
 * elements our maps hold.
 */
enum exit_code kernel_list_ruleset_json(struct kernel *k, bool terse, char **json,
					struct error *err);

/* What kernel_list_table_json lists of a table besides its structure. */
enum list_what {
	LIST_ELEMENTS, /* the elements of its sets and maps, without counters */
	LIST_TERSE,    /* no elements (-t): the structure only */
};

/*
 * One table as JSON with rule handles (`nft -j -a [-s] [-t] list table FAMILY NAME`); *json
 * is NULL when there is no such table. `name` must be writable in nft syntax (nft_name_ok).
 * With libnftables 1.0.6 this reads only that table from the kernel.
 */
enum exit_code kernel_list_table_json(struct kernel *k, const char *family, const char *name,
				      enum list_what what, char **json, struct error *err);

/*
 * Run `nft monitor` with a libnftables context of its own: every ruleset change and every
 * packet trace event of this network namespace, one line each, written to `out`; rules
 * without their counters. It never returns while it works (the process is meant to be
 * killed: call it in a child); when libnftables gives up, it returns EXIT_KERNEL and why.
 */
enum exit_code kernel_monitor(FILE *out, struct error *err);

#endif
