/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One file per command; main.c dispatches through the table of these. */
#ifndef NFT_PORTFWD_COMMANDS_H
#define NFT_PORTFWD_COMMANDS_H

#include "util/common.h"
#include "cli/options.h"
#include "util/outcome.h"

struct command {
	const char *name;
	const char *summary; /* one line for 'nft-portfwd --help' */
	const char *help;    /* the body of 'nft-portfwd NAME --help' */
	unsigned accepts;    /* enum option_bit */
	const char *args;    /* the words it takes after its name, for its usage line; NULL: none */
	enum exit_code (*run)(const struct options *opts);
};

extern const struct command command_render, command_check, command_apply, command_flush,
	command_status, command_diagnose, command_watch, command_reapply, command_add,
	command_remove, command_list, command_metrics;

/* apply's whole run for these options (reapply runs it with the recorded ones). */
enum exit_code run_apply(const struct options *opts);

/*
 * apply's run into `out`, which the caller finishes: add and remove, which hold the state
 * dir's lock already (`locked`) while they change their drop-in file.
 */
enum exit_code apply_into(const struct options *opts, struct outcome *out, bool locked,
			  struct error *err);

#endif
