/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other firewalls on the forward hook. In nftables an accept ends only its own base chain:
 * every base chain on the forward hook, in every table, sees a forwarded packet, and a drop
 * or reject in any of them is final whatever table inet portfwd says. libvirt's
 * LIBVIRT_FWI reject, Docker's and ufw's FORWARD policy drop and the like block forwards
 * to guests that our own table accepts.
 *
 * foreign_analyse reads the whole ruleset (libnftables' JSON listing with handles) and
 * follows the packets a forward needs, a new DNAT'd connection to a guest endpoint and the
 * guest's replies, through every base chain on the forward hook (ruleset.c, walk.c). A
 * chain whose blanket block (walk.h) stops them gets one accept of the packets that table
 * inet portfwd marks (accept.h), placed after every drop that is its owner's decision and
 * before the block (placement.c); where no such place exists, none, and the report says
 * why. foreign_render_* write the nft commands. Pure: JSON text in, nft text out.
 */
#ifndef NFT_PORTFWD_FOREIGN_H
#define NFT_PORTFWD_FOREIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "entries.h"
#include "model.h"

#define FOREIGN_NAME_SIZE 257 /* nftables table and chain names: up to 256 bytes */

enum foreign_dir {
	FOREIGN_TO_GUEST = 1 << 0,   /* a client's new connection, after DNAT, to the guest */
	FOREIGN_FROM_GUEST = 1 << 1, /* the guest's replies on that connection */
};

/*
 * What one integration rule matches: a guest address, a protocol and a run of guest
 * ports. The entries' guest endpoints, deduplicated, with adjacent ports merged.
 */
struct foreign_endpoint {
	struct addr guest;
	enum proto proto;
	uint16_t port, port_last;
};

/* One base chain on the forward hook, outside our table, that drops our traffic. */
struct foreign_block {
	char family[8];                       /* "ip", "ip6" or "inet" */
	char table[FOREIGN_NAME_SIZE];
	char base_chain[FOREIGN_NAME_SIZE];   /* the chain on the forward hook, e.g. "FORWARD" */
	char chain[FOREIGN_NAME_SIZE];        /* where the drop is: "LIBVIRT_FWI", or base_chain */
	long rule_handle;                     /* the dropping rule; -1 for base_chain's policy */
	const char *kind; /* "libvirt-iptables", "libvirt-nftables", "docker", "ufw", "firewalld", "other" */
	char reason[512]; /* e.g. "rule 'oifname \"virbr0\" counter xt target REJECT' (handle 25) ..." */
	/*
	 * Where our accept goes: in insert_chain, before the rule with handle insert_before
	 * (0: at the top, -1: at the end), and why there. Empty insert_chain: nowhere safe, and placement says
	 * why (a drop of the owner's in the way, a name nft cannot write, a priority before our
	 * mark is set); then nothing is inserted.
	 */
	char insert_chain[FOREIGN_NAME_SIZE];
	long insert_before;
	char placement[1024];
	bool in_place; /* our accept is there already, in a place that works */
	/* Per report endpoint: the foreign_dir bits this chain drops (0: it passes both). */
	unsigned *needs;
};

/* One of our rules found in another table (by its comment). */
struct foreign_rule {
	char family[8];
	char table[FOREIGN_NAME_SIZE];
	char chain[FOREIGN_NAME_SIZE];
	long handle;
	char comment[129];
	size_t position; /* among all the chain's rules; 0 is the first */
	bool legacy;     /* written by an earlier release: always replaced */
};

struct foreign_report {
	uint32_t mark;                /* the mark bit our accepts match */
	struct foreign_endpoint *endpoints;
	size_t endpoint_count;
	struct foreign_block *blocks; /* in the order the ruleset lists the base chains */
	size_t count;
	struct foreign_rule *ours;    /* in ruleset order, so by position within a chain */
	size_t ours_count;
};

/*
 * Analyse `ruleset_json` (libnftables `list ruleset` with NFT_CTX_OUTPUT_JSON |
 * NFT_CTX_OUTPUT_HANDLE) for the guest endpoints in `entries`, with accepts that match
 * `mark`. Our own rules (accept.h) are ignored while deciding what blocks, so the answer
 * is the same before and after they are in place. false with err set when the text is not
 * such JSON, or out of memory.
 */
bool foreign_analyse(const char *ruleset_json, const struct entry_list *entries, uint32_t mark,
		     struct foreign_report *out, struct error *err);

/*
 * nft commands to append to the apply transaction: for each chain whose accept of ours is
 * not in a place that works, delete ours there (by handle) and insert one where it does;
 * delete ours from chains that need none, and every rule of an earlier release. Writes
 * nothing when everything is in place, so an unchanged apply commits nothing. A rule of
 * ours in a table or chain whose name nft cannot write is left, with a warning on stderr.
 * false: a write error.
 */
bool foreign_render_integration(const struct foreign_report *r, FILE *out);

/* nft commands that delete every rule of ours outside our table (for flush). */
bool foreign_render_removal(const struct foreign_report *r, FILE *out);

void foreign_report_free(struct foreign_report *r);

#endif
