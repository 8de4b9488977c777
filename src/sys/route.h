/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the host routes each guest: the kernel's answer to `ip route get GUEST` (rtnetlink,
 * policy routing included), so that the analysis of other firewalls knows the interface a
 * forward's packets leave through instead of trying every one their rules name.
 */
#ifndef NFT_PORTFWD_ROUTE_H
#define NFT_PORTFWD_ROUTE_H

#include <signal.h>
#include <stddef.h>

#include "config/entries.h"

/* The interface the host's routing sends a guest's packets through. */
struct guest_route {
	struct addr guest;
	char oif[16];
};

/*
 * The routed interface of each distinct guest of `entries`, sorted by address; a guest
 * without a route (or any failure to ask) is left out, and the analysis falls back on what
 * the rules say. Stops asking when *cancel turns non-zero (NULL: never). Never fails: NULL
 * and 0 when nothing is known.
 */
struct guest_route *route_guests(const struct entry_list *entries,
				 const volatile sig_atomic_t *cancel, size_t *count);

#endif
