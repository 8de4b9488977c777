/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sys/events.h"
#include "config/model.h"

/* Room for a burst (a firewall rebuilding hundreds of rules) before the kernel drops. */
#define EVENTS_RCVBUF (8 << 20)

struct events {
	struct mnl_socket *nl;
	/* what the transaction being read has touched so far; its NEWGEN ends it */
	char touched[512];
	bool our_table;     /* ... and whether table inet portfwd is among it */
};

/* Enough to say what changed; a firewall's rebuild touches dozens of chains. */
#define TOUCHED_SHOWN 6

enum exit_code events_open(struct events **out, struct error *err)
{
	struct events *ev = calloc(1, sizeof(*ev));
	int group = NFNLGRP_NFTABLES, size = EVENTS_RCVBUF;

	*out = NULL;
	if (!ev)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	ev->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!ev->nl || mnl_socket_bind(ev->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(ev->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		error_set(err, "cannot follow nftables changes (netlink group %d): %s", group,
			  strerror(errno));
		events_close(ev);
		return errno == EPERM ? EXIT_PERMISSION : EXIT_SYSTEM;
	}
	/* Best effort: the default buffer works too, and an overflow is noticed (ENOBUFS). */
	if (setsockopt(mnl_socket_get_fd(ev->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(mnl_socket_get_fd(ev->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	*out = ev;
	return EXIT_OK;
}

void events_close(struct events *ev)
{
	if (!ev)
		return;
	if (ev->nl)
		mnl_socket_close(ev->nl);
	free(ev);
}

int events_fd(const struct events *ev)
{
	return mnl_socket_get_fd(ev->nl);
}

bool events_ours_midway(const struct events *ev)
{
	return ev->our_table;
}

/* The attributes of one message that say what it touched, or who committed. */
struct attrs {
	const struct nlattr *a[NFTA_GEN_MAX + NFTA_RULE_MAX + NFTA_SET_ELEM_LIST_MAX + 64];
};

static int keep_attr(const struct nlattr *attr, void *data)
{
	struct attrs *at = data;
	unsigned type = mnl_attr_get_type(attr);

	if (type < sizeof(at->a) / sizeof(at->a[0]))
		at->a[type] = attr;
	return MNL_CB_OK;
}

static const char *str_attr(const struct attrs *at, unsigned type)
{
	const struct nlattr *a = at->a[type];

	return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0 ? mnl_attr_get_str(a) : NULL;
}

static const char *family_name(unsigned family)
{
	switch (family) {
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_IPV6: return "ip6";
	case NFPROTO_INET: return "inet";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_NETDEV: return "netdev";
	default: return "?";
	}
}

/* Is `item` an entry of the ", "-separated list? */
static bool listed(const char *list, const char *item, size_t n)
{
	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || p[-2] == ',') && (!p[n] || p[n] == ','))
			return true;
	return false;
}

/* Add an item to a ", "-separated list, once; what does not fit is cut with "...". A table
 * stands for its chains. */
static void list_add(char *list, size_t size, const char *item)
{
	size_t len = strlen(list), n = strlen(item);
	const char *second = strchr(item, ' '), *third = second ? strchr(second + 1, ' ') : NULL;
	char table[300];
	unsigned items = 0;

	snprintf(table, sizeof(table), "%.*s", third ? (int)(third - item) : 0, item);

	if (listed(list, item, n) || (third && listed(list, table, strlen(table))))
		return;
	for (const char *p = list; *p; p++)
		items += *p == ',';
	if (len && items + 1 >= TOUCHED_SHOWN) {
		if (strcmp(list + len - 3, "..."))
			snprintf(list + len, size - len, ", ...");
		return;
	}
	if (len + n + 6 < size)
		snprintf(list + len, size - len, "%s%s", len ? ", " : "", item);
	else if (len + 6 < size && (len < 3 || strcmp(list + len - 3, "...")))
		snprintf(list + len, size - len, "%s...", len ? ", " : "");
}

/* "FAMILY TABLE[ CHAIN]" into the transaction's list. */
static void touch(struct events *ev, const char *family, const char *table, const char *chain)
{
	char item[300];

	if (!table)
		return;
	ev->our_table |= !strcmp(family, TABLE_FAMILY) && !strcmp(table, TABLE_NAME);
	snprintf(item, sizeof(item), "%s %s%s%s", family, table, chain ? " " : "", chain ? chain : "");
	list_add(ev->touched, sizeof(ev->touched), item);
}

struct reading {
	struct events *ev;
	const struct own_commits *own;
	struct change_batch *b;
};

void own_commit(struct own_commits *own, uint32_t gen)
{
	own->gens[own->next++ % 4] = gen;
}

static bool is_own(const struct own_commits *own, pid_t pid, const char *name, bool has_gen,
		   uint32_t gen)
{
	if (pid == own->pid)
		return true;
	if (!has_gen || !name || strcmp(name, own->name))
		return false;
	for (unsigned i = 0; i < 4; i++)
		if (own->gens[i] == gen && (own->next > i))
			return true;
	return false;
}

static int on_message(const struct nlmsghdr *nlh, void *data)
{
	struct reading *rd = data;
	struct events *ev = rd->ev;
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	unsigned type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	const char *family = family_name(nfg->nfgen_family);
	struct attrs at = { 0 };

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*nfg), keep_attr, &at) < 0)
		return MNL_CB_OK;
	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		touch(ev, family, str_attr(&at, NFTA_TABLE_NAME), NULL);
		break;
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
		touch(ev, family, str_attr(&at, NFTA_CHAIN_TABLE), str_attr(&at, NFTA_CHAIN_NAME));
		break;
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		touch(ev, family, str_attr(&at, NFTA_RULE_TABLE), str_attr(&at, NFTA_RULE_CHAIN));
		break;
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		/* NFTA_SET_TABLE and NFTA_SET_ELEM_LIST_TABLE are both attribute 1 */
		touch(ev, family, str_attr(&at, NFTA_SET_TABLE), NULL);
		break;
	case NFT_MSG_NEWGEN: {
		const struct nlattr *pid = at.a[NFTA_GEN_PROC_PID], *gen = at.a[NFTA_GEN_ID];
		pid_t who = pid && mnl_attr_validate(pid, MNL_TYPE_U32) >= 0 ?
				    (pid_t)ntohl(mnl_attr_get_u32(pid)) : 0;
		bool has_gen = gen && mnl_attr_validate(gen, MNL_TYPE_U32) >= 0;
		uint32_t id = has_gen ? ntohl(mnl_attr_get_u32(gen)) : 0;

		if (!is_own(rd->own, who, str_attr(&at, NFTA_GEN_PROC_NAME), has_gen, id)) {
			struct change_batch *b = rd->b;

			b->changed = true;
			b->our_table |= ev->our_table;
			b->commits++;
			b->pid = who;
			snprintf(b->who, sizeof(b->who), "%s",
				 str_attr(&at, NFTA_GEN_PROC_NAME) ? str_attr(&at, NFTA_GEN_PROC_NAME) : "");
			for (char *item = ev->touched; *item;) {
				char *end = strstr(item, ", ");
				size_t n = end ? (size_t)(end - item) : strlen(item);
				char one[300];

				snprintf(one, sizeof(one), "%.*s", (int)n, item);
				if (strcmp(one, "..."))
					list_add(b->touched, sizeof(b->touched), one);
				item += n + (end ? 2 : 0);
			}
		}
		ev->touched[0] = '\0';
		ev->our_table = false;
		break;
	}
	default:
		break;
	}
	return MNL_CB_OK;
}

enum exit_code events_read(struct events *ev, const struct own_commits *own,
			   struct change_batch *b, struct error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct reading rd = { ev, own, b };

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(ev->nl, buf, sizeof(buf));

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return EXIT_OK;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* the kernel dropped notifications: something changed, we cannot say what */
			b->changed = b->overflow = true;
			ev->touched[0] = '\0';
			ev->our_table = false;
			continue;
		}
		if (n <= 0) {
			error_set(err, "reading nftables changes failed: %s",
				  n < 0 ? strerror(errno) : "the socket closed");
			return EXIT_SYSTEM;
		}
		/* notifications carry no sequence or port of ours: check neither */
		mnl_cb_run(buf, (size_t)n, 0, 0, on_message, &rd);
	}
}
