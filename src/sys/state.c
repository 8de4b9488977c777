/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14; glibc 2.36 has no name for it */
#endif

#include "sys/safefile.h"
#include "sys/state.h"

static void state_path(const char *dir, const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
}

static const struct safe_dir state_dir_kind = {
	.what = "state directory",
	.risk = "hold its lock or change what nft-portfwd believes it applied",
	.other = "use another --state-dir",
	.create_mode = 0700,
};

/* The state directory, refused when someone else controls it (see safefile.h). */
static int open_dir(const char *dir, bool create, enum exit_code *rc, struct error *err)
{
	return safe_open_dir(&state_dir_kind, dir, create, rc, err);
}

enum exit_code state_check(const char *dir, struct error *err)
{
	enum exit_code rc = EXIT_OK;
	struct stat st;
	int fd;

	if (lstat(dir, &st) != 0 && errno == ENOENT)
		return EXIT_OK; /* nothing applied yet */
	fd = open_dir(dir, false, &rc, err);
	if (fd < 0)
		return rc;
	close(fd);
	return EXIT_OK;
}

enum exit_code state_lock(const char *dir, unsigned wait_seconds, int *lock_fd,
			  struct error *err)
{
	char path[4096];
	enum exit_code rc = EXIT_OK;
	int dfd = open_dir(dir, true, &rc, err), fd;

	if (dfd < 0)
		return rc;
	state_path(dir, "lock", path, sizeof(path));
	fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
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
	enum exit_code rc = EXIT_OK;
	int dfd = open_dir(dir, true, &rc, err);

	if (dfd < 0)
		return rc;
	rc = safe_write_at(dfd, dir, name, content, 0600, false, err);
	close(dfd);
	return rc;
}

enum exit_code state_write(const char *dir, const char *name, const char *value,
			   struct error *err)
{
	char line[256];

	snprintf(line, sizeof(line), "%s\n", value);
	return state_write_file(dir, name, line, err);
}

/* Records are small: anything bigger was not written by us. */
#define STATE_FILE_MAX (64u << 20)

char *state_read_file(const char *dir, const char *name)
{
	struct error ignored;
	enum exit_code rc;
	int dfd = open_dir(dir, false, &rc, &ignored);
	char *content;

	if (dfd < 0)
		return NULL;
	content = safe_read_at(dfd, name, STATE_FILE_MAX);
	close(dfd);
	return content;
}

bool state_mtime(const char *dir, const char *name, time_t *mtime)
{
	struct error ignored;
	enum exit_code rc;
	struct stat st;
	int dfd = open_dir(dir, false, &rc, &ignored);
	bool ok = dfd >= 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);

	if (dfd >= 0)
		close(dfd);
	if (ok)
		*mtime = st.st_mtime;
	return ok;
}

void state_remove(const char *dir, const char *name)
{
	struct error ignored;
	enum exit_code rc;
	int dfd = open_dir(dir, false, &rc, &ignored);

	if (dfd >= 0) {
		unlinkat(dfd, name, 0);
		close(dfd);
	}
}

/*
 * A generation is a count of this network namespace's transactions since it was made: the
 * record names the boot and the namespace too, so that a state dir kept across a reboot,
 * or shared by two namespaces, never vouches for a ruleset it did not see. The namespace
 * is named by its cookie (SO_NETNS_COOKIE, Linux 5.14): unlike its inode number, which the
 * kernel gives to the next namespace made once this one is gone, a cookie is never used
 * twice in a boot. Without one nothing is trusted: false, and the caller reads the kernel.
 */
static bool generation_record(uint32_t gen, char *value, size_t size)
{
	char boot[64] = "";
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool known = fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0 &&
		     len == sizeof(cookie);
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	if (fd >= 0)
		close(fd);
	if (f) {
		if (!fgets(boot, sizeof(boot), f))
			boot[0] = '\0';
		boot[strcspn(boot, "\n")] = '\0';
		fclose(f);
	}
	snprintf(value, size, "%" PRIu32 " boot=%s netns-cookie=%" PRIu64, gen, boot, cookie);
	return known && boot[0];
}

bool state_generation_is(const char *dir, uint32_t gen)
{
	char recorded[160], now[160];

	return generation_record(gen, now, sizeof(now)) &&
	       state_read(dir, APPLIED_GEN_FILE, recorded, sizeof(recorded)) &&
	       strcmp(recorded, now) == 0;
}

enum exit_code state_write_generation(const char *dir, uint32_t gen, struct error *err)
{
	char value[160];

	if (!generation_record(gen, value, sizeof(value))) {
		state_remove(dir, APPLIED_GEN_FILE);
		return EXIT_OK; /* nothing to vouch with: every later command reads the kernel */
	}
	return state_write(dir, APPLIED_GEN_FILE, value, err);
}
