/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/entries.h"
#include "config/validate.h"

#define WHITESPACE " \t\r\v\f"
#define SETTING_KEYS \
	"public-ip, host-ip, host-iface, masquerade, integrate, integrate-mark, routing, libvirt-uri"

static const struct forward_fields config_words = {
	.protos = "forward protocol",
	.host_port = "forward host port",
	.guest_addr = "forward guest address",
	.guest_port = "forward guest port",
	.sources = "forward from",
	.name = "forward name",
	.limit = "forward limit",
	.burst = "forward burst",
	.vm = "forward vm",
	.network = "forward network",
	.mac = "forward mac",
};

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->forward_count; i++)
		free(m->forwards[i].sources.items);
	for (size_t i = 0; i < m->waiting_count; i++)
		free(m->waiting[i].f.sources.items);
	free(m->waiting);
	free(m->public_ips.items);
	free(m->host_ips.items);
	free(m->forwards);
	for (size_t i = 0; i < m->owned_source_count; i++)
		free(m->owned_sources[i]);
	free(m->owned_sources);
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

/* "FILE:LINE: " and the message; the origin is formatted only when there is an error. */
static bool origin_error(struct error *err, const struct origin *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool origin_error(struct error *err, const struct origin *where, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	format_origin(where, err->msg, sizeof(err->msg) - 2);
	len = strlen(err->msg);
	err->msg[len++] = ':';
	err->msg[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(err->msg + len, sizeof(err->msg) - len, fmt, ap);
	va_end(ap);
	return false;
}

/* "a, b, c" -> addresses; the list replaces what `list` held. */
static bool parse_addr_list(struct addr_list *list, char *value, const struct origin *where,
			    const char *field, struct error *err)
{
	struct addr_list parsed = { 0 };
	const struct addr *twice;
	struct addr *scratch;
	size_t capacity = 0;
	char text[INET6_ADDRSTRLEN];

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
	/* each address once: found in a sorted copy (n log n, for lists of 100,000) */
	if (!(scratch = malloc(parsed.count * sizeof(*scratch)))) {
		free(parsed.items);
		return error_set(err, "out of memory");
	}
	twice = addr_list_twice(&parsed, scratch);
	if (twice)
		field_error(err, where, field, addr_text(twice, text), "is listed twice");
	free(scratch);
	if (twice) {
		free(parsed.items);
		return false;
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
	else if (strcmp(key, "masquerade") == 0)
		seen = &m->masquerade_origin;
	else if (strcmp(key, "integrate") == 0)
		seen = &m->integrate_origin;
	else if (strcmp(key, "integrate-mark") == 0)
		seen = &m->integrate_mark_origin;
	else if (strcmp(key, "routing") == 0)
		seen = &m->routing_origin;
	else if (strcmp(key, "libvirt-uri") == 0)
		seen = &m->libvirt_uri_origin;
	else
		return field_error(err, where, key, NULL,
				   "unknown setting; expected " SETTING_KEYS " or a 'forward' line");

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
	if (seen == &m->masquerade_origin) {
		char *word = trim(copy);

		ok = strcmp(word, "yes") == 0 || strcmp(word, "no") == 0;
		if (!ok)
			field_error(err, where, field, word, "is not yes or no");
		m->no_masquerade = strcmp(word, "no") == 0;
	} else if (seen == &m->integrate_origin) {
		char *word = trim(copy);

		ok = strcmp(word, "auto") == 0 || strcmp(word, "off") == 0;
		if (!ok)
			field_error(err, where, field, word,
				    "is not auto or off (auto: accept forwards in other firewalls' "
				    "chains that would drop them)");
		m->no_integrate = strcmp(word, "off") == 0;
	} else if (seen == &m->routing_origin) {
		char *word = trim(copy);

		ok = !strcmp(word, "auto") || !strcmp(word, "forwards") || !strcmp(word, "open");
		if (!ok)
			field_error(err, where, field, word,
				    "is not auto, forwards or open (auto: when apply turns forwarding "
				    "on, the host routes only the forwards and translated connections)");
		m->routing = !strcmp(word, "forwards") ? ROUTING_FORWARDS :
			     !strcmp(word, "open") ? ROUTING_OPEN : ROUTING_AUTO;
	} else if (seen == &m->integrate_mark_origin) {
		char *word = trim(copy);
		const char *reason = parse_mark_bit(word, &m->integrate_mark);

		ok = reason ? field_error(err, where, field, word, reason) : true;
	} else if (seen == &m->libvirt_uri_origin) {
		const char *reason = check_libvirt_uri(trim(copy));

		ok = reason ? field_error(err, where, field, trim(copy), reason) : true;
		if (ok)
			snprintf(m->libvirt_uri, sizeof(m->libvirt_uri), "%s", trim(copy));
	} else if (seen == &m->host_iface_origin) {
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

/* "NET, NET, ..." -> the forward's allowlist. */
static int cmp_prefix(const void *pa, const void *pb)
{
	const struct prefix *a = pa, *b = pb;
	int c = addr_cmp(&a->addr, &b->addr);

	return c ? c : (int)a->len - (int)b->len;
}

/*
 * No two networks of a list overlap: sorted by first address, each must start after the
 * last address of everything before it (n log n: a config of 60,000 networks renders in
 * about 0.13 s here, against 49 s with the pairwise check).
 */
static bool check_overlaps(const struct prefix_list *list, const struct origin *where,
			   const char *field, struct error *err)
{
	struct prefix *sorted = malloc((list->count + 1) * sizeof(*sorted));
	struct addr end = { 0 };
	bool ok = true;

	if (!sorted)
		return error_set(err, "out of memory");
	memcpy(sorted, list->items, list->count * sizeof(*sorted));
	qsort(sorted, list->count, sizeof(*sorted), cmp_prefix);
	for (size_t i = 0; i < list->count && ok; i++) {
		struct addr last = prefix_last(&sorted[i]);

		if (i && sorted[i].addr.family == end.family && addr_cmp(&sorted[i].addr, &end) <= 0) {
			char a[INET6_ADDRSTRLEN], item[INET6_ADDRSTRLEN + 8];

			snprintf(item, sizeof(item), "%s/%u", addr_text(&sorted[i].addr, a), sorted[i].len);
			ok = field_error(err, where, field, item,
					 "overlaps another network in the list; list each client "
					 "network once");
		}
		if (!i || sorted[i].addr.family != end.family || addr_cmp(&last, &end) > 0)
			end = last;
	}
	free(sorted);
	return ok;
}

static bool parse_sources(struct forward *f, char *text, const struct origin *where,
			  const char *field, struct error *err)
{
	size_t capacity = 0;
	bool any_of_family = false;

	for (char *item; (item = strsep(&text, ","));) {
		struct prefix p;
		const char *reason;

		item = trim(item);
		if (*item == '\0')
			return field_error(err, where, field, NULL,
					   "an empty item in the list; separate networks with single "
					   "commas, as in 'from 198.51.100.0/24, 2001:db8:9::/48'");
		if (item[strcspn(item, WHITESPACE)])
			return field_error(err, where, field, item,
					   "holds more than one word; separate networks with commas, "
					   "as in 'from 198.51.100.0/24, 2001:db8:9::/48'");
		reason = parse_prefix(item, &p);
		if (reason == PREFIX_HOST_BITS) {
			char at[512], net[INET6_ADDRSTRLEN];
			struct prefix intended = prefix_network(&p);

			format_origin(where, at, sizeof(at));
			addr_text(&intended.addr, net);
			return error_set(err, "%s: %s: '%s' has host bits set; the network is %s/%u",
					 at, field, item, net, intended.len);
		}
		if (!reason)
			reason = check_client_net(&p);
		if (reason)
			return field_error(err, where, field, item, reason);
		if (f->sources.count == capacity) {
			struct prefix *grown;

			capacity = capacity ? capacity * 2 : 4;
			grown = realloc(f->sources.items, capacity * sizeof(*grown));
			if (!grown)
				return error_set(err, "out of memory");
			f->sources.items = grown;
		}
		f->sources.items[f->sources.count++] = p;
		any_of_family |= p.addr.family == f->guest.family;
	}
	if (!check_overlaps(&f->sources, where, field, err))
		return false;
	if (!any_of_family)
		return field_error(err, where, field, NULL,
				   f->guest.family == AF_INET
					   ? "lists no IPv4 network, so no client could reach this IPv4 "
					     "guest; add one"
					   : "lists no IPv6 network, so no client could reach this IPv6 "
					     "guest; add one");
	return true;
}

static bool add_forward(struct model *m, struct forward *f, struct error *err)
{
	if (m->forward_count == m->forward_capacity) {
		size_t capacity = m->forward_capacity ? m->forward_capacity * 2 : 16;
		struct forward *grown = realloc(m->forwards, capacity * sizeof(*grown));

		if (!grown)
			return error_set(err, "out of memory");
		m->forwards = grown;
		m->forward_capacity = capacity;
	}
	f->order = (uint32_t)(m->forward_count + m->waiting_count);
	m->forwards[m->forward_count++] = *f;
	return true;
}

/* The guest as a libvirt domain: its name, which interface, which family. */
static bool set_vm(struct forward *f, const struct forward_text *text, const struct origin *where,
		   const struct forward_fields *fields, struct error *err)
{
	const char *reason;

	if ((reason = check_vm_name(text->vm)))
		return field_error(err, where, fields->vm, text->vm, reason);
	if (text->network && (reason = check_vm_name(text->network)))
		return field_error(err, where, fields->network, text->network, reason);
	if (text->mac && (reason = parse_mac(text->mac, f->vm.mac)))
		return field_error(err, where, fields->mac, text->mac, reason);
	if (text->network && text->mac)
		return field_error(err, where, fields->mac, text->mac,
				   "and a network both pick the interface; give one of them");
	snprintf(f->vm.domain, sizeof(f->vm.domain), "%s", text->vm);
	if (text->network)
		snprintf(f->vm.network, sizeof(f->vm.network), "%s", text->network);
	f->vm.by_mac = text->mac != NULL;
	f->guest.family = text->ipv6 ? AF_INET6 : AF_INET;
	f->source = GUEST_UNRESOLVED;
	return true;
}

bool config_add_forward(struct model *m, const struct forward_text *text,
			const struct origin *where, const struct forward_fields *fields,
			struct error *err)
{
	struct forward f = { .where = *where, .keep_source = text->keep_source, .log = text->log };
	char why[300];
	uint16_t guest_last;
	const char *reason;
	char *sources;
	bool ok;

	if (text->name && (reason = check_forward_name(text->name)))
		return field_error(err, where, fields->name, text->name, reason);
	if (text->name)
		snprintf(f.name, sizeof(f.name), "%s", text->name);
	if (text->limit && (reason = parse_rate(text->limit, &f.limit)))
		return field_error(err, where, fields->limit, text->limit, reason);
	/* A burst of the rate: "5/minute" lets a client open 5 at once, then one each 12 s. */
	f.limit.burst = f.limit.rate;
	if (text->burst && (reason = parse_burst(text->burst, &f.limit.burst)))
		return field_error(err, where, fields->burst, text->burst, reason);
	if (text->limit && (reason = check_limit(&f.limit, why, sizeof(why))))
		return field_error(err, where, text->burst ? fields->burst : fields->limit,
				   text->burst ? text->burst : text->limit, reason);

	if ((reason = parse_protos(text->protos, &f.protos)))
		return field_error(err, where, fields->protos, text->protos, reason);
	if ((reason = parse_port_range(text->host_port, &f.host_port, &f.host_port_last)))
		return field_error(err, where, fields->host_port, text->host_port, reason);
	if (text->vm && !set_vm(&f, text, where, fields, err))
		return false;
	if (!text->vm && (text->network || text->mac || text->ipv6))
		return field_error(err, where, text->network ? fields->network :
					       text->mac ? fields->mac : fields->vm,
				   text->network ? text->network : text->mac ? text->mac : "ipv6",
				   "picks an interface of a libvirt domain: it belongs to a forward "
				   "'to vm NAME', as in 'forward tcp 2222 to vm web:22 network default'");
	if (!text->vm && ((reason = parse_addr(text->guest_addr, &f.guest)) ||
			  (reason = check_guest_addr(&f.guest))))
		return field_error(err, where, fields->guest_addr, text->guest_addr, reason);
	f.guest_port = f.host_port;
	guest_last = f.host_port_last;
	if (text->guest_port &&
	    (reason = parse_port_range(text->guest_port, &f.guest_port, &guest_last)))
		return field_error(err, where, fields->guest_port, text->guest_port, reason);
	if (guest_last - f.guest_port != f.host_port_last - f.host_port) {
		char at[512];

		format_origin(where, at, sizeof(at));
		return error_set(err,
				 "%s: %s: '%s' has %u port%s but the host side '%s' has %u; a range "
				 "maps one to one, so give a guest range of the same length",
				 at, fields->guest_port, text->guest_port, guest_last - f.guest_port + 1,
				 guest_last == f.guest_port ? "" : "s", text->host_port,
				 f.host_port_last - f.host_port + 1);
	}
	if (!text->sources)
		return add_forward(m, &f, err);
	sources = strdup(text->sources);
	if (!sources)
		return error_set(err, "out of memory");
	ok = parse_sources(&f, sources, where, fields->sources, err) && add_forward(m, &f, err);
	free(sources);
	if (!ok)
		free(f.sources.items);
	return ok;
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
		if (strchr(*addr, '.') && !strchr(*addr, ':'))
			return field_error(err, where, config_words.guest_addr, *addr,
					   "is in brackets, which are for IPv6 addresses only; write an "
					   "IPv4 address without them, as in 192.0.2.10:80");
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

/*
 * The words after the guest address: `from NET[, NET...]`, `keep-source`, `name NAME`,
 * `limit RATE [burst N]` and `log`, each at most once and in any order. The list after
 * `from` ends at the next of these words.
 */
static bool parse_forward_options(char **saveptr, size_t room, char **sources,
				  struct forward_text *text, const struct origin *where,
				  struct error *err)
{
	static const char *const words[] = { "from", "keep-source", "name", "limit", "burst", "log",
					     "network", "mac", "ipv6" };
	static const char expected[] = "expected 'from NETWORKS', 'keep-source', 'name NAME', "
				       "'limit RATE[/second|minute|hour] [burst N]', 'log', or for a "
				       "'to vm' forward 'network NAME', 'mac MAC' or 'ipv6'";
	bool seen[sizeof(words) / sizeof(words[0])] = { false }, in_list = false;
	size_t used = 0;
	char *w;

	while ((w = strtok_r(NULL, WHITESPACE, saveptr))) {
		size_t k = 0;
		const char **value = NULL;

		while (k < sizeof(words) / sizeof(words[0]) && strcmp(w, words[k]) != 0)
			k++;
		if (k == sizeof(words) / sizeof(words[0])) {
			if (!in_list)
				return origin_error(err, where, "forward: unexpected '%s' after the "
						    "guest address; %s", w, expected);
			used += (size_t)sprintf(*sources + used, "%s%s", used ? " " : "", w);
			continue;
		}
		if (seen[k])
			return origin_error(err, where, "forward: '%s' given twice; give it once",
					    words[k]);
		if (k == 4 && !seen[3])
			return origin_error(err, where, "forward burst: 'burst' belongs to a limit; "
					    "write 'limit RATE burst N'");
		seen[k] = true;
		in_list = k == 0;
		if (k == 0) {
			/* the joined words are never longer than the line (`room`) */
			if (!(text->sources = *sources = calloc(1, room)))
				return error_set(err, "out of memory");
		} else if (k == 1)
			text->keep_source = true;
		else if (k == 5)
			text->log = true;
		else if (k == 8)
			text->ipv6 = true;
		else
			value = k == 2 ? &text->name : k == 3 ? &text->limit : k == 4 ? &text->burst
			      : k == 6 ? &text->network : &text->mac;
		if (value && !(*value = strtok_r(NULL, WHITESPACE, saveptr)))
			return origin_error(err, where, "forward %s: the value is missing; expected "
					    "%s", words[k],
					    k == 2 ? "'name NAME', as in 'name web'"
					    : k == 3 ? "'limit RATE[/second|minute|hour]', as in "
						       "'limit 5/minute'"
					    : k == 4 ? "'burst N', as in 'limit 5/minute burst 10'"
					    : k == 6 ? "'network NAME', as in 'network default'"
					    : "'mac MAC', as in 'mac 52:54:00:00:00:79'");
	}
	if (text->sources && !*text->sources)
		return origin_error(err, where, "forward from: no network given; expected 'from "
					       "198.51.100.0/24' or a comma-separated list");
	return true;
}

bool config_parse_forward(struct model *m, char *rest, const struct origin *where,
			  struct error *err)
{
	static const char example[] = "as in 'forward tcp 8080 to 192.0.2.10:80'";
	char *words[4], *saveptr = NULL, *addr = NULL, *port = NULL, *w;
	struct forward_text text = { 0 };
	char *sources = NULL; /* the words after 'from', joined by spaces */
	size_t n = 0, room = strlen(rest) + 1;
	bool ok;

	while (n < 4 && (w = strtok_r(n ? NULL : rest, WHITESPACE, &saveptr)))
		words[n++] = w;
	if (n < 1)
		return origin_error(err, where, "forward: the protocol is missing; expected tcp, udp "
					       "or tcp,udp, %s", example);
	if (n < 2)
		return origin_error(err, where, "forward: the host port is missing, %s", example);
	if (n < 3 || strcmp(words[2], "to") != 0)
		return origin_error(err, where, "forward: expected 'to' after the host port%s%s%s; %s",
				    n < 3 ? "" : ", found '", n < 3 ? "" : words[2],
				    n < 3 ? "" : "'", example);
	if (n < 4)
		return origin_error(err, where, "forward: the guest address is missing after 'to', %s",
				    example);
	if (!strcmp(words[3], "vm")) {
		/* "vm NAME[:PORT]": a libvirt domain, resolved when a command loads the config */
		if (!(addr = strtok_r(NULL, WHITESPACE, &saveptr)))
			return origin_error(err, where, "forward: the domain's name is missing after "
					    "'to vm', as in 'forward tcp 2222 to vm web:22'");
		if ((port = strchr(addr, ':')))
			*port++ = '\0';
		text.vm = addr;
		ok = parse_forward_options(&saveptr, room, &sources, &text, where, err);
	} else {
		ok = parse_forward_options(&saveptr, room, &sources, &text, where, err) &&
		     split_target(words[3], &addr, &port, where, err);
		text.guest_addr = addr;
	}
	if (ok) {
		text.protos = words[0];
		text.host_port = words[1];
		text.guest_port = port;
		ok = config_add_forward(m, &text, where, &config_words, err);
	}
	free(sources);
	return ok;
}

static bool parse_line(struct model *m, char *line, const struct origin *where,
		       enum config_source kind, struct error *err)
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
			return config_parse_forward(m, rest, where, err);
	}

	eq = strchr(line, '=');
	if (!eq) {
		line[word] = '\0';
		return field_error(err, where, line, NULL,
				   "expected 'KEY = VALUE' (" SETTING_KEYS ") or "
				   "'forward PROTOCOL PORT to ADDRESS[:PORT]' or "
				   "'forward PROTOCOL PORT to vm NAME[:PORT]'");
	}
	*eq = '\0';
	key = trim(line);
	if (*key == '\0')
		return field_error(err, where, "setting", NULL,
				   "the key before '=' is missing; expected one of " SETTING_KEYS);
	if (*trim(eq + 1) == '\0')
		return field_error(err, where, key, NULL, "the value after '=' is missing");
	if (kind == SOURCE_DROPIN)
		return field_error(err, where, key, NULL,
				   "is a setting, and settings stay in the main config file; a "
				   "drop-in file holds forwards only: move it there");
	return config_set(m, key, trim(eq + 1), kind == SOURCE_FLAGS, where, key, err);
}

static bool parse_text(struct model *m, const char *text, size_t len, const char *source,
		       enum config_source kind, struct error *err)
{
	char *copy = malloc(len + 1), *line;
	struct origin where = { .source = source, .line = 0 };
	bool ok = true;

	if (!copy)
		return error_set(err, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';

	line = copy;
	/* a UTF-8 byte order mark (some editors write one) is no part of the first line */
	if (len >= 3 && !memcmp(copy, "\xef\xbb\xbf", 3))
		line += 3;
	while (ok && line <= copy + len) {
		char *end = memchr(line, '\n', (size_t)(copy + len - line));

		if (end)
			*end = '\0';
		where.line++;
		if (strlen(line) != (size_t)((end ? end : copy + len) - line))
			ok = field_error(err, &where, "line", NULL,
					 "contains a NUL byte; the config must be text");
		else
			ok = parse_line(m, line, &where, kind, err);
		if (!end)
			break;
		line = end + 1;
	}
	free(copy);
	return ok;
}

bool config_parse(struct model *m, const char *text, size_t len, const char *source,
		  struct error *err)
{
	return parse_text(m, text, len, source, SOURCE_MAIN, err);
}

bool config_parse_as(struct model *m, const char *text, size_t len, const char *source,
		     enum config_source kind, struct error *err)
{
	return parse_text(m, text, len, source, kind, err);
}

/* What a path that is no regular file is, for the message. */
/* Whoever can write a config file, or add one to the drop-in directory, decides what this
 * host forwards, as root. */
static void warn_writable(const char *what, const char *path, const struct stat *st)
{
	if (geteuid() == 0 && (st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH))))
		fprintf(stderr, "nft-portfwd: warning: %s %s is writable by %s; whoever can "
				"write it decides what this host forwards: chown root %s; chmod go-w %s\n",
			what, path, st->st_uid != 0 ? "a user other than root" : "its group or others",
			path, path);
}

static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" :
	       S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device" :
	       S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

static bool read_file(struct model *m, const char *path, bool missing_ok, enum config_source kind,
		      struct error *err)
{
	/* O_NONBLOCK: a FIFO must not block the open; only regular files are read anyway */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *text;
	size_t len = 0, cap;
	bool ok;

	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return true;
		return error_set(err, "cannot read config %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		error_set(err, "cannot read config %s: %s", path, strerror(errno));
		close(fd);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, "cannot read config %s: it is %s; the config must be a regular "
				      "file", path, file_kind(st.st_mode));
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		close(fd);
		return error_set(err, "cannot read config %s: it is %lld bytes, more than the limit of "
				      "%u MiB; a config is a few lines per forward", path,
				 (long long)st.st_size, CONFIG_MAX_BYTES >> 20);
	}
	warn_writable("config", path, &st);
	/* room for what fstat says and some growth, at most one byte past the limit */
	cap = (size_t)st.st_size + 65536 <= CONFIG_MAX_BYTES ? (size_t)st.st_size + 65536
							     : CONFIG_MAX_BYTES + 1;
	text = malloc(cap);
	if (!text) {
		close(fd);
		return error_set(err, "out of memory");
	}
	for (ok = true; len < cap;) {
		ssize_t got = read(fd, text + len, cap - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			ok = got == 0;
			break;
		}
		len += (size_t)got;
	}
	if (!ok)
		error_set(err, "cannot read config %s: %s", path, strerror(errno));
	else if (len == cap) /* filled: over the limit, or it grew while being read */
		ok = error_set(err, "cannot read config %s: it grew while being read, or past the "
				    "limit of %u MiB", path, CONFIG_MAX_BYTES >> 20);
	close(fd);
	if (!ok) {
		free(text);
		return false;
	}
	ok = parse_text(m, text, len, path, kind, err);
	free(text);
	return ok;
}

bool config_read_file(struct model *m, const char *path, bool missing_ok, struct error *err)
{
	return read_file(m, path, missing_ok, SOURCE_MAIN, err);
}

const char *config_own_source(struct model *m, const char *path)
{
	char *copy, **grown = realloc(m->owned_sources, (m->owned_source_count + 1) * sizeof(*grown));

	if (grown)
		m->owned_sources = grown;
	if (!grown || !(copy = strdup(path)))
		return NULL;
	return m->owned_sources[m->owned_source_count++] = copy;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "NAME.conf", not hidden: what a drop-in directory holds (editors' backups are not). */
static bool is_dropin(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".conf");
}

bool config_read_dir(struct model *m, const char *dir, bool missing_ok, struct error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	char **names = NULL;
	size_t count = 0;
	bool ok = true;

	if (!d) {
		if (errno == ENOENT && missing_ok)
			return true;
		return error_set(err, "cannot read config directory %s: %s", dir, strerror(errno));
	}
	if (fstat(dirfd(d), &st) == 0)
		warn_writable("config directory", dir, &st);
	while (ok && (de = readdir(d))) {
		char **grown;

		if (!is_dropin(de->d_name))
			continue;
		grown = realloc(names, (count + 1) * sizeof(*names));
		if (!grown || !(grown[count] = strdup(de->d_name))) {
			names = grown ? grown : names;
			ok = error_set(err, "out of memory");
			break;
		}
		names = grown;
		count++;
	}
	closedir(d);
	/* lexical order of the bytes, whatever the locale: 10-web.conf before 20-db.conf */
	if (ok && count)
		qsort(names, count, sizeof(*names), cmp_name);
	for (size_t i = 0; ok && i < count; i++) {
		char *path = NULL;
		const char *kept;

		/* the forwards' origins point at the path: the model keeps it */
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			path = NULL;
		kept = path ? config_own_source(m, path) : NULL;
		free(path);
		if (!kept) {
			ok = error_set(err, "out of memory");
			break;
		}
		ok = read_file(m, kept, false, SOURCE_DROPIN, err);
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return ok;
}
