/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What status and metrics report, read the same way for both: the config against the live
 * table, forward by forward, by map key (family, protocol, host port, client network), with
 * counters, table-wide drift, other firewalls, the forwarding sysctls. Read-only, so it
 * takes no lock: an apply running at the same moment can show as drift for that one call.
 */
#ifndef NFT_PORTFWD_REPORT_H
#define NFT_PORTFWD_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/options.h"
#include "config/entries.h"
#include "config/model.h"
#include "firewalls/foreign.h"
#include "sys/findings.h"
#include "sys/sysctl.h"
#include "table/live.h"
#include "util/common.h"

/*
 * Worst last: a forward takes the worst state of its entries, so missing wins over
 * different (traffic to a missing entry is not forwarded at all).
 */
enum forward_state { STATE_LIVE, STATE_DIFFERENT, STATE_MISSING };
/* "live", "different", "missing", by state */
extern const char *const forward_state_names[];

/* A config entry that is not live as configured: `have` is NULL when it is missing. */
struct mismatch {
	const struct entry *want, *have;
};

struct forward_status {
	enum forward_state state;
	uint64_t packets, bytes;                   /* its own: its host ports' counters */
	uint64_t endpoint_packets, endpoint_bytes; /* its guest endpoints', shared with others */
	uint64_t limited;   /* new connections its limit dropped */
	bool limited_known; /* the live table has its limit's counter */
};

/* What status and metrics report, read once. */
struct report {
	struct model model;              /* the config, drop-ins and flags record */
	const struct model *m;           /* &model */
	const char *state_dir;
	struct live_table live;
	struct entry_list wanted;        /* the config's entries, in the forwards' order */
	struct entry *have;              /* the live entries sorted by key */
	struct forward_status *forwards; /* one per config forward */
	struct mismatch *mismatches;     /* in the order of `wanted` */
	size_t mismatch_count;
	const struct entry **extra;      /* live entries that no config forward has */
	size_t extra_count;
	char **drift;                    /* table-wide differences */
	size_t drift_count, drift_capacity;
	struct foreign_report foreign;   /* other firewalls on the forward hook */
	struct host_findings found;      /* what on this host keeps the forwards from working */
	bool *accept_needed;             /* per foreign block: our accepts missing or stale */
	bool untouched;                  /* no transaction anywhere since the last apply */
	struct {
		const struct forwarding_sysctl *sysctl;
		char value[16];
		bool read;
	} sysctls[2];
};

/*
 * Read the config (opts), the live table with its counters and the other firewalls, and
 * compare them; with `findings`, also what on this host keeps the forwards from working.
 * On error, `err` says why and *r holds nothing to free.
 */
enum exit_code report_read(const struct options *opts, bool findings, struct report *r,
			   struct error *err);

/* Nothing differs: status exits 0. */
bool report_in_sync(const struct report *r);

/* What our accepts in blocking chain i are: "in place", "missing", or why there are none. */
const char *report_accepts_state(const struct report *r, size_t i);

void report_free(struct report *r);

#endif
