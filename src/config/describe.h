/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A config forward as people read it: one line of text (status, list, the drop-in that
 * add writes) or a JSON object (status --json, list --json). Pure: no kernel, no files.
 */
#ifndef NFT_PORTFWD_DESCRIBE_H
#define NFT_PORTFWD_DESCRIBE_H

#include <jansson.h>
#include <stdbool.h>

#include "config/model.h"

enum forward_style {
	/* "tcp 2222 -> 192.0.2.10:22 from 198.51.100.0/24 limit 5/minute burst 5 log" */
	AS_STATUS,
	/* "forward tcp 2222 to 192.0.2.10:22 from 198.51.100.0/24 name ssh limit ...": a
	 * config line that parses back to the same forward */
	AS_CONFIG,
};

/* "NET/LEN"; unless `always_len`, a single address is written as in the config. */
const char *prefix_text(const struct prefix *p, bool always_len, char buf[64]);

/* The forward as one line (malloc'd), or NULL when out of memory. */
char *forward_text(const struct model *m, const struct forward *f, enum forward_style style);

struct text;
/* The same line at the end of a string builder (util/text.h), for many forwards at once. */
void forward_text_append(struct text *out, const struct model *m, const struct forward *f,
			 enum forward_style style);

/*
 * {"name", "config" (FILE:LINE), "protocols", "host_ports", "guest", "guest_ports",
 * "sources", "keep_source", "limit" ({"rate", "per", "burst"} or null), "log"}, or NULL
 * when out of memory. The schema is docs/status-json.md.
 */
json_t *forward_json(const struct model *m, const struct forward *f);

/* "second", "minute" or "hour": the unit of a limit's rate. */
const char *rate_unit(const struct rate_limit *l);

#endif
