/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/load.h"
#include "config/resolve.h"
#include "config/validate.h"
#include "sys/libvirt.h"
#include "sys/state.h"
#include "sys/sysctl.h"
#include "table/render.h"

bool load_routing(const struct options *opts, struct model *m)
{
	const struct forwarding_sysctl *sysctls[2] = { &sysctl_ipv4_forward, &sysctl_ipv6_forward };
	bool certain = true, this_certain;

	for (size_t i = 0; i < 2; i++) {
		if (!model_has_family(m, i ? AF_INET6 : AF_INET) || m->routing == ROUTING_OPEN) {
			m->route_guard[i] = false;
			continue;
		}
		m->route_guard[i] = m->routing == ROUTING_FORWARDS ||
				    sysctl_turned_on_by_us(opts->state_dir, sysctls[i], &this_certain);
		certain &= m->routing == ROUTING_FORWARDS || this_certain;
	}
	return certain;
}

/* A record this user may not read (not root) is said, and read as none. */
static enum exit_code unreadable(const struct flag_record *record)
{
	fprintf(stderr, "nft-portfwd: warning: cannot read %s: %s; what earlier applies' flags "
			"recorded there is left out (as root it is included)\n", record->path,
		strerror(EACCES));
	return EXIT_OK;
}

enum exit_code load_record(const struct options *opts, struct flag_record *record,
			   struct error *err)
{
	enum exit_code rc;

	*record = (struct flag_record){ .path = NULL };
	if (asprintf(&record->path, "%s/%s", opts->state_dir, FLAGS_RECORD_FILE) < 0) {
		record->path = NULL;
		return (error_set(err, "out of memory"), EXIT_SYSTEM);
	}
	/* not root: reading goes on without it, as render promises; apply cannot lock anyway */
	if (access(opts->state_dir, X_OK) != 0 && errno == EACCES)
		return unreadable(record);
	/* someone else's record would be their word on what this host forwards */
	if ((rc = state_check(opts->state_dir, err)) != EXIT_OK) {
		flag_record_free(record);
		return rc;
	}
	errno = 0;
	if (!(record->text = state_read_file(opts->state_dir, FLAGS_RECORD_FILE)) && errno == EACCES)
		return unreadable(record);
	if (!record->text && errno != ENOENT) {
		error_set(err, "cannot read %s: %s", record->path, strerror(errno ? errno : EIO));
		flag_record_free(record);
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

void flag_record_free(struct flag_record *record)
{
	free(record->path);
	free(record->text);
	*record = (struct flag_record){ .path = NULL };
}

enum exit_code load_model(const struct options *opts, struct model *m, struct error *err)
{
	struct flag_record record;
	enum exit_code rc = load_record(opts, &record, err);

	if (rc == EXIT_OK)
		rc = options_load_model(opts, &record, m, err);
	flag_record_free(&record);
	return rc;
}

enum exit_code load_resolved(const struct options *opts, struct model *m, unsigned mode,
			     struct error *err)
{
	enum exit_code rc = load_model(opts, m, err);
	struct libvirt *lv;
	struct vm_resolver resolver;
	bool ok;

	if (rc != EXIT_OK || !model_has_vms(m))
		return rc;
	if (!(lv = libvirt_open(model_libvirt_uri(m)))) {
		model_free(m);
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	}
	resolver = libvirt_resolver(lv);
	/* the addresses found are checked as if written: two guests' keep-source, names */
	ok = model_resolve_vms(m, &resolver, mode, err) && check_model(m, err);
	libvirt_close(lv);
	if (!ok) {
		rc = strstr(err->msg, "out of memory") ? EXIT_SYSTEM : EXIT_CONFIG;
		model_free(m);
	}
	return rc;
}

enum exit_code load_rendered(const struct options *opts, struct model *m, unsigned mode,
			     char **text, struct error *err)
{
	enum exit_code rc = load_resolved(opts, m, mode, err);

	if (rc != EXIT_OK)
		return rc;
	load_routing(opts, m);
	if (!(*text = render_ruleset_text(m))) {
		model_free(m);
		error_set(err, "out of memory while rendering");
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}
