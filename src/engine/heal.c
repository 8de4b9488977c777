/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "engine/heal.h"

/* No fight (any more): heal as soon as a burst settles. True when a back-off ended. */
static bool calm(struct heal_policy *p)
{
	bool was = p->backing_off;

	p->contested = 0;
	p->backoff_ms = 0;
	p->not_before_ms = 0;
	p->backing_off = false;
	return was;
}

bool heal_change(struct heal_policy *p, long long now)
{
	bool ended = false;

	if (!p->pending) {
		p->pending = true;
		p->first_ms = now;
		/* long after our last heal: no answer to it */
		if (p->first_ms - p->last_heal_ms >= HEAL_ANSWER_MS)
			ended = calm(p);
	}
	p->last_ms = now;
	return ended;
}

void heal_sysctl_off(struct heal_policy *p, long long now)
{
	p->pending = true;
	p->first_ms = p->last_ms = now;
}

bool heal_answers(const struct heal_policy *p, const struct change_batch *b)
{
	const char *item = p->healed_where;

	if (b->overflow)
		return true;
	while (*item) {
		size_t n = strcspn(item, ",");
		char one[300];

		snprintf(one, sizeof(one), "%.*s", (int)n, item);
		if (strstr(b->touched, one))
			return true;
		item += n;
		item += strspn(item, ", ");
	}
	return false;
}

long long heal_wait(const struct heal_policy *p, long long now, bool answers)
{
	long long due;

	if (!p->pending)
		return HEAL_SYSCTL_CHECK_S * 1000LL;
	due = p->last_ms + HEAL_QUIET_MS < p->first_ms + HEAL_MAX_WAIT_MS
		      ? p->last_ms + HEAL_QUIET_MS
		      : p->first_ms + HEAL_MAX_WAIT_MS;
	if (due < p->not_before_ms && answers)
		due = p->not_before_ms;
	return due <= now ? 0 : due - now;
}

bool heal_begin(struct heal_policy *p, long long now, bool answers)
{
	p->pending = false;
	return answers && (now - p->last_ms < HEAL_QUIET_MS ||
			   p->first_ms - p->last_heal_ms < HEAL_ANSWER_MS);
}

enum heal_verdict heal_done(struct heal_policy *p, long long now, bool contested)
{
	p->last_heal_ms = now;
	p->contested = contested ? p->contested + 1 : 0;
	if (p->contested >= HEAL_FIGHT_HEALS) {
		p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : HEAL_BACKOFF_FIRST_S * 1000LL;
		if (p->backoff_ms > HEAL_BACKOFF_MAX_S * 1000LL)
			p->backoff_ms = HEAL_BACKOFF_MAX_S * 1000LL;
		p->not_before_ms = now + p->backoff_ms;
		p->backing_off = true;
		return HEAL_BACK_OFF;
	}
	if (p->contested)
		return HEAL_CONTESTED;
	calm(p);
	return HEAL_CALM;
}
