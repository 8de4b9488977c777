/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one string builder: text grown in memory (with 100,000 forwards a rendering is
 * 180,000 element lines, and a FILE memstream copies byte by byte). `failed` remembers that
 * memory ran out; every later write is dropped, and the end (text_flush, text_take,
 * text_copy) says so. Writes are inline: the renderer makes millions of them.
 */
#ifndef NFT_PORTFWD_TEXT_H
#define NFT_PORTFWD_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct text {
	char *data; /* NUL-terminated once anything was written; NULL before */
	size_t len, cap;
	bool failed;
};

/* Room for `more` bytes and the NUL; false (and failed) when memory ran out. */
bool text_grow(struct text *t, size_t more);

static inline bool text_reserve(struct text *t, size_t more)
{
	return !t->failed && (t->len + more < t->cap || text_grow(t, more));
}

static inline void text_put(struct text *t, const char *s, size_t n)
{
	if (!text_reserve(t, n))
		return;
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

static inline void text_puts(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

static inline void text_putc(struct text *t, char c)
{
	text_put(t, &c, 1);
}

__attribute__((format(printf, 2, 3)))
void text_printf(struct text *t, const char *format, ...);

/* Hand the text to `out` and free it; false when memory ran out or the write failed. */
bool text_flush(struct text *t, FILE *out);

/* The text as a malloc'd string ("" when empty), the builder emptied; NULL when memory ran out. */
char *text_take(struct text *t);

/* The text into a fixed buffer, cut to fit, and the builder freed. */
void text_copy(struct text *t, char *buf, size_t size);

#endif
