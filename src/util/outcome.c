/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "util/outcome.h"

enum exit_code report_error(enum exit_code rc, const struct error *err)
{
	fprintf(stderr, "nft-portfwd: %s\n", err->msg);
	return rc;
}

void outcome_init(struct outcome *o, const char *command, bool json, bool quiet)
{
	o->json = json;
	o->quiet = quiet;
	o->fields = json_object();
	outcome_set(o, "command", json_string(command));
}

void outcome_say(struct outcome *o, const char *fmt, ...)
{
	va_list ap;

	if (o->json || o->quiet)
		return;
	va_start(ap, fmt);
	fputs("nft-portfwd: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

void outcome_set(struct outcome *o, const char *key, json_t *value)
{
	if (o->fields)
		json_object_set_new(o->fields, key, value);
	else
		json_decref(value);
}

enum exit_code outcome_finish(struct outcome *o, enum exit_code rc, const struct error *err)
{
	if (rc != EXIT_OK)
		report_error(rc, err);
	if (o->json) {
		outcome_set(o, "ok", json_boolean(rc == EXIT_OK));
		outcome_set(o, "exit_code", json_integer(rc));
		if (rc != EXIT_OK)
			outcome_set(o, "error", json_string(err->msg));
		if (!o->fields || json_dumpf(o->fields, stdout, JSON_INDENT(2)) != 0 ||
		    putchar('\n') == EOF) {
			fprintf(stderr, "nft-portfwd: cannot write the JSON result\n");
			rc = rc == EXIT_OK ? EXIT_SYSTEM : rc;
		}
	}
	json_decref(o->fields);
	o->fields = NULL;
	return rc;
}

void outcome_discard(struct outcome *o)
{
	json_decref(o->fields);
	o->fields = NULL;
}
