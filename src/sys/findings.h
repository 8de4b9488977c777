/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What on this host keeps a valid config's forwards from working, found the same way for
 * check, apply, status and diagnose, in the same words: a host-iface that does not exist
 * or is down, a host-ip that is not this host's, a guest the host has no route to or that
 * is the network or broadcast address of a network the host is on, a forwarded port the
 * host itself serves. Read from the current network namespace; changes nothing.
 */
#ifndef NFT_PORTFWD_FINDINGS_H
#define NFT_PORTFWD_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/entries.h"
#include "config/model.h"

struct host_finding {
	char *what; /* "host-iface hC9 does not exist" */
	char *fix;  /* "set host-iface to the interface clients arrive on (...)" */
};

struct host_findings {
	struct host_finding *items;
	size_t count;
	/* host-iface and host-ip, and the guests checked, hold nothing: diagnose's PASS lines */
	bool host_ok, guests_ok;
	size_t guests_unchecked; /* distinct guests past GUESTS_CHECKED_MAX */
};

/* The kernel is asked for each guest's route; this many at most (status stays cheap). */
#define GUESTS_CHECKED_MAX 256

/*
 * Look. With `scope`, the guests and ports of only its entries (what an apply added);
 * NULL: all of the model's. Out of memory leaves what was found so far.
 */
void host_findings_read(const struct model *m, const struct entry_list *scope,
			struct host_findings *out);
void host_findings_free(struct host_findings *f);

#endif
