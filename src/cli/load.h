/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The model as a command acts on it: the config and flags (options.h), and what the host
 * decides of it: whether the routing guard is rendered (model.route_guard), which depends
 * on the forwarding sysctls and the state dir's record of them.
 */
#ifndef NFT_PORTFWD_LOAD_H
#define NFT_PORTFWD_LOAD_H

#include "util/common.h"
#include "config/model.h"
#include "config/resolve.h"
#include "cli/options.h"

/*
 * The routing guard, per family: routing = forwards, or auto and apply is (or was, by the
 * state dir's record) the one turning that family's forwarding on. Changes nothing. false
 * when that cannot be known here: forwarding is on and the state dir cannot be read (not
 * root); the guard is then left out.
 */
bool load_routing(const struct options *opts, struct model *m);

/*
 * The flags record of the state dir (options.h); its path is set even when there is no
 * record (text NULL). A state dir someone else controls is refused (EXIT_PERMISSION); one
 * this user cannot enter (not root) is warned about, and read as holding no record.
 */
enum exit_code load_record(const struct options *opts, struct flag_record *record,
			   struct error *err);
void flag_record_free(struct flag_record *record);

/* options_load_model with the state dir's flags record. */
enum exit_code load_model(const struct options *opts, struct model *m, struct error *err);

/*
 * load_model, then every `to vm` forward resolved through libvirt (the config's
 * libvirt-uri): the ones without an address now move to m->waiting. `mode` is
 * model_resolve_vms's: RESOLVE_STRICT (check, apply) makes a domain libvirt does not know
 * EXIT_CONFIG; the commands that only look, and the watcher, let it wait.
 */
enum exit_code load_resolved(const struct options *opts, struct model *m, unsigned mode,
			     struct error *err);

/* load_resolved, load_routing, then the ruleset rendered into *text (malloc'd). */
enum exit_code load_rendered(const struct options *opts, struct model *m, unsigned mode,
			     char **text, struct error *err);

#endif
