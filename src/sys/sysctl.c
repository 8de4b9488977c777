/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sys/state.h"
#include "sys/sysctl.h"

const struct forwarding_sysctl sysctl_ipv4_forward = {
	"net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward", "ipv4-forward.before",
	"/proc/sys/net/ipv4/conf",
};
const struct forwarding_sysctl sysctl_ipv6_forward = {
	"net.ipv6.conf.all.forwarding", "/proc/sys/net/ipv6/conf/all/forwarding",
	"ipv6-forward.before", "/proc/sys/net/ipv6/conf",
};

/* A forwarding value as the kernel prints it: a small number. */
static bool value_ok(const char *value)
{
	size_t len = strlen(value);

	return len && len <= 3 && strspn(value, "0123456789") == len;
}

/* Interface `name`'s forwarding file in the family's conf directory ("default" too). */
static bool iface_path(const struct forwarding_sysctl *s, const char *name, char *path, size_t size)
{
	/* names from the record are checked: a file of the state dir decides where we write */
	if (!name[0] || strlen(name) >= IF_NAMESIZE || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, "..") || !strcmp(name, "all"))
		return false;
	return (size_t)snprintf(path, size, "%s/%s/forwarding", s->conf_dir, name) < size;
}

bool sysctl_read_path(const char *path, char value[16])
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(value, 16, f) != NULL;
	fclose(f);
	if (ok)
		value[strcspn(value, "\n")] = '\0';
	return ok;
}

static bool write_line(const char *path, const char *value)
{
	FILE *f = fopen(path, "we");

	return f && fprintf(f, "%s\n", value) >= 0 && fclose(f) == 0;
}

/*
 * The record of what the first apply found: the value, then "NAME=VALUE" for every
 * interface (and "default"), whose own forwarding switch the global one overwrites. A
 * malloc'd text; NULL when out of memory.
 */
static char *snapshot(const struct forwarding_sysctl *s, const char *value)
{
	char *text = NULL, path[PATH_MAX], iface[16];
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	DIR *d = opendir(s->conf_dir);
	struct dirent *de;

	if (!mem) {
		if (d)
			closedir(d);
		return NULL;
	}
	fprintf(mem, "%s\n", value);
	while (d && (de = readdir(d)))
		if (iface_path(s, de->d_name, path, sizeof(path)) && sysctl_read_path(path, iface) &&
		    value_ok(iface))
			fprintf(mem, "%s=%s\n", de->d_name, iface);
	if (d)
		closedir(d);
	if (fclose(mem) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * After the global switch is back: each interface recorded to its own value, where that
 * differs now. The names put back go into `names` (", "-separated).
 */
static void restore_ifaces(const struct forwarding_sysctl *s, const char *record, char *names,
			   size_t size)
{
	const char *line = strchr(record, '\n');
	size_t used = 0;

	names[0] = '\0';
	while (line && *++line) {
		const char *end = strchr(line, '\n'), *eq = memchr(line, '=', end ? (size_t)(end - line) : strlen(line));
		char name[IF_NAMESIZE + 1], value[16], now[16], path[PATH_MAX];
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (eq && (size_t)(eq - line) < sizeof(name) && n - (size_t)(eq - line) - 1 < sizeof(value)) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - line), line);
			snprintf(value, sizeof(value), "%.*s", (int)(n - (size_t)(eq - line) - 1), eq + 1);
			if (value_ok(value) && iface_path(s, name, path, sizeof(path)) &&
			    sysctl_read_path(path, now) && strcmp(now, value) && write_line(path, value) &&
			    used < size)
				used += (size_t)snprintf(names + used, size - used, "%s%s=%s",
							 used ? ", " : "", name, value);
		}
		line = end;
	}
}

bool sysctl_read(const struct forwarding_sysctl *s, char value[16])
{
	return sysctl_read_path(s->proc_path, value);
}

static enum exit_code sysctl_write(const struct forwarding_sysctl *s, const char *value,
				   struct error *err)
{
	FILE *f = fopen(s->proc_path, "w");

	if (!f || fprintf(f, "%s\n", value) < 0 || fclose(f) != 0) {
		error_set(err, "cannot set %s to %s: %s", s->name, value, strerror(errno));
		return errno == EACCES || errno == EPERM || errno == EROFS ? EXIT_PERMISSION
									     : EXIT_SYSTEM;
	}
	return EXIT_OK;
}

enum exit_code sysctl_enable(const char *state_dir, const struct forwarding_sysctl *s,
			     struct sysctl_change *change, struct error *err)
{
	char recorded[16];
	enum exit_code rc;

	*change = (struct sysctl_change){ .sysctl = s };
	if (!sysctl_read(s, change->before)) {
		error_set(err, "cannot read %s (%s): %s", s->name, s->proc_path, strerror(errno));
		return EXIT_SYSTEM;
	}
	if (!state_read(state_dir, s->state_name, recorded, sizeof(recorded))) {
		char *record = snapshot(s, change->before);

		if (!record)
			return error_set(err, "out of memory"), EXIT_SYSTEM;
		rc = state_write_file(state_dir, s->state_name, record, err);
		free(record);
		if (rc != EXIT_OK)
			return rc;
		change->recorded = true;
	}
	if (strcmp(change->before, "1") != 0) {
		rc = sysctl_write(s, "1", err);
		if (rc != EXIT_OK) {
			sysctl_undo(state_dir, change);
			return rc;
		}
		change->written = true;
	}
	return EXIT_OK;
}

void sysctl_undo(const char *state_dir, const struct sysctl_change *change)
{
	struct error ignored;
	char *record = change->recorded ? state_read_file(state_dir, change->sysctl->state_name) : NULL;
	char names[512];

	if (change->written) {
		sysctl_write(change->sysctl, change->before, &ignored);
		/* this run's snapshot is exactly what the interfaces had */
		if (record)
			restore_ifaces(change->sysctl, record, names, sizeof(names));
	}
	free(record);
	if (change->recorded)
		state_remove(state_dir, change->sysctl->state_name);
}

bool sysctl_turned_on_by_us(const char *state_dir, const struct forwarding_sysctl *s,
			    bool *certain)
{
	char value[16];

	*certain = true;
	if (state_read(state_dir, s->state_name, value, sizeof(value)))
		return !strcmp(value, "0");
	if (!sysctl_read(s, value))
		return false;
	/* on already, with a state dir we may not read: maybe an apply of ours turned it on */
	*certain = strcmp(value, "0") == 0 || state_check(state_dir, &(struct error){ "" }) == EXIT_OK;
	return !strcmp(value, "0");
}

bool sysctl_forget(const char *state_dir, const struct forwarding_sysctl *s)
{
	char value[16];

	if (!state_read(state_dir, s->state_name, value, sizeof(value)))
		return false;
	state_remove(state_dir, s->state_name);
	return true;
}

enum exit_code sysctl_restore(const char *state_dir, const struct forwarding_sysctl *s,
			      bool *restored, char value[16], char *ifaces, size_t size,
			      struct error *err)
{
	char *record = NULL, now[16];
	bool changed;
	enum exit_code rc;

	*restored = false;
	ifaces[0] = '\0';
	if (!state_read(state_dir, s->state_name, value, 16))
		return EXIT_OK;
	/* Forwarding sysctls hold small numbers; anything else is not ours to write back. */
	if (!value_ok(value)) {
		error_set(err, "%s/%s holds '%s', not a value of %s; delete it and set %s "
			       "yourself",
			  state_dir, s->state_name, value, s->name, s->name);
		return EXIT_SYSTEM;
	}
	/* the kernel sets every interface's switch only when the global one changes: then
	 * put back those that differed; otherwise they are as their owners left them */
	changed = !sysctl_read(s, now) || strcmp(now, value);
	rc = sysctl_write(s, value, err);
	if (rc != EXIT_OK)
		return rc;
	if (changed && (record = state_read_file(state_dir, s->state_name)))
		restore_ifaces(s, record, ifaces, size);
	free(record);
	state_remove(state_dir, s->state_name);
	*restored = true;
	return EXIT_OK;
}
