/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the analysis of other firewalls' chains. Any bytes as libnftables'
 * JSON listing, analysed for a fixed set of forwards (IPv4 and IPv6, TCP and UDP, a port
 * range, an allowlist); whatever is accepted is rendered as integration and removal
 * commands. No crash, no leak, no error without a message, and every rendered line is a
 * command or a comment.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/entries.h"
#include "firewalls/foreign.h"
#include "config/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CONF[] = "forward tcp 8000 to 192.0.2.79:8000\n"
			   "forward udp 5000-5002 to 192.0.2.79\n"
			   "forward tcp 2222 to 192.0.2.80:22 from 198.51.100.0/24\n"
			   "forward tcp 8443 to [2001:db8:2::79]:443\n";

static void render(const struct foreign_report *r,
		   bool (*fn)(const struct foreign_report *, FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out || !fn(r, out) || fclose(out) != 0)
		abort();
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, "# ", 2) && strncmp(line, "delete rule ", 12) &&
		    strncmp(line, "insert rule ", 12) && strncmp(line, "add rule ", 9))
			abort();
		if (!strchr(line, '\n'))
			abort();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = { 0 };
	struct entry_list entries;
	struct foreign_report r;
	struct error err;
	char *json = malloc(size + 1);

	if (!json)
		abort();
	memcpy(json, data, size);
	json[size] = '\0';
	memset(&err, 0, sizeof(err));
	if (!config_parse(&m, CONF, strlen(CONF), "fuzz.conf", &err) || !check_model(&m, &err) ||
	    !entries_from_model(&m, &entries))
		abort();
	if (foreign_analyse(json, &entries, INTEGRATE_MARK_DEFAULT, &r, &err)) {
		render(&r, foreign_render_integration);
		render(&r, foreign_render_removal);
		foreign_report_free(&r);
	} else if (!err.msg[0]) {
		abort();
	}
	entries_free(&entries);
	model_free(&m);
	free(json);
	return 0;
}
