/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every unit shares: the error carrier and the documented exit codes. */
#ifndef NFT_PORTFWD_COMMON_H
#define NFT_PORTFWD_COMMON_H

#include <stdarg.h>
#include <stdbool.h>

/* Exit codes; documented in README.md and nft-portfwd(8). Keep them stable. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_DRIFT = 1,      /* status: the live table differs from the config */
	EXIT_USAGE = 2,      /* unknown command or option, bad option value */
	EXIT_CONFIG = 3,     /* the config (file or flags) is invalid or unreadable */
	EXIT_PERMISSION = 4, /* CAP_NET_ADMIN (or write access to the state dir) missing */
	EXIT_KERNEL = 5,     /* libnftables or the kernel rejected the ruleset */
	EXIT_SYSTEM = 6,     /* anything else the system refused: sysctl, I/O, lock */
};

/*
 * libnftables 1.0.6 prints the flags of a table with 'flags owner' (one that another process
 * holds) from a stray pointer, so its JSON listing can come out invalid. That is the one
 * way seen here to get invalid JSON from it; say so when it happens.
 */
#define INVALID_JSON_HINT                                                               \
	"libnftables does this when another process owns a table (nft flags owner): "   \
	"find that process, or look at 'nft list ruleset'"

/* A number macro as a string literal, for help texts that quote the constants they describe. */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* One error message, complete and ready to print: what, where, how to fix. */
struct error {
	char msg[1024];
};

/* printf into err->msg; returns false so callers can `return error_set(...)`. */
__attribute__((format(printf, 2, 3)))
bool error_set(struct error *err, const char *fmt, ...);

#endif
