/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "util/nftsyntax.h"

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* nft's scanner: a string starts with a letter, '_' or '.', then letters, digits, "/-_.". */
bool nft_name_ok(const char *name)
{
	if (!*name || !(is_letter(*name) || strchr("_.", *name)) || strlen(name) > 256)
		return false;
	for (; *name; name++)
		if (!(is_letter(*name) || (*name >= '0' && *name <= '9') || strchr("/-_.", *name)))
			return false;
	return true;
}

/* Can `text` stand between double quotes (an interface name, a comment)? */
static bool nft_string_ok(const char *text)
{
	for (; *text; text++)
		if ((unsigned char)*text < 0x20 || *text == 0x7f || *text == '"' || *text == '\\')
			return false;
	return true;
}

bool nft_put_rule_ref(FILE *out, const char *verb, const char *family, const char *table,
		      const char *chain)
{
	if (!nft_name_ok(family) || !nft_name_ok(table) || !nft_name_ok(chain))
		return false;
	fprintf(out, "%s rule %s %s %s", verb, family, table, chain);
	return true;
}

bool nft_put_comment(FILE *out, const char *text)
{
	if (!nft_string_ok(text) || strlen(text) > NFT_COMMENT_MAX)
		return false;
	fprintf(out, " comment \"%s\"", text);
	return true;
}

bool nft_quote_string(char *buf, size_t size, const char *text)
{
	return nft_string_ok(text) && (size_t)snprintf(buf, size, "\"%s\"", text) < size;
}
