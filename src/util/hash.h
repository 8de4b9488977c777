/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FNV-1a over bytes: the hash of every open-addressing index (elements, tables, names). */
#ifndef NFT_PORTFWD_HASH_H
#define NFT_PORTFWD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV_OFFSET 0xcbf29ce484222325ull

/* `h` with `len` bytes of `data` folded in; start from FNV_OFFSET (or a seed mixed into it). */
static inline uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

#endif
