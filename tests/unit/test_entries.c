/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Expansion of forwards into map entries, and which entries a new config makes stale. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/entries.h"
#include "config/validate.h"
#include "expect.h"

static void load(const char *text, struct model *m, struct entry_list *entries)
{
	struct error err = { "" };

	*m = (struct model){ 0 };
	if (!config_parse(m, text, strlen(text), "test.conf", &err) || !check_model(m, &err))
		printf("FAIL: config rejected: %s\n", err.msg), failures++;
	if (!entries_from_model(m, entries))
		printf("FAIL: out of memory\n"), failures++;
}

static void test_expansion(void)
{
	struct model m;
	struct entry_list e;

	load("forward tcp,udp 7000-7002 to 192.0.2.79:9000-9002\n"
	     "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24, 2001:db8:9::/48, 203.0.113.7\n"
	     "forward tcp 80 to 192.0.2.80 keep-source\n",
	     &m, &e);
	/* 2 protocols x 3 ports, then 2 IPv4 networks (the IPv6 one cannot reach an IPv4 guest),
	 * then one */
	EXPECT(e.count == 6 + 2 + 1, "%zu entries", e.count);
	if (e.count == 9) {
		EXPECT(e.items[0].proto == PROTO_TCP && e.items[0].host_port == 7000 &&
			       e.items[0].guest_port == 9000, "first of the range");
		EXPECT(e.items[2].host_port == 7002 && e.items[2].guest_port == 9002, "last of the range");
		EXPECT(e.items[3].proto == PROTO_UDP && e.items[5].guest_port == 9002, "udp half");
		EXPECT(e.items[6].source && e.items[6].source->len == 24, "allowlist network");
		EXPECT(e.items[7].source && e.items[7].source->len == 32, "single address");
		EXPECT(e.items[8].keep_source && !e.items[0].keep_source, "keep-source");
		EXPECT(e.items[8].forward == 2, "forward index %zu", e.items[8].forward);
	}
	entries_free(&e);
	model_free(&m);

	load("masquerade = no\nforward udp 53 to 192.0.2.53\n", &m, &e);
	EXPECT(e.count == 1 && e.items[0].keep_source, "masquerade = no keeps every source");
	entries_free(&e);
	model_free(&m);
}

static void test_stale(void)
{
	struct model before_m, after_m;
	struct entry_list before, after, stale;

	load("forward udp 5000 to 192.0.2.79\n"
	     "forward tcp 80 to 192.0.2.79\n"
	     "forward tcp 443 to 192.0.2.79\n"
	     "forward tcp 22 to 192.0.2.79 from 198.51.100.0/24, 203.0.113.0/24\n",
	     &before_m, &before);
	load("forward udp 5000 to 192.0.2.80\n"        /* another guest: stale */
	     "forward tcp 80 to 192.0.2.79:8080\n"     /* another port: stale */
	     "forward tcp 443 to 192.0.2.79\n"         /* the same: kept */
	     "forward tcp 22 to 192.0.2.79 from 198.51.100.0/24\n", /* one network gone */
	     &after_m, &after);
	EXPECT(entries_stale(&before, &after, &stale), "out of memory");
	EXPECT(stale.count == 3, "%zu stale", stale.count);
	if (stale.count == 3) {
		/* sorted by key: tcp 22 (203.0.113.0/24), tcp 80, udp 5000 */
		EXPECT(stale.items[0].host_port == 22 && stale.items[0].source &&
			       stale.items[0].source->addr.v4.s_addr == htonl(0xcb007100), "tcp 22");
		EXPECT(stale.items[1].host_port == 80 && stale.items[1].guest_port == 80, "tcp 80");
		EXPECT(stale.items[2].proto == PROTO_UDP, "udp 5000");
	}
	entries_free(&stale);
	EXPECT(entries_stale(&before, &before, &stale) && stale.count == 0, "no change, no stale");
	entries_free(&stale);
	entries_free(&before);
	entries_free(&after);
	model_free(&before_m);
	model_free(&after_m);
}

int main(void)
{
	test_expansion();
	test_stale();
	return expect_summary("entries");
}
