/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/validate.h"
#include "config/entries.h"
#include "sys/hostcheck.h"

/* A small /proc or /run file into a string; NULL when it cannot be read. */
static char *read_proc(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t size = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		char *grown;

		if (len + 4097 > size) {
			size = size ? size * 2 : 8192;
			if (size > (64u << 20) || !(grown = realloc(text, size))) {
				free(text);
				fclose(f);
				return NULL;
			}
			text = grown;
		}
		n = fread(text + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	text[len] = '\0';
	return text;
}

static void add_names(const char *family, const char *names, char *buf, size_t size, size_t *len)
{
	const char *p = names;

	while (p && *p) {
		size_t n = strcspn(p, "\n");

		if (n && *len < size)
			*len += (size_t)snprintf(buf + *len, size - *len, "%s%s %.*s", *len ? ", " : "",
						 family, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

bool legacy_tables_text(const char *names4, const char *names6, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	add_names("ip", names4, buf, size, &len);
	add_names("ip6", names6, buf, size, &len);
	return buf[0] != '\0';
}

bool hostcheck_legacy(uint32_t mark, char *advice, size_t size)
{
	char *v4 = read_proc("/proc/net/ip_tables_names");
	char *v6 = read_proc("/proc/net/ip6_tables_names");
	char tables[256];
	bool any = legacy_tables_text(v4, v6, tables, sizeof(tables));

	free(v4);
	free(v6);
	if (any)
		snprintf(advice, size, "iptables-legacy tables are loaded (%s): forwarded traffic also "
			 "crosses their rules, which nftables does not list and nft-portfwd cannot "
			 "see; look with 'iptables-legacy -S FORWARD' (and 'ip6tables-legacy -S "
			 "FORWARD'), and if they drop the forwards add 'iptables-legacy -I FORWARD -m "
			 "mark --mark 0x%x/0x%x -j ACCEPT' (ip6tables-legacy the same)", tables, mark,
			 mark);
	return any;
}

/*
 * "0100007F:0016" or the IPv6 form: the address as text and whether it is loopback. The
 * kernel prints each 32-bit word of the address as a host-order number.
 */
static bool parse_local(const char *hex, bool v6, char *addr, size_t size, unsigned *port,
			bool *loopback)
{
	unsigned char bytes[16];
	size_t words = v6 ? 4 : 1;

	for (size_t w = 0; w < words; w++) {
		char digits[9];
		char *end;
		uint32_t v;

		memcpy(digits, hex + 8 * w, 8);
		digits[8] = '\0';
		v = (uint32_t)strtoul(digits, &end, 16);
		if (*end || strlen(digits) != 8)
			return false;
		memcpy(bytes + 4 * w, &v, 4);
	}
	if (hex[8 * words] != ':' || sscanf(hex + 8 * words + 1, "%4x", port) != 1)
		return false;
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, addr, (socklen_t)size))
		return false;
	*loopback = v6 ? !strcmp(addr, "::1") : bytes[0] == 127;
	return true;
}

bool proc_net_listens(const char *table, bool v6, bool tcp, uint16_t port, char *where,
		      size_t size)
{
	const char *line = strchr(table, '\n'); /* the header */

	while (line && *++line) {
		char local[80], addr[INET6_ADDRSTRLEN];
		unsigned state, lport;
		bool loopback;

		if (sscanf(line, " %*[0-9]: %79s %*s %x", local, &state) == 2 &&
		    parse_local(local, v6, addr, sizeof(addr), &lport, &loopback) && lport == port &&
		    !loopback && state == (tcp ? 0x0Au : 0x07u)) {
			snprintf(where, size, v6 ? "[%s]:%u" : "%s:%u", addr, lport);
			return true;
		}
		line = strchr(line, '\n');
	}
	return false;
}

static bool has_host_ip(const struct model *m, int af)
{
	for (size_t i = 0; i < m->host_ips.count; i++)
		if (m->host_ips.items[i].family == af)
			return true;
	return false;
}

/* Does forward `fw` take a host port of an entry of `scope`? */
static bool in_scope(const struct forward *fw, const struct entry_list *scope)
{
	for (size_t i = 0; i < scope->count; i++) {
		const struct entry *e = &scope->items[i];

		if (e->family == fw->guest.family && (fw->protos & e->proto) &&
		    fw->host_port <= e->host_port && e->host_port <= fw->host_port_last)
			return true;
	}
	return false;
}

char **hostcheck_served_ports(const struct model *m, const struct entry_list *scope,
			      size_t *count)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/udp", "/proc/net/tcp6",
					     "/proc/net/udp6" };
	char *tables[4] = { NULL }, **lines = NULL;
	bool read = false;

	*count = 0;
	for (size_t f = 0; f < m->forward_count; f++) {
		const struct forward *fw = &m->forwards[f];
		bool v6 = fw->guest.family == AF_INET6;

		if (has_host_ip(m, fw->guest.family) || (scope && !in_scope(fw, scope)))
			continue;
		/* read when needed: the kernel walks its whole TCP hash for these (ms each) */
		for (size_t i = 0; !read && i < 4; i++)
			tables[i] = read_proc(files[i]);
		read = true;
		for (unsigned port = fw->host_port; port <= fw->host_port_last; port++)
			for (int tcp = 1; tcp >= 0; tcp--) {
				const char *table = tables[(v6 ? 2 : 0) + !tcp];
				char where[INET6_ADDRSTRLEN + 8], at[512], **grown;

				if (!(fw->protos & (tcp ? PROTO_TCP : PROTO_UDP)) || !table ||
				    !proc_net_listens(table, v6, tcp, (uint16_t)port, where, sizeof(where)))
					continue;
				grown = realloc(lines, (*count + 1) * sizeof(*lines));
				if (!grown)
					goto done;
				lines = grown;
				format_origin(&fw->where, at, sizeof(at));
				if (asprintf(&lines[*count], "%s: the host itself serves %s port %u (a "
					     "socket listens on %s), and without host-ip this forward takes "
					     "that port on every local %saddress, the guests' gateway "
					     "address too", at, tcp ? "tcp" : "udp", port, where,
					     v6 ? "IPv6 " : "") < 0)
					goto done;
				(*count)++;
			}
	}
done:
	for (size_t i = 0; i < 4; i++)
		free(tables[i]);
	return lines;
}

bool hostcheck_libvirt_forwards(void)
{
	DIR *dir = opendir("/run/libvirt/network");
	struct dirent *d;
	bool forwards = false;

	while (dir && !forwards && (d = readdir(dir))) {
		size_t n = strlen(d->d_name);
		char path[300], *text;

		if (n < 5 || strcmp(d->d_name + n - 4, ".xml"))
			continue;
		snprintf(path, sizeof(path), "/run/libvirt/network/%s", d->d_name);
		text = read_proc(path);
		forwards = text && (strstr(text, "<forward mode='nat'") || strstr(text, "<forward mode=\"nat\"") ||
				    strstr(text, "<forward mode='route'") || strstr(text, "<forward/>") ||
				    strstr(text, "<forward dev="));
		free(text);
	}
	if (dir)
		closedir(dir);
	return forwards;
}
