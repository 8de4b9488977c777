/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "firewalls/accept.h"
#include "util/nftsyntax.h"
#include "config/validate.h"

void accept_comment(uint32_t mark, char buf[129])
{
	snprintf(buf, 129, ACCEPT_COMMENT_FORMAT, mark);
}

void accept_write(FILE *out, uint32_t mark)
{
	char comment[129];

	accept_comment(mark, comment);
	fprintf(out, "meta mark & 0x%08x == 0x%08x counter accept", mark, mark);
	nft_put_comment(out, comment); /* our own text: always writable */
}

/* `s` starts with `prefix`: the rest, else NULL. */
static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) ? NULL : s + n;
}

/* Exactly n lowercase hex digits and the end of the string. */
static bool hex_digits(const char *s, size_t n, uint32_t *value)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	*value = v;
	return s[n] == '\0';
}

/* A decimal port as we print it: 1-65535, no leading zero. */
static const char *port_of(const char *s)
{
	unsigned long v = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9' && p - s < 5)
		v = v * 10 + (unsigned long)(*p++ - '0');
	return p == s || *s == '0' || v > 65535 ? NULL : p;
}

/* "ADDR PROTO PORT" or "ADDR PROTO PORT-PORT", as the previous release wrote an endpoint. */
static bool legacy_endpoint(const char *s)
{
	const char *space = strchr(s, ' ');
	char addr[64];
	struct addr a;

	if (!space || (size_t)(space - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(space - s));
	addr[space - s] = '\0';
	if (parse_addr(addr, &a))
		return false;
	s = after(space + 1, "tcp ") ? after(space + 1, "tcp ") : after(space + 1, "udp ");
	if (!s || !(s = port_of(s)))
		return false;
	if (*s == '-' && !(s = port_of(s + 1)))
		return false;
	return *s == '\0';
}

static bool legacy_comment(const char *comment)
{
	static const char *const endpoint[] = { "nft-portfwd: to guest ",
						"nft-portfwd: replies from guest " };
	static const char *const hashed[] = { "nft-portfwd: to guests #",
					       "nft-portfwd: replies from guests #" };
	uint32_t hash;

	for (size_t i = 0; i < 2; i++) {
		const char *rest = after(comment, endpoint[i]);

		if (rest && legacy_endpoint(rest))
			return true;
		rest = after(comment, hashed[i]);
		if (rest && hex_digits(rest, 8, &hash))
			return true;
	}
	return false;
}

/* [{"match": {"op": "==", "left": {"&": [{"meta": {"key": "mark"}}, M]}, "right": M}},
 *  {"counter": ...}, {"accept": null}] */
static bool is_our_accept(const json_t *expr, uint32_t mark)
{
	const json_t *match = json_object_get(json_array_get(expr, 0), "match");
	const json_t *and = json_object_get(json_object_get(match, "left"), "&");
	const json_t *meta = json_object_get(json_array_get(and, 0), "meta");

	return json_array_size(expr) == 3 && match &&
	       json_string_value(json_object_get(match, "op")) &&
	       !strcmp(json_string_value(json_object_get(match, "op")), "==") &&
	       json_array_size(and) == 2 && json_string_value(json_object_get(meta, "key")) &&
	       !strcmp(json_string_value(json_object_get(meta, "key")), "mark") &&
	       json_integer_value(json_array_get(and, 1)) == mark &&
	       json_integer_value(json_object_get(match, "right")) == mark &&
	       json_object_get(json_array_get(expr, 1), "counter") &&
	       json_object_get(json_array_get(expr, 2), "accept");
}

enum accept_owner accept_recognise(const char *comment, const json_t *expr)
{
	const char *prefix = "nft-portfwd: accept the forwards marked 0x";
	const char *rest = after(comment, prefix), *tail = " by table inet portfwd";
	uint32_t mark;

	if (rest && strlen(rest) == 8 + strlen(tail) && !strcmp(rest + 8, tail)) {
		char digits[9];

		memcpy(digits, rest, 8);
		digits[8] = '\0';
		if (hex_digits(digits, 8, &mark) && mark && !(mark & (mark - 1)) &&
		    is_our_accept(expr, mark))
			return ACCEPT_OURS;
		return ACCEPT_NOT_OURS;
	}
	if (legacy_comment(comment) && json_array_size(expr) &&
	    json_object_get(json_array_get(expr, json_array_size(expr) - 1), "accept"))
		return ACCEPT_LEGACY;
	return ACCEPT_NOT_OURS;
}
