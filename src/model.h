/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The forward and settings types that parsing produces and everything else reads. */
#ifndef NFT_PORTFWD_MODEL_H
#define NFT_PORTFWD_MODEL_H

#include <netinet/in.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

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

struct forward {
	unsigned protos;     /* PROTO_TCP and/or PROTO_UDP */
	uint16_t host_port;
	struct addr guest;
	uint16_t guest_port;
	struct origin where;
};

struct addr_list {
	struct addr *items;
	size_t count;
};

struct setting_origin {
	struct origin where;
	int set; /* non-zero once the setting was given */
};

struct model {
	struct addr_list public_ips; /* the router's public address(es), also matched */
	struct addr_list host_ips;   /* empty: any local address (fib daddr type local) */
	char host_iface[IF_NAMESIZE]; /* empty: any interface */
	struct forward *forwards;
	size_t forward_count;
	size_t forward_capacity;
	/* where each global setting was first given, to report a second one */
	struct setting_origin public_ip_origin, host_ip_origin, host_iface_origin;
};

void model_free(struct model *m);

#endif
