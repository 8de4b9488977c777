/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one rule nft-portfwd puts into another firewall's chain, and how it knows its own.
 *
 *   meta mark & 0x01000000 == 0x01000000 counter accept
 *     comment "nft-portfwd: accept the forwards marked 0x01000000 by table inet portfwd"
 *
 * Table inet portfwd's forward chain (priority filter - 10) sets the mark bit on the
 * packets of the connections it DNAT'd to a guest endpoint and on their replies, and clears
 * it on every other forwarded packet; so the accept admits exactly the forwards, in every
 * table kind, and iptables-nft reads it back (-m mark --mark 0x1000000/0x1000000).
 *
 * A rule is ours only when its comment is exactly that text (any mark bit: the setting may
 * have changed) and its expressions are exactly that accept. The previous release's rules
 * (per-endpoint accepts) are recognised by their exact comments too, so an upgrade
 * replaces them; nothing else is ever taken for ours.
 */
#ifndef NFT_PORTFWD_ACCEPT_H
#define NFT_PORTFWD_ACCEPT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

enum accept_owner {
	ACCEPT_NOT_OURS,
	ACCEPT_OURS,   /* the accept this release writes */
	ACCEPT_LEGACY, /* one the previous release wrote: always replaced */
};

#define ACCEPT_COMMENT_FORMAT "nft-portfwd: accept the forwards marked 0x%08x by table inet portfwd"

/* Whose is a listed rule with this comment and these expressions ("expr")? */
enum accept_owner accept_recognise(const char *comment, const json_t *expr);

/* The comment our accept for `mark` carries. */
void accept_comment(uint32_t mark, char buf[129]);

/* "meta mark & 0x01000000 == 0x01000000 counter accept comment \"...\"" */
void accept_write(FILE *out, uint32_t mark);

#endif
