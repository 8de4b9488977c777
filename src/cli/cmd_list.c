/* SPDX-License-Identifier: GPL-2.0-or-later */
/* list: every configured forward with its name and origin (the file and line), from the
 * config (and libvirt, read-only, for `to vm` forwards): no kernel, no privileges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/load.h"
#include "config/describe.h"
#include "config/resolve.h"
#include "config/validate.h"

/* Every forward in the config's order, with why it waits (NULL: it does not). */
struct listed {
	const struct forward *f;
	const char *waiting;
};

static int by_order(const void *a, const void *b)
{
	return forward_order_cmp(((const struct listed *)a)->f, ((const struct listed *)b)->f);
}

static struct listed *listed_forwards(const struct model *m, size_t *count)
{
	struct listed *all = calloc(m->forward_count + m->waiting_count + 1, sizeof(*all));

	*count = 0;
	for (size_t i = 0; all && i < m->forward_count; i++)
		all[(*count)++] = (struct listed){ &m->forwards[i], NULL };
	for (size_t i = 0; all && i < m->waiting_count; i++)
		all[(*count)++] = (struct listed){ &m->waiting[i].f, m->waiting[i].why };
	if (all)
		qsort(all, *count, sizeof(*all), by_order);
	return all;
}

static enum exit_code print_json(const struct model *m, const struct listed *all, size_t count,
				 struct error *err)
{
	json_t *forwards = json_array(), *root;
	bool ok = forwards != NULL;
	char *text;

	for (size_t i = 0; ok && i < count; i++) {
		json_t *o = forward_json(m, all[i].f);

		ok = o && (!all[i].waiting ||
			   !json_object_set_new(o, "waiting", json_string(all[i].waiting))) &&
		     json_array_append_new(forwards, o) == 0;
	}
	root = ok ? json_pack("{s:s, s:o}", "command", "list", "forwards", forwards) : NULL;
	if (!ok)
		json_decref(forwards);
	text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	json_decref(root);
	if (!text)
		return (error_set(err, "out of memory"), EXIT_SYSTEM);
	puts(text);
	free(text);
	return EXIT_OK;
}

static enum exit_code print_text(const struct model *m, const struct listed *all, size_t count,
				 struct error *err)
{
	char **origins = calloc(count + 1, sizeof(*origins));
	char **texts = calloc(count + 1, sizeof(*texts));
	int w_name = (int)strlen("NAME"), w_origin = (int)strlen("ORIGIN");
	bool ok = origins && texts;

	for (size_t i = 0; ok && i < count; i++) {
		char where[4200];
		int n = (int)strlen(all[i].f->name);

		format_origin(&all[i].f->where, where, sizeof(where));
		ok = (origins[i] = strdup(where)) && (texts[i] = forward_text(m, all[i].f, AS_STATUS));
		w_name = n > w_name ? n : w_name;
		if (ok && (int)strlen(where) > w_origin)
			w_origin = (int)strlen(where);
	}
	if (ok && !count)
		printf("(no forwards configured)\n");
	else if (ok)
		printf("%-*s  %-*s  FORWARD\n", w_name, "NAME", w_origin, "ORIGIN");
	for (size_t i = 0; ok && i < count; i++)
		printf("%-*s  %-*s  %s%s%s\n", w_name, all[i].f->name[0] ? all[i].f->name : "-",
		       w_origin, origins[i], texts[i], all[i].waiting ? ": waiting: " : "",
		       all[i].waiting ? all[i].waiting : "");
	for (size_t i = 0; origins && texts && i < count; i++) {
		free(origins[i]);
		free(texts[i]);
	}
	free(origins);
	free(texts);
	return ok ? EXIT_OK : (error_set(err, "out of memory"), EXIT_SYSTEM);
}

static enum exit_code run_list(const struct options *opts)
{
	struct model m;
	struct error err;
	enum exit_code rc = load_resolved(opts, &m, RESOLVE_UNKNOWN_WAITS, &err);
	struct listed *all;
	size_t count;

	if (rc != EXIT_OK)
		return report_error(rc, &err);
	all = listed_forwards(&m, &count);
	if (!all)
		rc = (error_set(&err, "out of memory"), EXIT_SYSTEM);
	else if (opts->quiet) /* the config is valid: the exit code says it */
		rc = EXIT_OK;
	else
		rc = opts->json ? print_json(&m, all, count, &err) : print_text(&m, all, count, &err);
	free(all);
	model_free(&m);
	return rc == EXIT_OK ? rc : report_error(rc, &err);
}

const struct command command_list = {
	.name = "list",
	.summary = "print every configured forward with its name and origin",
	.help = "Prints the forwards of the config file, the drop-in directory and the flags\n"
		"record (what applies were given as flags), in the order they are read: the name\n"
		"('-' for none), the file and line each comes from, and\n"
		"what it forwards; a forward to a libvirt domain with its address now (looked up\n"
		"read-only) or why it waits. Reads the config and libvirt only (no kernel, no\n"
		"privileges); status says what the live table does with them.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_JSON | OPT_QUIET,
	.run = run_list,
};
