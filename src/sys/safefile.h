/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files root writes in directories it must trust: the state directory and the drop-in
 * directory that add and remove write. A directory is refused unless root (or this user)
 * owns it and only its owner can write it; files are opened relative to it without
 * following symlinks, written as a fresh file beside the old one and renamed into place.
 */
#ifndef NFT_PORTFWD_SAFEFILE_H
#define NFT_PORTFWD_SAFEFILE_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/common.h"

/* What a directory is, for its messages. */
struct safe_dir {
	const char *what;   /* "state directory" */
	const char *risk;   /* what whoever controls it could do: "hold its lock or ..." */
	const char *other;  /* the way out besides fixing it: "use another --state-dir" */
	mode_t create_mode; /* for a new directory, and what to chmod one that is refused */
};

/*
 * Open `dir` (creating it with create_mode when `create` and it is missing): its fd, or -1
 * with err and *rc set when it cannot be opened or someone else controls it.
 */
int safe_open_dir(const struct safe_dir *kind, const char *dir, bool create, enum exit_code *rc,
		  struct error *err);

/*
 * Replace `dir`/`name` with `content`, file mode `mode` (a fresh file, renamed into place).
 * `durable`: on disk before this returns (fsync of the file and the directory), for files
 * that must survive a crash; the state directory, in /run, needs no such wait.
 */
enum exit_code safe_write_at(int dfd, const char *dir, const char *name, const char *content,
			     mode_t mode, bool durable, struct error *err);

/*
 * A whole regular file of at most `max` bytes: malloc'd content, or NULL (errno: ENOENT
 * when it does not exist, ELOOP for a symlink, EINVAL when not a regular file or too big).
 */
char *safe_read_at(int dfd, const char *name, size_t max);

#endif
