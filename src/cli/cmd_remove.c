/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * remove: the forward named NAME, or the one that takes PROTO PORT, out of the drop-in file
 * nft-portfwd owns (dropin.h), then apply. A forward of any other file is refused with
 * that file and line: nft-portfwd never edits what it did not write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "config/describe.h"
#include "config/entries.h"
#include "cli/dropin.h"
#include "cli/load.h"
#include "sys/state.h"
#include "config/validate.h"

/* What the words name: a forward's name, or a protocol and one host port. */
struct target {
	const char *name;
	unsigned proto;
	uint16_t port;
};

static enum exit_code parse_target(const struct options *opts, struct target *t,
				   struct error *err)
{
	static const char usage[] = "expected a forward's name or PROTO PORT, as in "
				    "'nft-portfwd remove ssh' or 'nft-portfwd remove tcp 2222'";
	const char *reason;

	*t = (struct target){ 0 };
	if (opts->arg_count == 1) {
		t->name = opts->args[0];
		if ((reason = check_forward_name(t->name)))
			return error_set(err, "remove: '%s' %s; %s", t->name, reason, usage), EXIT_USAGE;
		return EXIT_OK;
	}
	if (opts->arg_count != 2)
		return (error_set(err, "remove: %s", usage), EXIT_USAGE);
	if ((strcmp(opts->args[0], "tcp") && strcmp(opts->args[0], "udp")) ||
	    parse_protos(opts->args[0], &t->proto))
		return error_set(err, "remove: '%s' is not tcp or udp; %s", opts->args[0], usage),
		       EXIT_USAGE;
	if ((reason = parse_port(opts->args[1], &t->port)))
		return (error_set(err, "remove: port '%s' %s", opts->args[1], reason), EXIT_USAGE);
	return EXIT_OK;
}

static bool matches(const struct forward *f, const struct target *t)
{
	if (t->name)
		return strcmp(f->name, t->name) == 0;
	return (f->protos & t->proto) && f->host_port <= t->port && t->port <= f->host_port_last;
}

/* A file nft-portfwd writes: the drop-in file, or the flags record. */
struct owned_file {
	const char *path;
	const char *text;
};

/* Is forward `f` one of the file's that `t` names? */
static bool dropped(const struct forward *f, const struct owned_file *d, const struct target *t)
{
	return strcmp(f->where.source, d->path) == 0 && matches(f, t);
}

/*
 * The file's text without the lines of the matching forwards, or NULL when no forward of
 * it is left (the drop-in file goes, as before the first add).
 */
static char *without(const struct owned_file *d, const struct model *m, const struct target *t,
		     bool *failed)
{
	size_t len = strlen(d->text), out = 0, left = 0;
	char *text = malloc(len + 1);
	unsigned line = 1;

	if (!text) {
		*failed = true;
		return NULL;
	}
	for (size_t i = 0; i < model_forward_count(m); i++)
		left += strcmp(model_forward_at(m, i)->where.source, d->path) == 0 &&
			!matches(model_forward_at(m, i), t);
	for (const char *p = d->text; *p; line++) {
		size_t n = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
		bool drop = false;

		for (size_t i = 0; i < model_forward_count(m) && !drop; i++)
			drop = model_forward_at(m, i)->where.line == line && dropped(model_forward_at(m, i), d, t);
		if (!drop) {
			memcpy(text + out, p, n);
			out += n;
		}
		p += n;
	}
	text[out] = '\0';
	if (!left) {
		free(text);
		return NULL;
	}
	return text;
}

/* Every forward of the drop-in that `t` names, as config lines, "; "-separated. */
static char *dropped_lines(const struct owned_file *d, const struct model *m,
			   const struct target *t)
{
	char *all = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&all, &len);
	bool ok = out != NULL, first = true;

	for (size_t i = 0; ok && i < model_forward_count(m); i++) {
		char *line;

		if (!dropped(model_forward_at(m, i), d, t))
			continue;
		ok = (line = forward_text(m, model_forward_at(m, i), AS_CONFIG)) != NULL;
		if (ok)
			fprintf(out, "%s%s", first ? "" : "; ", line);
		first = false;
		free(line);
	}
	if (out && fclose(out) != 0)
		ok = false;
	if (!ok) {
		free(all);
		return NULL;
	}
	return all;
}

/* The first forward `t` names, or NULL. */
static const struct forward *find(const struct model *m, const struct target *t)
{
	for (size_t i = 0; i < model_forward_count(m); i++)
		if (matches(model_forward_at(m, i), t))
			return model_forward_at(m, i);
	return NULL;
}

/*
 * Take the forwards `t` names out of the flags record and apply, under the edit's lock;
 * a failed apply puts the record back. `text` is the record without them, NULL when no
 * forward of it is left: then the record goes, and the settings recorded with its
 * forwards go with it (said).
 */
static enum exit_code remove_from_record(struct dropin_edit *e, const struct flag_record *record,
					 const char *text, struct outcome *out, struct error *err)
{
	struct error ignored;
	enum exit_code rc = EXIT_OK;
	char *settings = text ? NULL : options_record_settings(record->text);

	if (text)
		rc = state_write_file(e->opts.state_dir, FLAGS_RECORD_FILE, text, err);
	else
		state_remove(e->opts.state_dir, FLAGS_RECORD_FILE);
	if (rc == EXIT_OK && (rc = apply_into(&e->opts, out, true, err)) != EXIT_OK &&
	    state_write_file(e->opts.state_dir, FLAGS_RECORD_FILE, record->text, &ignored) != EXIT_OK)
		fprintf(stderr, "nft-portfwd: warning: %s; %s keeps the change that was not "
				"applied\n", ignored.msg, record->path);
	for (char *line = settings ? strtok(settings, "\n") : NULL; rc == EXIT_OK && line;
	     line = strtok(NULL, "\n"))
		outcome_say(out, "no longer in force: %s (given with the flags' forwards, the last of "
				 "which is gone)", line);
	if (rc == EXIT_OK)
		outcome_set(out, "file", json_string(record->path));
	free(settings);
	return rc;
}

static enum exit_code run_remove(const struct options *given)
{
	struct dropin_edit e = DROPIN_EDIT_NONE;
	struct flag_record record = { 0 };
	struct owned_file file = { 0 };
	struct outcome out;
	struct error err;
	struct target t;
	const struct forward *f = NULL;
	char *text = NULL, *line = NULL, what[64];
	bool failed = false, from_record = false;
	enum exit_code rc;

	outcome_init(&out, "remove", given->json, given->quiet);
	rc = parse_target(given, &t, &err);
	if (t.name)
		snprintf(what, sizeof(what), "named '%s'", t.name);
	else
		snprintf(what, sizeof(what), "that takes %s port %u", proto_name(t.proto), t.port);
	if (rc == EXIT_OK)
		rc = dropin_begin(given, &e, &err);
	if (rc == EXIT_OK)
		rc = load_record(&e.opts, &record, &err);
	if (rc == EXIT_OK && !(f = find(&e.m, &t))) {
		char hint[512];

		options_hint(given, "list", hint, sizeof(hint));
		rc = (error_set(&err, "no forward %s; '%s' shows the forwards and their names", what,
				hint), EXIT_USAGE);
	}
	if (rc == EXIT_OK) {
		from_record = record.text && !strcmp(f->where.source, record.path);
		file = from_record ? (struct owned_file){ record.path, record.text }
				   : (struct owned_file){ e.d.path, e.d.text };
	}
	if (rc == EXIT_OK && strcmp(f->where.source, file.path) != 0) {
		char where[4200];

		format_origin(&f->where, where, sizeof(where));
		rc = (error_set(&err, "the forward %s comes from %s, which nft-portfwd did not "
				     "write: remove it there (remove changes only %s and the flags "
				     "record %s)", what, where, e.d.path, record.path), EXIT_USAGE);
	}
	if (rc == EXIT_OK && !(line = dropped_lines(&file, &e.m, &t)))
		rc = (error_set(&err, "out of memory"), EXIT_SYSTEM);
	if (rc == EXIT_OK) {
		text = without(&file, &e.m, &t, &failed);
		if (failed)
			rc = (error_set(&err, "out of memory"), EXIT_SYSTEM);
	}
	if (rc == EXIT_OK)
		rc = from_record ? remove_from_record(&e, &record, text, &out, &err)
				 : dropin_apply(&e, text, true, &out, &err);
	if (rc == EXIT_OK) {
		outcome_say(&out, "removed %s from %s%s", line, file.path,
			    text ? "" : " (its last forward: the file is gone)");
		outcome_set(&out, "removed", json_string(line));
	}
	free(line);
	free(text);
	flag_record_free(&record);
	dropin_end(&e);
	return outcome_finish(&out, rc, &err);
}

const struct command command_remove = {
	.name = "remove",
	.summary = "remove a forward from nft-portfwd's drop-in file and apply",
	.args = "NAME | PROTO PORT",
	.help = "Removes the forward named NAME, or the one that takes PROTO PORT (a whole range or\n"
		"tcp,udp forward when the port is one of it), from DIR/" DROPIN_FILE " of the\n"
		"drop-in directory, or from the flags record (what apply was given as flags),\n"
		"under the lock, then applies. A forward of another file is refused with its\n"
		"file and line; nft-portfwd never edits files it did not write.\n"
		"A failed apply puts the file back; a running watcher is told to read the config\n"
		"again. With --config FILE, give --config-dir too.\n",
	.accepts = OPT_CONFIG | OPT_STATE_DIR | OPT_JSON | OPT_QUIET,
	.run = run_remove,
};
