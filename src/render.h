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

#include "model.h"

#define TABLE_FAMILY "inet"
#define TABLE_NAME "portfwd"

/* The whole transaction: replace (or create) table inet portfwd. False on a write error. */
bool render_ruleset(const struct model *m, FILE *out);

/* render_ruleset into a malloc'd string; NULL when out of memory. */
char *render_ruleset_text(const struct model *m);

/* Delete the table in one transaction, whether or not it exists. */
bool render_flush(FILE *out);

#endif
