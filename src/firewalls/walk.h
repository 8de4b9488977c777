/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Following one packet of a forward through another table's base chain on the forward
 * hook (ruleset.h), as the kernel would, with what the analysis cannot know (the client's
 * address, xt matches) taken as MAYBE. Only definite paths end the walk; on a path that
 * only may be taken an accept is ignored and a drop noted as possible.
 *
 * Drops come in two kinds. A blanket block is a certain drop whose conditions say only
 * where the packet goes (interfaces, networks, family, conntrack state) or a base chain's
 * policy: libvirt's REJECT, Docker's and ufw's policy drop. Integration opens those, so
 * the walk goes on past them as if opened, to see what would come next. Every other drop
 * (one that may apply, or one aimed at the forward's address, protocol or port) is the
 * owner's decision: counted, never opened.
 *
 * Each chain is evaluated once per walk for each way it is entered (on a definite path or
 * not): the packet is the same, so a second jump to it only replays what the first found
 * (its drops and blanket blocks, and its outcome). Work per walk is bounded by the rules,
 * not by the paths through them, which grow exponentially with nested conditional jumps.
 * A budget of steps bounds the whole analysis; `cancel` stops it at once.
 */
#ifndef NFT_PORTFWD_WALK_H
#define NFT_PORTFWD_WALK_H

#include <signal.h>

#include "firewalls/ruleset.h"

/* The packet being followed: one endpoint, one direction, one pair of interfaces. */
struct packet {
	const struct foreign_endpoint *ep;
	bool reply;                   /* false: client to guest, a new connection */
	const struct name *iif, *oif; /* NULL: an interface no rule names */
};

/* Where a packet met a drop. */
struct drop {
	size_t chain;
	const struct rule *rule; /* NULL: the base chain's policy */
	bool certain;            /* reached for sure, by matches that surely match */
};

/*
 * A position in a watched chain that the packet reached: before rule `index` (nrules: its
 * end), with the counts of drops and blanket blocks met before it.
 */
struct visit {
	size_t chain, index;
	size_t drops, blankets;
	bool definite;
};

/* What one chain did the first time a walk entered it (per chain, definite or not). */
struct walk_memo {
	unsigned stamp;      /* the walk it belongs to; another walk's is stale */
	bool done;           /* false: being walked (a jump back to it is a loop) */
	unsigned char outcome;
	size_t drops, blankets; /* what it added to the walk's counts */
};

struct walk {
	const struct ruleset *rs;
	const struct packet *pk;
	const bool *watched;    /* per chain: record visits there */
	unsigned char *tested_iif, *tested_oif; /* per table name: a rule compared it (set to 1) */
	size_t *tested;         /* the names set in tested_iif/oif by this walk: name << 1 | oif */
	size_t ntested, tested_cap;
	bool recording;         /* the rule being matched could turn on an interface name */
	struct walk_memo *memo; /* 2 per chain: entered on a path that may be taken, or surely */
	unsigned stamp;         /* this walk's number */
	/* limits: rules evaluated so far and how many may be (steps), a stop request */
	unsigned long long steps, budget;
	const volatile sig_atomic_t *cancel;
	bool over_budget, cancelled; /* the walk stopped early: its results mean nothing */
	/* results */
	struct visit *visits;   /* in the order the packet reaches them */
	size_t nvisits, visits_cap;
	size_t drops;           /* drops left to their owner (see above) */
	size_t blankets;        /* blanket blocks met */
	struct drop blanket;    /* the first blanket block */
	struct drop kept;       /* the first drop left to its owner: a certain one if any */
	bool ended;             /* a certain drop left to its owner ended the walk */
	bool oom;
};

/*
 * Follow w->pk through base chain `base`; the results replace the previous walk's. false
 * when the walk stopped early (over budget, cancelled, out of memory).
 */
bool walk_packet(struct walk *w, size_t base);

/*
 * A walker over `rs` whose packets' interfaces are named from a table of `nnames` names,
 * with the caller's `watched`, budget and cancel to fill in; false when out of memory.
 */
bool walk_init(struct walk *w, const struct ruleset *rs, size_t nnames);
void walk_free(struct walk *w);

#endif
