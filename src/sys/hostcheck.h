/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the host does beside nft-portfwd that decides whether a forward works or what it
 * takes over, read from /proc of the current network namespace:
 *  - iptables-legacy tables: the kernel lists them in /proc/net/ip_tables_names and
 *    ip6_tables_names. Their FORWARD chain sees forwarded traffic too, and nothing in the
 *    nftables listing shows it.
 *  - sockets the host itself listens on: without host-ip a forward takes its port on every
 *    local address, the guests' gateway address too (libvirt's dnsmasq on 53, sshd on 22).
 * The parsers are pure (text in); hostcheck_* read the files.
 */
#ifndef NFT_PORTFWD_HOSTCHECK_H
#define NFT_PORTFWD_HOSTCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/entries.h"
#include "config/model.h"

/*
 * The legacy tables loaded, "ip filter, ip6 filter", into buf; false when there are none.
 * `names4` and `names6` are the two files' contents (NULL: not readable).
 */
bool legacy_tables_text(const char *names4, const char *names6, char *buf, size_t size);

/*
 * Are legacy tables loaded (read from /proc/net)? Then `advice` gets one line: which, the
 * command to look at them and the rule that accepts the forwards marked `mark` there.
 */
bool hostcheck_legacy(uint32_t mark, char *advice, size_t size);

/*
 * Does /proc/net/{tcp,udp}{,6} text `table` list a socket that listens (tcp LISTEN, any
 * unconnected udp socket) on `port` at an address that is not loopback? `v6`: the
 * IPv6 file's address format. On true, `where` gets the address:port as text.
 */
bool proc_net_listens(const char *table, bool v6, bool tcp, uint16_t port, char *where,
		      size_t size);

/*
 * For every forwarded host port (of a family without host-ip) that a host socket listens
 * on, one warning line (malloc'd, the caller frees each and the array). NULL with *count 0
 * when there are none or memory ran out. With `scope`, only the forwards that take a port
 * of its entries (family, proto, host_port): what an apply added.
 */
char **hostcheck_served_ports(const struct model *m, const struct entry_list *scope,
			      size_t *count);

/*
 * Does libvirtd run a network that forwards (NAT or routed)? It keeps the state of each
 * active network in /run/libvirt/network/NAME.xml, whether its firewall rules are there at
 * the moment or not (they are not while firewalld restarts).
 */
bool hostcheck_libvirt_forwards(void);

#endif
