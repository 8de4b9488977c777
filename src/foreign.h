/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Other firewalls on the forward hook. In nftables an accept ends only its own base chain:
 * every base chain on the forward hook, in every table, sees a forwarded packet, and a drop
 * or reject in any of them is final whatever table inet portfwd says. libvirt's
 * LIBVIRT_FWI reject, Docker's and ufw's FORWARD policy drop and the like block forwards
 * to guests that our own table accepts.
 *
 * foreign_analyse reads the whole ruleset, as libnftables lists it in JSON with handles,
 * walks every base chain on the forward hook (families ip, ip6, inet; never our own
 * table) for the two kinds of packet a forward needs: a new DNAT'd connection to a guest
 * endpoint and the guest's replies. A chain that could drop either is a block, and gets
 * the narrowest accepts that let exactly those packets through, at the top of the chain
 * its owner expects others to use. foreign_render_* write the nft commands. Pure: JSON
 * text in, nft text out; no kernel access.
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

/* Every rule nft-portfwd puts into another table has a comment starting with this. */
#define FOREIGN_COMMENT_PREFIX "nft-portfwd"

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

/* One base chain on the forward hook, outside our table, that could drop our traffic. */
struct foreign_block {
	char family[8];                       /* "ip", "ip6" or "inet" */
	char table[FOREIGN_NAME_SIZE];
	char base_chain[FOREIGN_NAME_SIZE];   /* the chain on the forward hook, e.g. "FORWARD" */
	char chain[FOREIGN_NAME_SIZE];        /* where the drop is: "LIBVIRT_FWI", or base_chain */
	long rule_handle;                     /* the dropping rule; -1 for base_chain's policy */
	const char *kind; /* "libvirt-iptables", "libvirt-nftables", "docker", "ufw", "firewalld", "other" */
	char reason[512]; /* e.g. "rule 'oifname \"virbr0\" counter xt target REJECT' (handle 25) ..." */
	/*
	 * Where our accepts go (at the top), and why there. Empty when the table or chain name
	 * cannot be written in nft syntax: then nothing is inserted and placement says so.
	 */
	char insert_chain[FOREIGN_NAME_SIZE];
	char placement[768]; /* room for two names */
	bool iptables_owned; /* written by iptables-nft: insert only rules iptables can read back */
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
};

struct foreign_report {
	struct foreign_endpoint *endpoints;
	size_t endpoint_count;
	struct foreign_block *blocks; /* in the order the ruleset lists the base chains */
	size_t count;
	struct foreign_rule *ours;    /* in ruleset order, so by position within a chain */
	size_t ours_count;
};

/*
 * Analyse `ruleset_json` (libnftables `list ruleset` with NFT_CTX_OUTPUT_JSON |
 * NFT_CTX_OUTPUT_HANDLE) for the guest endpoints in `entries`. Our own rules (comment
 * FOREIGN_COMMENT_PREFIX) are ignored while deciding what blocks, so the answer is the
 * same before and after they are in place. Anything the analysis cannot evaluate
 * (iptables' xt matches, limits, marks, the client's address) is taken to match both
 * ways: a drop it might reach is a block; an accept it might not reach is ignored.
 * false with err set when the text is not such JSON, or out of memory.
 */
bool foreign_analyse(const char *ruleset_json, const struct entry_list *entries,
		     struct foreign_report *out, struct error *err);

/*
 * nft commands to append to the apply transaction: for each chain whose rules of ours are
 * not exactly what the analysis needs at its top, delete ours there (by handle) and insert
 * the needed accepts; delete ours from chains that no longer need any. Writes nothing when
 * everything is in place, so an unchanged apply commits nothing. In iptables-owned tables
 * one rule per endpoint and direction, plain matches only (iptables -S reads them back);
 * in nft-native ones one rule per family and direction with an anonymous set, limited to
 * DNAT'd connections. false: out of memory or a write error.
 */
bool foreign_render_integration(const struct foreign_report *r, FILE *out);

/*
 * Are our rules exactly what block `bi`'s insert chain needs, at its top? (Blocks that share
 * an insert chain share the answer.) false: out of memory.
 */
bool foreign_block_in_place(const struct foreign_report *r, size_t bi, bool *in_place);

/* nft commands that delete every rule of ours outside our table (for flush). */
bool foreign_render_removal(const struct foreign_report *r, FILE *out);

void foreign_report_free(struct foreign_report *r);

#endif
