/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/entries.h"
#include "firewalls/walk.h"

static enum tri num_in(const struct pat *p, uint32_t lo, uint32_t hi)
{
	if (p->kind != PAT_NUM)
		return MAYBE;
	if (lo >= p->nlo && hi <= p->nhi)
		return YES;
	return hi < p->nlo || lo > p->nhi ? NO : MAYBE;
}

static enum tri addr_in(const struct pat *p, const struct addr *a)
{
	if (!a || p->kind != PAT_ADDR)
		return MAYBE;
	if (p->lo.family != a->family)
		return NO;
	return addr_cmp(&p->lo, a) <= 0 && addr_cmp(a, &p->hi) <= 0 ? YES : NO;
}

static enum tri name_in(const struct name *p, const struct name *n)
{
	if (!n)
		return NO;
	if (p->wildcard)
		return n->len >= p->len && !memcmp(n->s, p->s, p->len) ? YES : NO;
	return n->len == p->len && !memcmp(n->s, p->s, n->len) ? YES : NO;
}

/*
 * ct status bits of our packets at the forward hook. A new connection was DNAT'd in
 * prerouting and is not confirmed yet; a reply belongs to a confirmed connection that has
 * seen a reply, and may be masqueraded and assured.
 */
static enum tri status_in(const struct pat *p, bool reply)
{
	enum tri any = NO;

	if (p->kind != PAT_FLAGS)
		return MAYBE;
	if (p->nlo & ST_DNAT)
		any = YES;
	if (reply && (p->nlo & (ST_SEEN_REPLY | ST_CONFIRMED)))
		any = YES;
	if (reply && (p->nlo & (ST_SNAT | ST_ASSURED)))
		any = tri_or(any, MAYBE);
	return any;
}

/* Remember that a rule compared interface name `name` (on the output side: oif). */
static void note_tested(struct walk *w, bool oif, size_t name)
{
	unsigned char *seen = oif ? w->tested_oif : w->tested_iif;
	size_t *grown;

	if (seen[name])
		return;
	grown = room_for_one(w->tested, w->ntested, &w->tested_cap, sizeof(*grown));
	if (!grown) {
		w->oom = true;
		return;
	}
	w->tested = grown;
	w->tested[w->ntested++] = name << 1 | oif;
	seen[name] = 1;
}

static enum tri pat_match(struct walk *w, const struct table *t, const struct key *k,
			  const struct pat *p)
{
	const struct packet *pk = w->pk;
	const struct foreign_endpoint *ep = pk->ep;

	if (p->kind == PAT_UNKNOWN)
		return MAYBE;
	switch (k->kind) {
	case KEY_SADDR:
		return addr_in(p, pk->reply ? &ep->guest : NULL);
	case KEY_DADDR:
		return addr_in(p, pk->reply ? NULL : &ep->guest);
	case KEY_SPORT:
		return pk->reply ? num_in(p, ep->port, ep->port_last) : MAYBE;
	case KEY_DPORT:
		return pk->reply ? MAYBE : num_in(p, ep->port, ep->port_last);
	case KEY_L4PROTO: {
		uint32_t number = ep->proto == PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;

		return num_in(p, number, number);
	}
	case KEY_NFPROTO:
		return num_in(p, (uint32_t)ep->guest.family, (uint32_t)ep->guest.family);
	case KEY_CT_DIR:
		return num_in(p, pk->reply, pk->reply);
	case KEY_IIF:
	case KEY_OIF:
		if (p->kind != PAT_NAME)
			return MAYBE;
		/* the caller's enumeration of interfaces tries each name a rule compares */
		if (w->recording)
			note_tested(w, k->kind == KEY_OIF, p->name);
		return name_in(&t->names[p->name], k->kind == KEY_IIF ? pk->iif : pk->oif);
	case KEY_CT_STATE:
		if (p->kind != PAT_FLAGS)
			return MAYBE;
		return p->nlo & (pk->reply ? CT_ESTABLISHED : CT_NEW) ? YES : NO;
	case KEY_CT_STATUS:
		return status_in(p, pk->reply);
	case KEY_UNKNOWN:
	case KEY_NEVER:
		break;
	}
	return MAYBE;
}

static enum tri match_packet(struct walk *w, const struct table *t, const struct match *m)
{
	enum tri any = NO;

	if (m->unknown)
		return MAYBE;
	/* A failed dependency (tcp dport on a UDP packet) fails the match, even with != */
	for (size_t k = 0; k < m->nkeys; k++) {
		const struct key *key = &m->keys[k];

		if (key->kind == KEY_NEVER || (key->family && key->family != w->pk->ep->guest.family) ||
		    (key->protos && !(key->protos & w->pk->ep->proto)))
			return NO;
	}
	for (size_t e = 0; e < m->nelems && any != YES; e++) {
		enum tri row = YES;

		for (size_t k = 0; k < m->nkeys && row != NO; k++)
			row = tri_and(row, pat_match(w, t, &m->keys[k], &m->pats[e * m->nkeys + k]));
		any = tri_or(any, row);
	}
	return m->negate ? tri_not(any) : any;
}

/*
 * Interface matches last: the walker's caller tries the interface names a rule compares,
 * and a rule that fails on something else should not make it try more.
 */
static enum tri rule_matches(struct walk *w, const struct table *t, const struct rule *r)
{
	enum tri m = YES;

	/*
	 * Another interface could change the walk here only if the rule does more than accept:
	 * an accept that surely matches ends it with nothing to learn (whatever drops came
	 * before were met on the way here too), and one that only may match is ignored.
	 */
	w->recording = r->verdict != V_ACCEPT;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < r->nconds && m != NO; k++)
			if (r->conds[k].iface == (pass == 1))
				m = tri_and(m, match_packet(w, t, &r->conds[k]));
	return m;
}

/* Does rule `r`, matched for sure, block everything going its way (walk.h)? */
static bool rule_is_blanket(const struct rule *r)
{
	for (size_t i = 0; i < r->nconds; i++) {
		const struct match *m = &r->conds[i];

		if (m->unknown)
			return false;
		for (size_t k = 0; k < m->nkeys; k++)
			switch (m->keys[k].kind) {
			case KEY_IIF:
			case KEY_OIF:
			case KEY_NFPROTO:
			case KEY_CT_STATE:
			case KEY_CT_STATUS:
			case KEY_CT_DIR:
				break;
			case KEY_SADDR:
			case KEY_DADDR:
				/* a network, not one address: where the packet goes, not who it is */
				for (size_t e = 0; e < m->nelems; e++) {
					const struct pat *p = &m->pats[e * m->nkeys + k];
					unsigned full = p->lo.family == AF_INET ? 32 : 128;

					if (!m->negate && (p->kind != PAT_ADDR || !p->len || p->len >= full))
						return false;
				}
				break;
			default:
				return false;
			}
	}
	return true;
}

static void visit(struct walk *w, size_t chain, size_t index, bool definite)
{
	struct visit *v = room_for_one(w->visits, w->nvisits, &w->visits_cap, sizeof(*v));

	if (!v) {
		w->oom = true;
		return;
	}
	w->visits = v;
	w->visits[w->nvisits++] = (struct visit){ chain, index, w->drops, w->blankets, definite };
}

static void note_kept(struct walk *w, size_t chain, const struct rule *r, bool certain)
{
	if (!w->drops || (certain && !w->kept.certain))
		w->kept = (struct drop){ chain, r, certain };
	w->drops++;
}

static void note_blanket(struct walk *w, size_t chain, const struct rule *r)
{
	if (!w->blankets)
		w->blanket = (struct drop){ chain, r, true };
	w->blankets++;
}

enum outcome { OUT_PASS, OUT_ACCEPT, OUT_DROP };

/* How often the cancel flag is read: every this many steps (a few microseconds). */
#define CANCEL_EVERY 1024

/* One more step of work; false when the walk must stop. */
static bool step(struct walk *w)
{
	if (++w->steps > w->budget)
		w->over_budget = true;
	else if (w->cancel && w->steps % CANCEL_EVERY == 0 && *w->cancel)
		w->cancelled = true;
	return !w->over_budget && !w->cancelled && !w->oom;
}

static enum outcome walk_rules(struct walk *w, size_t ci, bool definite, unsigned depth);

/*
 * Chain `ci` for the walk's packet, entered on a definite path or not: walked the first
 * time, replayed (its counts added again, its outcome returned) every other time. A jump
 * back into a chain being walked is a loop the kernel refuses to load: it passes.
 */
static enum outcome walk_chain(struct walk *w, size_t ci, bool definite, unsigned depth)
{
	struct walk_memo *m = &w->memo[ci * 2 + definite];
	size_t drops = w->drops, blankets = w->blankets;
	enum outcome o;

	if (m->stamp == w->stamp) {
		if (!m->done)
			return OUT_PASS;
		w->drops += m->drops;
		w->blankets += m->blankets;
		return (enum outcome)m->outcome;
	}
	*m = (struct walk_memo){ .stamp = w->stamp };
	o = walk_rules(w, ci, definite, depth);
	/* `m` again: nothing reallocates the memos, but be plain about which entry */
	m = &w->memo[ci * 2 + definite];
	*m = (struct walk_memo){ w->stamp, true, (unsigned char)o, w->drops - drops,
				 w->blankets - blankets };
	return o;
}

static enum outcome walk_rules(struct walk *w, size_t ci, bool definite, unsigned depth)
{
	const struct chain *c = &w->rs->chains[ci];
	const struct table *t = &w->rs->tables[c->table];

	if (depth > 16) /* the kernel refuses deeper jumps: no listing has them */
		return OUT_PASS;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];
		enum tri m;
		bool sure;
		enum outcome o;

		if (!step(w))
			return OUT_PASS;
		if (w->watched[ci] && r->first)
			visit(w, ci, i, definite);
		if ((m = rule_matches(w, t, r)) == NO)
			continue;
		sure = definite && m == YES;
		switch (r->verdict) {
		case V_ACCEPT:
			if (sure)
				return OUT_ACCEPT;
			break;
		case V_DROP:
		case V_REJECT:
			if (sure && rule_is_blanket(r)) {
				note_blanket(w, ci, r);
				break; /* as if opened: on to what comes next */
			}
			note_kept(w, ci, r, sure);
			if (sure) {
				w->ended = true;
				return OUT_DROP;
			}
			break;
		case V_RETURN:
			if (sure)
				return OUT_PASS;
			break;
		case V_JUMP:
		case V_GOTO:
			o = walk_chain(w, r->target, sure, depth + 1);
			if (o != OUT_PASS)
				return o;
			if (r->verdict == V_GOTO && sure)
				return OUT_PASS; /* goto's chain returned: so does this one */
			break;
		case V_NONE:
			break;
		}
	}
	if (w->watched[ci])
		visit(w, ci, c->nrules, definite);
	return OUT_PASS;
}

bool walk_packet(struct walk *w, size_t base)
{
	w->nvisits = 0;
	w->drops = w->blankets = 0;
	w->ended = false;
	if (w->cancel && *w->cancel) {
		w->cancelled = true;
		return false;
	}
	if (++w->stamp == 0) { /* wrapped: every memo would look current */
		memset(w->memo, 0, w->rs->nchains * 2 * sizeof(*w->memo));
		w->stamp = 1;
	}
	if (walk_chain(w, base, true, 0) == OUT_PASS && w->rs->chains[base].policy_drop)
		note_blanket(w, base, NULL);
	return !w->over_budget && !w->cancelled && !w->oom;
}

bool walk_init(struct walk *w, const struct ruleset *rs, size_t nnames)
{
	*w = (struct walk){ .rs = rs };
	w->memo = calloc(rs->nchains * 2 + 1, sizeof(*w->memo));
	w->tested_iif = calloc(nnames + 1, 1);
	w->tested_oif = calloc(nnames + 1, 1);
	return w->memo && w->tested_iif && w->tested_oif;
}

void walk_free(struct walk *w)
{
	free(w->memo);
	free(w->tested_iif);
	free(w->tested_oif);
	free(w->tested);
	free(w->visits);
	*w = (struct walk){ 0 };
}
