/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line: global options (before or after the command) and the model they load. */
#ifndef NFT_PORTFWD_OPTIONS_H
#define NFT_PORTFWD_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "util/common.h"
#include "config/model.h"

/* The longest diagnose --trace, in seconds: an hour. */
#define TRACE_SECONDS_MAX 3600

#define CONFIG_PATH_DEFAULT "/etc/nft-portfwd.conf"
/* Drop-in files of more forwards; read with the default config only, unless given. */
#define CONFIG_DIR_DEFAULT "/etc/nft-portfwd.d"

/*
 * The forward flags, one table: X(ID, name, setting, value) for each. `name` is the option
 * (--name), the key apply records for reapply and, for a setting, the config setting it
 * overrides; a flag that is no setting describes the one forward given by flags. getopt,
 * loading, the record, reapply and the help all read this table.
 */
#define FORWARD_FLAGS(X)                                                              \
	X(PUBLIC_IP, "public-ip", true, "ADDR[,ADDR...]")                              \
	X(HOST_IP, "host-ip", true, "ADDR[,ADDR...]")                                  \
	X(HOST_IFACE, "host-iface", true, "NAME")                                      \
	X(INTEGRATE, "integrate", true, "auto|off")                                    \
	X(ROUTING, "routing", true, "auto|forwards|open")                              \
	X(HOST_PORT, "host-port", false, "PORT")                                       \
	X(VM_IP, "vm-ip", false, "ADDR")                                               \
	X(VM, "vm", false, "NAME (a libvirt domain, instead of --vm-ip)")              \
	X(VM_PORT, "vm-port", false, "PORT (default: --host-port)")                    \
	X(PROTO, "proto", false, "tcp|udp|tcp,udp (default tcp)")

#define FLAG_ID(id, name, setting, value) FLAG_##id,
enum forward_flag_id { FORWARD_FLAGS(FLAG_ID) FORWARD_FLAG_COUNT };
#undef FLAG_ID

struct forward_flag {
	const char *name;
	const char *option; /* "--public-ip" */
	bool setting;
	const char *value; /* what it takes, for the help */
};

extern const struct forward_flag forward_flags[FORWARD_FLAG_COUNT];

/* Which options a command accepts; one bit each. */
enum option_bit {
	OPT_CONFIG = 1 << 0,
	OPT_STATE_DIR = 1 << 1,
	OPT_OUTPUT = 1 << 2,
	OPT_FORWARD = 1 << 3, /* the forward flags (FORWARD_FLAGS) */
	OPT_JSON = 1 << 4,
	OPT_QUIET = 1 << 5,
	OPT_TRACE = 1 << 6,
};
#define OPTION_BITS 7 /* how many option_bit values there are */

struct options {
	const char *command;
	const char *config_path;
	bool config_given;
	const char *config_dir;  /* --config-dir; NULL: CONFIG_DIR_DEFAULT with the default config */
	const char *state_dir;
	const char *output_path;
	const char *flag[FORWARD_FLAG_COUNT]; /* each forward flag's value; NULL: not given */
	unsigned given;         /* option_bit of every option on the command line */
	const char *first_given[OPTION_BITS]; /* the spelling of the first option of each bit */
	const char *const *args; /* the words after the command that are not options */
	size_t arg_count;
	bool json, quiet;
	bool may_be_empty;      /* add, remove: no config file and no drop-in is no error */
	unsigned trace_seconds; /* diagnose --trace, up to TRACE_SECONDS_MAX; 0: no trace */
	bool help, version;
};

/* Parse argv; EXIT_OK or EXIT_USAGE (the message is in err). */
enum exit_code options_parse(int argc, char **argv, struct options *opts, struct error *err);

/* The drop-in directory read: --config-dir, else the default one with the default config. */
const char *options_config_dir(const struct options *opts);

/*
 * "nft-portfwd --config FILE --state-dir DIR COMMAND": a command to paste, carrying the
 * options of `opts` that say where things are (config, drop-in directory, state dir),
 * quoted for a shell where needed. Every hint the tool prints is made by this. Returns buf.
 */
const char *options_hint(const struct options *opts, const char *command, char *buf, size_t size);

/* The forward flags as help text: "  --public-ip ADDR[,ADDR...]  --host-ip ...", wrapped. */
void options_print_forward_flags(FILE *out);

/*
 * The flags record (the state dir's FLAGS_RECORD_FILE): what applies were given as flags,
 * in config syntax, kept until flush. Its settings replace the config's; its forwards add
 * to the config's. An apply with a forward flag adds that forward to it, replacing the
 * record's forwards of the same family and protocol whose host ports overlap, and records
 * the setting flags given with it (replacing the record's value of each). Setting flags
 * without a forward flag apply to that run only. When the record's last forward goes
 * (remove, flush), its settings go with it.
 */
struct flag_record {
	char *path; /* STATE_DIR/flags.conf, as the forwards' origins name it */
	char *text; /* NULL: there is none */
};

/*
 * The config file, its drop-ins, the flags record (may be NULL) and this run's flags,
 * validated: EXIT_OK or EXIT_CONFIG.
 */
enum exit_code options_load_model(const struct options *opts, const struct flag_record *record,
				  struct model *m, struct error *err);

/* The setting lines of a record's text, "KEY = VALUE" each, malloc'd; NULL: none. */
char *options_record_settings(const char *text);

/*
 * The flags record after a successful apply of `m` with these options, which give a
 * forward flag (malloc'd): the record's lines this run's flags do not replace, then this
 * run's setting flags and forward. NULL when out of memory.
 */
char *options_next_record(const struct options *opts, const struct flag_record *record,
			  const struct model *m);

#endif
