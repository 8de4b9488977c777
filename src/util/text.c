/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdlib.h>

#include "util/text.h"

bool text_grow(struct text *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 4096;
	char *grown;

	if (t->failed)
		return false;
	while (cap <= t->len + more)
		cap *= 2;
	if (!(grown = realloc(t->data, cap))) {
		t->failed = true;
		return false;
	}
	t->data = grown;
	t->cap = cap;
	return true;
}

void text_printf(struct text *t, const char *format, ...)
{
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(NULL, 0, format, ap);
	va_end(ap);
	if (n < 0 || !text_reserve(t, (size_t)n + 1)) {
		t->failed = true;
		return;
	}
	va_start(ap, format);
	vsnprintf(t->data + t->len, (size_t)n + 1, format, ap);
	va_end(ap);
	t->len += (size_t)n;
}

bool text_flush(struct text *t, FILE *out)
{
	bool ok = !t->failed && fwrite(t->data ? t->data : "", 1, t->len, out) == t->len;

	free(t->data);
	*t = (struct text){ 0 };
	return ok && !ferror(out);
}

char *text_take(struct text *t)
{
	char *s = t->failed ? NULL : t->data ? t->data : strdup("");

	/* to fit: status keeps a text per forward, and each started with 4096 bytes */
	if (s && t->data && t->cap > t->len + 1) {
		char *fitted = realloc(s, t->len + 1);

		s = fitted ? fitted : s;
	}
	if (t->failed)
		free(t->data);
	*t = (struct text){ 0 };
	return s;
}

void text_copy(struct text *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s", t->data && !t->failed ? t->data : "");
	free(t->data);
	*t = (struct text){ 0 };
}
