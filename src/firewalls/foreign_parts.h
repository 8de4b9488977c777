/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every layer of the analysis of other firewalls shares (foreign.h on top, ruleset.h,
 * walk.h and placement.h below): the guest endpoints the forwards' packets go to, their
 * two directions, a rule of ours found in another table, and the report: each chain that
 * blocks, and where our accept goes.
 */
#ifndef NFT_PORTFWD_FOREIGN_PARTS_H
#define NFT_PORTFWD_FOREIGN_PARTS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "sys/route.h"

#define FOREIGN_NAME_SIZE 257 /* nftables table and chain names: up to 256 bytes */

enum foreign_dir {
	FOREIGN_TO_GUEST = 1 << 0,   /* a client's new connection, after DNAT, to the guest */
	FOREIGN_FROM_GUEST = 1 << 1, /* the guest's replies on that connection */
};

/*
 * Where a forward's packets go: a guest address, a protocol and a run of guest ports. The
 * entries' guest endpoints, deduplicated, with adjacent ports merged.
 */
struct foreign_endpoint {
	struct addr guest;
	enum proto proto;
	uint16_t port, port_last;
	char oif[16]; /* the interface the host routes the guest through; "": not known */
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

/*
 * What the analysis may know of the host, how much work it may do, and who may stop it. A
 * step is one rule evaluated for one packet, or one packet queued: 5 million took 0.1 to
 * 0.3 s here (bench/RESULTS.md).
 */
#define FOREIGN_STEPS_DEFAULT 5000000ull
struct foreign_context {
	/* for the whole analysis; each base chain on the forward hook gets a fair share of
	 * what is left, so one huge table cannot starve the others */
	unsigned long long steps;
	const volatile sig_atomic_t *cancel; /* when it turns non-zero: stop (the watcher's signals) */
	/*
	 * Where the host routes each guest, sorted by address (addr_cmp), or none: a guest's
	 * packets leave through that interface, and only the clients' side is unknown. Without
	 * it, the interfaces other tables pair with the guest's network, or every one they name.
	 */
	const struct guest_route *routes;
	size_t route_count;
};

/*
 * A table the analysis did not decide: one it could not list, or whose chains took more
 * than the budget of steps. Nothing is added to it, and our rules in it are left as they are.
 */
struct foreign_skip {
	char family[8];
	char table[FOREIGN_NAME_SIZE];
	char why[320];
};

struct foreign_report {
	uint32_t mark;                /* the mark bit our accepts match */
	/*
	 * Another program that routes networks of its own through this host, per family (0:
	 * IPv4, 1: IPv6): "libvirt" (a NAT network's LIBVIRT_FWO rules, or its guest_output
	 * chain) or "docker"; "" for none. flush leaves forwarding on for them.
	 */
	const char *forwarder[2];
	/*
	 * Per family: some base chain on the forward hook drops what it does not accept (a drop
	 * policy, or an unconditional drop or reject as its last rule: Docker, ufw, firewalld,
	 * a router's firewall), so the host does not route everything its forwarding allows.
	 */
	bool forward_filtered[2];
	struct foreign_endpoint *endpoints;
	size_t endpoint_count;
	struct foreign_block *blocks; /* in the order the ruleset lists the base chains */
	size_t count;
	struct foreign_rule *ours;    /* in ruleset order, so by position within a chain */
	size_t ours_count;
	struct foreign_skip *skipped; /* "not analysed" */
	size_t skipped_count;
	/* table inet portfwd-trace of a diagnose --trace whose process is gone (trace.h):
	 * apply and flush delete it, status names it */
	bool trace_leftover;
	long trace_pid;
};

#endif
