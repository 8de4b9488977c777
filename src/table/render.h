/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * model -> nft text. Pure and deterministic (same model, same bytes), and the only place
 * that writes our table's nft syntax (accept.c writes the one rule we add to other
 * tables' chains, foreign.c the commands around it; names and strings from outside go
 * through nftsyntax.c). Every value in it was validated first, so nothing needs escaping.
 */
#ifndef NFT_PORTFWD_RENDER_H
#define NFT_PORTFWD_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "config/entries.h"
#include "config/model.h"

/* nft takes at most 128 bytes of an element's comment. */
#define ELEMENT_COMMENT_MAX 128

/* The whole transaction: replace (or create) table inet portfwd. False on a write error. */
bool render_ruleset(const struct model *m, FILE *out);

/* render_ruleset into a malloc'd string; NULL when out of memory. */
char *render_ruleset_text(const struct model *m);

/*
 * Only the forwards' sets and maps of a table, with the given elements, written as
 * render_ruleset writes them: map entries (fwdN, fwdsrcN), the endpoints of guestN and
 * those of masqN (entries with family, guest, proto and guest_port; keep_source false),
 * and the host ports of fwdtcpN and fwdudpN (entries with family, proto and host_port).
 * elements_split reads a live table this way, to compare it with a rendering.
 */
bool render_elements(const struct entry_list *mappings, const struct entry_list *guests,
		     const struct entry_list *masqueraded, const struct entry_list *ports, FILE *out);

/* Delete the table in one transaction, whether or not it exists. */
bool render_flush(FILE *out);

/*
 * The set and the counter of a forward with a limit: "limit4_tcp_2222" (the family of its
 * guest, its protocols and first host port, which no other forward has).
 */
void render_limit_name(char buf[32], const struct forward *f);

#endif
