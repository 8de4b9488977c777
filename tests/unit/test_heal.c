/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The watcher's heal policy with a clock the test turns: when a burst is looked at, which
 * heals are contested, when the watcher backs off and by how much, and what ends it.
 */
#include <string.h>

#include "engine/heal.h"
#include "expect.h"

/* A watcher that healed our table at `t` (ms), with no fight going on. */
static struct heal_policy healed_at(long long t)
{
	struct heal_policy p = { .last_heal_ms = t };

	strcpy(p.healed_where, "inet portfwd, ip filter LIBVIRT_FWI");
	return p;
}

static struct change_batch touching(const char *touched)
{
	struct change_batch b = { .changed = true, .commits = 1 };

	strcpy(b.touched, touched);
	return b;
}

static void test_burst_settles_after_quiet(void)
{
	struct heal_policy p = healed_at(0);

	EXPECT(heal_wait(&p, 10000, false) == HEAL_SYSCTL_CHECK_S * 1000,
	       "nothing pending: the sysctl period");
	heal_change(&p, 10000);
	EXPECT(heal_wait(&p, 10000, false) == HEAL_QUIET_MS, "one change: the quiet time");
	heal_change(&p, 10150);
	EXPECT(heal_wait(&p, 10150, false) == HEAL_QUIET_MS, "another change restarts the quiet time");
	EXPECT(heal_wait(&p, 10349, false) == 1, "one ms before the quiet time is up");
	EXPECT(heal_wait(&p, 10350, false) == 0, "settled");
}

static void test_burst_never_waits_past_max(void)
{
	struct heal_policy p = healed_at(0);
	long long t;

	for (t = 20000; t < 20000 + 2 * HEAL_MAX_WAIT_MS; t += 100) {
		heal_change(&p, t);
		if (heal_wait(&p, t, false) == 0)
			break;
	}
	EXPECT(t == 20000 + HEAL_MAX_WAIT_MS, "changes every 100 ms are looked at after %d ms, not "
	       "%lld", HEAL_MAX_WAIT_MS, t - 20000);
}

static void test_answer_recognised(void)
{
	struct heal_policy p = healed_at(0);
	struct change_batch ours = touching("ip filter LIBVIRT_FWI"), other = touching("ip nat DOCKER");
	struct change_batch lost = { .changed = true, .overflow = true };

	EXPECT(heal_answers(&p, &ours), "a change of a chain our heal wrote answers it");
	EXPECT(!heal_answers(&p, &other), "a change elsewhere does not");
	EXPECT(heal_answers(&p, &lost), "lost notifications may have");
}

/* A program that undoes each heal within 50 ms. Returns the verdict of the last heal. */
static enum heal_verdict fight(struct heal_policy *p, long long *t, int heals)
{
	enum heal_verdict v = HEAL_CALM;

	for (int i = 0; i < heals; i++) {
		bool contested;

		*t += 50;
		heal_change(p, *t);
		while (heal_wait(p, *t, true) > 0)
			*t += heal_wait(p, *t, true);
		contested = heal_begin(p, *t, true);
		*t += 5;
		v = heal_done(p, *t, contested);
	}
	return v;
}

static void test_fight_backs_off_doubling_to_max(void)
{
	struct heal_policy p = healed_at(1000);
	long long t = 1000, before;

	EXPECT(fight(&p, &t, HEAL_FIGHT_HEALS - 1) == HEAL_CONTESTED,
	       "%d answered heals are not a fight yet", HEAL_FIGHT_HEALS - 1);
	EXPECT(p.contested == HEAL_FIGHT_HEALS - 1, "counted %u", p.contested);
	EXPECT(fight(&p, &t, 1) == HEAL_BACK_OFF, "the %dth is", HEAL_FIGHT_HEALS);
	EXPECT(p.backing_off && p.backoff_ms == HEAL_BACKOFF_FIRST_S * 1000,
	       "the first back-off is %d s, not %lld ms", HEAL_BACKOFF_FIRST_S, p.backoff_ms);
	before = t;
	fight(&p, &t, 1);
	EXPECT(t - before >= HEAL_BACKOFF_FIRST_S * 1000, "the next answer waited the back-off "
	       "(%lld ms)", t - before);
	EXPECT(p.backoff_ms == 2 * HEAL_BACKOFF_FIRST_S * 1000, "then doubles: %lld", p.backoff_ms);
	fight(&p, &t, 10);
	EXPECT(p.backoff_ms == HEAL_BACKOFF_MAX_S * 1000, "up to %d s: %lld ms", HEAL_BACKOFF_MAX_S,
	       p.backoff_ms);
}

static void test_backoff_holds_only_answers(void)
{
	struct heal_policy p = healed_at(1000);
	long long t = 1000;

	fight(&p, &t, HEAL_FIGHT_HEALS);
	heal_change(&p, t + 10);
	EXPECT(heal_wait(&p, t + 10, true) > HEAL_QUIET_MS, "an answer waits out the back-off");
	EXPECT(heal_wait(&p, t + 10, false) == HEAL_QUIET_MS, "another change heals as usual");
}

static void test_late_burst_ends_fight(void)
{
	struct heal_policy p = healed_at(1000);
	long long t = 1000;

	fight(&p, &t, HEAL_FIGHT_HEALS);
	EXPECT(p.backing_off, "backing off");
	EXPECT(heal_change(&p, t + p.backoff_ms + HEAL_ANSWER_MS), "a burst long after is no answer: "
	       "the back-off ends");
	EXPECT(!p.backing_off && !p.contested && !p.backoff_ms, "and the count starts afresh");
}

static void test_host_events_never_fight(void)
{
	struct heal_policy p = healed_at(0);
	long long t = 0;

	/* a service restart every 500 ms that touches our chain: each heal answered late */
	for (int i = 0; i < 3 * HEAL_FIGHT_HEALS; i++) {
		bool contested;

		t += HEAL_ANSWER_MS + 100;
		heal_change(&p, t);
		t += HEAL_QUIET_MS;
		contested = heal_begin(&p, t, true);
		EXPECT(heal_done(&p, t, contested) == HEAL_CALM, "heal %d is calm", i);
	}
	EXPECT(!p.backing_off, "no back-off");
}

static void test_uncontested_heal_calms(void)
{
	struct heal_policy p = healed_at(1000);
	struct change_batch elsewhere = touching("ip nat DOCKER");
	long long t = 1000;

	fight(&p, &t, HEAL_FIGHT_HEALS);
	EXPECT(p.backing_off, "backing off");
	EXPECT(!heal_change(&p, t + 10), "a change right after the heal does not end it yet");
	EXPECT(!heal_begin(&p, t + 10 + HEAL_QUIET_MS, heal_answers(&p, &elsewhere)),
	       "a change elsewhere is not contested");
	EXPECT(heal_done(&p, t + 20 + HEAL_QUIET_MS, false) == HEAL_CALM,
	       "the heal it brings is calm");
	EXPECT(!p.backing_off && !p.contested && !p.backoff_ms && !p.not_before_ms,
	       "and ends the back-off");
}

static void test_burst_still_going_is_contested(void)
{
	struct heal_policy p = healed_at(0);
	long long t;

	/* long after the last heal, but the answering changes never stop: looked at after
	 * HEAL_MAX_WAIT_MS with the last change just before */
	for (t = 5000; heal_wait(&p, t, true) > 0 || !p.pending; t += 100)
		heal_change(&p, t);
	EXPECT(heal_begin(&p, t, true), "a heal into changes that go on is contested");
}

static void test_sysctl_off_looks_at_once(void)
{
	struct heal_policy p = healed_at(0);

	heal_sysctl_off(&p, 5000);
	EXPECT(p.pending && p.first_ms == 5000 && p.last_ms == 5000, "pending from now (%lld, %lld)",
	       p.first_ms, p.last_ms);
	EXPECT(!heal_begin(&p, 5000, false), "not contested");
	EXPECT(!p.pending, "looked at");
}

int main(void)
{
	test_burst_settles_after_quiet();
	test_burst_never_waits_past_max();
	test_answer_recognised();
	test_fight_backs_off_doubling_to_max();
	test_backoff_holds_only_answers();
	test_late_burst_ends_fight();
	test_host_events_never_fight();
	test_uncontested_heal_calms();
	test_burst_still_going_is_contested();
	test_sysctl_off_looks_at_once();
	return expect_summary("heal");
}
