/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one drop-in file nft-portfwd writes: DIR/90-added.conf of the config directory, which
 * `add` and `remove` change. It starts with DROPIN_HEADER; a file of that name without it
 * is someone else's and is never touched. Other files of the directory are never written.
 */
#ifndef NFT_PORTFWD_DROPIN_H
#define NFT_PORTFWD_DROPIN_H

#include <stdbool.h>

#include "util/common.h"
#include "config/model.h"
#include "cli/options.h"
#include "util/outcome.h"

#define DROPIN_FILE "90-added.conf"
#define DROPIN_HEADER "# Written by 'nft-portfwd add' and 'nft-portfwd remove': change it with them.\n"

struct dropin {
	const char *dir;
	char path[4200]; /* dir/90-added.conf, as the forwards' origins name it */
	int dfd;
	char *text;      /* its content; NULL: there is no such file yet */
};

/*
 * One change of the file by add or remove: the state dir's lock held, the file read, and
 * then the whole config (main file and drop-ins) as it is, so that a broken config is
 * refused before anything is written. `opts` is the command's, with may_be_empty: the
 * first add on a host, or the removal of its last forward, has no config at all.
 */
struct dropin_edit {
	struct options opts;
	struct dropin d;
	struct model m;
	int lock_fd;
};

/* An edit not begun, which dropin_end may end. */
#define DROPIN_EDIT_NONE ((struct dropin_edit){ .d = { .dfd = -1 }, .lock_fd = -1 })

/*
 * Begin an edit. Besides the config's errors: EXIT_PERMISSION when someone else controls
 * the directory, EXIT_CONFIG when the file is not ours, EXIT_SYSTEM when it changed while
 * the config was read (a hand edit). A directory that does not exist is created only when
 * the file is written; with --config FILE and no --config-dir there is none to write
 * (dropin_apply's EXIT_USAGE). Call dropin_end in every case.
 */
enum exit_code dropin_begin(const struct options *opts, struct dropin_edit *e, struct error *err);

/*
 * With `write`, replace the file with `text` (header included; NULL removes the file),
 * then apply under the edit's lock (a running watcher is told to read the config again).
 * When the apply fails, the file goes back to what it was; when it succeeds, the outcome
 * names the file ("file").
 */
enum exit_code dropin_apply(struct dropin_edit *e, const char *text, bool write,
			    struct outcome *out, struct error *err);

void dropin_end(struct dropin_edit *e);

#endif
