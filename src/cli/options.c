/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "cli/options.h"
#include "table/render.h"
#include "sys/state.h"
#include "config/validate.h"
#include "config/describe.h"
#include "util/text.h"

#define FLAG_ENTRY(id, name, setting, value) { name, "--" name, setting, value },
const struct forward_flag forward_flags[FORWARD_FLAG_COUNT] = { FORWARD_FLAGS(FLAG_ENTRY) };
#undef FLAG_ENTRY

enum {
	LONG_STATE_DIR = 256,
	LONG_TRACE,
	LONG_JSON,
	LONG_CONFIG_DIR,
	LONG_FORWARD_FLAG, /* + forward_flag_id */
};

#define FLAG_OPTION(id, name, setting, value) { name, required_argument, NULL, LONG_FORWARD_FLAG + FLAG_##id },
static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "config", required_argument, NULL, 'c' },
	{ "config-dir", required_argument, NULL, LONG_CONFIG_DIR },
	{ "output", required_argument, NULL, 'o' },
	{ "state-dir", required_argument, NULL, LONG_STATE_DIR },
	FORWARD_FLAGS(FLAG_OPTION)
	{ "json", no_argument, NULL, LONG_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "trace", required_argument, NULL, LONG_TRACE },
	{ NULL, 0, NULL, 0 },
};
#undef FLAG_OPTION

/* Each forward flag describes one value; a second one would silently replace the first. */
static bool set_once(const char **slot, const char *spelling, struct error *err)
{
	if (*slot)
		return error_set(err, "option %s given twice; give it once (addresses take a "
				      "comma-separated list)", spelling);
	*slot = optarg;
	return true;
}

static void note_given(struct options *opts, enum option_bit bit, const char *spelling)
{
	size_t slot = (size_t)__builtin_ctz((unsigned)bit);

	if (!(opts->given & bit))
		opts->first_given[slot] = spelling;
	opts->given |= bit;
}

enum exit_code options_parse(int argc, char **argv, struct options *opts, struct error *err)
{
	int c;

	*opts = (struct options){ .config_path = CONFIG_PATH_DEFAULT,
				  .state_dir = STATE_DIR_DEFAULT };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hVqc:o:", long_options, NULL)) != -1) {
		switch (c) {
		case 'h': opts->help = true; break;
		case 'V': opts->version = true; break;
		case 'c':
			if (opts->config_given) {
				error_set(err, "option --config given twice; give one config file");
				return EXIT_USAGE;
			}
			opts->config_path = optarg;
			opts->config_given = true;
			note_given(opts, OPT_CONFIG, "--config");
			break;
		case LONG_CONFIG_DIR:
			if (opts->config_dir) {
				error_set(err, "option --config-dir given twice; give one directory");
				return EXIT_USAGE;
			}
			opts->config_dir = optarg;
			note_given(opts, OPT_CONFIG, "--config-dir");
			break;
		case 'o':
			if (!set_once(&opts->output_path, "--output", err))
				return EXIT_USAGE;
			note_given(opts, OPT_OUTPUT, "--output");
			break;
		case LONG_STATE_DIR:
			if (opts->given & OPT_STATE_DIR) {
				error_set(err, "option --state-dir given twice; give it once");
				return EXIT_USAGE;
			}
			opts->state_dir = optarg;
			note_given(opts, OPT_STATE_DIR, "--state-dir");
			break;
		case LONG_JSON:
			opts->json = true;
			note_given(opts, OPT_JSON, "--json");
			break;
		case 'q':
			opts->quiet = true;
			note_given(opts, OPT_QUIET, "--quiet");
			break;
		case LONG_TRACE: {
			char *end;
			unsigned long seconds = strtoul(optarg, &end, 10);

			if (!*optarg || *end || optarg[0] == '-' || seconds < 1 || seconds > TRACE_SECONDS_MAX) {
				error_set(err, "--trace: '%s' is not a number of seconds from 1 to %d",
					  optarg, TRACE_SECONDS_MAX);
				return EXIT_USAGE;
			}
			opts->trace_seconds = (unsigned)seconds;
			note_given(opts, OPT_TRACE, "--trace");
			break;
		}
		case ':':
			error_set(err, "option %s needs a value; see 'nft-portfwd --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (c >= LONG_FORWARD_FLAG && c < LONG_FORWARD_FLAG + FORWARD_FLAG_COUNT) {
				const struct forward_flag *f = &forward_flags[c - LONG_FORWARD_FLAG];

				if (!set_once(&opts->flag[c - LONG_FORWARD_FLAG], f->option, err))
					return EXIT_USAGE;
				note_given(opts, OPT_FORWARD, f->option);
				break;
			}
			error_set(err, "unknown option '%s'; see 'nft-portfwd --help'",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		opts->command = argv[optind++];
	/* the command's own words (add's forward, remove's name); main refuses them elsewhere */
	opts->args = (const char *const *)argv + optind;
	opts->arg_count = (size_t)(argc - optind);
	return EXIT_OK;
}

/* The origin of what this run's flags give. */
static const char cli_source[] = "command line";

static const struct forward_fields flag_names = {
	.protos = "--proto",
	.host_port = "--host-port",
	.guest_addr = "--vm-ip",
	.guest_port = "--vm-port",
	.vm = "--vm",
};

void options_print_forward_flags(FILE *out)
{
	size_t column = 0;

	for (size_t i = 0; i < FORWARD_FLAG_COUNT; i++) {
		size_t width = strlen(forward_flags[i].option) + 1 + strlen(forward_flags[i].value);

		if (column && column + 2 + width > 88) {
			fputc('\n', out);
			column = 0;
		}
		column += (size_t)fprintf(out, "  %s %s", forward_flags[i].option, forward_flags[i].value);
	}
	fputc('\n', out);
}

static bool load_flags(const struct options *opts, struct model *m, struct error *err)
{
	const struct origin cli = { .source = cli_source, .line = 0 };
	const char *host_port = opts->flag[FLAG_HOST_PORT], *vm_ip = opts->flag[FLAG_VM_IP];
	const char *vm = opts->flag[FLAG_VM];

	for (size_t i = 0; i < FORWARD_FLAG_COUNT; i++)
		if (forward_flags[i].setting && opts->flag[i] &&
		    !config_set(m, forward_flags[i].name, opts->flag[i], true, &cli,
				forward_flags[i].option, err))
			return false;

	if (!host_port && !vm_ip && !vm && !opts->flag[FLAG_VM_PORT] && !opts->flag[FLAG_PROTO])
		return true;
	if (vm && vm_ip)
		return error_set(err, "command line: --vm: give --vm NAME (a libvirt domain) or --vm-ip "
				      "ADDR, not both");
	if (!host_port)
		return error_set(err, "command line: --host-port: missing; a forward given by "
				      "flags needs --host-port and --vm-ip, as in --host-port 8080 "
				      "--vm-ip 192.0.2.10");
	if (!vm && !vm_ip)
		return error_set(err, "command line: --vm-ip: missing; a forward given by flags "
				      "needs --host-port and --vm-ip (or --vm NAME), as in "
				      "--host-port 8080 --vm-ip 192.0.2.10");
	struct forward_text text = {
		.protos = opts->flag[FLAG_PROTO] ? opts->flag[FLAG_PROTO] : "tcp",
		.host_port = host_port,
		.vm = vm,
		.guest_port = opts->flag[FLAG_VM_PORT],
	};
	/* "[2001:db8::1]" as in the config file, or the bare address */
	char bare[INET6_ADDRSTRLEN + 2];
	size_t n = vm_ip ? strlen(vm_ip) : 0;

	if (vm_ip) {
		snprintf(bare, sizeof(bare), "%s", vm_ip);
		if (n > 2 && n < sizeof(bare) && vm_ip[0] == '[' && vm_ip[n - 1] == ']')
			snprintf(bare, sizeof(bare), "%.*s", (int)(n - 2), vm_ip + 1);
		if (strcmp(bare, vm_ip) && !strchr(bare, ':'))
			return error_set(err, "command line: --vm-ip: '%s' is in brackets, which are "
					      "for IPv6 addresses only; write an IPv4 address without "
					      "them", vm_ip);
		text.guest_addr = bare;
	}
	return config_add_forward(m, &text, &cli, &flag_names, err);
}

/* `word`, quoted for a shell when it holds anything but plain path characters. */
static void append_word(char *buf, size_t size, size_t *len, const char *word)
{
	bool plain = *word && strspn(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789_./:@%+=,-") == strlen(word);

	if (*len >= size)
		return;
	if (plain) {
		*len += (size_t)snprintf(buf + *len, size - *len, " %s", word);
		return;
	}
	*len += (size_t)snprintf(buf + *len, size - *len, " '");
	for (; *word && *len < size; word++)
		*len += (size_t)snprintf(buf + *len, size - *len, *word == '\'' ? "'\\''" : "%c", *word);
	if (*len < size)
		*len += (size_t)snprintf(buf + *len, size - *len, "'");
}

const char *options_hint(const struct options *opts, const char *command, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "nft-portfwd");

	if (opts->config_given) {
		append_word(buf, size, &len, "--config");
		append_word(buf, size, &len, opts->config_path);
	}
	if (opts->config_dir) {
		append_word(buf, size, &len, "--config-dir");
		append_word(buf, size, &len, opts->config_dir);
	}
	if (opts->given & OPT_STATE_DIR) {
		append_word(buf, size, &len, "--state-dir");
		append_word(buf, size, &len, opts->state_dir);
	}
	if (len < size)
		snprintf(buf + len, size - len, " %s", command);
	return buf;
}

/* Memory that ran out is no fault of the config: exit 6 (EXIT_SYSTEM), as documented. */
static bool out_of_memory(const struct error *err)
{
	return strstr(err->msg, "out of memory") != NULL;
}

/* A --config FILE of a test or another host is not mixed with this host's drop-ins. */
const char *options_config_dir(const struct options *opts)
{
	return opts->config_dir ? opts->config_dir : opts->config_given ? NULL : CONFIG_DIR_DEFAULT;
}

/* Do the two forwards take a host port of the same family and protocol? */
static bool same_ports(const struct forward *a, const struct forward *b)
{
	return a->guest.family == b->guest.family && (a->protos & b->protos) &&
	       a->host_port <= b->host_port_last && b->host_port <= a->host_port_last;
}

/* Is `f` of the record replaced by a forward this run's flags give (in `given`)? */
static bool replaced(const struct forward *f, const struct model *given)
{
	for (size_t i = 0; i < model_forward_count(given); i++)
		if (model_forward_at(given, i)->where.source == cli_source &&
		    same_ports(f, model_forward_at(given, i)))
			return true;
	return false;
}

/* Blank line `line` (1-based) of `text`, keeping its newline: the others keep their numbers. */
static void blank_line(char *text, unsigned line)
{
	for (unsigned n = 1; *text && n < line; n += *text++ == '\n')
		;
	for (; *text && *text != '\n'; text++)
		*text = ' ';
}

/* Is the line (`len` bytes) of the record a setting ("host-ip = 192.0.2.1")? */
static bool setting_line(const char *line, size_t len)
{
	size_t skip = strspn(line, " \t");

	if (skip >= len || line[skip] == '#')
		return false;
	return !(len - skip >= 7 && !strncmp(line + skip, "forward", 7) &&
		 (len - skip == 7 || strchr(" \t", line[skip + 7])));
}

/* The first forward of `m` (read before the record: the config's) taking a port of `f`. */
static const struct forward *taken_by(const struct forward *f, const struct model *m)
{
	for (size_t i = 0; m && i < model_forward_count(m); i++)
		if (same_ports(f, model_forward_at(m, i)))
			return model_forward_at(m, i);
	return NULL;
}

/*
 * The record's text without the forwards that `given`'s flag forwards replace, nor those
 * whose ports the config (`config`, NULL: not asked) forwards now: an edit of the config
 * wins over an old flags apply, which is warned about. Blank lines instead, so that the
 * others keep their numbers. malloc'd; NULL with err set when it does not parse or
 * memory ran out.
 */
static char *record_kept(const struct options *opts, const struct flag_record *record,
			 const struct model *given, const struct model *config, struct error *err)
{
	struct model parsed = { 0 };
	char *text = NULL, hint[600];

	if (!config_parse_as(&parsed, record->text, strlen(record->text), record->path,
			     SOURCE_FLAGS, err)) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n, " (the record of earlier applies' flags: "
			 "'sudo %s' removes it)", options_hint(opts, "flush", hint, sizeof(hint)));
	} else if (!(text = strdup(record->text))) {
		error_set(err, "out of memory");
	}
	for (size_t i = 0; text && i < parsed.forward_count; i++) {
		const struct forward *f = &parsed.forwards[i], *c = NULL;

		if (!replaced(f, given) && !(c = taken_by(f, config)))
			continue;
		blank_line(text, f->where.line);
		if (c) {
			char where[4200];

			format_origin(&c->where, where, sizeof(where));
			fprintf(stderr, "nft-portfwd: warning: %s:%u: left out: %s forwards its port "
					"now; '%s' forgets it (and the table, until the next apply)\n",
				record->path, f->where.line, where,
				options_hint(opts, "flush", hint, sizeof(hint)));
		}
	}
	model_free(&parsed);
	return text;
}

/* The record's forwards and settings into `m`, but those this run's flags replace. */
static bool load_record(const struct options *opts, const struct flag_record *record,
			struct model *m, struct error *err)
{
	struct model given = { 0 };
	const char *source;
	char *text;
	bool ok;

	if (!record || !record->text)
		return true;
	if (!load_flags(opts, &given, err)) {
		model_free(&given);
		return false;
	}
	text = record_kept(opts, record, &given, m, err);
	model_free(&given);
	if (!text)
		return false;
	ok = (source = config_own_source(m, record->path)) &&
	     config_parse_as(m, text, strlen(text), source, SOURCE_FLAGS, err);
	if (!source)
		error_set(err, "out of memory");
	free(text);
	return ok;
}

enum exit_code options_load_model(const struct options *opts, const struct flag_record *record,
				  struct model *m, struct error *err)
{
	bool flag_forward = opts->flag[FLAG_HOST_PORT] || opts->flag[FLAG_VM_IP] || opts->flag[FLAG_VM];
	/* Without --config, the default file may be absent when flags, drop-ins (a host that
	 * only ever ran 'nft-portfwd add') or the flags record describe the forwards. */
	bool absent = !opts->config_given && access(opts->config_path, F_OK) != 0 && errno == ENOENT;
	const char *dir = options_config_dir(opts);

	*m = (struct model){ 0 };
	/* add's first forward creates the drop-in directory; before it, none is no error */
	if (!config_read_file(m, opts->config_path, absent, err) ||
	    (dir && !config_read_dir(m, dir, !opts->config_dir || opts->may_be_empty, err)) ||
	    !load_record(opts, record, m, err)) {
		model_free(m);
		return out_of_memory(err) ? EXIT_SYSTEM : EXIT_CONFIG;
	}
	if (absent && !flag_forward && !m->owned_source_count && !opts->may_be_empty) {
		error_set(err, "cannot read config %s: No such file or directory; create it (see "
			       "nft-portfwd.conf(5)), add forwards with 'nft-portfwd add' or in %s/, "
			       "pass --config FILE, or describe a forward with --host-port and --vm-ip",
			  opts->config_path, dir ? dir : CONFIG_DIR_DEFAULT);
		model_free(m);
		return EXIT_CONFIG;
	}
	if (!load_flags(opts, m, err) || !check_model(m, err)) {
		model_free(m);
		return out_of_memory(err) ? EXIT_SYSTEM : EXIT_CONFIG;
	}
	return EXIT_OK;
}

/* Is the line (`len` bytes) of the record a setting that this run's flags give again? */
static bool setting_given(const struct options *opts, const char *line, size_t len)
{
	const char *key = line + strspn(line, " \t");
	size_t n = strcspn(key, " \t=");

	for (size_t i = 0; setting_line(line, len) && i < FORWARD_FLAG_COUNT; i++)
		if (forward_flags[i].setting && opts->flag[i] && strlen(forward_flags[i].name) == n &&
		    !strncmp(key, forward_flags[i].name, n))
			return true;
	return false;
}

char *options_record_settings(const char *text)
{
	struct text out = { 0 };

	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");

		if (setting_line(p, n))
			text_printf(&out, "%.*s\n", (int)n, p + strspn(p, " \t"));
		p += n + (p[n] == '\n');
	}
	if (!out.len) {
		free(out.data);
		return NULL;
	}
	return text_take(&out);
}

char *options_next_record(const struct options *opts, const struct flag_record *record,
			  const struct model *m)
{
	struct error ignored;
	char *kept = record && record->text ? record_kept(opts, record, m, NULL, &ignored) : NULL;
	struct text out = { .failed = !kept && record && record->text };

	text_puts(&out, FLAGS_RECORD_HEADER);
	for (const char *p = kept; p && *p;) {
		size_t n = strcspn(p, "\n");
		const char *word = p + strspn(p, " \t");
		/* comments and blank lines are ours: the header is written anew */
		bool drop = *word == '#' || word >= p + n || setting_given(opts, p, n);

		if (!drop)
			text_printf(&out, "%.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	for (size_t i = 0; i < FORWARD_FLAG_COUNT; i++)
		if (forward_flags[i].setting && opts->flag[i])
			text_printf(&out, "%s = %s\n", forward_flags[i].name, opts->flag[i]);
	for (size_t i = 0; i < model_forward_count(m); i++) {
		const struct forward *f = model_forward_at(m, i);
		char *line;

		if (f->where.source != cli_source)
			continue;
		if (!(line = forward_text(m, f, AS_CONFIG)))
			out.failed = true;
		else
			text_printf(&out, "%s\n", line);
		free(line);
	}
	free(kept);
	return text_take(&out);
}
