/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a command tells its caller: lines for people; one JSON object with --json (for
 * configuration management: "changed" says whether the kernel's state changed); only
 * errors with --quiet. Errors always go to stderr too.
 */
#ifndef NFT_PORTFWD_OUTCOME_H
#define NFT_PORTFWD_OUTCOME_H

#include <jansson.h>
#include <stdbool.h>

#include "util/common.h"

struct outcome {
	bool json, quiet;
	json_t *fields; /* the JSON object the command fills; NULL when out of memory */
};

/* An outcome of `command` (its name in the JSON), printed as --json and --quiet ask. */
void outcome_init(struct outcome *o, const char *command, bool json, bool quiet);

/* Print "nft-portfwd: MESSAGE" on stderr and return rc. */
enum exit_code report_error(enum exit_code rc, const struct error *err);

/* One "nft-portfwd: ..." line on stdout, in text mode only. */
__attribute__((format(printf, 2, 3)))
void outcome_say(struct outcome *o, const char *fmt, ...);

/* Set a JSON field; takes the reference to `value`. */
void outcome_set(struct outcome *o, const char *key, json_t *value);

/*
 * Print the result: the JSON object (with "ok", "exit_code" and, on failure, "error"), or
 * the error on stderr in text mode. Frees the outcome; returns rc.
 */
enum exit_code outcome_finish(struct outcome *o, enum exit_code rc, const struct error *err);

/* Free the outcome without printing anything. */
void outcome_discard(struct outcome *o);

#endif
