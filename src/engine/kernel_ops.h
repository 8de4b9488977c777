/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine's seam: everything reconcile.c asks of the kernel, as a small table of
 * operations. kernel_ops_real() answers through libnftables, netlink and /proc;
 * tests/unit/fake_kernel.c keeps a table in memory, so that the plans apply and flush
 * commit are unit tests that need no root. The forwarding sysctls are the real code on
 * the files named here (a fake points them into a directory of its own).
 */
#ifndef NFT_PORTFWD_KERNEL_OPS_H
#define NFT_PORTFWD_KERNEL_OPS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/entries.h"
#include "firewalls/foreign.h"
#include "sys/kernel.h"
#include "sys/sysctl.h"
#include "table/live.h"
#include "util/common.h"

struct kernel_ops {
	void *ctx; /* passed to every operation */

	/* The ruleset's generation (kernel_generation). */
	enum exit_code (*generation)(void *ctx, uint32_t *id, struct error *err);
	/* Run nft text as one transaction; with dry_run only check it (kernel_run). */
	enum exit_code (*run)(void *ctx, const char *nft, bool dry_run, struct error *err);
	/*
	 * Our table's structure (into `live` unless NULL) and the other firewalls' chains,
	 * analysed for `entries` with accepts of `mark` (coexist_read); stops when *cancel
	 * turns non-zero.
	 */
	enum exit_code (*read_firewalls)(void *ctx, const struct entry_list *entries, uint32_t mark,
					 const volatile sig_atomic_t *cancel, struct live_table *live,
					 struct foreign_report *r, struct error *err);
	/*
	 * Our table with its elements, without counters (live_read_table), and those elements
	 * as a rendering would hold them (render_elements: what elements_split reads), as a
	 * malloc'd *elements.
	 */
	enum exit_code (*read_table)(void *ctx, struct live_table *t, char **elements,
				     struct error *err);
	/* Our table's structure only, cheap (live_read_structure). */
	enum exit_code (*read_structure)(void *ctx, struct live_table *t, struct error *err);

	/* Is conntrack tracking anything? Forget the bindings of mappings gone (conntrack.h). */
	bool (*conntrack_tracked)(void *ctx);
	size_t (*conntrack_forget)(void *ctx, const struct entry_list *before,
				   const struct entry_list *after);

	/* Does libvirt forward networks of its own (hostcheck.h)? */
	bool (*libvirt_forwards)(void *ctx);
	/* The forwarding switches: IPv4's, IPv6's. */
	const struct forwarding_sysctl *forwarding[2];
};

/* The real kernel, through `k`. */
struct kernel_ops kernel_ops_real(struct kernel *k);

#endif
