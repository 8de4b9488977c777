/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure parsers of hostcheck.c: the kernel's lists of iptables-legacy tables and its
 * socket tables (/proc/net/tcp and friends, as captured from a real host).
 */
#include <stdio.h>
#include <string.h>

#include "sys/hostcheck.h"

static int failures;

static void expect(int ok, const char *what)
{
	if (!ok) {
		printf("FAIL %s\n", what);
		failures++;
	}
}

/* /proc/net/tcp with sshd on 0.0.0.0:22 (LISTEN), a connection from port 8000, and a
 * listener on 127.0.0.1:631 */
static const char TCP[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
	"   1: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n"
	"   2: 4F0200C0:1F40 0A7100CB:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1\n";
/* /proc/net/udp with dnsmasq on 192.0.2.1:53 */
static const char UDP[] =
	"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	"  1: 010200C0:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4 2 0 0\n";
/* /proc/net/tcp6 with a listener on [2001:db8::1]:443 and one on [::1]:25 */
static const char TCP6[] =
	"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0 100 0 0 10 0\n"
	"   1: 00000000000000000000000001000000:0019 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6 1 0 100 0 0 10 0\n";

int main(void)
{
	char where[64], tables[128];

	expect(proc_net_listens(TCP, false, true, 22, where, sizeof(where)) &&
		       !strcmp(where, "0.0.0.0:22"), "sshd on 0.0.0.0:22 listens");
	expect(!proc_net_listens(TCP, false, true, 631, where, sizeof(where)),
	       "a loopback-only listener does not count");
	expect(!proc_net_listens(TCP, false, true, 8000, where, sizeof(where)),
	       "an established connection is no listener");
	expect(proc_net_listens(UDP, false, false, 53, where, sizeof(where)) &&
		       !strcmp(where, "192.0.2.1:53"), "dnsmasq on 192.0.2.1:53 (udp)");
	expect(!proc_net_listens(UDP, false, false, 5353, where, sizeof(where)), "no udp 5353");
	expect(proc_net_listens(TCP6, true, true, 443, where, sizeof(where)) &&
		       !strcmp(where, "[2001:db8::1]:443"), "an IPv6 listener, its address decoded");
	expect(!proc_net_listens(TCP6, true, true, 25, where, sizeof(where)), "[::1]:25 is loopback");
	expect(legacy_tables_text("filter\nnat\n", "filter\n", tables, sizeof(tables)) &&
		       !strcmp(tables, "ip filter, ip nat, ip6 filter"), "legacy tables listed");
	expect(!legacy_tables_text("", NULL, tables, sizeof(tables)), "no legacy table");
	printf("%s: %d failure%s\n", failures ? "FAIL" : "PASS", failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
