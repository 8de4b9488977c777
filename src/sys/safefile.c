/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/safefile.h"

int safe_open_dir(const struct safe_dir *kind, const char *dir, bool create, enum exit_code *rc,
		  struct error *err)
{
	struct stat st;
	int fd;

	if (create && mkdir(dir, kind->create_mode) < 0 && errno != EEXIST) {
		*rc = errno == EACCES || errno == EPERM || errno == EROFS ? EXIT_PERMISSION : EXIT_SYSTEM;
		error_set(err, "cannot create %s %s: %s", kind->what, dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*rc = errno == EACCES || errno == EPERM ? EXIT_PERMISSION : EXIT_SYSTEM;
		error_set(err, "cannot open %s %s: %s%s", kind->what, dir, strerror(errno),
			  errno == ELOOP || errno == ENOTDIR ? " (it must be a directory, not a symlink)"
							     : "");
		return -1;
	}
	if (fstat(fd, &st) != 0 || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		*rc = EXIT_PERMISSION;
		error_set(err, "%s %s is %s; someone else could then %s: make it root's and "
			       "writable by its owner only (chown root %s && chmod %04o %s), or %s",
			  kind->what, dir,
			  st.st_uid != 0 && st.st_uid != geteuid() ? "owned by another user" :
			  "writable by its group or others", kind->risk, dir,
			  (unsigned)kind->create_mode, dir, kind->other);
		close(fd);
		return -1;
	}
	return fd;
}

enum exit_code safe_write_at(int dfd, const char *dir, const char *name, const char *content,
			     mode_t mode, bool durable, struct error *err)
{
	char tmp[300];
	size_t len = strlen(content), done = 0;
	int fd, failure;

	/* hidden, so that a drop-in directory never reads a half-written file */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	/* a fresh file of ours: whatever had that name (a symlink someone planted) goes first */
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	failure = fd < 0 ? errno : 0;
	while (!failure && done < len) {
		ssize_t n = write(fd, content + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			failure = n < 0 ? errno : EIO;
		else
			done += (size_t)n;
	}
	/* fchmod: the umask must not decide who can read it */
	if (!failure && (fchmod(fd, mode) != 0 || (durable && fsync(fd) != 0)))
		failure = errno;
	if (fd >= 0 && close(fd) != 0 && !failure)
		failure = errno;
	if (!failure && renameat(dfd, tmp, dfd, name) != 0)
		failure = errno;
	if (failure) {
		error_set(err, "cannot write %s/%s: %s", dir, name, strerror(failure));
		unlinkat(dfd, tmp, 0);
		return EXIT_SYSTEM;
	}
	if (durable)
		fsync(dfd); /* the rename itself survives a crash */
	return EXIT_OK;
}

char *safe_read_at(int dfd, const char *name, size_t max)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *content = NULL;
	size_t len = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size >= max) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if ((content = malloc((size_t)st.st_size + 1))) {
		for (;;) {
			ssize_t n = read(fd, content + len, (size_t)st.st_size - len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || (len += (size_t)n) >= (size_t)st.st_size)
				break;
		}
		content[len] = '\0';
	}
	close(fd);
	return content;
}
