/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Part 1 of the design: the forwarding sysctls. apply turns one on and remembers, in the
 * state directory, the value it had before the first apply, and each interface's own
 * forwarding switch, which the kernel overwrites with the global one; flush puts them back.
 */
#ifndef NFT_PORTFWD_SYSCTL_H
#define NFT_PORTFWD_SYSCTL_H

#include <stdbool.h>

#include "util/common.h"

struct forwarding_sysctl {
	const char *name;       /* net.ipv4.ip_forward */
	const char *proc_path;  /* /proc/sys/net/ipv4/ip_forward */
	const char *state_name; /* file in the state directory holding the value to restore */
	const char *conf_dir;   /* /proc/sys/net/ipv4/conf: each interface's switch, "default" */
};

extern const struct forwarding_sysctl sysctl_ipv4_forward, sysctl_ipv6_forward;

/* What one enable did, so that a failed apply can undo exactly that. */
struct sysctl_change {
	const struct forwarding_sysctl *sysctl;
	char before[16];
	bool written;  /* we turned it on */
	bool recorded; /* we created the record of the value to restore */
};

/* Turn forwarding on, recording the old value if no earlier apply did. */
enum exit_code sysctl_enable(const char *state_dir, const struct forwarding_sysctl *s,
			     struct sysctl_change *change, struct error *err);

/* Undo one sysctl_enable of this run (after a failed commit). */
void sysctl_undo(const char *state_dir, const struct sysctl_change *change);

/*
 * Put back the value recorded by the first apply, then each interface's own switch that
 * now differs from the record (`ifaces`: "eth1=1, default=0"), and forget it. *restored is
 * false when nothing was recorded; `value` receives what was written.
 */
enum exit_code sysctl_restore(const char *state_dir, const struct forwarding_sysctl *s,
			      bool *restored, char value[16], char *ifaces, size_t size,
			      struct error *err);

/* Forget the recorded value, leaving the sysctl as it is: true when there was one. */
bool sysctl_forget(const char *state_dir, const struct forwarding_sysctl *s);

/*
 * Is apply the one turning this forwarding on: the value before the first apply, as the
 * state dir records it, was 0, or with no record (nothing applied) it is 0 now? *certain is
 * false when it is on now and the state dir cannot be read (not root): an apply of ours may
 * have turned it on.
 */
bool sysctl_turned_on_by_us(const char *state_dir, const struct forwarding_sysctl *s,
			    bool *certain);

/* The first line of a file under /proc/sys (a sysctl's value), or false. */
bool sysctl_read_path(const char *path, char value[16]);

/* The current value, or false when it cannot be read. */
bool sysctl_read(const struct forwarding_sysctl *s, char value[16]);

#endif
