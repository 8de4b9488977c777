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

#include "util/common.h"
#include "config/entries.h"

/*
 * Does this network namespace track any connection? A dump walks every bucket of the
 * kernel's conntrack hash (262,144 here, ~15 ms) however few entries there are; with none
 * (or no conntrack at all) there is nothing to forget.
 */
bool conntrack_any_tracked(void);

/*
 * The step apply and flush share: forget the bindings of entries that `before` mapped and
 * `after` maps differently or not at all, and untranslated UDP flows to ports `after` newly
 * forwards. Returns how many entries it removed; a failure is only a warning on stderr,
 * since the ruleset is already committed.
 */
size_t conntrack_forget_stale(const struct entry_list *before, const struct entry_list *after);

#endif
