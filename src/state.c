/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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
	char *content = state_read_file(dir, name);

	if (!content)
		return false;
	snprintf(value, size, "%.*s", (int)strcspn(content, "\n"), content);
	free(content);
	return true;
}

enum exit_code state_write_file(const char *dir, const char *name, const char *content,
				struct error *err)
{
	char path[4096], tmp[4200];
	FILE *f;

	state_path(dir, name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(content, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		error_set(err, "cannot write %s: %s", path, strerror(errno));
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

enum exit_code state_write(const char *dir, const char *name, const char *value,
			   struct error *err)
{
	char line[256];

	snprintf(line, sizeof(line), "%s\n", value);
	return state_write_file(dir, name, line, err);
}

char *state_read_file(const char *dir, const char *name)
{
	char path[4096], *content = NULL;
	size_t len = 0;
	FILE *f, *mem;
	int c;

	state_path(dir, name, path, sizeof(path));
	if (!(f = fopen(path, "r")))
		return NULL;
	if (!(mem = open_memstream(&content, &len))) {
		fclose(f);
		return NULL;
	}
	while ((c = getc(f)) != EOF)
		putc(c, mem);
	if (ferror(f) || fclose(mem) != 0) {
		fclose(f);
		free(content);
		return NULL;
	}
	fclose(f);
	return content;
}

void state_remove(const char *dir, const char *name)
{
	char path[4096];

	state_path(dir, name, path, sizeof(path));
	unlink(path);
}

bool state_generation_is(const char *dir, uint32_t gen)
{
	char recorded[16], now[16];

	snprintf(now, sizeof(now), "%" PRIu32, gen);
	return state_read(dir, APPLIED_GEN_FILE, recorded, sizeof(recorded)) &&
	       strcmp(recorded, now) == 0;
}

enum exit_code state_write_generation(const char *dir, uint32_t gen, struct error *err)
{
	char value[16];

	snprintf(value, sizeof(value), "%" PRIu32, gen);
	return state_write(dir, APPLIED_GEN_FILE, value, err);
}
