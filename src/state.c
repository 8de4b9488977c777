/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

static void state_path(const char *dir, const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
}

enum exit_code state_lock(const char *dir, unsigned wait_seconds, int *lock_fd,
			  struct error *err)
{
	char path[4096];
	int fd;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		error_set(err, "cannot create state directory %s: %s", dir, strerror(errno));
		return errno == EACCES || errno == EPERM ? EXIT_PERMISSION : EXIT_SYSTEM;
	}
	state_path(dir, "lock", path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		error_set(err, "cannot open lock %s: %s", path, strerror(errno));
		return errno == EACCES || errno == EPERM ? EXIT_PERMISSION : EXIT_SYSTEM;
	}
	for (unsigned tenths = 0;; tenths++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK || tenths >= wait_seconds * 10) {
			error_set(err, "another nft-portfwd is changing the ruleset and still holds %s "
				       "after %u seconds; try again when it has finished",
				  path, wait_seconds);
			close(fd);
			return EXIT_SYSTEM;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	}
	*lock_fd = fd;
	return EXIT_OK;
}

void state_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd); /* closing releases the flock */
}

bool state_read(const char *dir, const char *name, char *value, size_t size)
{
	char path[4096];
	FILE *f;
	bool ok;

	state_path(dir, name, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fgets(value, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		value[strcspn(value, "\n")] = '\0';
	return ok;
}

enum exit_code state_write(const char *dir, const char *name, const char *value,
			   struct error *err)
{
	char path[4096], tmp[4200];
	FILE *f;

	state_path(dir, name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", value) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		error_set(err, "cannot write %s: %s", path, strerror(errno));
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

void state_remove(const char *dir, const char *name)
{
	char path[4096];

	state_path(dir, name, path, sizeof(path));
	unlink(path);
}
