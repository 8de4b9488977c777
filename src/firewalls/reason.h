/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The words the analysis of other firewalls tells the user: which firewall a chain
 * belongs to, the dropping rule about as `nft list` prints it, and why a forward's packet
 * meets it. One printable line each; names from the kernel are never trusted to be.
 */
#ifndef NFT_PORTFWD_REASON_H
#define NFT_PORTFWD_REASON_H

#include <stddef.h>

#include "firewalls/walk.h"
#include "util/text.h"

/* "8000" or "5000-5002", as nft and our comments write a port run. */
const char *ports_text(const struct foreign_endpoint *ep, char buf[12]);

/* "192.0.2.79 tcp 8000" */
void endpoint_text(const struct foreign_endpoint *ep, char *buf, size_t size);

/* The rule in about the words `nft list` uses; xt expressions as "xt match conntrack". */
void rule_text(struct text *t, const json_t *expr);

/* "libvirt-iptables", "libvirt-nftables", "docker", "ufw", "firewalld" or "other". */
const char *block_kind(const struct ruleset *rs, size_t base, const struct drop *d);

/* Why packet `pk` meets drop `d` in base chain `base`, e.g. "rule '...' (handle 25) in
 * LIBVIRT_FWI rejects new connections to 192.0.2.79 tcp 22 leaving through \"virbr0\"". */
void reason_text(const struct ruleset *rs, size_t base, const struct drop *d,
		 const struct packet *pk, const char *kind, char *buf, size_t size);

#endif
