/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * add: one forward, written into the drop-in file nft-portfwd owns (dropin.h), then
 * applied. Under the state dir's lock: the forward is checked against the whole config
 * before anything is written, and the file goes back to what it was when the apply fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "config/config.h"
#include "config/describe.h"
#include "cli/dropin.h"
#include "config/validate.h"

/* The command's words joined by spaces: "tcp 2222 to 192.0.2.10:22 name ssh". */
static char *join_words(const struct options *opts)
{
	size_t len = 1;
	char *words;

	for (size_t i = 0; i < opts->arg_count; i++)
		len += strlen(opts->args[i]) + 1;
	if (!(words = calloc(1, len)))
		return NULL;
	for (size_t i = 0; i < opts->arg_count; i++) {
		strcat(words, opts->args[i]);
		strcat(words, i + 1 < opts->arg_count ? " " : "");
	}
	return words;
}

/* Is `line` one of the lines of `text`? */
static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
}

/*
 * The new forward, checked with the config it joins; *line is it as a config line. Exit 3
 * for a refused forward, 2 for none given.
 */
static enum exit_code new_forward(const struct options *opts, struct model *m, char **line,
				  struct error *err)
{
	const struct origin cli = { .source = "command line", .line = 0 };
	char *words;
	bool ok;

	if (!opts->arg_count) {
		error_set(err, "add: no forward given; as in 'nft-portfwd add tcp 2222 to "
			       "192.0.2.10:22 name ssh' (the words of a config file's forward line)");
		return EXIT_USAGE;
	}
	if (!(words = join_words(opts)))
		return (error_set(err, "out of memory"), EXIT_SYSTEM);
	ok = config_parse_forward(m, words, &cli, err) && check_model(m, err);
	free(words);
	if (!ok)
		return EXIT_CONFIG;
	if (!(*line = forward_text(m, &m->forwards[m->forward_count - 1], AS_CONFIG)))
		return (error_set(err, "out of memory"), EXIT_SYSTEM);
	return EXIT_OK;
}

/* Is the forward refused only because the drop-in holds it already? *line is it then. */
static bool held_already(const struct options *opts, const char *text, char **line)
{
	struct model alone = { 0 };
	struct error unused;
	bool held = new_forward(opts, &alone, line, &unused) == EXIT_OK && has_line(text, *line);

	model_free(&alone);
	if (!held) {
		free(*line);
		*line = NULL;
	}
	return held;
}

static enum exit_code run_add(const struct options *given)
{
	struct dropin_edit e;
	struct outcome out;
	struct error err;
	char *line = NULL, *text = NULL;
	bool already = false;
	enum exit_code rc;

	outcome_init(&out, "add", given->json, given->quiet);
	rc = dropin_begin(given, &e, &err);
	if (rc == EXIT_OK) {
		rc = new_forward(&e.opts, &e.m, &line, &err);
		/* the same forward again (a script run twice) is no error: it is there */
		if (rc == EXIT_CONFIG && e.d.text &&
		    (already = held_already(&e.opts, e.d.text, &line)))
			rc = EXIT_OK;
	}
	if (rc == EXIT_OK && !already) {
		const char *old = e.d.text ? e.d.text : DROPIN_HEADER;
		/* a last line without its newline (a hand edit) must not swallow ours */
		bool open_line = *old && old[strlen(old) - 1] != '\n';

		if (asprintf(&text, "%s%s%s\n", old, open_line ? "\n" : "", line) < 0) {
			text = NULL;
			rc = (error_set(&err, "out of memory"), EXIT_SYSTEM);
		}
	}
	if (rc == EXIT_OK)
		rc = dropin_apply(&e, text, !already, &out, &err);
	if (rc == EXIT_OK) {
		outcome_say(&out, already ? "%s is in %s already" : "added %s to %s", line, e.d.path);
		outcome_set(&out, "added", already ? json_null() : json_string(line));
	}
	free(text);
	free(line);
	dropin_end(&e);
	return outcome_finish(&out, rc, &err);
}

const struct command command_add = {
	.name = "add",
	.summary = "add a forward to nft-portfwd's drop-in file and apply",
	.args = "PROTO PORTS to ADDR[:PORTS] [from NETS] [name NAME] [limit RATE [burst N]] [log] [keep-source]",
	.help = "Takes the words of a config file's forward line (nft-portfwd.conf(5)), checks the\n"
		"forward against the whole config (main file and drop-ins), writes it into\n"
		"DIR/" DROPIN_FILE " of the drop-in directory (the one file nft-portfwd writes\n"
		"there; it is replaced atomically under the lock), then applies. A refused\n"
		"forward writes nothing; a failed apply puts the file back. Adding a forward that\n"
		"file holds already changes nothing. A running watcher (the unit) is told to\n"
		"read the config again. With --config FILE, give --config-dir too.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_JSON | OPT_QUIET,
	.run = run_add,
};
