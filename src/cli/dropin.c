/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/dropin.h"
#include "cli/load.h"
#include "sys/safefile.h"
#include "sys/state.h"

static const struct safe_dir config_dir_kind = {
	.what = "config directory",
	.risk = "add forwards to this host's firewall",
	.other = "give another --config-dir",
	.create_mode = 0755,
};

/* Configs are small; a bigger file is not one nft-portfwd wrote. */
#define DROPIN_MAX (64u << 20)

static enum exit_code dropin_open(const struct options *opts, struct dropin *d,
				  struct error *err)
{
	enum exit_code rc = EXIT_OK;

	*d = (struct dropin){ .dir = options_config_dir(opts), .dfd = -1 };
	if (!d->dir) /* no drop-in directory is read: there is no file (dropin_save says so) */
		return EXIT_OK;
	snprintf(d->path, sizeof(d->path), "%s/%s", d->dir, DROPIN_FILE);
	/* created when written: a remove that finds nothing leaves no directory behind */
	if (access(d->dir, F_OK) != 0 && errno == ENOENT)
		return EXIT_OK;
	if ((d->dfd = safe_open_dir(&config_dir_kind, d->dir, false, &rc, err)) < 0)
		return rc;
	d->text = safe_read_at(d->dfd, DROPIN_FILE, DROPIN_MAX);
	if (!d->text && errno != ENOENT) {
		error_set(err, "cannot read %s: %s", d->path,
			  errno == ELOOP || errno == EINVAL ? "it is not a regular file"
							    : strerror(errno));
		return errno == EACCES ? EXIT_PERMISSION : EXIT_CONFIG;
	}
	if (d->text && strncmp(d->text, DROPIN_HEADER, strlen(DROPIN_HEADER)) != 0) {
		error_set(err, "%s was not written by nft-portfwd (its first line is not \"%.*s\"), "
			       "so %s leaves it alone: rename it (a file not ending in .conf is not "
			       "read) or edit it by hand", d->path,
			  (int)strlen(DROPIN_HEADER) - 1, DROPIN_HEADER, opts->command);
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

/*
 * Is the file still what dropin_open read? The config was read after it, so a hand edit
 * in between would make the lines it names differ from the text add and remove change.
 */
static enum exit_code dropin_unchanged(const struct dropin *d, struct error *err)
{
	char *now = d->dfd >= 0 ? safe_read_at(d->dfd, DROPIN_FILE, DROPIN_MAX) : NULL;

	if (d->dfd < 0 && d->dir && access(d->dir, F_OK) == 0) /* the directory appeared meanwhile */
		errno = EEXIST;
	else if (d->dfd < 0)
		errno = ENOENT;
	bool same = now ? d->text && strcmp(now, d->text) == 0 : !d->text && errno == ENOENT;

	free(now);
	if (same)
		return EXIT_OK;
	error_set(err, "%s changed while nft-portfwd read it (an edit by hand?); nothing was "
		       "written: run the command again", d->path);
	return EXIT_SYSTEM;
}

/* Replace the file with `text`, or remove it when `text` is NULL. */
static enum exit_code dropin_save(struct dropin *d, const char *text, struct error *err)
{
	enum exit_code rc = EXIT_OK;

	if (!d->dir) {
		error_set(err, "add writes the drop-in file, and with --config FILE no drop-in "
			       "directory is read; give --config-dir DIR too");
		return EXIT_USAGE;
	}
	if (text && d->dfd < 0 && (d->dfd = safe_open_dir(&config_dir_kind, d->dir, true, &rc, err)) < 0)
		return rc;
	if (text)
		return safe_write_at(d->dfd, d->dir, DROPIN_FILE, text, 0644, true, err);
	if (d->dfd < 0)
		return EXIT_OK;
	if (unlinkat(d->dfd, DROPIN_FILE, 0) != 0 && errno != ENOENT) {
		error_set(err, "cannot remove %s: %s", d->path, strerror(errno));
		return EXIT_SYSTEM;
	}
	fsync(d->dfd);
	return EXIT_OK;
}

enum exit_code dropin_begin(const struct options *opts, struct dropin_edit *e, struct error *err)
{
	enum exit_code rc;

	*e = DROPIN_EDIT_NONE;
	e->opts = *opts;
	e->opts.may_be_empty = true;
	rc = state_lock(opts->state_dir, LOCK_WAIT_SECONDS, &e->lock_fd, err);
	if (rc == EXIT_OK)
		rc = dropin_open(&e->opts, &e->d, err);
	if (rc == EXIT_OK)
		rc = load_model(&e->opts, &e->m, err);
	if (rc == EXIT_OK)
		rc = dropin_unchanged(&e->d, err);
	return rc;
}

enum exit_code dropin_apply(struct dropin_edit *e, const char *text, bool write,
			    struct outcome *out, struct error *err)
{
	struct error ignored;
	enum exit_code rc = write ? dropin_save(&e->d, text, err) : EXIT_OK;

	if (rc != EXIT_OK)
		return rc;
	rc = apply_into(&e->opts, out, true, err);
	/* nothing half-done: the file as it was */
	if (rc != EXIT_OK && write && dropin_save(&e->d, e->d.text, &ignored) != EXIT_OK)
		fprintf(stderr, "nft-portfwd: warning: %s; %s keeps the change that was not "
				"applied\n", ignored.msg, e->d.path);
	if (rc == EXIT_OK)
		outcome_set(out, "file", json_string(e->d.path));
	return rc;
}

void dropin_end(struct dropin_edit *e)
{
	model_free(&e->m);
	if (e->d.dfd >= 0)
		close(e->d.dfd);
	free(e->d.text);
	state_unlock(e->lock_fd);
	*e = DROPIN_EDIT_NONE;
}
