/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake kernel behind the engine's seam (engine/kernel_ops.h), for unit tests of what
 * apply and flush commit. It keeps table inet portfwd as the text of a rendering and
 * understands the nft that nft-portfwd writes: the table's replace and delete, element
 * additions and deletions (a deletion of an element it does not hold fails, as in the
 * kernel), and the deletion of a trace table; any other line fails the transaction, so a
 * test sees what it did not expect. Transactions are all or nothing and count a
 * generation. The forwarding sysctls are files in a directory of its own.
 */
#ifndef NFT_PORTFWD_FAKE_KERNEL_H
#define NFT_PORTFWD_FAKE_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/kernel_ops.h"

struct fake_kernel {
	uint32_t gen;               /* the ruleset's generation: one more per commit */
	char *table;                /* "table inet portfwd {...}\n"; NULL: there is none */
	bool trace_leftover;        /* a table inet portfwd-trace of a killed diagnose */
	unsigned refuse;            /* refuse this many transactions to come */
	bool libvirt;               /* libvirt forwards networks of its own */

	/* what the engine did */
	unsigned commits, dry_runs, refused;
	unsigned firewall_reads, table_reads, structure_reads;
	char *last_commit;          /* the text of the last transaction committed */
	unsigned forget_calls;
	size_t forgot_before;       /* mappings given to the last conntrack forget as gone */

	char dir[64];               /* the sysctls' directory */
	char paths[2][96], conf_dirs[2][96];
	struct forwarding_sysctl sysctls[2];
	struct kernel_ops ops;
};

/* A kernel with no table, forwarding off (0) for both families; false when it failed. */
bool fake_kernel_init(struct fake_kernel *f);
void fake_kernel_free(struct fake_kernel *f);

/* Someone else's transaction: the table becomes `table` (NULL: deleted), a generation. */
void fake_kernel_commit_other(struct fake_kernel *f, const char *table);

/* The forwarding switch of a family (0: IPv4, 1: IPv6) as its file holds it ("0", "1"). */
void fake_kernel_sysctl(const struct fake_kernel *f, int family, char value[16]);

/* Does the table hold this line (an element "\t\t\t...," or any line), exactly? */
bool fake_kernel_has_line(const struct fake_kernel *f, const char *line);

#endif
