/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config parser: text in, model or an error naming file, line and field out. The same
 * setters serve the config file and the command-line flags, so both are validated alike.
 */
#ifndef NFT_PORTFWD_CONFIG_H
#define NFT_PORTFWD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/common.h"
#include "config/model.h"

/* Names for the parts of a forward in messages: config words, or the flags' names. */
struct forward_fields {
	const char *protos, *host_port, *guest_addr, *guest_port, *sources, *name, *limit, *burst;
	const char *vm, *network, *mac;
};

/* The text of one forward, as written in a config line or given by flags. */
struct forward_text {
	const char *protos;     /* tcp, udp, tcp,udp */
	const char *host_port;  /* PORT or FIRST-LAST */
	const char *guest_addr; /* NULL with vm */
	const char *vm;         /* a libvirt domain's name instead of guest_addr; NULL: none */
	const char *network;    /* with vm: its interface on this libvirt network */
	const char *mac;        /* with vm: its interface with this MAC */
	bool ipv6;              /* with vm: its IPv6 address (default: IPv4) */
	const char *guest_port; /* PORT or FIRST-LAST; NULL: the host port(s) */
	const char *sources;    /* comma-separated networks; NULL: any client */
	const char *name;       /* NULL: no name */
	const char *limit;      /* RATE[/second|minute|hour]; NULL: no limit */
	const char *burst;      /* N; NULL: the rate */
	bool keep_source, log;
};

/* Parse a whole config text (it need not end in a newline, and may hold any bytes). */
bool config_parse(struct model *m, const char *text, size_t len, const char *source,
		  struct error *err);

/* What a source of config lines may hold. */
enum config_source {
	SOURCE_MAIN,   /* the config file: settings, each once, and forwards */
	SOURCE_DROPIN, /* a drop-in file: forwards only */
	SOURCE_FLAGS,  /* what applies' flags recorded: its settings replace the config's */
};

/* config_parse of a source of that kind. */
bool config_parse_as(struct model *m, const char *text, size_t len, const char *source,
		     enum config_source kind, struct error *err);

/* Read and parse a file; `missing_ok` accepts a file that does not exist. */
bool config_read_file(struct model *m, const char *path, bool missing_ok, struct error *err);

/*
 * Read every NAME.conf in `dir` (not hidden ones), in lexical byte order, into the same
 * model: more forwards of one config, whose errors name their file and line. A setting in
 * one is an error (settings stay in the main file). `missing_ok` accepts a directory that
 * does not exist.
 */
bool config_read_dir(struct model *m, const char *dir, bool missing_ok, struct error *err);

/* A copy of `path` the model keeps, for the origins of forwards read from it; NULL: no memory. */
const char *config_own_source(struct model *m, const char *path);

/*
 * Set a global setting (public-ip, host-ip, host-iface, masquerade, integrate,
 * integrate-mark, routing, libvirt-uri). `field` names it in messages.
 * With `override`, a value from an earlier source is replaced; without it, a second value
 * is an error.
 */
bool config_set(struct model *m, const char *key, const char *value, bool override,
		const struct origin *where, const char *field, struct error *err);

/*
 * Add the forward of a config line's words after "forward" ("tcp 8080 to 192.0.2.10:80
 * name web"), validated field by field; `words` is cut into pieces.
 */
bool config_parse_forward(struct model *m, char *words, const struct origin *where,
			  struct error *err);

/* Add one forward, validated field by field. */
bool config_add_forward(struct model *m, const struct forward_text *text,
			const struct origin *where, const struct forward_fields *fields,
			struct error *err);

#endif
