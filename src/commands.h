/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One file per command; main.c dispatches through the table of these. */
#ifndef NFT_PORTFWD_COMMANDS_H
#define NFT_PORTFWD_COMMANDS_H

#include "common.h"
#include "options.h"

struct command {
	const char *name;
	const char *summary; /* one line for 'nft-portfwd --help' */
	const char *help;    /* the body of 'nft-portfwd NAME --help' */
	unsigned accepts;    /* enum option_bit */
	enum exit_code (*run)(const struct options *opts);
};

extern const struct command command_render, command_check, command_apply, command_flush,
	command_status, command_diagnose, command_watch, command_reapply;

/* apply's whole run for these options (reapply runs it with the recorded ones). */
enum exit_code run_apply(const struct options *opts);

/* Print "nft-portfwd: MESSAGE" on stderr and return rc. */
enum exit_code report_error(enum exit_code rc, const struct error *err);

#endif
