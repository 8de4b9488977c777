/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state directory (default /run/nft-portfwd, gone after a reboot like the ruleset),
 * all of nft-portfwd's state, in one layout:
 *   lock           flock'd by every command that changes the ruleset
 *   applied.nft    the text the last apply committed     applied.gen   the generation after it
 *   applied.live   the live table's structure as that apply left it
 *   applied.integrate  what our accepts in other firewalls' chains were made for
 *   applied.args   what that apply was given (KEY=VALUE lines), for reapply
 *   applied.forwards  its forwards, a config line each: the next apply names what changed
 *   flags.conf     what applies were given as flags, in config syntax (options.h)
 *   ipv4-forward.before, ipv6-forward.before: the forwarding values flush puts back
 *   watch.json     what a running watcher tells status    handover      see cmd_watch.c
 * The directory must be root's (or the running user's) and writable by its owner only;
 * it is created 0700, and every file in it is opened relative to it without following
 * symlinks, written as a fresh file and renamed into place.
 */
#ifndef NFT_PORTFWD_STATE_H
#define NFT_PORTFWD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/common.h"

#define STATE_DIR_DEFAULT "/run/nft-portfwd"

/*
 * What the last successful apply committed: the rendered text; the ruleset generation
 * right after its transaction (kernel_generation); and, once known, the live table's
 * canonical form (live.h) as that apply left it. apply and status compare against them.
 */
#define APPLIED_TEXT_FILE "applied.nft"
#define APPLIED_GEN_FILE "applied.gen"
#define APPLIED_LIVE_FILE "applied.live"
/*
 * "auto MARK" or "off": the integration the last look at other firewalls' chains wrote our
 * accepts for. Unchanged, and no transaction since (applied.gen), they need no new look.
 */
#define APPLIED_INTEGRATE_FILE "applied.integrate"
/* What the last apply was given (config path, drop-in directory), for reapply. */
#define APPLIED_ARGS_FILE "applied.args"
/* The last apply's forwards, one config line each, sorted: what the next one changes. */
#define APPLIED_FORWARDS_FILE "applied.forwards"
/* The flags record (cli/options.h): kept until flush, read by every command. */
#define FLAGS_RECORD_FILE "flags.conf"
#define FLAGS_RECORD_HEADER "# Written by 'nft-portfwd apply' from its flags; 'nft-portfwd remove' and\n" \
			    "# 'nft-portfwd flush' change it. Settings here replace the config's.\n"

/*
 * "PID START" of the running watcher (process.h), written by the package's postinst right
 * before it restarts the unit: that watcher, stopping within HANDOVER_SECONDS, leaves the
 * forwards for the next one (cmd_watch.c).
 */
#define HANDOVER_FILE "handover"
#define HANDOVER_SECONDS 60

/* How long a command that changes the ruleset waits for another one to finish. */
#define LOCK_WAIT_SECONDS 10

/* Is the directory, if it exists, one nobody else controls? The refusal says how to fix. */
enum exit_code state_check(const char *dir, struct error *err);

/* Create the directory if needed and hold its lock, waiting up to `wait_seconds`. */
enum exit_code state_lock(const char *dir, unsigned wait_seconds, int *lock_fd,
			  struct error *err);
void state_unlock(int lock_fd);

/* Read a value file: true and the value (newline removed) when it exists. */
bool state_read(const char *dir, const char *name, char *value, size_t size);
enum exit_code state_write(const char *dir, const char *name, const char *value,
			   struct error *err);
void state_remove(const char *dir, const char *name);

/*
 * Is `gen` the generation the last apply recorded, in this boot and network namespace?
 * (No transaction anywhere since then.)
 */
bool state_generation_is(const char *dir, uint32_t gen);
enum exit_code state_write_generation(const char *dir, uint32_t gen, struct error *err);

/* When a file of the state dir was last written; false when it does not exist. */
bool state_mtime(const char *dir, const char *name, time_t *mtime);

/* A whole file: malloc'd content, or NULL when it does not exist or cannot be read. */
char *state_read_file(const char *dir, const char *name);
/* Replace a file with `content` (written beside it, then renamed into place). */
enum exit_code state_write_file(const char *dir, const char *name, const char *content,
				struct error *err);

#endif
