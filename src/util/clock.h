/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one clock the watcher and the tracer time with: monotonic milliseconds. */
#ifndef NFT_PORTFWD_CLOCK_H
#define NFT_PORTFWD_CLOCK_H

#include <time.h>

static inline long long monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

#endif
