/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: parse and check any bytes, then render whatever was accepted. The
 * rendering must succeed, be the same bytes every time, and hold the replace transaction.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "table/render.h"
#include "config/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = { 0 };
	struct error err;
	char *text = NULL, *again;
	size_t len = 0;
	FILE *out;

	memset(&err, 0, sizeof(err));
	if (!config_parse(&m, (const char *)data, size, "fuzz.conf", &err) ||
	    !check_model(&m, &err)) {
		if (err.msg[0] == '\0')
			abort();
		model_free(&m);
		return 0;
	}
	out = open_memstream(&text, &len);
	if (!out)
		abort();
	if (!render_ruleset(&m, out))
		abort();
	if (fclose(out) != 0)
		abort();
	/* Deterministic: render_ruleset_text gives the same bytes. */
	again = render_ruleset_text(&m);
	if (!again || strlen(again) != len || memcmp(again, text, len) != 0)
		abort();
	if (!strstr(text, "table " TABLE_FAMILY " " TABLE_NAME " {"))
		abort();
	free(again);
	free(text);
	model_free(&m);
	return 0;
}
