/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one writer of names and strings in nft commands. nftables 1.0.6 takes table, chain
 * and set names only unquoted (a name with a space cannot be written in its syntax at all)
 * and strings in double quotes without escapes. Every name and comment that render,
 * integration, flush and trace print goes through here: what cannot be written is refused,
 * never printed half right.
 */
#ifndef NFT_PORTFWD_NFTSYNTAX_H
#define NFT_PORTFWD_NFTSYNTAX_H

#include <stdbool.h>
#include <stdio.h>

#define NFT_COMMENT_MAX 128 /* bytes of a rule, set or table comment */

/* Can `name` (a table, chain or set name) be written in nft syntax? */
bool nft_name_ok(const char *name);

/*
 * "VERB rule FAMILY TABLE CHAIN" (VERB: add, insert or delete), or nothing and false when
 * a name cannot be written.
 */
bool nft_put_rule_ref(FILE *out, const char *verb, const char *family, const char *table,
		      const char *chain);

/* " comment \"TEXT\"", or nothing and false when the text cannot be written. */
bool nft_put_comment(FILE *out, const char *text);

/* "\"TEXT\"" (an interface name) into buf, or false when it cannot be written or fit. */
bool nft_quote_string(char *buf, size_t size, const char *text);

#endif
