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
	rc = list(k, command, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS |
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
