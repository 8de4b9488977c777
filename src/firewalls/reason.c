/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/entries.h"
#include "firewalls/reason.h"

/* "8000" or "5000-5002", as nft and our comments write a port run. */
const char *ports_text(const struct foreign_endpoint *ep, char buf[12])
{
	if (ep->port == ep->port_last)
		snprintf(buf, 12, "%u", ep->port);
	else
		snprintf(buf, 12, "%u-%u", ep->port, ep->port_last);
	return buf;
}

/* "192.0.2.79 tcp 8000" */
void endpoint_text(const struct foreign_endpoint *ep, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN], ports[12];

	snprintf(buf, size, "%s %s %s", addr_text(&ep->guest, addr), proto_name(ep->proto),
		 ports_text(ep, ports));
}

/* A value as nft prints it, roughly: enough to recognise the rule in `nft -a list`. */
static void value_text(struct text *t, const json_t *v, bool quote)
{
	const json_t *inner;
	const char *what;

	if (json_is_string(v)) {
		text_printf(t, quote ? "\"%s\"" : "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		text_printf(t, "%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			text_printf(t, i ? "," : "");
			value_text(t, json_array_get(v, i), quote);
		}
	} else if (!strcmp(what = json_kind(v, &inner), "prefix")) {
		text_printf(t, "%s/%lld", jstr(inner, "addr") ? jstr(inner, "addr") : "?",
			 (long long)json_integer_value(json_object_get(inner, "len")));
	} else if (!strcmp(what, "range") || !strcmp(what, "concat")) {
		for (size_t i = 0; i < json_array_size(inner); i++) {
			text_printf(t, i ? (what[0] == 'r' ? "-" : " . ") : "");
			value_text(t, json_array_get(inner, i), quote);
		}
	} else if (!strcmp(what, "set")) {
		text_printf(t, "{ ");
		for (size_t i = 0; i < json_array_size(inner) && i < 3; i++) {
			text_printf(t, i ? ", " : "");
			value_text(t, json_unwrap(json_array_get(inner, i)), quote);
		}
		text_printf(t, json_array_size(inner) > 3 ? ", ... }" : " }");
	} else if (!strcmp(what, "elem")) {
		value_text(t, json_unwrap(v), quote);
	} else {
		text_printf(t, "%s", what[0] ? what : "?");
	}
}

static void left_text(struct text *t, const json_t *left)
{
	const json_t *v;
	const char *what = json_kind(left, &v);

	if (!strcmp(what, "payload") && jstr(v, "protocol"))
		text_printf(t, "%s %s", jstr(v, "protocol"), jstr(v, "field") ? jstr(v, "field") : "?");
	else if (!strcmp(what, "meta") && jstr(v, "key"))
		text_printf(t, ruleset_key_of(left).kind == KEY_IIF || ruleset_key_of(left).kind == KEY_OIF ? "%s" : "meta %s",
			 jstr(v, "key"));
	else if (!strcmp(what, "ct") && jstr(v, "key"))
		text_printf(t, "ct %s", jstr(v, "key"));
	else if (!strcmp(what, "concat"))
		for (size_t i = 0; i < json_array_size(v); i++) {
			text_printf(t, i ? " . " : "");
			left_text(t, json_array_get(v, i));
		}
	else
		text_printf(t, "%s", what[0] ? what : "?");
}

/* The rule in about the words `nft list` uses; xt expressions as "xt match conntrack". */
void rule_text(struct text *t, const json_t *expr)
{
	for (size_t i = 0; i < json_array_size(expr); i++) {
		const json_t *v;
		const char *what = json_kind(json_array_get(expr, i), &v);

		text_printf(t, i ? " " : "");
		if (!strcmp(what, "match")) {
			const json_t *left = json_object_get(v, "left");
			const char *op = jstr(v, "op") ? jstr(v, "op") : "";
			struct key k = ruleset_key_of(left);

			left_text(t, left);
			text_printf(t, strcmp(op, "==") && strcmp(op, "in") ? " %s " : " ", op);
			value_text(t, json_object_get(v, "right"), k.kind == KEY_IIF || k.kind == KEY_OIF);
		} else if (!strcmp(what, "xt")) {
			text_printf(t, "xt %s %s", jstr(v, "type") ? jstr(v, "type") : "?",
				 jstr(v, "name") ? jstr(v, "name") : "?");
		} else if (!strcmp(what, "jump") || !strcmp(what, "goto")) {
			text_printf(t, "%s %s", what, jstr(v, "target") ? jstr(v, "target") : "?");
		} else {
			text_printf(t, "%s", what);
		}
	}
}

const char *block_kind(const struct ruleset *rs, size_t base, const struct drop *d)
{
	const struct table *t = &rs->tables[rs->chains[base].table];
	const char *chain = rs->chains[d->chain].name;

	if (!strcmp(t->family, "inet") && !strcmp(t->name, "firewalld"))
		return "firewalld";
	if (!strcmp(t->name, "libvirt_network"))
		return "libvirt-nftables";
	if (!strncmp(chain, "LIBVIRT_", 8))
		return "libvirt-iptables";
	if (!strncmp(chain, "DOCKER", 6) ||
	    (!d->rule && ruleset_find_chain(rs, rs->chains[base].table, "DOCKER-USER") != SIZE_MAX))
		return "docker";
	if (!strncmp(chain, "ufw", 3) ||
	    (!d->rule && (ruleset_find_chain(rs, rs->chains[base].table, "ufw-before-forward") != SIZE_MAX ||
			  ruleset_find_chain(rs, rs->chains[base].table, "ufw6-before-forward") != SIZE_MAX)))
		return "ufw";
	return "other";
}

void reason_text(const struct ruleset *rs, size_t base, const struct drop *d,
			const struct packet *pk, const char *kind, char *buf, size_t size)
{
	struct text t = { 0 };
	const struct chain *c = &rs->chains[d->chain];
	char ep[INET6_ADDRSTRLEN + 32];
	bool reject = d->rule && d->rule->verdict == V_REJECT;

	endpoint_text(pk->ep, ep, sizeof(ep));
	if (d->rule) {
		text_printf(&t, "rule '");
		rule_text(&t, d->rule->expr);
		text_printf(&t, "' (handle %ld) in %s %s", d->rule->handle, c->name,
			 d->certain ? (reject ? "rejects" : "drops") : (reject ? "may reject" : "may drop"));
	} else {
		text_printf(&t, "policy drop of %s drops", rs->chains[base].name);
	}
	text_printf(&t, pk->reply ? " replies from %s" : " new connections to %s", ep);
	if (pk->iif)
		text_printf(&t, " arriving on \"%.*s%s\"", (int)pk->iif->len, pk->iif->s,
			 pk->iif->wildcard ? "*" : "");
	if (pk->oif)
		text_printf(&t, " leaving through \"%.*s%s\"", (int)pk->oif->len, pk->oif->s,
			 pk->oif->wildcard ? "*" : "");
	if (!d->rule)
		text_printf(&t, " (nothing in it accepts them)");
	if (!strcmp(kind, "firewalld") && !rs->chains[base].dnat_accept)
		text_printf(&t, "; firewalld accepts DNAT'd connections unless StrictForwardPorts=yes, and "
			 "%s has no 'ct status dnat accept'", rs->chains[base].name);
	text_copy(&t, buf, size);
	/* names come from the kernel: keep the reason one printable line */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

