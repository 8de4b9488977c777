/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "validate.h"

#define WHITESPACE " \t\r\v\f"

static const struct forward_fields config_words = {
	.protos = "forward protocol",
	.host_port = "forward host port",
	.guest_addr = "forward guest address",
	.guest_port = "forward guest port",
};

void model_free(struct model *m)
{
	free(m->public_ips.items);
	free(m->host_ips.items);
	free(m->forwards);
	memset(m, 0, sizeof(*m));
}

static char *trim(char *s)
{
	char *end;

	s += strspn(s, WHITESPACE);
	end = s + strlen(s);
	while (end > s && strchr(WHITESPACE, end[-1]))
		*--end = '\0';
	return s;
}

/* "FILE:LINE: FIELD: 'VALUE' REASON" */
static bool field_error(struct error *err, const struct origin *where, const char *field,
			const char *value, const char *reason)
{
	char at[512];

	format_origin(where, at, sizeof(at));
	if (value && *value)
		return error_set(err, "%s: %s: '%s' %s", at, field, value, reason);
	return error_set(err, "%s: %s: %s", at, field, reason);
}

static bool addr_list_contains(const struct addr_list *list, const struct addr *a)
{
	for (size_t i = 0; i < list->count; i++) {
		if (list->items[i].family == a->family &&
		    memcmp(&list->items[i].v6, &a->v6,
			   a->family == AF_INET ? sizeof(a->v4) : sizeof(a->v6)) == 0)
			return true;
	}
	return false;
}

/* "a, b, c" -> addresses; the list replaces what `list` held. */
static bool parse_addr_list(struct addr_list *list, char *value, const struct origin *where,
			    const char *field, struct error *err)
{
	struct addr_list parsed = { 0 };
	size_t capacity = 0;

	if (*trim(value) == '\0')
		return field_error(err, where, field, NULL,
				   "no address given; expected one or more addresses separated "
				   "by commas");
	for (char *item; (item = strsep(&value, ","));) {
		struct addr a;
		const char *reason;

		item = trim(item);
		if (*item == '\0') {
			free(parsed.items);
			return field_error(err, where, field, NULL,
					   "an empty item in the list; separate addresses with "
					   "single commas");
		}
		reason = parse_addr(item, &a);
		if (!reason)
			reason = check_host_addr(&a);
		if (!reason && addr_list_contains(&parsed, &a))
			reason = "is listed twice";
		if (reason) {
			free(parsed.items);
			return field_error(err, where, field, item, reason);
		}
		if (parsed.count == capacity) {
			struct addr *grown;

			capacity = capacity ? capacity * 2 : 4;
			grown = realloc(parsed.items, capacity * sizeof(*grown));
			if (!grown) {
				free(parsed.items);
				return error_set(err, "out of memory");
			}
			parsed.items = grown;
		}
		parsed.items[parsed.count++] = a;
	}
	free(list->items);
	*list = parsed;
	return true;
}

bool config_set(struct model *m, const char *key, const char *value, bool override,
		const struct origin *where, const char *field, struct error *err)
{
	struct setting_origin *seen;
	char *copy;
	bool ok;

	if (strcmp(key, "public-ip") == 0)
		seen = &m->public_ip_origin;
	else if (strcmp(key, "host-ip") == 0)
		seen = &m->host_ip_origin;
	else if (strcmp(key, "host-iface") == 0)
		seen = &m->host_iface_origin;
	else
		return field_error(err, where, key, NULL,
				   "unknown setting; expected public-ip, host-ip, host-iface or "
				   "a 'forward' line");

	if (seen->set && !override) {
		char here[512], first[512];

		format_origin(where, here, sizeof(here));
		format_origin(&seen->where, first, sizeof(first));
		return error_set(err, "%s: %s: is already set at %s; give it once (public-ip and "
				      "host-ip take a comma-separated list)", here, field, first);
	}

	copy = strdup(value);
	if (!copy)
		return error_set(err, "out of memory");
	if (seen == &m->host_iface_origin) {
		const char *reason = check_iface_name(trim(copy));

		ok = reason ? field_error(err, where, field, trim(copy), reason) : true;
		if (ok)
			snprintf(m->host_iface, sizeof(m->host_iface), "%s", trim(copy));
	} else {
		ok = parse_addr_list(seen == &m->public_ip_origin ? &m->public_ips : &m->host_ips,
				     copy, where, field, err);
	}
	free(copy);
	if (ok) {
		seen->set = 1;
		seen->where = *where;
	}
	return ok;
}

bool config_add_forward(struct model *m, const char *protos, const char *host_port,
			const char *guest_addr, const char *guest_port,
			const struct origin *where, const struct forward_fields *fields,
			struct error *err)
{
	struct forward f = { .where = *where };
	const char *reason;

	if ((reason = parse_protos(protos, &f.protos)))
		return field_error(err, where, fields->protos, protos, reason);
	if ((reason = parse_port(host_port, &f.host_port)))
		return field_error(err, where, fields->host_port, host_port, reason);
	if ((reason = parse_addr(guest_addr, &f.guest)) || (reason = check_guest_addr(&f.guest)))
		return field_error(err, where, fields->guest_addr, guest_addr, reason);
	f.guest_port = f.host_port;
	if (guest_port && (reason = parse_port(guest_port, &f.guest_port)))
		return field_error(err, where, fields->guest_port, guest_port, reason);

	if (m->forward_count == m->forward_capacity) {
		size_t capacity = m->forward_capacity ? m->forward_capacity * 2 : 16;
		struct forward *grown = realloc(m->forwards, capacity * sizeof(*grown));

		if (!grown)
			return error_set(err, "out of memory");
		m->forwards = grown;
		m->forward_capacity = capacity;
	}
	m->forwards[m->forward_count++] = f;
	return true;
}

/*
 * "ADDR", "ADDR:PORT", "[ADDR6]" or "[ADDR6]:PORT" -> address and port texts (port NULL
 * when absent). Writes into `target`.
 */
static bool split_target(char *target, char **addr, char **port, const struct origin *where,
			 struct error *err)
{
	static const char hint[] = "expected ADDRESS, ADDRESS:PORT or [IPv6-ADDRESS]:PORT, as in "
				   "192.0.2.10:80 or [2001:db8::10]:80";
	char *colon;

	*port = NULL;
	if (target[0] == '[') {
		char *close = strchr(target, ']');

		if (!close)
			return field_error(err, where, config_words.guest_addr, target, hint);
		*close = '\0';
		*addr = target + 1;
		if (close[1] == ':')
			*port = close + 2;
		else if (close[1] != '\0')
			return field_error(err, where, config_words.guest_addr, target, hint);
		return true;
	}
	colon = strchr(target, ':');
	if (colon && strchr(colon + 1, ':'))
		return field_error(err, where, config_words.guest_addr, target,
				   "looks like an IPv6 address without brackets; write it as "
				   "[2001:db8::10] or [2001:db8::10]:80");
	*addr = target;
	if (colon) {
		*colon = '\0';
		*port = colon + 1;
	}
	return true;
}

/* forward PROTOS PORT to TARGET */
static bool parse_forward_line(struct model *m, char *rest, const struct origin *where,
			       struct error *err)
{
	static const char example[] = "as in 'forward tcp 8080 to 192.0.2.10:80'";
	char *words[5], *saveptr = NULL, *addr = NULL, *port = NULL;
	size_t n = 0;

	for (char *w = strtok_r(rest, WHITESPACE, &saveptr); w; w = strtok_r(NULL, WHITESPACE, &saveptr)) {
		if (n == 4) {
			char at[512];

			format_origin(where, at, sizeof(at));
			return error_set(err, "%s: forward: unexpected '%s' after the guest address; %s",
					 at, w, example);
		}
		words[n++] = w;
	}
	if (n < 1)
		return field_error(err, where, "forward", NULL,
				   "the protocol is missing; expected tcp, udp or tcp,udp, as in "
				   "'forward tcp 8080 to 192.0.2.10:80'");
	if (n < 2)
		return field_error(err, where, "forward", NULL,
				   "the host port is missing, as in 'forward tcp 8080 to 192.0.2.10:80'");
	if (n < 3 || strcmp(words[2], "to") != 0) {
		char at[512];

		format_origin(where, at, sizeof(at));
		return error_set(err, "%s: forward: expected 'to' after the host port%s%s%s; %s", at,
				 n < 3 ? "" : ", found '", n < 3 ? "" : words[2],
				 n < 3 ? "" : "'", example);
	}
	if (n < 4)
		return field_error(err, where, "forward", NULL,
				   "the guest address is missing after 'to', as in "
				   "'forward tcp 8080 to 192.0.2.10:80'");
	if (!split_target(words[3], &addr, &port, where, err))
		return false;
	return config_add_forward(m, words[0], words[1], addr, port, where, &config_words, err);
}

static bool parse_line(struct model *m, char *line, const struct origin *where,
		       struct error *err)
{
	char *hash = strchr(line, '#'), *eq, *key;
	size_t word;

	if (hash)
		*hash = '\0';
	line = trim(line);
	if (*line == '\0')
		return true;

	word = strcspn(line, WHITESPACE "=");
	if (word == strlen("forward") && strncmp(line, "forward", word) == 0) {
		char *rest = trim(line + word);

		/* "forward = x" is a mistaken setting, reported below as an unknown key. */
		if (*rest != '=')
			return parse_forward_line(m, rest, where, err);
	}

	eq = strchr(line, '=');
	if (!eq) {
		line[word] = '\0';
		return field_error(err, where, line, NULL,
				   "expected 'KEY = VALUE' (public-ip, host-ip, host-iface) or "
				   "'forward PROTOCOL PORT to ADDRESS[:PORT]'");
	}
	*eq = '\0';
	key = trim(line);
	if (*key == '\0')
		return field_error(err, where, "setting", NULL,
				   "the key before '=' is missing; expected public-ip, host-ip or "
				   "host-iface");
	if (*trim(eq + 1) == '\0')
		return field_error(err, where, key, NULL, "the value after '=' is missing");
	return config_set(m, key, trim(eq + 1), false, where, key, err);
}

bool config_parse(struct model *m, const char *text, size_t len, const char *source,
		  struct error *err)
{
	char *copy = malloc(len + 1), *line;
	struct origin where = { .source = source, .line = 0 };
	bool ok = true;

	if (!copy)
		return error_set(err, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';

	line = copy;
	while (ok && line <= copy + len) {
		char *end = memchr(line, '\n', (size_t)(copy + len - line));

		if (end)
			*end = '\0';
		where.line++;
		if (strlen(line) != (size_t)((end ? end : copy + len) - line))
			ok = field_error(err, &where, "line", NULL,
					 "contains a NUL byte; the config must be text");
		else
			ok = parse_line(m, line, &where, err);
		if (!end)
			break;
		line = end + 1;
	}
	free(copy);
	return ok;
}

bool config_read_file(struct model *m, const char *path, bool missing_ok, struct error *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	bool ok;

	if (!f) {
		if (errno == ENOENT && missing_ok)
			return true;
		return error_set(err, "cannot read config %s: %s", path, strerror(errno));
	}
	{
		FILE *mem = open_memstream(&text, &len);
		char chunk[65536];
		size_t got;

		if (!mem) {
			fclose(f);
			return error_set(err, "out of memory");
		}
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, got, mem);
		ok = !ferror(f);
		fclose(mem);
	}
	fclose(f);
	if (!ok) {
		free(text);
		return error_set(err, "cannot read config %s: read error", path);
	}
	ok = config_parse(m, text, len, path, err);
	free(text);
	return ok;
}
