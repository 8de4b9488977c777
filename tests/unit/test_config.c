/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parser and validation: every bad input gets its exact message (file, line, field, what
 * would be valid); good inputs give the model they describe. No privileges needed.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "cli/options.h"
#include "config/validate.h"
#include "sys/state.h"

static int failures;

static void expect(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void expect(bool ok, const char *name, const char *fmt, ...)
{
	if (ok)
		return;
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL %s: ", name);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}

/* Parse and validate `text` as "test.conf"; the error message, or "" when valid. */
static const char *parse(const char *text, struct model *m, struct error *err)
{
	*m = (struct model){ 0 };
	err->msg[0] = '\0';
	if (config_parse(m, text, strlen(text), "test.conf", err))
		check_model(m, err);
	return err->msg;
}

struct bad_case {
	const char *name, *text, *message;
};

static const struct bad_case bad_cases[] = {
	{ "address not an address", "forward tcp 80 to 300.1.1.1:80\n",
	  "test.conf:1: forward guest address: '300.1.1.1' is not an IP address; expected an IPv4 "
	  "or IPv6 literal such as 192.0.2.10 or 2001:db8::10 (names are not looked up)" },
	{ "address a host name", "forward tcp 80 to localhost\n",
	  "test.conf:1: forward guest address: 'localhost' is not an IP address; expected an IPv4 "
	  "or IPv6 literal such as 192.0.2.10 or 2001:db8::10 (names are not looked up)" },
	{ "guest loopback", "forward tcp 80 to 127.0.0.1\n",
	  "test.conf:1: forward guest address: '127.0.0.1' is a loopback address: the kernel never "
	  "routes packets with a loopback address off the host, so no forward through it can work" },
	{ "guest multicast", "forward udp 80 to 224.0.0.1\n",
	  "test.conf:1: forward guest address: '224.0.0.1' is a multicast address; a forward needs "
	  "one unicast address" },
	{ "guest IPv4-mapped", "forward tcp 80 to [::ffff:198.18.0.10]\n",
	  "test.conf:1: forward guest address: '::ffff:198.18.0.10' is an IPv4-mapped IPv6 address, "
	  "which no packet on the wire carries; write the IPv4 address itself" },
	{ "guest link-local", "forward tcp 80 to [fe80::1]\n",
	  "test.conf:1: forward guest address: 'fe80::1' is a link-local address, which means "
	  "something only together with an interface that a forward cannot name; use the guest's "
	  "global or unique local address" },
	{ "guest in 0.0.0.0/8", "forward tcp 80 to 0.1.2.3\n",
	  "test.conf:1: forward guest address: '0.1.2.3' is in 0.0.0.0/8, which only ever stands "
	  "for this host as a source and is never routed to" },
	{ "guest broadcast", "forward tcp 80 to 255.255.255.255\n",
	  "test.conf:1: forward guest address: '255.255.255.255' is the broadcast address; a "
	  "forward needs one unicast address" },
	{ "guest unspecified IPv6", "forward tcp 80 to [::]\n",
	  "test.conf:1: forward guest address: '::' is the unspecified address; a forward needs one "
	  "unicast address" },
	{ "host-ip loopback", "host-ip = 127.0.0.1\nforward tcp 80 to 192.0.2.10\n",
	  "test.conf:1: host-ip: '127.0.0.1' is a loopback address: the kernel never routes packets "
	  "with a loopback address off the host, so no forward through it can work" },
	{ "public-ip IPv4-mapped", "public-ip = ::ffff:203.0.113.9\nforward tcp 80 to 192.0.2.10\n",
	  "test.conf:1: public-ip: '::ffff:203.0.113.9' is an IPv4-mapped IPv6 address, which no "
	  "packet on the wire carries; write the IPv4 address itself" },
	{ "from loopback", "forward tcp 80 to 192.0.2.10 from 127.0.0.0/8\n",
	  "test.conf:1: forward from: '127.0.0.0/8' is a loopback address: the kernel never routes "
	  "packets with a loopback address off the host, so no forward through it can work" },
	{ "from multicast", "forward tcp 80 to 192.0.2.10 from 198.51.100.0/24, 239.0.0.0/8\n",
	  "test.conf:1: forward from: '239.0.0.0/8' is a multicast address; a forward needs one "
	  "unicast address" },
	{ "host-iface wildcard", "host-iface = *\nforward tcp 80 to 192.0.2.10\n",
	  "test.conf:1: host-iface: '*' contains '*', which nft reads as a wildcard (\"eth*\" matches "
	  "every interface whose name starts with eth, \"*\" all of them); name one interface" },
	{ "host-iface prefix wildcard", "host-iface = vnet*\nforward tcp 80 to 192.0.2.10\n",
	  "test.conf:1: host-iface: 'vnet*' contains '*', which nft reads as a wildcard (\"eth*\" "
	  "matches every interface whose name starts with eth, \"*\" all of them); name one "
	  "interface" },
	{ "ipv6 without brackets", "forward tcp 80 to 2001:db8::1:80\n",
	  "test.conf:1: forward guest address: '2001:db8::1:80' looks like an IPv6 address without "
	  "brackets; write it as [2001:db8::10] or [2001:db8::10]:80" },
	{ "unclosed bracket", "forward tcp 80 to [2001:db8::1\n",
	  "test.conf:1: forward guest address: '[2001:db8::1' expected ADDRESS, ADDRESS:PORT or "
	  "[IPv6-ADDRESS]:PORT, as in 192.0.2.10:80 or [2001:db8::10]:80" },
	{ "host-ip bad", "host-ip = 192.0.2.300\n",
	  "test.conf:1: host-ip: '192.0.2.300' is not an IP address; expected an IPv4 or IPv6 "
	  "literal such as 192.0.2.10 or 2001:db8::10 (names are not looked up)" },
	{ "host-ip unspecified", "host-ip = 0.0.0.0\n",
	  "test.conf:1: host-ip: '0.0.0.0' is the unspecified address; leave the setting out to "
	  "match any local address" },
	{ "host-ip twice in list", "host-ip = 192.0.2.1, 192.0.2.1\n",
	  "test.conf:1: host-ip: '192.0.2.1' is listed twice" },
	{ "host-ip empty item", "host-ip = 192.0.2.1,,192.0.2.2\n",
	  "test.conf:1: host-ip: an empty item in the list; separate addresses with single commas" },
	{ "public-ip bad", "\npublic-ip = example.com\n",
	  "test.conf:2: public-ip: 'example.com' is not an IP address; expected an IPv4 or IPv6 "
	  "literal such as 192.0.2.10 or 2001:db8::10 (names are not looked up)" },
	{ "port zero", "forward tcp 0 to 192.0.2.10\n",
	  "test.conf:1: forward host port: '0' is out of range; expected a number from 1 to 65535" },
	{ "port too big", "forward tcp 65536 to 192.0.2.10\n",
	  "test.conf:1: forward host port: '65536' is out of range; expected a number from 1 to "
	  "65535" },
	{ "port not a number", "forward tcp http to 192.0.2.10\n",
	  "test.conf:1: forward host port: 'http' is not a port; expected a number from 1 to 65535" },
	{ "port negative", "forward tcp -1 to 192.0.2.10\n",
	  "test.conf:1: forward host port: '-1' is not a port or port range; expected PORT or "
	  "FIRST-LAST, as in 7000-7009" },
	{ "guest port bad", "forward tcp 80 to 192.0.2.10:99999\n",
	  "test.conf:1: forward guest port: '99999' is out of range; expected a number from 1 to "
	  "65535" },
	{ "guest port too long", "forward tcp 80 to 192.0.2.10:080808\n",
	  "test.conf:1: forward guest port: '080808' is not a port; expected a number from 1 to "
	  "65535" },
	{ "host-ip trailing comma", "host-ip = 192.0.2.1,\n",
	  "test.conf:1: host-ip: an empty item in the list; separate addresses with single commas" },
	{ "guest port empty", "forward tcp 80 to 192.0.2.10:\n",
	  "test.conf:1: forward guest port: is empty; expected a number from 1 to 65535" },
	{ "iface too long", "host-iface = abcdefghijklmnop\n",
	  "test.conf:1: host-iface: 'abcdefghijklmnop' is longer than 15 bytes, the kernel's limit "
	  "for interface names" },
	{ "iface slash", "host-iface = eth/0\n",
	  "test.conf:1: host-iface: 'eth/0' contains a character interface names cannot have "
	  "(whitespace, '/', ':', quotes, backslash, control or non-ASCII bytes)" },
	{ "iface space", "host-iface = eth 0\n",
	  "test.conf:1: host-iface: 'eth 0' contains a character interface names cannot have "
	  "(whitespace, '/', ':', quotes, backslash, control or non-ASCII bytes)" },
	{ "iface quote", "host-iface = eth\"0\n",
	  "test.conf:1: host-iface: 'eth\"0' contains a character interface names cannot have "
	  "(whitespace, '/', ':', quotes, backslash, control or non-ASCII bytes)" },
	{ "iface control", "host-iface = eth\x01\n",
	  "test.conf:1: host-iface: 'eth\x01' contains a character interface names cannot have "
	  "(whitespace, '/', ':', quotes, backslash, control or non-ASCII bytes)" },
	{ "iface dotdot", "host-iface = ..\n",
	  "test.conf:1: host-iface: '..' is not a valid interface name" },
	{ "protocol unknown", "forward icmp 80 to 192.0.2.10\n",
	  "test.conf:1: forward protocol: 'icmp' is not a protocol; expected tcp, udp or tcp,udp" },
	{ "protocol upper case", "forward TCP 80 to 192.0.2.10\n",
	  "test.conf:1: forward protocol: 'TCP' is not a protocol; expected tcp, udp or tcp,udp" },
	{ "unknown key", "# comment\nlisten-ip = 192.0.2.1\n",
	  "test.conf:2: listen-ip: unknown setting; expected public-ip, host-ip, host-iface, "
	  "masquerade, integrate, integrate-mark, routing, libvirt-uri or a 'forward' line" },
	{ "integrate bad", "integrate = yes\n",
	  "test.conf:1: integrate: 'yes' is not auto or off (auto: accept forwards in other "
	  "firewalls' chains that would drop them)" },
	{ "integrate-mark two bits", "\nintegrate-mark = 0x3\n",
	  "test.conf:2: integrate-mark: '0x3' is not one bit of the packet mark; expected a power "
	  "of two such as 0x01000000, a bit no other program on the host uses" },
	{ "integrate-mark zero", "integrate-mark = 0\n",
	  "test.conf:1: integrate-mark: '0' is not one bit of the packet mark; expected a power "
	  "of two such as 0x01000000, a bit no other program on the host uses" },
	{ "integrate-mark too big", "integrate-mark = 0x100000000\n",
	  "test.conf:1: integrate-mark: '0x100000000' is not one bit of the packet mark; expected a "
	  "power of two such as 0x01000000, a bit no other program on the host uses" },
	{ "integrate-mark word", "integrate-mark = high\n",
	  "test.conf:1: integrate-mark: 'high' is not one bit of the packet mark; expected a power "
	  "of two such as 0x01000000, a bit no other program on the host uses" },
	{ "not a setting", "forwrd tcp 80 to 192.0.2.10\n",
	  "test.conf:1: forwrd: expected 'KEY = VALUE' (public-ip, host-ip, host-iface, "
	  "masquerade, integrate, integrate-mark, routing, libvirt-uri) or "
	  "'forward PROTOCOL PORT to ADDRESS[:PORT]' or 'forward PROTOCOL PORT to vm NAME[:PORT]'" },
	{ "missing value", "host-ip =\n",
	  "test.conf:1: host-ip: the value after '=' is missing" },
	{ "missing key", "= 192.0.2.1\n",
	  "test.conf:1: setting: the key before '=' is missing; expected one of public-ip, "
	  "host-ip, host-iface, masquerade, integrate, integrate-mark, routing, libvirt-uri" },
	{ "missing to", "forward tcp 80 192.0.2.10\n",
	  "test.conf:1: forward: expected 'to' after the host port, found '192.0.2.10'; as in "
	  "'forward tcp 8080 to 192.0.2.10:80'" },
	{ "missing target", "forward tcp 80 to\n",
	  "test.conf:1: forward: the guest address is missing after 'to', as in 'forward tcp 8080 "
	  "to 192.0.2.10:80'" },
	{ "missing port", "forward tcp\n",
	  "test.conf:1: forward: the host port is missing, as in 'forward tcp 8080 to "
	  "192.0.2.10:80'" },
	{ "missing everything", "forward\n",
	  "test.conf:1: forward: the protocol is missing; expected tcp, udp or tcp,udp, as in "
	  "'forward tcp 8080 to 192.0.2.10:80'" },
	{ "trailing word", "forward tcp 80 to 192.0.2.10 extra\n",
	  "test.conf:1: forward: unexpected 'extra' after the guest address; expected 'from "
	  "NETWORKS', 'keep-source', 'name NAME', 'limit RATE[/second|minute|hour] [burst N]', "
	  "'log', or for a 'to vm' forward 'network NAME', 'mac MAC' or 'ipv6'" },
	{ "range unequal", "forward tcp 7000-7009 to 192.0.2.79:9000-9008\n",
	  "test.conf:1: forward guest port: '9000-9008' has 9 ports but the host side '7000-7009' "
	  "has 10; a range maps one to one, so give a guest range of the same length" },
	{ "range to one port", "forward tcp 7000-7009 to 192.0.2.79:9000\n",
	  "test.conf:1: forward guest port: '9000' has 1 port but the host side '7000-7009' has 10; "
	  "a range maps one to one, so give a guest range of the same length" },
	{ "range reversed", "forward udp 7009-7000 to 192.0.2.79\n",
	  "test.conf:1: forward host port: '7009-7000' is a range that ends before it starts; write "
	  "the lower port first" },
	{ "range bad end", "forward udp 7000-70000 to 192.0.2.79\n",
	  "test.conf:1: forward host port: '7000-70000' is not a port range; expected FIRST-LAST "
	  "with ports from 1 to 65535, as in 7000-7009" },
	{ "range overlaps forward", "forward tcp 7005 to 192.0.2.79\nforward tcp 7000-7009 to 192.0.2.80\n",
	  "test.conf:2: forward: tcp port 7005 is already forwarded by test.conf:1; each protocol and "
	  "host port can go to one guest, so remove one of them or pick another host port" },
	{ "from host bits", "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.1/24\n",
	  "test.conf:1: forward from: '198.51.100.1/24' has host bits set; the network is "
	  "198.51.100.0/24" },
	{ "from host bits v6", "forward tcp 2223 to [2001:db8::79]:22 from 2001:db8:9::1/48\n",
	  "test.conf:1: forward from: '2001:db8:9::1/48' has host bits set; the network is "
	  "2001:db8:9::/48" },
	{ "from bad length", "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/33\n",
	  "test.conf:1: forward from: '198.51.100.0/33' has an invalid prefix length; expected /0 "
	  "to /32" },
	{ "from not a network", "forward tcp 2223 to 192.0.2.79:22 from lan\n",
	  "test.conf:1: forward from: 'lan' is not a network; expected ADDRESS/LENGTH or ADDRESS, "
	  "as in 198.51.100.0/24 or 2001:db8::/48" },
	{ "from empty", "forward tcp 2223 to 192.0.2.79:22 from\n",
	  "test.conf:1: forward from: no network given; expected 'from 198.51.100.0/24' or a "
	  "comma-separated list" },
	{ "from missing comma", "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24 203.0.113.0/24\n",
	  "test.conf:1: forward from: '198.51.100.0/24 203.0.113.0/24' holds more than one word; "
	  "separate networks with commas, as in 'from 198.51.100.0/24, 2001:db8:9::/48'" },
	{ "from empty item", "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24,,\n",
	  "test.conf:1: forward from: an empty item in the list; separate networks with single "
	  "commas, as in 'from 198.51.100.0/24, 2001:db8:9::/48'" },
	{ "from overlap", "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24, 198.51.100.128/25\n",
	  "test.conf:1: forward from: '198.51.100.128/25' overlaps another network in the list; "
	  "list each client network once" },
	{ "from wrong family", "forward tcp 2223 to 192.0.2.79:22 from 2001:db8:9::/48\n",
	  "test.conf:1: forward from: lists no IPv4 network, so no client could reach this IPv4 "
	  "guest; add one" },
	{ "from twice", "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24 from 203.0.113.0/24\n",
	  "test.conf:1: forward: 'from' given twice; give it once" },
	{ "from without commas", "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24 203.0.113.0/24\n",
	  "test.conf:1: forward from: '198.51.100.0/24 203.0.113.0/24' holds more than one "
	  "word; separate networks with commas, as in 'from 198.51.100.0/24, 2001:db8:9::/48'" },
	{ "keep-source twice", "forward tcp 80 to 192.0.2.79 keep-source keep-source\n",
	  "test.conf:1: forward: 'keep-source' given twice; give it once" },
	{ "name missing", "forward tcp 80 to 192.0.2.79 name\n",
	  "test.conf:1: forward name: the value is missing; expected 'name NAME', as in 'name web'" },
	{ "name bad character", "forward tcp 80 to 192.0.2.79 name web/1\n",
	  "test.conf:1: forward name: 'web/1' may hold only letters, digits, '-', '_' and '.'" },
	{ "name too long", "forward tcp 80 to 192.0.2.79 name abcdefghijklmnopqrstuvwxyz0123456\n",
	  "test.conf:1: forward name: 'abcdefghijklmnopqrstuvwxyz0123456' is longer than 32 bytes; "
	  "pick a shorter name" },
	{ "name twice", "forward tcp 80 to 192.0.2.79 name web\nforward tcp 81 to 192.0.2.79 name web\n",
	  "test.conf:2: forward name: 'web' already names the forward of test.conf:1; give each "
	  "forward its own name" },
	{ "limit unit", "forward tcp 22 to 192.0.2.79 limit 5/day\n",
	  "test.conf:1: forward limit: '5/day' has an unknown unit; expected RATE/second, "
	  "RATE/minute or RATE/hour" },
	{ "limit zero", "forward tcp 22 to 192.0.2.79 limit 0/minute\n",
	  "test.conf:1: forward limit: '0/minute' is not a rate; expected a number of new "
	  "connections from 1 to 100000, optionally per second, minute or hour, as in 5/minute" },
	{ "burst without limit", "forward tcp 22 to 192.0.2.79 burst 5\n",
	  "test.conf:1: forward burst: 'burst' belongs to a limit; write 'limit RATE burst N'" },
	{ "burst bad", "forward tcp 22 to 192.0.2.79 limit 5/minute burst many\n",
	  "test.conf:1: forward burst: 'many' is not a burst; expected a number of connections "
	  "from 1 to 100000" },
	{ "keep-source disagrees", "forward tcp 80 to 192.0.2.79\nforward tcp 8080 to 192.0.2.79:80 keep-source\n",
	  "test.conf:2: forward: guest 192.0.2.79 tcp port 80 is also reached by test.conf:1, and "
	  "only one of them has keep-source; masquerading is decided per guest endpoint, so give "
	  "both the same setting" },
	{ "masquerade bad", "masquerade = off\n",
	  "test.conf:1: masquerade: 'off' is not yes or no" },
	{ "setting twice", "host-ip = 192.0.2.1\nhost-ip = 192.0.2.2\n",
	  "test.conf:2: host-ip: is already set at test.conf:1; give it once (public-ip and host-ip "
	  "take a comma-separated list)" },
	{ "duplicate forward", "forward tcp 80 to 192.0.2.10\nforward tcp 80 to 192.0.2.10\n",
	  "test.conf:2: forward: tcp port 80 is already forwarded by test.conf:1; each protocol and "
	  "host port can go to one guest, so remove one of them or pick another host port" },
	{ "conflicting forward", "forward udp 53 to 192.0.2.10\n\nforward tcp,udp 53 to 192.0.2.11\n",
	  "test.conf:3: forward: udp port 53 is already forwarded by test.conf:1; each protocol and "
	  "host port can go to one guest, so remove one of them or pick another host port" },
	{ "family mismatch", "host-ip = 192.0.2.1\nforward tcp 80 to [2001:db8::10]:80\n",
	  "test.conf:2: forward: the guest address is IPv6 but host-ip and public-ip hold only IPv4 "
	  "addresses; NAT does not translate between IPv4 and IPv6, so add an IPv6 host-ip or "
	  "forward to the guest's IPv4 address" },
	{ "brackets around IPv4", "forward tcp 80 to [192.0.2.79]:80\n",
	  "test.conf:1: forward guest address: '192.0.2.79' is in brackets, which are for IPv6 "
	  "addresses only; write an IPv4 address without them, as in 192.0.2.10:80" },
	{ "octal mark", "integrate-mark = 010\n",
	  "test.conf:1: integrate-mark: '010' has a leading zero, which would be read as octal (010 "
	  "is 8); write the bit in decimal without the zero or in hex, as in 0x01000000" },
	{ "prefix length leading zero", "forward tcp 80 to 192.0.2.79 from 198.51.100.0/024\n",
	  "test.conf:1: forward from: '198.51.100.0/024' has a leading zero in its prefix length, "
	  "which other tools read as octal; write it without the zero, as in /24" },
	{ "port leading zero", "forward tcp 080 to 192.0.2.79\n",
	  "test.conf:1: forward host port: '080' has a leading zero, which other tools read as "
	  "octal; write the port without it" },
	{ "rate leading zero", "forward tcp 22 to 192.0.2.79 limit 05/minute\n",
	  "test.conf:1: forward limit: '05/minute' is not a rate; expected a number of new "
	  "connections from 1 to 100000, optionally per second, minute or hour, as in 5/minute" },
	{ "link-local guest", "forward tcp 80 to 169.254.1.2\n",
	  "test.conf:1: forward guest address: '169.254.1.2' is a link-local address "
	  "(169.254.0.0/16), which means something only together with an interface that a forward "
	  "cannot name; use the guest's address on its network" },
	{ "reserved guest", "forward tcp 80 to 240.0.0.1\n",
	  "test.conf:1: forward guest address: '240.0.0.1' is in 240.0.0.0/4, reserved for future "
	  "use: hosts do not send to it and routers drop it" },
	{ "reserved clients", "forward tcp 80 to 192.0.2.79 from 240.0.0.0/8\n",
	  "test.conf:1: forward from: '240.0.0.0/8' is in 240.0.0.0/4, reserved for future use: "
	  "hosts do not send to it and routers drop it" },
	{ "site-local guest", "forward tcp 80 to [fec0::1]:80\n",
	  "test.conf:1: forward guest address: 'fec0::1' is a site-local address (fec0::/10), "
	  "deprecated since 2004 (RFC 3879) and ambiguous between sites; use the guest's global or "
	  "unique local address" },
	{ "limit past the kernel's timeout", "forward tcp 22 to 192.0.2.79 limit 1/hour burst 50000\n",
	  "test.conf:1: forward burst: '50000' is too large for a rate of 1 per hour: a client's "
	  "bucket would take 180000000 s (5.7 years) to fill again, longer than nftables keeps a "
	  "client's state (99999999 s, about 3 years); raise the rate or lower the burst" },
	{ "nul byte", "forward tcp 80 to 192.0.2.10\n\0\n", NULL /* length-aware case below */ },
};

static void test_bad_inputs(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct model m;
		struct error err;

		if (!c->message)
			continue;
		parse(c->text, &m, &err);
		expect(strcmp(err.msg, c->message) == 0, c->name, "\n  got:  %s\n  want: %s", err.msg,
		       c->message);
		model_free(&m);
	}
}

static void test_nul_byte(void)
{
	static const char text[] = "forward tcp 80 to 192.0.2.10\nfor\0ward\n";
	struct model m = { 0 };
	struct error err = { "" };

	expect(!config_parse(&m, text, sizeof(text) - 1, "test.conf", &err), "nul byte", "accepted");
	expect(strcmp(err.msg, "test.conf:2: line: contains a NUL byte; the config must be text") == 0,
	       "nul byte", "got: %s", err.msg);
	model_free(&m);
}

static void test_good_config(void)
{
	struct model m;
	struct error err;
	char buf[INET6_ADDRSTRLEN];
	const char *msg = parse("public-ip  = 203.0.113.7   # router\n"
				"host-ip=192.0.2.1,2001:db8::1\n"
				"host-iface = ens2f1\r\n"
				"   forward tcp 16589 to 192.0.2.79:16589\n"
				"forward udp 5000 to 192.0.2.80 # guest port defaults\n"
				"forward tcp,udp 2222 to [2001:db8:2::81]:22\n"
				"forward tcp 8080 to 192.0.2.79", /* no final newline */
				&m, &err);

	expect(*msg == '\0', "good config", "rejected: %s", msg);
	expect(m.forward_count == 4, "good config", "%zu forwards", m.forward_count);
	expect(m.public_ips.count == 1 && m.host_ips.count == 2, "good config", "address lists");
	expect(strcmp(m.host_iface, "ens2f1") == 0, "good config", "iface '%s'", m.host_iface);
	if (m.forward_count == 4) {
		expect(m.forwards[1].protos == PROTO_UDP && m.forwards[1].guest_port == 5000,
		       "guest port defaults to host port", "port %u", m.forwards[1].guest_port);
		expect(m.forwards[2].protos == (PROTO_TCP | PROTO_UDP) &&
			       m.forwards[2].guest.family == AF_INET6 && m.forwards[2].guest_port == 22,
		       "ipv6 guest", "%s", inet_ntop(AF_INET6, &m.forwards[2].guest.v6, buf, sizeof(buf)));
		expect(m.forwards[3].where.line == 7, "line numbers", "line %u", m.forwards[3].where.line);
	}
	model_free(&m);

	msg = parse("forward tcp 2222 to 192.0.2.79:22 limit 5/minute log name ssh from 198.51.100.0/24\n"
		    "forward tcp 80 to 192.0.2.79 from 198.51.100.0/24, 203.0.113.0/24 limit 20 burst 40 keep-source\n",
		    &m, &err);
	expect(*msg == '\0', "forward options", "rejected: %s", msg);
	if (m.forward_count == 2) {
		const struct forward *ssh = &m.forwards[0], *web = &m.forwards[1];

		expect(strcmp(ssh->name, "ssh") == 0 && ssh->log && ssh->sources.count == 1,
		       "name, log and from in any order", "name '%s'", ssh->name);
		expect(ssh->limit.rate == 5 && ssh->limit.seconds == 60 && ssh->limit.burst == 5,
		       "limit 5/minute: a burst of the rate", "%u/%us burst %u", ssh->limit.rate,
		       ssh->limit.seconds, ssh->limit.burst);
		expect(web->limit.rate == 20 && web->limit.seconds == 1 && web->limit.burst == 40 &&
			       web->sources.count == 2 && web->keep_source && !web->log && !web->name[0],
		       "the list after from ends at limit", "%zu sources", web->sources.count);
	}
	model_free(&m);
}

/* The flags describe one forward and override the file's settings. */
static const char *load_with_flags(char **argv, int argc, struct model *m, struct error *err)
{
	struct options opts;

	err->msg[0] = '\0';
	if (options_parse(argc, argv, &opts, err) == EXIT_OK)
		options_load_model(&opts, NULL, m, err);
	return err->msg;
}

/* An empty regular file: a config of no lines, for forwards given by flags. */
#define EMPTY "/tmp/nft-portfwd-test-empty.conf"

/*
 * 100,000 public-ip addresses with one given twice, at the far end: found and named. A
 * pairwise check takes 10^10 comparisons here (80,000 took 4 s); the sorted one, a blink.
 */
static void test_many_host_addresses(void)
{
	size_t n = 100000, size = n * 24 + 64, len = 0;
	char *text = malloc(size);
	struct model m;
	struct error err = { "" };

	len += (size_t)snprintf(text + len, size - len, "public-ip = ");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, size - len, "2001:db8::%zx:%zx, ", i >> 16, i & 0xffff);
	snprintf(text + len, size - len, "2001:db8::1:869f\nforward tcp 80 to [2001:db8:1::79]:80\n");
	parse(text, &m, &err);
	expect(!strcmp(err.msg, "test.conf:1: public-ip: '2001:db8::1:869f' is listed twice"),
	       "100,000 addresses, one twice", "'%s'", err.msg);
	model_free(&m);
	free(text);
}

static void test_flags(void)
{
	struct model m;
	struct error err;
	char *good[] = { "nft-portfwd", "render", "--config", EMPTY, "--host-port", "8080",
			 "--vm-ip", "192.0.2.10", "--vm-port", "80", "--proto", "tcp,udp",
			 "--host-ip", "192.0.2.1" };
	char *no_vm[] = { "nft-portfwd", "--host-port", "8080", "--config", EMPTY, "apply" };
	char *bad_ip[] = { "nft-portfwd", "apply", ("--config=" EMPTY), "--host-port=8080",
			   "--vm-ip=192.0.2" };
	char *bad_iface[] = { "nft-portfwd", "apply", ("--config=" EMPTY), "--host-iface=a/b" };
	char *missing[] = { "nft-portfwd", "apply", "--config", "/nonexistent/nft-portfwd.conf" };
	const char *msg;
	FILE *empty = fopen(EMPTY, "w");

	if (!empty || fclose(empty))
		expect(false, "flags", "cannot create %s", EMPTY);
	msg = load_with_flags(good, 14, &m, &err);
	expect(*msg == '\0' && m.forward_count == 1 && m.forwards[0].guest_port == 80 &&
		       m.forwards[0].protos == (PROTO_TCP | PROTO_UDP) && m.host_ips.count == 1,
	       "flags forward", "%s", msg);
	model_free(&m);
	msg = load_with_flags(no_vm, 6, &m, &err);
	expect(strcmp(msg, "command line: --vm-ip: missing; a forward given by flags needs "
			   "--host-port and --vm-ip (or --vm NAME), as in --host-port 8080 --vm-ip "
			   "192.0.2.10") == 0,
	       "flags without --vm-ip", "got: %s", msg);
	msg = load_with_flags(bad_ip, 5, &m, &err);
	expect(strcmp(msg, "command line: --vm-ip: '192.0.2' is not an IP address; expected an IPv4 "
			   "or IPv6 literal such as 192.0.2.10 or 2001:db8::10 (names are not looked "
			   "up)") == 0,
	       "bad --vm-ip", "got: %s", msg);
	msg = load_with_flags(bad_iface, 4, &m, &err);
	expect(strncmp(msg, "command line: --host-iface: 'a/b' contains", 42) == 0,
	       "bad --host-iface", "got: %s", msg);
	msg = load_with_flags(missing, 4, &m, &err);
	expect(strcmp(msg, "cannot read config /nonexistent/nft-portfwd.conf: No such file or "
			   "directory") == 0,
	       "missing --config file", "got: %s", msg);
}

/*
 * The flags record: its settings replace the config's, this run's flags replace its
 * settings and its forwards of the same family, protocol and port; the next record keeps
 * the rest and adds this run's. `argv` ends with the flags; the record is `text`.
 */
static char *with_record(const char *text, char **argv, int argc, struct model *m,
			 struct error *err)
{
	struct flag_record record = { .path = "/run/test/flags.conf", .text = (char *)text };
	struct options opts;
	char *next = NULL;

	err->msg[0] = '\0';
	*m = (struct model){ 0 };
	if (options_parse(argc, argv, &opts, err) == EXIT_OK &&
	    options_load_model(&opts, &record, m, err) == EXIT_OK)
		next = options_next_record(&opts, &record, m);
	return next;
}

static void test_flag_record(void)
{
	static const char record[] = FLAGS_RECORD_HEADER
		"host-ip = 203.0.113.1, 2001:db8::1\n"
		"forward tcp 8080 to 192.0.2.10:8000\n"
		"forward udp 8080 to 192.0.2.10:8000\n"
		"forward tcp 9000 to [2001:db8::10]:9000\n";
	char *again[] = { "nft-portfwd", "apply", "--config", EMPTY, "--host-port", "8080",
			  "--vm-ip", "192.0.2.11", "--vm-port", "8000" };
	char *another[] = { "nft-portfwd", "apply", "--config", EMPTY, "--host-port", "8081",
			    "--vm-ip", "192.0.2.11", "--host-ip", "203.0.113.2,2001:db8::2" };
	char *none[] = { "nft-portfwd", "status", "--config", EMPTY };
	struct model m;
	struct error err;
	char *next;

	next = with_record(record, none, 4, &m, &err);
	expect(next && m.forward_count == 3 && m.host_ips.count == 2 &&
		       strcmp(m.forwards[0].where.source, "/run/test/flags.conf") == 0 &&
		       m.forwards[0].where.line == 4,
	       "record read", "%s: %zu forwards", err.msg, m.forward_count);
	expect(next && strcmp(next, record) == 0, "record kept as it was", "got:\n%s", next);
	free(next);
	model_free(&m);

	/* the same port and protocol again: the record's tcp 8080 goes, udp 8080 and IPv6 stay */
	next = with_record(record, again, 10, &m, &err);
	expect(next && m.forward_count == 3, "flag forward replaces", "%s: %zu", err.msg,
	       m.forward_count);
	expect(next && strcmp(next, FLAGS_RECORD_HEADER "host-ip = 203.0.113.1, 2001:db8::1\n"
				    "forward udp 8080 to 192.0.2.10:8000\n"
				    "forward tcp 9000 to [2001:db8::10]:9000\n"
				    "forward tcp 8080 to 192.0.2.11:8000\n") == 0,
	       "next record replaces tcp 8080", "got:\n%s", next);
	free(next);
	model_free(&m);

	/* another port adds; a setting flag replaces the record's value */
	next = with_record(record, another, 10, &m, &err);
	expect(next && m.forward_count == 4 && m.host_ips.count == 2 &&
		       m.host_ips.items[0].v4.s_addr == htonl(0xcb007102),
	       "flag forward adds, setting flag wins", "%s: %zu", err.msg, m.forward_count);
	expect(next && strcmp(next, FLAGS_RECORD_HEADER
				    "forward tcp 8080 to 192.0.2.10:8000\n"
				    "forward udp 8080 to 192.0.2.10:8000\n"
				    "forward tcp 9000 to [2001:db8::10]:9000\n"
				    "host-ip = 203.0.113.2,2001:db8::2\n"
				    "forward tcp 8081 to 192.0.2.11:8081\n") == 0,
	       "next record adds tcp 8081", "got:\n%s", next);
	free(next);
	model_free(&m);

	/* a broken record names itself and the way out */
	next = with_record("forward tcp 8080 to nowhere\n", none, 4, &m, &err);
	expect(!next && strstr(err.msg, "/run/test/flags.conf:1: forward guest address") &&
		       strstr(err.msg, "'sudo nft-portfwd --config " EMPTY " flush' removes it"),
	       "broken record", "got: %s", err.msg);
	model_free(&m);
}

int main(void)
{
	test_bad_inputs();
	test_nul_byte();
	test_good_config();
	test_flags();
	test_flag_record();
	test_many_host_addresses();
	printf("%s: %d failure%s\n", failures ? "FAIL" : "PASS", failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
