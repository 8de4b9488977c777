/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#include "sys/kernel.h"
#include "config/model.h"

struct kernel {
	struct nft_ctx *nft;
};

static bool has_net_admin(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t value = CAP_CLEAR;

	if (caps) {
		cap_get_flag(caps, CAP_NET_ADMIN, CAP_EFFECTIVE, &value);
		cap_free(caps);
	}
	return value == CAP_SET;
}

enum exit_code kernel_open(struct kernel **k, struct error *err)
{
	if (!has_net_admin()) {
		error_set(err, "this command needs CAP_NET_ADMIN to talk to nftables; run it as "
			       "root (sudo nft-portfwd ...)");
		return EXIT_PERMISSION;
	}
	*k = calloc(1, sizeof(**k));
	if (!*k || !((*k)->nft = nft_ctx_new(NFT_CTX_DEFAULT))) {
		free(*k);
		*k = NULL;
		error_set(err, "cannot initialise libnftables (out of memory?)");
		return EXIT_SYSTEM;
	}
	nft_ctx_buffer_output((*k)->nft);
	nft_ctx_buffer_error((*k)->nft);
	return EXIT_OK;
}

void kernel_close(struct kernel *k)
{
	if (!k)
		return;
	nft_ctx_free(k->nft);
	free(k);
}

/* The library's error text, trimmed, or a fallback when it left none (it sometimes does). */
static const char *library_error(struct kernel *k)
{
	const char *text = nft_ctx_get_error_buffer(k->nft);

	return text && *text ? text : "(libnftables gave no reason)\n";
}

enum exit_code kernel_run(struct kernel *k, const char *text, bool dry_run, struct error *err)
{
	int rc;

	nft_ctx_set_dry_run(k->nft, dry_run);
	rc = nft_run_cmd_from_buffer(k->nft, text);
	nft_ctx_set_dry_run(k->nft, false);
	/* Drain the output buffer: reading is what empties it. */
	nft_ctx_get_output_buffer(k->nft);
	if (rc == 0) {
		nft_ctx_get_error_buffer(k->nft);
		return EXIT_OK;
	}
	const char *why = library_error(k);

	/* kernel_open checked CAP_NET_ADMIN, so EPERM here is the kernel refusing this change. */
	if (strstr(why, "Operation not permitted")) {
		error_set(err, "the kernel refused the change (Operation not permitted): another "
			       "process owns a table it touches (nft 'flags owner': table "
			       TABLE_FAMILY " " TABLE_NAME ", or a firewall's table that would get "
			       "our accept; integrate = off leaves those alone), or a security module "
			       "denies it; nothing was changed");
		return EXIT_KERNEL;
	}
	error_set(err, "nftables rejected the ruleset%s; table " TABLE_FAMILY " " TABLE_NAME
		       " is unchanged:\n%s",
		  dry_run ? " in a dry run" : "", why);
	return EXIT_KERNEL;
}

/* Run a list command with extra output flags; *out is NULL when the table does not exist. */
static enum exit_code list(struct kernel *k, const char *command, unsigned extra, char **out,
			   struct error *err)
{
	unsigned flags = nft_ctx_output_get_flags(k->nft);
	const char *text;
	int rc;

	*out = NULL;
	nft_ctx_output_set_flags(k->nft, flags | extra);
	rc = nft_run_cmd_from_buffer(k->nft, command);
	nft_ctx_output_set_flags(k->nft, flags);
	text = nft_ctx_get_output_buffer(k->nft);
	if (rc == 0) {
		nft_ctx_get_error_buffer(k->nft);
		*out = strdup(text ? text : "");
		if (!*out) {
			error_set(err, "out of memory");
			return EXIT_SYSTEM;
		}
		return EXIT_OK;
	}
	const char *why = library_error(k);

	if (strstr(why, "No such file or directory"))
		return EXIT_OK;
	error_set(err, "cannot %s:\n%s", command, why);
	return strstr(why, "Operation not permitted") ? EXIT_PERMISSION : EXIT_KERNEL;
}

enum exit_code kernel_list_table_json(struct kernel *k, const char *family, const char *name,
				      enum list_what what, char **json, struct error *err)
{
	char *command = NULL;
	enum exit_code rc;

	if (asprintf(&command, "list table %s %s", family, name) < 0)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	rc = list(k, command, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE |
			      (what == LIST_COUNTERS ? 0 : NFT_CTX_OUTPUT_STATELESS) |
			      (what == LIST_TERSE ? NFT_CTX_OUTPUT_TERSE : 0), json, err);
	free(command);
	return rc;
}

enum exit_code kernel_list_ruleset_json(struct kernel *k, bool terse, char **json,
					struct error *err)
{
	enum exit_code rc = list(k, "list ruleset",
				 NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS |
					 (terse ? NFT_CTX_OUTPUT_TERSE : 0),
				 json, err);

	if (rc == EXIT_OK && !*json && !(*json = strdup("{\"nftables\": []}"))) {
		error_set(err, "out of memory");
		rc = EXIT_SYSTEM;
	}
	return rc;
}

enum exit_code kernel_monitor(FILE *out, struct error *err)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *why;

	if (!nft) {
		error_set(err, "cannot initialise libnftables (out of memory?)");
		return EXIT_SYSTEM;
	}
	/* Counter values would only show what they were when the monitor started. */
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_STATELESS);
	nft_ctx_set_output(nft, out);
	nft_ctx_buffer_error(nft);
	nft_run_cmd_from_buffer(nft, "monitor");
	why = nft_ctx_get_error_buffer(nft);
	error_set(err, "nft monitor stopped: %s", why && *why ? why : "(libnftables gave no reason)");
	nft_ctx_free(nft);
	return EXIT_KERNEL;
}

/* A dump comes in datagrams of up to 32 KiB (libmnl's MNL_SOCKET_DUMP_SIZE, newer than 1.0.4). */
#define DUMP_BUFFER_SIZE 32768

/*
 * One nf_tables request of `type` to the kernel over libmnl (what libnftables does not
 * expose), its answer handed to `cb` message by message: a single one, or with `dump` every
 * message until the end. MNL_CB_STOP (dump) or MNL_CB_OK (single) when it went through;
 * MNL_CB_ERROR with errno set otherwise. A dump that a ruleset change interrupted (EINTR)
 * is asked again, up to three times: `restart` empties what `cb` gathered.
 */
static int nft_query(uint16_t type, bool dump, mnl_cb_t cb, void (*restart)(void *), void *data)
{
	char *buf = malloc(DUMP_BUFFER_SIZE);
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int rc = MNL_CB_ERROR;

	for (uint32_t seq = 1; buf && nl && seq <= 3; seq++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct nfgenmsg *nfg;
		ssize_t n;

		if (seq == 1 && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) != 0)
			break;
		nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
		nlh->nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
		nlh->nlmsg_seq = seq;
		nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
		*nfg = (struct nfgenmsg){ .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 };
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			break;
		do {
			n = mnl_socket_recvfrom(nl, buf, DUMP_BUFFER_SIZE);
			rc = n > 0 ? mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb, data)
				   : MNL_CB_ERROR;
		} while (dump && rc == MNL_CB_OK);
		if (!dump || rc != MNL_CB_ERROR || errno != EINTR || !restart)
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
	if (nft_query(NFT_MSG_GETTABLE, true, table_msg, table_restart, &d) != MNL_CB_STOP) {
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
	int rc = nft_query(NFT_MSG_GETGEN, false, generation_msg, NULL, &gen);

	if (rc == MNL_CB_ERROR || !gen.found) {
		error_set(err, "cannot read the ruleset generation from the kernel: %s",
			  rc == MNL_CB_ERROR ? strerror(errno) : "no generation in the answer");
		return EXIT_KERNEL;
	}
	*id = gen.id;
	return EXIT_OK;
}
