/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's nftables change notifications (the netlink group `nft monitor` listens
 * to), through libmnl: every committed transaction in this network namespace, whoever
 * made it, with the tables and chains it touched, and the generation, pid and name of the
 * process that committed it. The watcher's only event source: it covers every program
 * that touches nftables (libvirt, Docker, ufw, firewalld, nft, iptables-nft).
 */
#ifndef NFT_PORTFWD_EVENTS_H
#define NFT_PORTFWD_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/common.h"

struct events;

/* What the transactions read so far changed, other than those of process `self`. */
struct change_batch {
	bool changed;       /* some other process committed something */
	bool overflow;      /* notifications were lost (the socket's buffer overflowed) */
	unsigned commits;   /* how many transactions */
	pid_t pid;          /* the process of the last of them, 0 if not known */
	char who[64];       /* its name ("libvirtd", "nft", "iptables-nft-r"), or "" */
	char touched[512];  /* "ip filter LIBVIRT_FWI, inet portfwd", cut when long */
	bool our_table;     /* one of them touched table inet portfwd (however long the list) */
};

/* Subscribe; needs CAP_NET_ADMIN. */
enum exit_code events_open(struct events **ev, struct error *err);
void events_close(struct events *ev);

/* The socket to poll for input. */
int events_fd(const struct events *ev);

/*
 * Our own transactions, to leave out: the kernel names the committing process with each
 * generation, but by its pid in the first pid namespace, which is not ours in a container;
 * so a generation we read right after our commit counts too, when the name matches.
 */
struct own_commits {
	pid_t pid;          /* getpid() */
	const char *name;   /* our process name as the kernel reports it ("nft-portfwd") */
	uint32_t gens[4];   /* the generations our last commits left */
	unsigned next;
};

/* Remember the generation that our commit just left. */
void own_commit(struct own_commits *own, uint32_t gen);

/*
 * Read every notification waiting (without blocking) into `b`, leaving out our own
 * transactions. EXIT_SYSTEM when the socket fails.
 */
enum exit_code events_read(struct events *ev, const struct own_commits *own,
			   struct change_batch *b, struct error *err);

/*
 * A transaction read in part (its closing notification not yet read) has touched table
 * inet portfwd: a reader that must know whether our table changed counts it too.
 */
bool events_ours_midway(const struct events *ev);

#endif
