/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "firewalls/accept.h"
#include "config/entries.h"
#include "util/nftsyntax.h"
#include "firewalls/placement.h"
#include "firewalls/reason.h"
#include "config/validate.h"
#include "firewalls/walk.h"

/* The chains their owners leave for rules like ours, best first. */
static const struct {
	const char *chain;
	const char *why;
} preferred[] = {
	{ "DOCKER-USER", "Docker keeps it for the administrator's rules and never rewrites it" },
	{ "LIBVIRT_FWI", "libvirt rebuilds it when a network starts or its firewall reloads; apply "
			 "again then (libvirt's network hook)" },
	{ "guest_input", "libvirt rebuilds its table when a network starts; apply again then "
			 "(libvirt's network hook)" },
};

#define MAX_CANDIDATES (sizeof(preferred) / sizeof(preferred[0]) + 1)

/* What is known of one position of a candidate chain, over every packet walked. */
struct spot {
	bool unsafe;   /* some packet may reach it and meet a drop of the owner's after it */
	size_t opens;  /* blocked packets it would open: reached for sure before their block */
	/* the current walk's first visit */
	size_t seen, done, drops, blankets;
	bool definite; /* reached for sure before the first blanket block */
};

struct candidate {
	size_t chain;
	const char *why; /* NULL: the base chain */
	struct spot *spots; /* nrules + 1 */
};

/*
 * The interfaces tried on the guest's side: the one the host routes it through, else the
 * ones the table's links put it behind, or, when none does, every name a walk found
 * compared there (`grows`).
 */
struct side {
	/* index + 1 into the table's names; 0: an interface no rule names; above the table's
	 * names, nnames + 1 + e: endpoint e's routed interface, which the table does not name */
	size_t *names;
	size_t count;
	bool grows;
};

/* Interface pairs still to walk, and every pair seen: index + 1, 0 for unnamed. */
struct pairs {
	size_t (*queue)[2];
	size_t head, count, cap;
	size_t *seen; /* an open-addressing set of g * (nnames + 1) + o + 1; 0 is empty */
	size_t seen_cap;
};

struct analysis {
	const struct ruleset *rs;
	size_t base;
	struct foreign_report *r;
	struct candidate cand[MAX_CANDIDATES];
	size_t ncand;
	bool *watched;
	struct walk w;
	size_t walks;   /* a stamp per walk */
	size_t blocked; /* packets that meet a blanket block */
	struct foreign_block b;
	struct packet worst;       /* the first blocked packet, for the reason */
	struct drop worst_drop;
	struct packet kept_pk;     /* the first packet a drop of the owner's ends, if any */
	struct drop kept_drop;
	bool kept_ended;
	struct drop shadow_drop;   /* a drop of the owner's that a blocked packet also meets */
	bool shadowed;
	bool too_many_pairs;       /* PLACEMENT_MAX_PAIRS reached: undecided */
	struct name *routed;       /* per endpoint: its routed interface as a name */
};

/* The interface of a side's index (struct side); NULL for 0, one no rule names. */
static const struct name *name_at(const struct analysis *a, const struct table *t, size_t i)
{
	return !i ? NULL : i <= t->nnames ? &t->names[i - 1] : &a->routed[i - t->nnames - 1];
}

static bool link_holds(const struct link *l, const struct addr *guest)
{
	return l->lo.family == guest->family && addr_cmp(&l->lo, guest) <= 0 &&
	       addr_cmp(guest, &l->hi) <= 0;
}

/*
 * The guest's side: the interface the host routes it through (the table's own name for it
 * when it has one), else those paired with the longest prefix holding it, else unknown.
 */
static void guest_side(struct analysis *a, const struct table *t, size_t e, struct side *s)
{
	const struct foreign_endpoint *ep = &a->r->endpoints[e];
	unsigned longest = 0;

	s->count = 0;
	s->grows = false;
	if (ep->oif[0]) {
		size_t len = strnlen(ep->oif, sizeof(ep->oif));
		size_t i = ruleset_find_name(t, ep->oif, len);

		a->routed[e] = (struct name){ ep->oif, len, false };
		s->names[s->count++] = i != SIZE_MAX ? i + 1 : t->nnames + 1 + e;
		return;
	}
	for (size_t i = 0; i < t->nlinks; i++)
		if (link_holds(&t->links[i], &ep->guest) && t->links[i].len > longest)
			longest = t->links[i].len;
	for (size_t i = 0; longest && i < t->nlinks; i++) {
		size_t seen = 0;

		if (t->links[i].len != longest || !link_holds(&t->links[i], &ep->guest))
			continue;
		while (seen < s->count && s->names[seen] != t->links[i].name + 1)
			seen++;
		if (seen == s->count)
			s->names[s->count++] = t->links[i].name + 1;
	}
	s->grows = !s->count;
	if (!s->count)
		s->names[s->count++] = 0;
}

/* Queue pair (g, o) unless it was seen; false when out of memory. */
static bool pairs_push(struct pairs *p, size_t nnames, size_t g, size_t o)
{
	size_t key = g * (nnames + 1) + o + 1, i;

	if (p->count * 2 >= p->seen_cap) {
		size_t cap = p->seen_cap ? p->seen_cap * 2 : 64;
		size_t *grown = calloc(cap, sizeof(*grown));

		if (!grown)
			return false;
		for (size_t j = 0; j < p->seen_cap; j++)
			if (p->seen[j]) {
				for (i = p->seen[j] * 2654435761u % cap; grown[i]; i = (i + 1) % cap)
					;
				grown[i] = p->seen[j];
			}
		free(p->seen);
		p->seen = grown;
		p->seen_cap = cap;
	}
	for (i = key * 2654435761u % p->seen_cap; p->seen[i]; i = (i + 1) % p->seen_cap)
		if (p->seen[i] == key)
			return true;
	p->seen[i] = key;
	if (p->count == p->cap) {
		size_t (*grown)[2] = realloc(p->queue, (p->cap ? p->cap * 2 : 16) * sizeof(*grown));

		if (!grown)
			return false;
		p->queue = grown;
		p->cap = p->cap ? p->cap * 2 : 16;
	}
	p->queue[p->count][0] = g;
	p->queue[p->count][1] = o;
	p->count++;
	return true;
}

static size_t candidate_of(const struct analysis *a, size_t chain)
{
	for (size_t c = 0; c < a->ncand; c++)
		if (a->cand[c].chain == chain)
			return c;
	return SIZE_MAX;
}

static struct spot *spot_of(const struct analysis *a, const struct visit *v)
{
	return &a->cand[candidate_of(a, v->chain)].spots[v->index];
}

/* Fold the last walk into the candidates' positions. */
static void record(struct analysis *a, const struct packet *pk)
{
	const struct walk *w = &a->w;
	bool blocked = w->blankets > 0;

	a->walks++;
	for (size_t i = 0; i < w->nvisits; i++) {
		struct spot *s = spot_of(a, &w->visits[i]);

		if (s->seen != a->walks) {
			s->seen = a->walks;
			s->drops = w->visits[i].drops;
			s->blankets = w->visits[i].blankets;
			s->definite = false;
		}
		s->definite |= w->visits[i].definite && !w->visits[i].blankets;
	}
	for (size_t i = 0; i < w->nvisits; i++) {
		struct spot *s = spot_of(a, &w->visits[i]);

		if (s->done == a->walks)
			continue;
		s->done = a->walks;
		/* an accept here would pass over a drop of the owner's that comes later */
		if (s->drops < w->drops)
			s->unsafe = true;
		else if (blocked && !s->blankets && s->definite)
			s->opens++;
	}
	if (blocked) {
		if (!a->blocked++) {
			a->worst = *pk;
			a->worst_drop = w->blanket;
		}
		if (w->drops && !a->shadowed) {
			a->shadowed = true;
			a->shadow_drop = w->kept;
		}
	} else if (w->ended && !a->kept_ended) {
		a->kept_ended = true;
		a->kept_pk = *pk;
		a->kept_drop = w->kept;
	}
}

/*
 * Every packet of this endpoint and direction that the chains tell apart: the guest's side
 * as the table's links say, the other side first an interface no rule names (the uplink,
 * usually). A walk that compared a name in a rule that could turn on it (walk.h) is
 * followed by one with that name on that side, the other side kept: each pair of
 * interfaces the rules can tell apart is reached this way, and no other, so the work
 * grows with the rules, not with the square of the names. Returns the foreign_dir bit
 * when a packet was blocked, or dropped for sure by a rule of the owner's.
 */
/* Tested names (name << 1 | oif) by name, the guest's side first: oif for a new connection. */
static int cmp_tested(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa ^ 1, b = *(const size_t *)pb ^ 1;

	return (a > b) - (a < b);
}

/* The same for a reply, whose guest side is its input interface. */
static int cmp_tested_reply(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return (a > b) - (a < b);
}

static unsigned walk_endpoint(struct analysis *a, size_t e, unsigned dir, struct side *guest,
			      struct pairs *p)
{
	const struct foreign_endpoint *ep = &a->r->endpoints[e];
	const struct table *t = &a->rs->tables[a->rs->chains[a->base].table];
	bool reply = dir == FOREIGN_FROM_GUEST;
	size_t blocked = a->blocked;
	bool ended = false;

	guest_side(a, t, e, guest);
	p->head = p->count = 0;
	if (p->seen)
		memset(p->seen, 0, p->seen_cap * sizeof(*p->seen));
	for (size_t g = 0; g < guest->count; g++)
		if (!pairs_push(p, t->nnames, guest->names[g], 0))
			return a->w.oom = true, 0;
	while (p->head < p->count) {
		size_t g = p->queue[p->head][0], o = p->queue[p->head][1];
		const struct name *gn = name_at(a, t, g), *on = name_at(a, t, o);
		struct packet pk = { ep, reply, reply ? gn : on, reply ? on : gn };

		p->head++;
		a->w.pk = &pk;
		if (!walk_packet(&a->w, a->base))
			return 0;
		record(a, &pk);
		ended |= a->w.ended && !a->w.blankets;
		/* each name a rule compared: the same walk with it on that side, in the order of
		 * the table's names (the first blocked packet is the one reported) */
		if (a->w.ntested > 1)
			qsort(a->w.tested, a->w.ntested, sizeof(*a->w.tested),
			      reply ? cmp_tested_reply : cmp_tested);
		for (size_t i = 0; i < a->w.ntested; i++) {
			size_t name = a->w.tested[i] >> 1;
			bool oif = a->w.tested[i] & 1, guest_end = oif != reply;

			(oif ? a->w.tested_oif : a->w.tested_iif)[name] = 0;
			/* a pair to walk is work too: the queue is bounded by the budget */
			a->w.steps++;
			if (guest_end ? guest->grows && !pairs_push(p, t->nnames, name + 1, o)
				      : !pairs_push(p, t->nnames, g, name + 1))
				return a->w.oom = true, 0;
		}
		a->w.ntested = 0;
		if (p->count > PLACEMENT_MAX_PAIRS) {
			a->too_many_pairs = true;
			return 0;
		}
	}
	return a->blocked > blocked || ended ? dir : 0;
}

static void rule_words(const struct ruleset *rs, const struct drop *d, char *buf, size_t size)
{
	struct text t = { 0 };

	if (!d->rule) {
		text_printf(&t, "the policy drop of %s", rs->chains[d->chain].name);
	} else {
		text_printf(&t, "rule '");
		rule_text(&t, d->rule->expr);
		text_printf(&t, "' (handle %ld) in %s", d->rule->handle, rs->chains[d->chain].name);
	}
	text_copy(&t, buf, size);
}

/* Is position i of the candidate a rule's own position, and safe (placement.h)? */
static bool safe(const struct analysis *a, const struct candidate *c, size_t i)
{
	const struct chain *ch = &a->rs->chains[c->chain];

	return (i == ch->nrules || ch->rules[i].first) && !c->spots[i].unsafe &&
	       c->spots[i].opens == a->blocked;
}

/* The first safe position of a candidate, or SIZE_MAX. */
static size_t first_safe(const struct analysis *a, const struct candidate *c)
{
	for (size_t i = 0; i <= a->rs->chains[c->chain].nrules; i++)
		if (safe(a, c, i))
			return i;
	return SIZE_MAX;
}

/* Is our accept in the chain, alone, current, and at a safe position? */
static bool ours_in_place(const struct analysis *a, const struct candidate *c, uint32_t mark)
{
	const struct ruleset *rs = a->rs;
	const struct chain *ch = &rs->chains[c->chain];
	const struct table *t = &rs->tables[ch->table];
	char comment[129];
	size_t found = 0, index = 0;

	accept_comment(mark, comment);
	for (size_t i = 0; i < rs->nours; i++) {
		const struct foreign_rule *o = &rs->ours[i];

		if (strcmp(o->family, t->family) || strcmp(o->table, t->name) || strcmp(o->chain, ch->name))
			continue;
		if (found++ || o->legacy || strcmp(o->comment, comment))
			return false;
		while (index < ch->nrules && ch->rules[index].listed < o->position)
			index++;
	}
	return found == 1 && safe(a, c, index);
}

/* Why the base chain itself. */
static const char *base_why(const struct analysis *a)
{
	if (!strcmp(a->b.kind, "ufw"))
		return "ufw rewrites only its own ufw-* chains on reload (this one too with "
		       "MANAGE_BUILTINS=yes)";
	if (!strcmp(a->b.kind, "firewalld"))
		return "firewalld rewrites its table on reload; apply again after 'firewall-cmd "
		       "--reload'";
	return "the base chain itself, after the drops its owner keeps and before its blanket "
	       "block";
}

static void place(struct analysis *a)
{
	const struct ruleset *rs = a->rs;
	const struct chain *base = &rs->chains[a->base];
	struct foreign_block *b = &a->b;
	char blanket[300], kept[300];

	if (!nft_name_ok(b->family) || !nft_name_ok(b->table) || !nft_name_ok(b->base_chain)) {
		snprintf(b->placement, sizeof(b->placement),
			 "nowhere: the name of %s %s %s cannot be written in nft syntax; add an accept "
			 "there by hand", b->family, b->table, b->base_chain);
		return;
	}
	if (base->prio <= TABLE_FORWARD_PRIORITY) {
		snprintf(b->placement, sizeof(b->placement),
			 "nowhere: %s runs at priority %ld, before table inet portfwd marks the "
			 "forwards (priority filter - 10); accept them there by hand", b->base_chain,
			 base->prio);
		return;
	}
	for (size_t c = 0; c < a->ncand; c++) {
		const struct candidate *cd = &a->cand[c];
		const struct chain *ch = &rs->chains[cd->chain];
		size_t at = first_safe(a, cd);

		if (at == SIZE_MAX)
			continue;
		snprintf(b->insert_chain, sizeof(b->insert_chain), "%s", ch->name);
		b->insert_before = at == 0 ? 0 : at < ch->nrules ? ch->rules[at].handle : -1;
		b->in_place = ours_in_place(a, cd, a->r->mark);
		if (at == 0 || at == ch->nrules) {
			snprintf(b->placement, sizeof(b->placement), "%s %s: %s",
				 at == 0 ? "top of" : "end of", ch->name, cd->why ? cd->why : base_why(a));
		} else {
			struct drop d = { cd->chain, &ch->rules[at], true };

			rule_words(rs, &d, blanket, sizeof(blanket));
			snprintf(b->placement, sizeof(b->placement), "above %s: %s", blanket,
				 cd->why ? cd->why : base_why(a));
		}
		return;
	}
	rule_words(rs, &a->worst_drop, blanket, sizeof(blanket));
	rule_words(rs, &a->shadow_drop, kept, sizeof(kept));
	snprintf(b->placement, sizeof(b->placement),
		 "nowhere: an accept early enough to pass %s would also pass over %s, which may drop "
		 "them on purpose; nft-portfwd leaves that rule to its owner: accept the forwards "
		 "by hand where they belong", blanket, a->shadowed ? kept : "a rule of its owner's");
}

static bool fill_block(struct analysis *a)
{
	const struct ruleset *rs = a->rs;
	const struct chain *c = &rs->chains[a->base];
	const struct table *t = &rs->tables[c->table];
	struct foreign_block *b = &a->b;
	const struct drop *d = a->blocked ? &a->worst_drop : &a->kept_drop;
	const struct packet *pk = a->blocked ? &a->worst : &a->kept_pk;
	char rule[300];
	void *grown;

	snprintf(b->family, sizeof(b->family), "%s", t->family);
	snprintf(b->table, sizeof(b->table), "%s", t->name);
	snprintf(b->base_chain, sizeof(b->base_chain), "%s", c->name);
	snprintf(b->chain, sizeof(b->chain), "%s", rs->chains[d->chain].name);
	b->rule_handle = d->rule ? d->rule->handle : -1;
	b->kind = block_kind(rs, a->base, d);
	reason_text(rs, a->base, d, pk, b->kind, b->reason, sizeof(b->reason));
	if (a->blocked) {
		place(a);
		if (a->kept_ended) {
			size_t len = strlen(b->reason);

			rule_words(rs, &a->kept_drop, rule, sizeof(rule));
			snprintf(b->reason + len, sizeof(b->reason) - len, "; and %s drops some of them on "
				 "purpose, which nft-portfwd does not open", rule);
		}
	} else {
		rule_words(rs, d, rule, sizeof(rule));
		snprintf(b->placement, sizeof(b->placement),
			 "nowhere: %s drops these connections on purpose (it names their address, "
			 "protocol or port), and nft-portfwd does not open such a rule; change it if "
			 "the forward should pass", rule);
	}
	grown = realloc(a->r->blocks, (a->r->count + 1) * sizeof(*a->r->blocks));
	if (!grown)
		return false;
	a->r->blocks = grown;
	a->r->blocks[a->r->count++] = *b;
	b->needs = NULL;
	return true;
}

enum placement_result placement_analyse(const struct ruleset *rs, size_t base,
				       const struct foreign_context *ctx, unsigned long long *spent,
				       struct foreign_report *r)
{
	const struct table *t = &rs->tables[rs->chains[base].table];
	struct analysis a = { .rs = rs, .base = base, .r = r };
	struct side guest = { 0 };
	struct pairs pairs = { 0 };
	enum placement_result result = PLACEMENT_OOM;
	int af;

	family_af(t->family, &af);
	a.b = (struct foreign_block){ .rule_handle = -1, .insert_before = -1 };
	a.b.needs = calloc(r->endpoint_count + 1, sizeof(*a.b.needs));
	a.watched = calloc(rs->nchains + 1, sizeof(*a.watched));
	guest.names = calloc(t->nlinks + 1, sizeof(*guest.names));
	a.routed = calloc(r->endpoint_count + 1, sizeof(*a.routed));
	if (!walk_init(&a.w, rs, t->nnames) || !a.b.needs || !a.watched || !guest.names || !a.routed)
		goto done;
	a.w.watched = a.watched;
	a.w.budget = ctx->steps;
	a.w.cancel = ctx->cancel;
	for (size_t i = 0; i <= sizeof(preferred) / sizeof(preferred[0]); i++) {
		bool is_base = i == sizeof(preferred) / sizeof(preferred[0]);
		size_t at = is_base ? base : ruleset_find_chain(rs, rs->chains[base].table,
								preferred[i].chain);

		if (at == SIZE_MAX || (!is_base && at == base))
			continue;
		a.cand[a.ncand] = (struct candidate){ at, is_base ? NULL : preferred[i].why,
						      calloc(rs->chains[at].nrules + 1, sizeof(struct spot)) };
		if (!a.cand[a.ncand].spots)
			goto done;
		a.watched[at] = true;
		a.ncand++;
	}
	for (size_t e = 0; e < r->endpoint_count; e++)
		for (unsigned dir = FOREIGN_TO_GUEST; dir <= FOREIGN_FROM_GUEST; dir <<= 1) {
			if (af && r->endpoints[e].guest.family != af)
				continue;
			a.b.needs[e] |= walk_endpoint(&a, e, dir, &guest, &pairs);
			if (a.w.oom)
				goto done;
			if (a.w.cancelled || a.w.over_budget || a.too_many_pairs) {
				result = a.w.cancelled ? PLACEMENT_CANCELLED : PLACEMENT_UNDECIDED;
				goto done;
			}
		}
	result = !(a.blocked || a.kept_ended) || fill_block(&a) ? PLACEMENT_DONE : PLACEMENT_OOM;
done:
	*spent = a.w.steps;
	for (size_t c = 0; c < a.ncand; c++)
		free(a.cand[c].spots);
	free(a.b.needs);
	free(a.watched);
	walk_free(&a.w);
	free(guest.names);
	free(a.routed);
	free(pairs.queue);
	free(pairs.seen);
	return result;
}
