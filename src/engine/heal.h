/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The watcher's heal policy, apart from the kernel and the clock: when a burst of other
 * programs' changes has settled enough to look, whether a heal was contested (someone
 * answering our commits), and when to back off instead of fighting. Times are milliseconds
 * of a monotonic clock that the caller reads and passes in, so tests drive it with any
 * clock they like.
 */
#ifndef NFT_PORTFWD_HEAL_H
#define NFT_PORTFWD_HEAL_H

#include <stdbool.h>

#include "sys/events.h"

/* A burst ends after this long without a change, or this long after its first. */
#define HEAL_QUIET_MS 200
#define HEAL_MAX_WAIT_MS 800
/*
 * A heal is contested when the changes had not stopped when it came (the burst ran into
 * HEAL_MAX_WAIT_MS, or on past a back-off) or began within HEAL_ANSWER_MS of our previous
 * heal, and touched what that heal wrote: someone answering our commits. HEAL_FIGHT_HEALS
 * contested heals in a row means a program keeps undoing us: back off. A burst that begins
 * later is no answer and starts afresh; so a host's own events, however close together (a
 * service restart, a reload, a flush), never add up to a fight.
 */
#define HEAL_ANSWER_MS (2 * HEAL_QUIET_MS)
#define HEAL_FIGHT_HEALS 5
/* The back-off: the first wait, doubled at each further contested heal up to the most. */
#define HEAL_BACKOFF_FIRST_S 1
#define HEAL_BACKOFF_MAX_S 5
/* Forwarding sysctls change without an nftables event: they are read this often. */
#define HEAL_SYSCTL_CHECK_S 2

struct heal_policy {
	bool pending;                /* changes seen, not yet looked at */
	long long first_ms, last_ms; /* the burst's first and latest change */
	long long last_heal_ms;      /* when the last heal committed; 0: none yet */
	/* what the last commit of ours wrote ("inet portfwd, ip filter LIBVIRT_FWI"), to tell
	 * an answer: the caller fills it */
	char healed_where[512];
	unsigned contested;          /* contested heals in a row */
	long long backoff_ms;        /* the current back-off; 0: none */
	long long not_before_ms;     /* changes to what we wrote wait until then */
	bool backing_off;
};

/*
 * Another program committed at `now`: a burst starts or goes on. True when this ended a
 * back-off (a burst long after our last heal is no answer to it).
 */
bool heal_change(struct heal_policy *p, long long now);

/* A forwarding sysctl was found off at `now`: a burst of its own, to look at at once. */
void heal_sysctl_off(struct heal_policy *p, long long now);

/* Did the changes of `b` touch what the last heal wrote? (Lost notifications may have.) */
bool heal_answers(const struct heal_policy *p, const struct change_batch *b);

/*
 * Milliseconds until the pending burst is to be looked at (0: now), or the sysctl check's
 * period when nothing is pending. A back-off holds back only changes that answer us
 * (`answers`, heal_answers): other programs' changes heal at once.
 */
long long heal_wait(const struct heal_policy *p, long long now, bool answers);

/* A look begins at `now`: no longer pending. Returns whether a heal it makes is contested. */
bool heal_begin(struct heal_policy *p, long long now, bool answers);

enum heal_verdict {
	HEAL_CALM,      /* no fight (any more): the next burst heals as soon as it settles */
	HEAL_CONTESTED, /* answered, but not HEAL_FIGHT_HEALS times in a row yet */
	HEAL_BACK_OFF,  /* a fight: the next answering change waits p->backoff_ms */
};

/*
 * The look that began (heal_begin, `contested`) healed at `now` (the caller has put what
 * it wrote in healed_where). A look that healed nothing changes nothing here.
 */
enum heal_verdict heal_done(struct heal_policy *p, long long now, bool contested);

#endif
