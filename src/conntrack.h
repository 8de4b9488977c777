/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stale NAT bindings. A connection keeps the DNAT decision of its first packet for as long
 * as its conntrack entry lives (minutes for UDP), so when apply changes or removes a
 * mapping, the entries made under the old one are deleted and the next packet is
 * translated by the new table.
 */
#ifndef NFT_PORTFWD_CONNTRACK_H
#define NFT_PORTFWD_CONNTRACK_H

#include <stddef.h>

#include "common.h"
#include "entries.h"

/*
 * Delete the conntrack entries that were DNAT'd by one of `stale`: same family, protocol
 * and original destination port, the client inside the entry's source network (if any),
 * and translated to the entry's old guest address and port. Also delete untranslated UDP
 * flows to this host that one of `fresh` now forwards. Both lists sorted by key, as
 * entries_stale gives them. *removed counts the deleted entries.
 */
enum exit_code conntrack_forget(const struct entry_list *stale, const struct entry_list *fresh,
				size_t *removed, struct error *err);

/*
 * The step apply and flush share: forget the bindings of entries that `before` mapped and
 * `after` maps differently or not at all, and untranslated UDP flows to ports `after` newly
 * forwards. Returns how many entries it removed; a failure is only a warning on stderr,
 * since the ruleset is already committed.
 */
/*
 * Does this network namespace track any connection? A dump walks every bucket of the
 * kernel's conntrack hash (262,144 here, ~15 ms) however few entries there are; with none
 * (or no conntrack at all) there is nothing to forget.
 */
bool conntrack_any_tracked(void);

size_t conntrack_forget_stale(const struct entry_list *before, const struct entry_list *after);

#endif
