/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nft-portfwd: forward host ports to guests behind NAT through one owned nftables table. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "sys/state.h"

static const struct command *const commands[] = {
	&command_render,
	&command_check,
	&command_apply,
	&command_flush,
	&command_status,
	&command_diagnose,
	&command_watch,
	&command_reapply,
	&command_add,
	&command_remove,
	&command_list,
	&command_metrics,
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

#define CONFIG_OPTION                                                                    \
	"  -c, --config FILE    config file (default " CONFIG_PATH_DEFAULT ")\n"           \
	"  --config-dir DIR     every DIR/*.conf after it: more forwards (default\n"        \
	"                       " CONFIG_DIR_DEFAULT " with the default config only)\n"
#define COMMON_OPTIONS                                                                   \
	"  -h, --help           show help (after a command: that command's help)\n"      \
	"  -V, --version        show the version\n"

#define FORWARD_OPTIONS "Forward flags (override the config's settings and add one forward):\n"

/* "render, check, apply, flush and status", from the table. */
static void command_names(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < COMMAND_COUNT && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					i == 0 ? "" : i + 1 == COMMAND_COUNT ? " and " : ", ",
					commands[i]->name);
}

/* "check, apply, flush": the commands that take the options of `bit`, from the table. */
static const char *takers(unsigned bit, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < COMMAND_COUNT && len < size; i++)
		if (commands[i]->accepts & bit)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
						commands[i]->name);
	return buf;
}

static void print_usage(FILE *out)
{
	char a[160], b[160], c[160], d[160];

	fprintf(out, "Usage: nft-portfwd [OPTIONS] COMMAND [OPTIONS]\n\n"
		     "Forward host ports to guests behind NAT through table inet portfwd.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\nOptions (before or after the command):\n" CONFIG_OPTION COMMON_OPTIONS
		     "  -o, --output FILE    %s: write to FILE, not stdout\n"
		     "  --state-dir DIR      lock, saved sysctls, last apply, flags record (default\n"
		     "                       " STATE_DIR_DEFAULT "):\n"
		     "                       %s\n"
		     "  --json               print one JSON object: %s\n"
		     "  -q, --quiet          print only errors: %s\n"
		     "  --trace SECONDS      diagnose: trace packets to the forwards, name what drops them\n\n"
		     FORWARD_OPTIONS, takers(OPT_OUTPUT, a, sizeof(a)), takers(OPT_STATE_DIR, b, sizeof(b)),
		takers(OPT_JSON, c, sizeof(c)), takers(OPT_QUIET, d, sizeof(d)));
	options_print_forward_flags(out);
	fprintf(out, "  (%s)\n", takers(OPT_FORWARD, a, sizeof(a)));
	fprintf(out, "\nExit codes: 0 ok, 1 status: the live table differs from the config (diagnose:\n"
		     "a check failed), 2 usage, 3 invalid config, 4 no permission (CAP_NET_ADMIN),\n"
		     "5 rejected by nftables, 6 other system error.\n"
		     "See 'nft-portfwd COMMAND --help', nft-portfwd(8) and nft-portfwd.conf(5).\n");
}

static void print_command_help(const struct command *cmd)
{
	printf("Usage: nft-portfwd %s%s%s [OPTIONS]\n\n%s\n%s\nOptions:\n%s%s", cmd->name,
	       cmd->args ? " " : "", cmd->args ? cmd->args : "", cmd->summary, cmd->help, cmd->accepts & OPT_CONFIG ? CONFIG_OPTION : "", COMMON_OPTIONS);
	if (cmd->accepts & OPT_OUTPUT)
		printf("  -o, --output FILE    write to FILE instead of stdout\n");
	if (cmd->accepts & OPT_STATE_DIR)
		printf("  --state-dir DIR      lock, saved sysctls, last apply, flags record (default\n"
		       "                       " STATE_DIR_DEFAULT ")\n");
	if (cmd->accepts & OPT_JSON)
		printf("  --json               print one JSON object instead of text\n");
	if (cmd->accepts & OPT_TRACE)
		printf("  --trace SECONDS      trace new connections to the forwards for SECONDS\n");
	if (cmd->accepts & OPT_QUIET)
		printf("  -q, --quiet          print only errors; the exit code tells the result\n");
	if (cmd->accepts & OPT_FORWARD) {
		printf("\n" FORWARD_OPTIONS);
		options_print_forward_flags(stdout);
	}
}

int main(int argc, char **argv)
{
	struct options opts;
	struct error err;
	const struct command *cmd = NULL;
	enum exit_code rc = options_parse(argc, argv, &opts, &err);

	if (rc != EXIT_OK)
		return report_error(rc, &err);
	if (opts.version && !opts.command) {
		printf("nft-portfwd " NFT_PORTFWD_VERSION "\n");
		return EXIT_OK;
	}
	if (!opts.command) {
		print_usage(opts.help ? stdout : stderr);
		return opts.help ? EXIT_OK : EXIT_USAGE;
	}
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		if (strcmp(opts.command, commands[i]->name) == 0)
			cmd = commands[i];
	if (!cmd) {
		char names[256];

		command_names(names, sizeof(names));
		error_set(&err, "unknown command '%s'; commands are %s (see 'nft-portfwd --help')",
			  opts.command, names);
		return report_error(EXIT_USAGE, &err);
	}
	if (opts.help) {
		print_command_help(cmd);
		return EXIT_OK;
	}
	if (opts.arg_count && !cmd->args) {
		error_set(&err, "unexpected argument '%s'; options start with --, see "
			       "'nft-portfwd %s --help'", opts.args[0], cmd->name);
		return report_error(EXIT_USAGE, &err);
	}
	for (unsigned bit = 1; bit < 1u << OPTION_BITS; bit <<= 1) {
		if ((opts.given & bit) && !(cmd->accepts & bit)) {
			error_set(&err, "option %s does not apply to '%s'; see 'nft-portfwd %s --help'",
				  opts.first_given[__builtin_ctz(bit)], cmd->name, cmd->name);
			return report_error(EXIT_USAGE, &err);
		}
	}
	return cmd->run(&opts);
}
