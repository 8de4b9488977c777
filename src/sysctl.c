/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "state.h"
#include "sysctl.h"

const struct forwarding_sysctl sysctl_ipv4_forward = {
	"net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward", "ipv4-forward.before",
};
const struct forwarding_sysctl sysctl_ipv6_forward = {
	"net.ipv6.conf.all.forwarding", "/proc/sys/net/ipv6/conf/all/forwarding",
	"ipv6-forward.before",
};

bool sysctl_read(const struct forwarding_sysctl *s, char value[16])
{
	FILE *f = fopen(s->proc_path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(value, 16, f) != NULL;
	fclose(f);
	if (ok)
		value[strcspn(value, "\n")] = '\0';
	return ok;
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
		rc = state_write(state_dir, s->state_name, change->before, err);
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

	if (change->written)
		sysctl_write(change->sysctl, change->before, &ignored);
	if (change->recorded)
		state_remove(state_dir, change->sysctl->state_name);
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
			      bool *restored, char value[16], struct error *err)
{
	enum exit_code rc;

	*restored = false;
	if (!state_read(state_dir, s->state_name, value, 16))
		return EXIT_OK;
	/* Forwarding sysctls hold small numbers; anything else is not ours to write back. */
	if (value[0] == '\0' || strlen(value) > 3 || strspn(value, "0123456789") != strlen(value)) {
		error_set(err, "%s/%s holds '%s', not a value of %s; delete it and set %s "
			       "yourself",
			  state_dir, s->state_name, value, s->name, s->name);
		return EXIT_SYSTEM;
	}
	rc = sysctl_write(s, value, err);
	if (rc != EXIT_OK)
		return rc;
	state_remove(state_dir, s->state_name);
	*restored = true;
	return EXIT_OK;
}
