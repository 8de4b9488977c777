/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `to vm NAME` forwards resolved: each domain's address from a resolver (sys/libvirt.c on
 * a host, a table in tests), the forwards whose guest has no address now set aside as
 * waiting. Pure: the resolver is the only way out.
 */
#ifndef NFT_PORTFWD_RESOLVE_H
#define NFT_PORTFWD_RESOLVE_H

#include <stdbool.h>

#include "config/model.h"
#include "util/common.h"

enum vm_found {
	VM_FOUND,   /* addr and source are the guest's */
	VM_WAITING, /* the domain has no address now (why): not running, no such interface */
	VM_UNSURE,  /* it cannot be told now (why): no address reported yet, libvirt away */
	VM_UNKNOWN, /* libvirt knows no domain of that name (why) */
};

/* How model_resolve_vms treats what is not found. */
enum resolve_mode {
	RESOLVE_STRICT = 0,       /* an unknown domain is an error (check, apply: a typo) */
	RESOLVE_UNKNOWN_WAITS = 1, /* it waits (the watcher: undefined while it runs) */
	/* a guest that cannot be told now (VM_UNSURE: libvirtd restarting, a lease not
	 * reported for a moment) keeps the address it had (the watcher) */
	RESOLVE_KEEP_LAST = 2,
};

struct vm_answer {
	enum vm_found found;
	struct addr addr;
	enum guest_source source;
	char why[400];
};

struct vm_resolver {
	void *ctx;
	/* The address of f->vm's interface of f->guest.family. */
	void (*lookup)(void *ctx, const struct forward *f, struct vm_answer *answer);
};

/*
 * Resolve every `to vm` forward of m. Found ones get their address and source; the ones
 * that wait move from m->forwards to m->waiting, with why: the domain's, or an address
 * that another domain's forward already has (two guests cannot share one: a stale lease).
 * `mode` (resolve_mode bits) says what an unknown domain and an unsure answer do; strict,
 * an unknown domain is an error naming the forward's file and line. false also when
 * memory runs out.
 */
bool model_resolve_vms(struct model *m, const struct vm_resolver *r, unsigned mode,
		       struct error *err);

/*
 * Undo model_resolve_vms, to resolve again (the watcher, when a domain or a lease changed):
 * the waiting forwards back among the others in the config's order, every `to vm` forward
 * unresolved, remembering the address it had (forward.last_source, for RESOLVE_KEEP_LAST).
 * false when out of memory (m unchanged).
 */
bool model_unresolve_vms(struct model *m);

/* Which of two forwards comes first in the config (resolution moves some aside). */
int forward_order_cmp(const struct forward *a, const struct forward *b);

/* "DHCP lease", "static DHCP host", "ARP", "config". */
const char *guest_source_name(enum guest_source source);

#endif
