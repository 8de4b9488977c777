/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "config/describe.h"
#include "config/resolve.h"
#include "config/entries.h"
#include "config/validate.h"
#include "util/text.h"

const char *prefix_text(const struct prefix *p, bool always_len, char buf[64])
{
	char addr[INET6_ADDRSTRLEN];
	unsigned max_len = p->addr.family == AF_INET ? 32 : 128;

	if (always_len || p->len != max_len)
		snprintf(buf, 64, "%s/%u", addr_text(&p->addr, addr), p->len);
	else
		snprintf(buf, 64, "%s", addr_text(&p->addr, addr));
	return buf;
}

const char *rate_unit(const struct rate_limit *l)
{
	return l->seconds == 1 ? "second" : l->seconds == 60 ? "minute" : "hour";
}

static void print_ports(struct text *out, unsigned first, unsigned last)
{
	text_printf(out, first == last ? "%u" : "%u-%u", first, last);
}

/* A `to vm` forward's interface and family (a config line), or where it resolved to. */
static void print_vm(struct text *out, const struct forward *f, bool config)
{
	char buf[INET6_ADDRSTRLEN], text[18];

	if (config && f->vm.network[0])
		text_printf(out, " network %s", f->vm.network);
	if (config && f->vm.by_mac)
		text_printf(out, " mac %s", format_mac(f->vm.mac, text));
	if (config && f->guest.family == AF_INET6)
		text_puts(out, " ipv6");
	if (!config && f->source != GUEST_UNRESOLVED)
		text_printf(out, " at %s (%s)", addr_text(&f->guest, buf), guest_source_name(f->source));
}

void forward_text_append(struct text *out, const struct model *m, const struct forward *f,
			 enum forward_style style)
{
	bool config = style == AS_CONFIG;
	char buf[64];

	text_printf(out, "%s%s ", config ? "forward " : "", protos_name(f->protos));
	print_ports(out, f->host_port, f->host_port_last);
	if (f->vm.domain[0])
		text_printf(out, " %s vm %s:", config ? "to" : "->", f->vm.domain);
	else
		text_printf(out, f->guest.family == AF_INET6 ? " %s [%s]:" : " %s %s:",
			    config ? "to" : "->", addr_text(&f->guest, buf));
	print_ports(out, f->guest_port, f->guest_port + (unsigned)(f->host_port_last - f->host_port));
	if (f->vm.domain[0])
		print_vm(out, f, config);
	for (size_t i = 0; i < f->sources.count; i++)
		text_printf(out, "%s%s", i ? ", " : " from ", prefix_text(&f->sources.items[i], false, buf));
	/* status says what happens (masquerade = no keeps every source); a config line what
	 * the forward itself says */
	if (config ? f->keep_source : forward_keeps_source(m, f))
		text_puts(out, " keep-source");
	if (config && f->name[0])
		text_printf(out, " name %s", f->name);
	if (f->limit.rate)
		text_printf(out, " limit %u/%s burst %u", f->limit.rate, rate_unit(&f->limit),
			    f->limit.burst);
	if (f->log)
		text_puts(out, " log");
}

char *forward_text(const struct model *m, const struct forward *f, enum forward_style style)
{
	struct text out = { 0 };

	forward_text_append(&out, m, f, style);
	return text_take(&out);
}

static json_t *json_prefix(const struct prefix *p)
{
	char buf[64];

	return json_string(prefix_text(p, true, buf));
}

/* {"domain", "network", "mac", "family", "source"} of a `to vm` forward; null for others. */
static json_t *vm_json(const struct forward *f)
{
	char text[18];

	if (!f->vm.domain[0])
		return json_null();
	format_mac(f->vm.mac, text);
	return json_pack("{s:s, s:o, s:o, s:s, s:o}", "domain", f->vm.domain,
			 "network", f->vm.network[0] ? json_string(f->vm.network) : json_null(),
			 "mac", f->vm.by_mac ? json_string(text) : json_null(),
			 "family", f->guest.family == AF_INET6 ? "ipv6" : "ipv4",
			 "source", f->source == GUEST_UNRESOLVED ? json_null()
								  : json_string(guest_source_name(f->source)));
}

json_t *forward_json(const struct model *m, const struct forward *f)
{
	json_t *protos = json_array(), *sources = json_array(), *limit = json_null();
	char where[4200], guest[INET6_ADDRSTRLEN];
	bool ok = protos && sources;

	for (unsigned p = PROTO_TCP; ok && p <= PROTO_UDP; p <<= 1)
		if (f->protos & p)
			ok = json_array_append_new(protos, json_string(proto_name(p))) == 0;
	for (size_t s = 0; ok && s < f->sources.count; s++)
		ok = json_array_append_new(sources, json_prefix(&f->sources.items[s])) == 0;
	if (ok && f->limit.rate)
		ok = (limit = json_pack("{s:i, s:s, s:i}", "rate", (int)f->limit.rate, "per",
					rate_unit(&f->limit), "burst", (int)f->limit.burst));
	if (!ok) {
		json_decref(protos);
		json_decref(sources);
		json_decref(limit);
		return NULL;
	}
	format_origin(&f->where, where, sizeof(where));
	/* "o" hands protos, sources and limit to the new object, even when packing fails */
	return json_pack("{s:o, s:s, s:o, s:[i,i], s:o, s:o, s:[i,i], s:o, s:b, s:o, s:b}",
			 "name", f->name[0] ? json_string(f->name) : json_null(),
			 "config", where, "protocols", protos,
			 "host_ports", f->host_port, f->host_port_last,
			 "guest", f->source == GUEST_UNRESOLVED ? json_null()
							  : json_string(addr_text(&f->guest, guest)),
			 "vm", vm_json(f),
			 "guest_ports", f->guest_port, f->guest_port + (f->host_port_last - f->host_port),
			 "sources", sources, "keep_source", forward_keeps_source(m, f),
			 "limit", limit, "log", f->log);
}
