/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `to vm` forwards' guests through libvirt's client library (meson feature `libvirt`): a
 * domain's interfaces from its XML, their address from libvirt's DHCP leases, else the
 * libvirt network's static DHCP host for the interface's MAC, else the host's ARP table.
 * A read-only connection: nft-portfwd never changes a domain. Built without libvirt,
 * every lookup refuses, saying so.
 */
#ifndef NFT_PORTFWD_LIBVIRT_H
#define NFT_PORTFWD_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "config/resolve.h"

struct libvirt;

/*
 * Connect to `uri` read-only. Never fails but for memory: a connection that cannot be
 * made (libvirtd not running yet) makes every lookup wait, saying why.
 */
struct libvirt *libvirt_open(const char *uri);
void libvirt_close(struct libvirt *lv);

/* The resolver (config/resolve.h) over the connection. */
struct vm_resolver libvirt_resolver(struct libvirt *lv);

/*
 * Following libvirt for the watcher: domain lifecycle events (start, stop, crash, migrate,
 * define, undefine) from libvirt's event loop, run by a thread of its own, and lease
 * changes (libvirt has no event for them) from inotify on the directory where libvirt
 * rewrites each network's lease status file at every DHCP event. Each makes
 * libvirt_follow_fd() readable. A lost connection (libvirtd restarted) is made again every
 * LIBVIRT_RECONNECT_S, and counts as an event: what happened meanwhile is unknown.
 */
struct libvirt_follow;

#define LIBVIRT_LEASE_DIR "/var/lib/libvirt/dnsmasq"
#define LIBVIRT_RECONNECT_S 2

/* Start following; EXIT_SYSTEM when the thread or the pipe cannot be made. */
enum exit_code libvirt_follow_start(const char *uri, struct libvirt_follow **f,
				    struct error *err);
/* The descriptor to poll; readable after an event. */
int libvirt_follow_fd(const struct libvirt_follow *f);
/* Empty it: true when an event came since the last call. */
bool libvirt_follow_take(struct libvirt_follow *f);
void libvirt_follow_stop(struct libvirt_follow *f);

/* One interface of a domain, from its XML. */
struct vm_interface {
	uint8_t mac[6];
	char network[VM_NAME_MAX + 1]; /* a libvirt network's name; empty: a bridge or other */
};

/* A domain's interfaces, in its XML's order: how many (at most `max`); 0 on bad XML too. */
size_t libvirt_domain_interfaces(const char *xml, struct vm_interface *out, size_t max);

/*
 * The static DHCP host of a network's XML for this MAC (IPv4) or this host name (IPv6,
 * where libvirt names hosts, not MACs): true and *addr when there is one.
 */
bool libvirt_static_host(const char *network_xml, const uint8_t mac[6], const char *name,
			 int family, struct addr *addr);

#endif
