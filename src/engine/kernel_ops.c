/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "engine/coexist.h"
#include "engine/kernel_ops.h"
#include "sys/conntrack.h"
#include "sys/netlink.h"
#include "sys/hostcheck.h"
#include "table/render.h"

static enum exit_code real_generation(void *ctx, uint32_t *id, struct error *err)
{
	(void)ctx;
	return kernel_generation(id, err);
}

static enum exit_code real_run(void *ctx, const char *nft, bool dry_run, struct error *err)
{
	return kernel_run(ctx, nft, dry_run, err);
}

static enum exit_code real_read_firewalls(void *ctx, const struct entry_list *entries,
					  uint32_t mark, const volatile sig_atomic_t *cancel,
					  struct live_table *live, struct foreign_report *r,
					  struct error *err)
{
	return coexist_read(ctx, 0, entries, mark, cancel, live, r, err);
}

static enum exit_code real_read_table(void *ctx, struct live_table *t, char **elements,
				     struct error *err)
{
	size_t len = 0;
	FILE *mem;
	bool ok;
	enum exit_code rc = live_read_table(ctx, false, t, err);

	if (rc != EXIT_OK)
		return rc;
	mem = open_memstream(elements, &len);
	ok = mem && render_elements(&t->entries, &t->guests, &t->masqueraded, &t->ports, mem);
	if (!mem || fclose(mem) != 0 || !ok) {
		free(*elements);
		*elements = NULL;
		live_free(t);
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	}
	return EXIT_OK;
}

static enum exit_code real_read_structure(void *ctx, struct live_table *t, struct error *err)
{
	return live_read_structure(ctx, t, err);
}

static bool real_conntrack_tracked(void *ctx)
{
	(void)ctx;
	return conntrack_any_tracked();
}

static size_t real_conntrack_forget(void *ctx, const struct entry_list *before,
				    const struct entry_list *after)
{
	(void)ctx;
	return conntrack_forget_stale(before, after);
}

static bool real_libvirt_forwards(void *ctx)
{
	(void)ctx;
	return hostcheck_libvirt_forwards();
}

struct kernel_ops kernel_ops_real(struct kernel *k)
{
	return (struct kernel_ops){
		.ctx = k,
		.generation = real_generation,
		.run = real_run,
		.read_firewalls = real_read_firewalls,
		.read_table = real_read_table,
		.read_structure = real_read_structure,
		.conntrack_tracked = real_conntrack_tracked,
		.conntrack_forget = real_conntrack_forget,
		.libvirt_forwards = real_libvirt_forwards,
		.forwarding = { &sysctl_ipv4_forward, &sysctl_ipv6_forward },
	};
}
