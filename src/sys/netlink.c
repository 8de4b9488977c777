/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "sys/netlink.h"

/* A dump comes in datagrams of up to 32 KiB (libmnl's MNL_SOCKET_DUMP_SIZE, newer than 1.0.4). */
#define DUMP_BUFFER_SIZE 32768

/* One nf_tables request: its message type, family, and what it names (NULL: nothing). */
struct query {
	uint16_t type;
	uint16_t family;
	bool dump;
	void (*payload)(struct nlmsghdr *nlh, const void *arg);
	const void *arg;
};

/*
 * One nf_tables request to the kernel, its answer handed to `cb` message by message: a
 * single one, or with `dump` every message until the end. MNL_CB_STOP (dump) or MNL_CB_OK
 * (single) when it went through; MNL_CB_ERROR with errno set otherwise. A dump that a
 * ruleset change interrupted (EINTR) is asked again, up to three times, when `restart` can
 * empty what `cb` gathered; without it, EINTR is the caller's to handle.
 */
static int nft_query(const struct query *q, mnl_cb_t cb, void (*restart)(void *), void *data)
{
	char *buf = malloc(DUMP_BUFFER_SIZE);
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int rc = MNL_CB_ERROR;

	for (uint32_t seq = 1; buf && nl && seq <= 3; seq++) {
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, q->type, q->family,
							     q->dump ? NLM_F_DUMP : 0, seq);
		ssize_t n;

		if (seq == 1 && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) != 0)
			break;
		if (q->payload)
			q->payload(nlh, q->arg);
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			break;
		do {
			n = mnl_socket_recvfrom(nl, buf, DUMP_BUFFER_SIZE);
			rc = n > 0 ? mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb, data)
				   : MNL_CB_ERROR;
		} while (q->dump && rc == MNL_CB_OK);
		if (!q->dump || rc != MNL_CB_ERROR || errno != EINTR || !restart)
			break;
		restart(data);
	}
	if (!buf)
		errno = ENOMEM;
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return rc;
}

/* The tables of a NFT_MSG_GETTABLE dump, as they come. */
struct table_dump {
	struct kernel_table *items;
	size_t count;
	bool oom;
};

static int table_attr(const struct nlattr *attr, void *data)
{
	struct kernel_table *t = data;

	switch (mnl_attr_get_type(attr)) {
	case NFTA_TABLE_NAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(t->name, sizeof(t->name), "%s", mnl_attr_get_str(attr));
		break;
	case NFTA_TABLE_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			t->flags = ntohl(mnl_attr_get_u32(attr));
		break;
	case NFTA_TABLE_OWNER:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			t->owner = ntohl(mnl_attr_get_u32(attr));
		break;
	}
	return MNL_CB_OK;
}

static int table_msg(const struct nlmsghdr *nlh, void *data)
{
	struct table_dump *d = data;
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct kernel_table t = { 0 }, *grown;

	if (mnl_attr_parse(nlh, sizeof(*nfg), table_attr, &t) < 0 || !t.name[0])
		return MNL_CB_OK;
	switch (nfg->nfgen_family) {
	case NFPROTO_IPV4: snprintf(t.family, sizeof(t.family), "ip"); break;
	case NFPROTO_IPV6: snprintf(t.family, sizeof(t.family), "ip6"); break;
	case NFPROTO_INET: snprintf(t.family, sizeof(t.family), "inet"); break;
	case NFPROTO_ARP: snprintf(t.family, sizeof(t.family), "arp"); break;
	case NFPROTO_BRIDGE: snprintf(t.family, sizeof(t.family), "bridge"); break;
	case NFPROTO_NETDEV: snprintf(t.family, sizeof(t.family), "netdev"); break;
	default: return MNL_CB_OK;
	}
	if (!(grown = realloc(d->items, (d->count + 1) * sizeof(*grown)))) {
		d->oom = true;
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	d->items = grown;
	d->items[d->count++] = t;
	return MNL_CB_OK;
}

static void table_restart(void *data)
{
	((struct table_dump *)data)->count = 0;
}

enum exit_code kernel_list_tables(struct kernel_table **tables, size_t *count, struct error *err)
{
	struct table_dump d = { 0 };

	*tables = NULL;
	*count = 0;
	if (nft_query(&(struct query){ .type = NFT_MSG_GETTABLE, .family = AF_UNSPEC, .dump = true },
		      table_msg, table_restart, &d) != MNL_CB_STOP) {
		free(d.items);
		if (d.oom || errno == ENOMEM) {
			error_set(err, "out of memory");
			return EXIT_SYSTEM;
		}
		error_set(err, "cannot list the nftables tables from the kernel: %s", strerror(errno));
		return EXIT_KERNEL;
	}
	*tables = d.items;
	*count = d.count;
	return EXIT_OK;
}

/* NFTA_GEN_ID of a NFT_MSG_NEWGEN answer. */
struct generation {
	uint32_t id;
	bool found;
};

static int generation_attr(const struct nlattr *attr, void *data)
{
	struct generation *gen = data;

	if (mnl_attr_get_type(attr) == NFTA_GEN_ID && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
		gen->id = ntohl(mnl_attr_get_u32(attr));
		gen->found = true;
	}
	return MNL_CB_OK;
}

static int generation_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), generation_attr, data);
}

enum exit_code kernel_generation(uint32_t *id, struct error *err)
{
	struct generation gen = { 0 };
	int rc = nft_query(&(struct query){ .type = NFT_MSG_GETGEN, .family = AF_UNSPEC },
			   generation_msg, NULL, &gen);

	if (rc == MNL_CB_ERROR || !gen.found) {
		error_set(err, "cannot read the ruleset generation from the kernel: %s",
			  rc == MNL_CB_ERROR ? strerror(errno) : "no generation in the answer");
		return EXIT_KERNEL;
	}
	*id = gen.id;
	return EXIT_OK;
}

/* A set or map dump in progress: its callback, and why it stopped, if it did. */
struct element_dump {
	set_element_fn fn;
	void *data;
	bool stopped, oom;
};

static int element_comment(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;
	const char *value = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	/* nft writes the comment with its NUL; anything else is not a comment to read */
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT && len > 0 &&
	    value[len - 1] == '\0')
		*comment = value;
	return 0;
}

static int element_counter(struct nftnl_expr *expr, void *data)
{
	struct set_element *e = data;

	if (strcmp(nftnl_expr_get_str(expr, NFTNL_EXPR_NAME), "counter") == 0) {
		e->counted = true;
		e->packets = nftnl_expr_get_u64(expr, NFTNL_EXPR_CTR_PACKETS);
		e->bytes = nftnl_expr_get_u64(expr, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static const uint8_t *element_bytes(struct nftnl_set_elem *elem, uint16_t attr,
				    uint32_t *len)
{
	*len = 0;
	return nftnl_set_elem_is_set(elem, attr) ? nftnl_set_elem_get(elem, attr, len) : NULL;
}

static int element_one(struct nftnl_set_elem *elem, void *data)
{
	struct element_dump *d = data;
	struct set_element e = { 0 };
	uint32_t len;
	const void *udata;

	e.key = element_bytes(elem, NFTNL_SET_ELEM_KEY, &e.key_len);
	e.key_end = element_bytes(elem, NFTNL_SET_ELEM_KEY_END, &e.key_end_len);
	e.data = element_bytes(elem, NFTNL_SET_ELEM_DATA, &e.data_len);
	if (nftnl_set_elem_is_set(elem, NFTNL_SET_ELEM_FLAGS))
		e.flags = nftnl_set_elem_get_u32(elem, NFTNL_SET_ELEM_FLAGS);
	if ((udata = element_bytes(elem, NFTNL_SET_ELEM_USERDATA, &len)))
		nftnl_udata_parse(udata, len, element_comment, &e.comment);
	nftnl_set_elem_expr_foreach(elem, element_counter, &e);
	if (!d->fn(&e, d->data)) {
		d->stopped = true;
		return -1;
	}
	return 0;
}

static int element_msg(const struct nlmsghdr *nlh, void *data)
{
	struct element_dump *d = data;
	struct nftnl_set *set = nftnl_set_alloc();
	int rc = MNL_CB_OK;

	if (!set || nftnl_set_elems_nlmsg_parse(nlh, set) < 0) {
		d->oom = !set || errno == ENOMEM;
		/* libnftnl does not always set errno for an answer it cannot read */
		errno = d->oom ? ENOMEM : EBADMSG;
		rc = MNL_CB_ERROR;
	} else if (nftnl_set_elem_foreach(set, element_one, d) < 0) {
		rc = MNL_CB_ERROR;
	}
	if (set)
		nftnl_set_free(set);
	return rc;
}

/* Names the set or table of a request (NFTA_SET_ELEM_LIST_* or NFTA_OBJ_*). */
struct request_names {
	const char *table, *set;
};

static void element_request(struct nlmsghdr *nlh, const void *arg)
{
	const struct request_names *names = arg;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, names->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, names->set);
}

/*
 * After a dump that did not go through: EXIT_KERNEL with why, *interrupted for a ruleset
 * change, EXIT_SYSTEM when memory ran out or the callback stopped it.
 */
static enum exit_code dump_failed(const char *what, bool stopped, bool oom, bool *interrupted,
				  struct error *err)
{
	if (stopped)
		return EXIT_SYSTEM;
	if (oom || errno == ENOMEM)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	*interrupted = errno == EINTR;
	error_set(err, "cannot read %s from the kernel: %s", what, strerror(errno));
	return EXIT_KERNEL;
}

enum exit_code kernel_set_elements(const char *table, const char *set, set_element_fn fn,
				   void *data, bool *found, bool *interrupted, struct error *err)
{
	struct element_dump d = { .fn = fn, .data = data };
	struct request_names names = { table, set };
	struct query q = { .type = NFT_MSG_GETSETELEM, .family = NFPROTO_INET, .dump = true,
			   .payload = element_request, .arg = &names };
	char what[320];

	*found = true;
	*interrupted = false;
	if (nft_query(&q, element_msg, NULL, &d) == MNL_CB_STOP)
		return EXIT_OK;
	if (!d.stopped && !d.oom && errno == ENOENT) {
		*found = false;
		return EXIT_OK;
	}
	snprintf(what, sizeof(what), "the elements of set %s of table inet %s", set, table);
	return dump_failed(what, d.stopped, d.oom, interrupted, err);
}

/* A named counter dump in progress. */
struct counter_dump {
	const char *table;
	named_counter_fn fn;
	void *data;
	bool stopped, oom;
};

static int counter_msg(const struct nlmsghdr *nlh, void *data)
{
	struct counter_dump *d = data;
	struct nftnl_obj *obj = nftnl_obj_alloc();
	int rc = MNL_CB_OK;

	if (!obj || nftnl_obj_nlmsg_parse(nlh, obj) < 0) {
		d->oom = !obj || errno == ENOMEM;
		errno = d->oom ? ENOMEM : EBADMSG;
		rc = MNL_CB_ERROR;
	} else if (nftnl_obj_get_u32(obj, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER &&
		   strcmp(nftnl_obj_get_str(obj, NFTNL_OBJ_TABLE), d->table) == 0) {
		struct named_counter_value c = {
			.name = nftnl_obj_get_str(obj, NFTNL_OBJ_NAME),
			.packets = nftnl_obj_get_u64(obj, NFTNL_OBJ_CTR_PKTS),
			.bytes = nftnl_obj_get_u64(obj, NFTNL_OBJ_CTR_BYTES),
		};

		if (!d->fn(&c, d->data)) {
			d->stopped = true;
			rc = MNL_CB_ERROR;
		}
	}
	if (obj)
		nftnl_obj_free(obj);
	return rc;
}

static void counter_request(struct nlmsghdr *nlh, const void *arg)
{
	const struct request_names *names = arg;

	/* the kernel filters a dump by table and type */
	mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, names->table);
	mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
}

enum exit_code kernel_named_counters(const char *table, named_counter_fn fn, void *data,
				     bool *interrupted, struct error *err)
{
	struct counter_dump d = { .table = table, .fn = fn, .data = data };
	struct request_names names = { table, NULL };
	struct query q = { .type = NFT_MSG_GETOBJ, .family = NFPROTO_INET, .dump = true,
			   .payload = counter_request, .arg = &names };
	char what[320];

	*interrupted = false;
	if (nft_query(&q, counter_msg, NULL, &d) == MNL_CB_STOP)
		return EXIT_OK;
	snprintf(what, sizeof(what), "the named counters of table inet %s", table);
	return dump_failed(what, d.stopped, d.oom, interrupted, err);
}
