/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forward and settings types that parsing produces and everything else reads. */
#ifndef NFT_PORTFWD_MODEL_H
#define NFT_PORTFWD_MODEL_H

#include <netinet/in.h>
#include <net/if.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* The one table nft-portfwd owns: every layer names it, only table/ says what it holds. */
#define TABLE_FAMILY "inet"
#define TABLE_NAME "portfwd"
/* Its forward chain's priority (filter - 10): it sets the mark before other tables' filter
 * chains run, which the analysis of other firewalls needs to know. */
#define TABLE_FORWARD_PRIORITY (-10)

enum proto {
	PROTO_TCP = 1 << 0,
	PROTO_UDP = 1 << 1,
};

struct addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* Where a value came from, for error messages: a file and line, or the command line. */
struct origin {
	const char *source; /* a path, or "command line"; not owned */
	unsigned line;      /* 0 for the command line */
};

/* An address with a prefix length: a client network in a forward's allowlist. */
struct prefix {
	struct addr addr;
	uint8_t len; /* 0-32 for IPv4, 0-128 for IPv6 */
};

struct prefix_list {
	struct prefix *items;
	size_t count;
};

/* The longest forward name: letters, digits, '-', '_' and '.', as in "web-1.prod". */
#define FORWARD_NAME_MAX 32

/* New connections allowed from one client address: `rate` per `seconds`, `burst` at once. */
struct rate_limit {
	uint32_t rate;    /* 0: no limit */
	uint32_t seconds; /* 1, 60 or 3600 */
	uint32_t burst;
};

/* The longest libvirt domain or network name a forward may give. */
#define VM_NAME_MAX 64

/* Where a forward's guest address comes from. */
enum guest_source {
	GUEST_GIVEN,      /* written in the config: an address */
	GUEST_UNRESOLVED, /* a `to vm` forward not looked up yet */
	GUEST_LEASE,      /* libvirt's DHCP lease of the domain's interface */
	GUEST_STATIC,     /* the libvirt network's static DHCP host entry for its MAC */
	GUEST_ARP,        /* the host's neighbour table (a guest configured by hand) */
};

/* A forward's guest named as a libvirt domain (`to vm NAME`), and which interface. */
struct vm_target {
	char domain[VM_NAME_MAX + 1];  /* empty: the forward gives an address */
	char network[VM_NAME_MAX + 1]; /* the interface on this libvirt network; empty: any */
	uint8_t mac[6];
	bool by_mac;                   /* the interface with this MAC */
};

/*
 * One config forward. A port range maps one to one: host_port + i goes to guest_port + i
 * for i in 0 .. host_port_last - host_port. A `to vm` forward knows its guest's family
 * (guest.family) from the start and its address once resolved (config/resolve.h).
 */
struct forward {
	unsigned protos;         /* PROTO_TCP and/or PROTO_UDP */
	uint16_t host_port;      /* first host port */
	uint16_t host_port_last; /* last host port; equal to host_port for one port */
	struct addr guest;
	uint16_t guest_port;     /* guest port for host_port */
	struct prefix_list sources; /* empty: any client; else only these networks */
	bool keep_source;        /* do not masquerade: the guest sees the client's address */
	char name[FORWARD_NAME_MAX + 1]; /* empty: no name */
	struct rate_limit limit; /* new connections per client address */
	bool log;                /* log each new connection through the kernel log */
	struct vm_target vm;
	enum guest_source source;
	/* unresolved again (resolve.h): where its address (still in guest) came from;
	 * GUEST_UNRESOLVED when it had none */
	enum guest_source last_source;
	uint32_t order;          /* its place among the config's forwards (resolution moves some) */
	struct origin where;
};

/* A `to vm` forward whose guest has no address now (a stopped domain): not rendered. */
struct waiting_forward {
	struct forward f;
	char why[400]; /* "domain web is not running" */
};

struct addr_list {
	struct addr *items;
	size_t count;
};

struct setting_origin {
	struct origin where;
	int set; /* non-zero once the setting was given */
};

/*
 * Which new connections the host routes besides the forwards (setting `routing`). The
 * guard (render.c, chain routing) drops new forwarded connections that nobody translates:
 * not DNAT'd (ours, or another program's port forward) and not masqueraded or SNAT'd (a NAT
 * network's guests, libvirt's or Docker's), so a client with a route through the host
 * reaches only the forwards.
 */
enum routing {
	ROUTING_AUTO,     /* the guard for a family whose forwarding apply turned on */
	ROUTING_FORWARDS, /* the guard always */
	ROUTING_OPEN,     /* no guard: the host routes whatever its forwarding allows */
};

struct model {
	struct addr_list public_ips; /* the router's public address(es), also matched */
	struct addr_list host_ips;   /* empty: any local address (fib daddr type local) */
	char host_iface[IF_NAMESIZE]; /* empty: any interface */
	bool no_masquerade;          /* masquerade = no: every forward keeps the client address */
	bool no_integrate;           /* integrate = off: add no accepts to other firewalls' chains */
	uint32_t integrate_mark;     /* integrate-mark: the one packet mark bit; 0 for the default */
	enum routing routing;
	/* resolved from `routing` and the host (options_resolve_routing): the guard for IPv4
	 * ([0]) and IPv6 ([1]) */
	bool route_guard[2];
	char libvirt_uri[256];       /* libvirt-uri: where `to vm` forwards are looked up */
	struct forward *forwards;
	size_t forward_count;
	size_t forward_capacity;
	/* `to vm` forwards resolution left out of forwards[] (config/resolve.h) */
	struct waiting_forward *waiting;
	size_t waiting_count;
	/* where each global setting was first given, to report a second one */
	struct setting_origin public_ip_origin, host_ip_origin, host_iface_origin,
		masquerade_origin, integrate_origin, integrate_mark_origin, routing_origin,
		libvirt_uri_origin;
	char **owned_sources;        /* drop-in paths the forwards' origins point at */
	size_t owned_source_count;
};

/*
 * The packet mark bit that table inet portfwd sets on the packets of its DNAT'd
 * connections (and clears on every other forwarded packet) before other firewalls' filter
 * chains run; the accepts in their chains match it. Outside the bits Kubernetes (0xc000),
 * Tailscale (0xff0000), wg-quick (0xca6c) and Cilium (0x0f00) use.
 */
#define INTEGRATE_MARK_DEFAULT 0x01000000u

static inline uint32_t model_mark(const struct model *m)
{
	return m->integrate_mark ? m->integrate_mark : INTEGRATE_MARK_DEFAULT;
}

/* Does the forward keep the client's address (keep-source, or masquerade = no)? */
static inline bool forward_keeps_source(const struct model *m, const struct forward *f)
{
	return f->keep_source || m->no_masquerade;
}

/* Does any forward go to a guest of this family (AF_INET or AF_INET6)? */
static inline bool model_has_family(const struct model *m, int family)
{
	for (size_t i = 0; i < m->forward_count; i++)
		if (m->forwards[i].guest.family == family)
			return true;
	return false;
}

/* The libvirt connection `to vm` forwards are resolved through. */
#define LIBVIRT_URI_DEFAULT "qemu:///system"

static inline const char *model_libvirt_uri(const struct model *m)
{
	return m->libvirt_uri[0] ? m->libvirt_uri : LIBVIRT_URI_DEFAULT;
}

/* Does any forward name a libvirt domain? */
static inline bool model_has_vms(const struct model *m)
{
	for (size_t i = 0; i < m->forward_count; i++)
		if (m->forwards[i].vm.domain[0])
			return true;
	return m->waiting_count > 0;
}

/*
 * Every configured forward, the waiting `to vm` ones after the others, as one list:
 * model_forward_count of them, model_forward_at(m, i) each.
 */
static inline size_t model_forward_count(const struct model *m)
{
	return m->forward_count + m->waiting_count;
}

static inline const struct forward *model_forward_at(const struct model *m, size_t i)
{
	return i < m->forward_count ? &m->forwards[i] : &m->waiting[i - m->forward_count].f;
}

void model_free(struct model *m);

#endif
