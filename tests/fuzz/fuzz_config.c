/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the config parser and the model checks on any bytes. Every input must
 * be accepted, or rejected with a message; nothing may crash, leak or trip a sanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = { 0 };
	struct error err;
	bool ok;

	memset(&err, 0, sizeof(err));
	ok = config_parse(&m, (const char *)data, size, "fuzz.conf", &err) && check_model(&m, &err);
	/* A rejection always says why, in a terminated message. */
	if (!ok && (err.msg[0] == '\0' || !memchr(err.msg, '\0', sizeof(err.msg))))
		abort();
	model_free(&m);
	return 0;
}
