/* SPDX-License-Identifier: GPL-2.0-or-later */
/* list: every configured forward with its name and origin (the file and line), from the
 * config alone: no kernel, no privileges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "config/describe.h"
#include "config/validate.h"

static enum exit_code print_json(const struct model *m, struct error *err)
{
	json_t *forwards = json_array(), *root;
	bool ok = forwards != NULL;
	char *text;

	for (size_t i = 0; ok && i < m->forward_count; i++)
		ok = json_array_append_new(forwards, forward_json(m, &m->forwards[i])) == 0;
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

static enum exit_code print_text(const struct model *m, struct error *err)
{
	char **origins = calloc(m->forward_count + 1, sizeof(*origins));
	char **texts = calloc(m->forward_count + 1, sizeof(*texts));
	int w_name = (int)strlen("NAME"), w_origin = (int)strlen("ORIGIN");
	bool ok = origins && texts;

	for (size_t i = 0; ok && i < m->forward_count; i++) {
		char where[4200];
		int n = (int)strlen(m->forwards[i].name);

		format_origin(&m->forwards[i].where, where, sizeof(where));
		ok = (origins[i] = strdup(where)) &&
		     (texts[i] = forward_text(m, &m->forwards[i], AS_STATUS));
		w_name = n > w_name ? n : w_name;
		if (ok && (int)strlen(where) > w_origin)
			w_origin = (int)strlen(where);
	}
	if (ok && !m->forward_count)
		printf("(no forwards configured)\n");
	else if (ok)
		printf("%-*s  %-*s  FORWARD\n", w_name, "NAME", w_origin, "ORIGIN");
	for (size_t i = 0; ok && i < m->forward_count; i++)
		printf("%-*s  %-*s  %s\n", w_name, m->forwards[i].name[0] ? m->forwards[i].name : "-",
		       w_origin, origins[i], texts[i]);
	for (size_t i = 0; origins && texts && i < m->forward_count; i++) {
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
	enum exit_code rc = options_load_model(opts, &m, &err);

	if (rc != EXIT_OK)
		return report_error(rc, &err);
	rc = opts->json ? print_json(&m, &err) : print_text(&m, &err);
	model_free(&m);
	return rc == EXIT_OK ? rc : report_error(rc, &err);
}

const struct command command_list = {
	.name = "list",
	.summary = "print every configured forward with its name and origin",
	.help = "Prints the forwards of the config file and the drop-in directory, in the order\n"
		"they are read: the name ('-' for none), the file and line each comes from, and\n"
		"what it forwards. Reads the config only (no kernel, no privileges); status says\n"
		"what the live table does with them.\n",
	.accepts = OPT_CONFIG | OPT_JSON,
	.run = run_list,
};
