/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "util/common.h"

bool error_set(struct error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return false;
}
