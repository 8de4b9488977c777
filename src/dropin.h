/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one drop-in file nft-portfwd writes: DIR/90-added.conf of the config directory, which
 * `add` and `remove` change. It starts with DROPIN_HEADER; a file of that name without it
 * is someone else's and is never touched. Other files of the directory are never written.
 */
#ifndef NFT_PORTFWD_DROPIN_H
#define NFT_PORTFWD_DROPIN_H

#include <stdbool.h>

#include "common.h"
#include "options.h"
#include "outcome.h"

#define DROPIN_FILE "90-added.conf"
#define DROPIN_HEADER "# Written by 'nft-portfwd add' and 'nft-portfwd remove': change it with them.\n"

struct dropin {
	const char *dir;
	char path[4200]; /* dir/90-added.conf, as the forwards' origins name it */
	int dfd;
	char *text;      /* its content; NULL: there is no such file yet */
};

/*
 * Open the config directory (creating it 0755) and read the file: EXIT_USAGE when no
 * directory applies (--config without --config-dir), EXIT_PERMISSION when someone else
 * controls the directory, EXIT_CONFIG when the file is not ours.
 */
enum exit_code dropin_open(const struct options *opts, struct dropin *d, struct error *err);

/*
 * Is the file still what dropin_open read? The config was read after it, so a hand edit
 * in between would make the lines it names differ from the text add and remove change.
 */
enum exit_code dropin_unchanged(const struct dropin *d, struct error *err);

/* Replace the file with `text` (header included), or remove it when `text` is NULL. */
enum exit_code dropin_save(struct dropin *d, const char *text, struct error *err);

/*
 * With `write`, replace the file with `text` (dropin_save); then apply (the caller holds
 * the lock; a running watcher is told to read the config again). When the apply fails,
 * the file goes back to what it was.
 */
enum exit_code dropin_apply(struct dropin *d, const char *text, bool write,
			    const struct options *opts, struct outcome *out, struct error *err);

void dropin_close(struct dropin *d);

#endif
