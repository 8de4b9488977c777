/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Forwards to a libvirt domain by name: the config syntax and its errors, resolution with
 * a resolver of the test's own (found, waiting, unknown, two domains on one address), what
 * render and a config line say of them, and the reading of libvirt's domain and network
 * XML. The real libvirtd and a real guest are tests/system/real_vm.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/describe.h"
#include "config/resolve.h"
#include "config/validate.h"
#include "sys/libvirt.h"
#include "table/render.h"
#include "expect.h"

/* A world of domains: name -> address, or waiting, or unknown. */
struct domain_row {
	const char *name, *addr, *why; /* addr NULL and why: waiting; both NULL: unknown */
};

static const struct domain_row domains[] = {
	{ "web", "192.0.2.79", NULL },
	{ "db", "192.0.2.80", NULL },
	{ "stale", "192.0.2.79", NULL }, /* a lease web has too */
	{ "off", NULL, "domain off is not running (virsh start off)" },
	{ "v6", "2001:db8::79", NULL },
};

/* libvirt away for a moment: every lookup unsure */
static bool unsure;

static void lookup(void *ctx, const struct forward *f, struct vm_answer *a)
{
	unsigned *calls = ctx;

	(*calls)++;
	if (unsure) {
		*a = (struct vm_answer){ .found = VM_UNSURE, .why = "cannot connect to test:///" };
		return;
	}
	*a = (struct vm_answer){ .found = VM_UNKNOWN };
	strcpy(a->why, "is no domain of test:///");
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		if (strcmp(domains[i].name, f->vm.domain))
			continue;
		a->found = domains[i].addr ? VM_FOUND : VM_WAITING;
		if (domains[i].addr) {
			parse_addr(domains[i].addr, &a->addr);
			a->source = GUEST_LEASE;
		} else {
			snprintf(a->why, sizeof(a->why), "%s", domains[i].why);
		}
	}
}

static bool parse(struct model *m, const char *text, struct error *err)
{
	*m = (struct model){ 0 };
	return config_parse(m, text, strlen(text), "test.conf", err) && check_model(m, err);
}

static void test_syntax(void)
{
	struct model m;
	struct error err = { "" };
	char *line;

	EXPECT(parse(&m, "forward tcp 2222 to vm web:22 network default name ssh from 198.51.100.0/24\n",
		     &err), "parsed: %s", err.msg);
	EXPECT(m.forward_count == 1 && !strcmp(m.forwards[0].vm.domain, "web") &&
	       !strcmp(m.forwards[0].vm.network, "default") && m.forwards[0].guest_port == 22 &&
	       m.forwards[0].guest.family == AF_INET && m.forwards[0].source == GUEST_UNRESOLVED,
	       "domain, network, port, family, unresolved");
	line = forward_text(&m, &m.forwards[0], AS_CONFIG);
	EXPECT(line && !strcmp(line, "forward tcp 2222 to vm web:22 network default from "
				     "198.51.100.0/24 name ssh"), "as a config line: %s", line);
	free(line);
	model_free(&m);

	EXPECT(parse(&m, "host-ip = 2001:db8::1\nforward udp 53 to vm dns mac 52:54:00:AB:00:01 ipv6\n",
		     &err), "parsed: %s", err.msg);
	EXPECT(m.forward_count == 1 && m.forwards[0].vm.by_mac && m.forwards[0].vm.mac[3] == 0xab &&
	       m.forwards[0].guest.family == AF_INET6 && m.forwards[0].guest_port == 53,
	       "mac, IPv6, the host port as guest port");
	line = forward_text(&m, &m.forwards[0], AS_CONFIG);
	EXPECT(line && !strcmp(line, "forward udp 53 to vm dns:53 mac 52:54:00:ab:00:01 ipv6"),
	       "as a config line: %s", line);
	free(line);
	model_free(&m);
}

static void test_syntax_errors(void)
{
	static const struct {
		const char *config, *error;
	} cases[] = {
		{ "forward tcp 22 to vm\n", "test.conf:1: forward: the domain's name is missing after "
					    "'to vm', as in 'forward tcp 2222 to vm web:22'" },
		{ "forward tcp 22 to vm we/b\n", "test.conf:1: forward vm: 'we/b' may hold only "
						 "letters, digits, '-', '_', '.' and '+'" },
		{ "forward tcp 22 to vm web:0\n", "test.conf:1: forward guest port: '0'" },
		{ "forward tcp 22 to vm web mac 52:54:00\n", "test.conf:1: forward mac: '52:54:00' is "
							     "not a MAC address" },
		{ "forward tcp 22 to vm web network a mac 52:54:00:00:00:01\n",
		  "test.conf:1: forward mac: '52:54:00:00:00:01' and a network both pick the interface" },
		{ "forward tcp 22 to 192.0.2.9 ipv6\n", "test.conf:1: forward vm: 'ipv6' picks an "
							"interface of a libvirt domain" },
		{ "forward tcp 22 to vm web network\n", "test.conf:1: forward network: the value is "
							"missing" },
		{ "libvirt-uri = not a uri\n", "test.conf:1: libvirt-uri: 'not a uri' is not a libvirt URI" },
		{ "host-ip = 203.0.113.1\nforward tcp 22 to vm web ipv6\n",
		  "test.conf:2: forward: the guest address is IPv6 but" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct model m;
		struct error err = { "" };
		bool ok = parse(&m, cases[i].config, &err);

		EXPECT(!ok && !strncmp(err.msg, cases[i].error, strlen(cases[i].error)),
		       "%s: got '%s'", cases[i].config, ok ? "accepted" : err.msg);
		model_free(&m);
	}
}

static void test_resolution(void)
{
	struct model m;
	struct error err = { "" };
	unsigned calls = 0;
	struct vm_resolver r = { &calls, lookup };
	char *text;

	EXPECT(parse(&m, "host-ip = 203.0.113.1\n"
			 "forward tcp 8000 to 192.0.2.50:80\n"
			 "forward tcp 2222 to vm web:22 name ssh-web\n"
			 "forward tcp 2223 to vm off:22\n"
			 "forward tcp 2224 to vm stale:22\n"
			 "forward tcp 2225 to vm db:22\n", &err), "parsed: %s", err.msg);
	EXPECT(model_resolve_vms(&m, &r, RESOLVE_STRICT, &err), "resolved: %s", err.msg);
	EXPECT(calls == 4, "one lookup per vm forward (%u)", calls);
	EXPECT(m.forward_count == 3 && m.waiting_count == 2, "3 forwards, 2 waiting (%zu, %zu)",
	       m.forward_count, m.waiting_count);
	EXPECT(m.forwards[1].source == GUEST_LEASE && m.forwards[1].guest.v4.s_addr ==
	       htonl(0xc000024f), "web at 192.0.2.79 from its lease");
	EXPECT(m.waiting_count == 2 && !strcmp(m.waiting[0].f.vm.domain, "off") &&
	       strstr(m.waiting[0].why, "not running"), "off waits: %s",
	       m.waiting_count ? m.waiting[0].why : "");
	EXPECT(m.waiting_count == 2 && !strcmp(m.waiting[1].f.vm.domain, "stale") &&
	       strstr(m.waiting[1].why, "is also domain web's (test.conf:3)"),
	       "two domains on one address: the later waits, naming the other: %s",
	       m.waiting_count == 2 ? m.waiting[1].why : "");
	text = render_ruleset_text(&m);
	EXPECT(text && strstr(text, "# Guests named by libvirt domain (qemu:///system), as found now:\n"
				    "#   tcp 2222 -> vm web:22 at 192.0.2.79 (DHCP lease)\n"
				    "#   tcp 2225 -> vm db:22 at 192.0.2.80 (DHCP lease)\n"
				    "#   tcp 2223 -> vm off:22: waiting: domain off is not running"),
	       "render says where each goes:\n%s", text ? text : "");
	EXPECT(text && strstr(text, "tcp . 2222 comment \"ssh-web\" : 192.0.2.79 . 22,") &&
	       !strstr(text, "tcp . 2223"), "the found one is mapped, the waiting one is not");
	free(text);

	/* again, as the watcher does: the waiting ones come back in order, families kept */
	EXPECT(model_unresolve_vms(&m), "unresolved");
	EXPECT(m.forward_count == 5 && m.waiting_count == 0 && m.forwards[2].order == 2 &&
	       !strcmp(m.forwards[2].vm.domain, "off") && m.forwards[2].guest.family == AF_INET &&
	       m.forwards[2].source == GUEST_UNRESOLVED && m.forwards[1].source == GUEST_UNRESOLVED,
	       "all five back in the config's order, unresolved, IPv4");
	EXPECT(model_resolve_vms(&m, &r, RESOLVE_STRICT, &err) && m.forward_count == 3 &&
	       m.waiting_count == 2 && m.waiting[0].f.guest.family == AF_INET,
	       "resolved again alike: %s", err.msg);

	/* libvirt away: the watcher keeps what it knew; without that, unsure means waiting */
	unsure = true;
	EXPECT(model_unresolve_vms(&m) &&
	       model_resolve_vms(&m, &r, RESOLVE_UNKNOWN_WAITS | RESOLVE_KEEP_LAST, &err) &&
	       m.forward_count == 3 && m.forwards[1].source == GUEST_LEASE &&
	       m.forwards[1].guest.v4.s_addr == htonl(0xc000024f) && m.waiting_count == 2,
	       "web keeps 192.0.2.79, the two waiting still wait (%zu, %zu)", m.forward_count,
	       m.waiting_count);
	EXPECT(model_unresolve_vms(&m) && model_resolve_vms(&m, &r, RESOLVE_STRICT, &err) &&
	       m.forward_count == 1 && m.waiting_count == 4 &&
	       !strcmp(m.waiting[0].why, "cannot connect to test:///"),
	       "strict: every vm forward waits, saying why (%zu)", m.waiting_count);
	unsure = false;
	model_free(&m);

	EXPECT(parse(&m, "forward tcp 2222 to vm nosuch:22\n", &err), "parsed");
	EXPECT(!model_resolve_vms(&m, &r, RESOLVE_STRICT, &err) &&
	       !strcmp(err.msg, "test.conf:1: forward vm: 'nosuch' is no domain of test:///"),
	       "an unknown domain is an error naming it: %s", err.msg);
	model_free(&m);
	EXPECT(parse(&m, "forward tcp 2222 to vm nosuch:22\n", &err), "parsed");
	EXPECT(model_resolve_vms(&m, &r, RESOLVE_UNKNOWN_WAITS, &err) && m.waiting_count == 1 &&
	       !strcmp(m.waiting[0].why, "domain nosuch is no domain of test:///"),
	       "for the watcher, it waits: %s", m.waiting_count ? m.waiting[0].why : err.msg);
	model_free(&m);
}

static void test_domain_xml(void)
{
#ifndef HAVE_LIBVIRT
	printf("domain XML: not tested, built without libvirt\n");
	return;
#endif
	static const char domain[] =
		"<domain type='qemu'><name>web</name><devices>"
		"<interface type='network'><mac address='52:54:00:00:00:79'/>"
		"<source network='default' bridge='virbr0'/><model type='e1000'/></interface>"
		"<interface type='bridge'><mac address='52:54:00:00:01:79'/>"
		"<source bridge='br0'/></interface>"
		"<interface type='network'><source network='lab'/></interface>" /* no MAC: skipped */
		"</devices></domain>";
	static const char network[] =
		"<network><name>default</name><ip address='192.0.2.1' netmask='255.255.255.0'><dhcp>"
		"<range start='192.0.2.100' end='192.0.2.200'/>"
		"<host mac='52:54:00:00:00:79' name='web' ip='192.0.2.79'/></dhcp></ip>"
		"<ip family='ipv6' address='2001:db8::1' prefix='64'><dhcp>"
		"<host name='web' ip='2001:db8::79'/></dhcp></ip></network>";
	struct vm_interface ifaces[4];
	uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0x79 }, other[6] = { 0x52, 0x54, 0, 0, 0, 0x80 };
	struct addr addr;
	char text[64];
	size_t n = libvirt_domain_interfaces(domain, ifaces, 4);

	EXPECT(n == 2 && !strcmp(ifaces[0].network, "default") && ifaces[0].mac[5] == 0x79 &&
	       !ifaces[1].network[0] && ifaces[1].mac[4] == 1, "two interfaces with MACs (%zu)", n);
	EXPECT(libvirt_domain_interfaces("<domain><devices", ifaces, 4) == 0, "bad XML: none");
	EXPECT(libvirt_static_host(network, mac, "web", AF_INET, &addr) &&
	       !strcmp(addr_text(&addr, text), "192.0.2.79"), "the static host by MAC");
	EXPECT(!libvirt_static_host(network, other, "db", AF_INET, &addr), "no host for another MAC");
	EXPECT(libvirt_static_host(network, mac, "web", AF_INET6, &addr) &&
	       !strcmp(addr_text(&addr, text), "2001:db8::79"), "IPv6: the host by name");
}

int main(void)
{
	test_syntax();
	test_syntax_errors();
	test_resolution();
	test_domain_xml();
	return expect_summary("resolve");
}
