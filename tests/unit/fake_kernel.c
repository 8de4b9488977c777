/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/validate.h"
#include "engine/trace.h"
#include "fake_kernel.h"
#include "table/elements.h"
#include "table/schema.h"
#include "util/text.h"

#define OURS "table " TABLE_FAMILY " " TABLE_NAME

/* The line of `text` starting at `at`, without its newline, and where the next begins. */
static size_t line_at(const char *text, size_t at, size_t *next)
{
	const char *end = strchr(text + at, '\n');
	size_t len = end ? (size_t)(end - (text + at)) : strlen(text + at);

	*next = at + len + (end != NULL);
	return len;
}

static bool line_is(const char *text, size_t at, size_t len, const char *want)
{
	return strlen(want) == len && !memcmp(text + at, want, len);
}

/* Where the set or map `name` begins in the table, and where its element lines go. */
static bool find_elements(const char *table, const char *name, size_t *start, size_t *end)
{
	const struct set_schema *set = schema_set_named(name);
	char header[64];
	size_t at = 0, next, len;
	bool inside = false;

	if (!set)
		return false;
	schema_header(set, header, sizeof(header));
	while (table[at]) {
		len = line_at(table, at, &next);
		if (!inside && line_is(table, at, len, header))
			inside = true;
		else if (inside && line_is(table, at, len, "\t\telements = {"))
			*start = next;
		else if (inside && line_is(table, at, len, "\t\t}")) {
			*end = at;
			return true;
		} else if (inside && line_is(table, at, len, "\t}"))
			return false;
		at = next;
	}
	return false;
}

/* Add or delete one element ("E" of "\tE,") of set `name` in *table. */
static bool change_element(char **table, const char *name, const char *element, size_t n,
			   bool adding, char *why, size_t size)
{
	size_t start = 0, end = 0, at, next = 0, len;
	struct text out = { 0 };

	if (!*table || !find_elements(*table, name, &start, &end)) {
		snprintf(why, size, "Could not process rule: No such file or directory (set %s)", name);
		return false;
	}
	for (at = start; at < end; at = next) {
		len = line_at(*table, at, &next);
		/* "\t\t\tELEMENT,": the key ends at a space or the comma */
		if (len > 3 + n && !memcmp(*table + at + 3, element, n) &&
		    ((*table)[at + 3 + n] == ' ' || (*table)[at + 3 + n] == ','))
			break;
	}
	if (adding && at < end)
		return true; /* already there: nft's add does nothing */
	if (!adding && at >= end) {
		snprintf(why, size, "Could not process rule: No such file or directory (%s: %.*s)",
			 name, (int)n, element);
		return false;
	}
	text_put(&out, *table, adding ? start : at);
	if (adding)
		text_printf(&out, "\t\t\t%.*s,\n", (int)n, element);
	text_puts(&out, *table + (adding ? start : next));
	free(*table);
	*table = text_take(&out);
	return *table != NULL;
}

/*
 * Run `nft` on copies of the table and trace flag; true when every line was understood
 * and allowed, with the results in *table and *trace.
 */
static bool run_text(const char *nft, char **table, bool *trace, char *why, size_t size)
{
	size_t at = 0, next, len;

	while (nft[at]) {
		const char *line = nft + at;
		char set[32];
		int used = 0;

		len = line_at(nft, at, &next);
		if (!len || line[0] == '#') {
			at = next;
		} else if (line_is(nft, at, len, OURS)) {
			if (!*table)
				*table = strdup(OURS " {\n}\n");
			at = next;
		} else if (line_is(nft, at, len, "delete " OURS)) {
			if (!*table)
				return snprintf(why, size, "Could not process rule: No such file or directory"), false;
			free(*table);
			*table = NULL;
			at = next;
		} else if (line_is(nft, at, len, OURS " {")) {
			size_t from = at;

			while (nft[at] && !line_is(nft, at, line_at(nft, at, &next), "}"))
				at = next;
			line_at(nft, at, &next);
			free(*table);
			*table = strndup(nft + from, next - from);
			at = next;
		} else if (!strncmp(line, TRACE_DELETE, strlen(TRACE_DELETE))) {
			/* "table T" then "delete table T": it goes, whether or not it was there */
			*trace = false;
			at += strlen(TRACE_DELETE);
		} else if ((sscanf(line, "add element " TABLE_FAMILY " " TABLE_NAME " %31s {%n", set, &used) == 1 ||
			    sscanf(line, "delete element " TABLE_FAMILY " " TABLE_NAME " %31s {%n", set, &used) == 1) &&
			   (size_t)used == len) {
			bool adding = line[0] == 'a';

			for (at = next; nft[at]; at = next) {
				const char *e = nft + at + 1;

				len = line_at(nft, at, &next);
				if (line_is(nft, at, len, "}"))
					break;
				if (!change_element(table, set, e, len - 1 - (nft[at + len - 1] == ','),
						    adding, why, size))
					return false;
			}
			at = next;
		} else {
			return snprintf(why, size, "the fake kernel does not know: %.*s", (int)len, line), false;
		}
	}
	return true;
}

static enum exit_code fake_run(void *ctx, const char *nft, bool dry_run, struct error *err)
{
	struct fake_kernel *f = ctx;
	char *table = f->table ? strdup(f->table) : NULL, why[512];
	bool trace = f->trace_leftover;

	if (f->refuse) {
		f->refuse--;
		f->refused++;
		free(table);
		return error_set(err, "Error: the fake kernel refuses this transaction"), EXIT_KERNEL;
	}
	if (!run_text(nft, &table, &trace, why, sizeof(why))) {
		f->refused++;
		free(table);
		return error_set(err, "Error: %s", why), EXIT_KERNEL;
	}
	if (dry_run) {
		f->dry_runs++;
		free(table);
		return EXIT_OK;
	}
	free(f->table);
	f->table = table;
	f->trace_leftover = trace;
	free(f->last_commit);
	f->last_commit = strdup(nft);
	f->commits++;
	f->gen++;
	return EXIT_OK;
}

static enum exit_code fake_generation(void *ctx, uint32_t *id, struct error *err)
{
	(void)err;
	*id = ((struct fake_kernel *)ctx)->gen;
	return EXIT_OK;
}

/* The table's structure (live.h): the rendering without its forward elements. */
static enum exit_code fake_structure(const struct fake_kernel *f, struct live_table *t,
				     struct error *err)
{
	struct element_list elements;

	*t = (struct live_table){ .present = f->table != NULL };
	if (!f->table) {
		t->canonical = strdup("");
		return t->canonical ? EXIT_OK : (error_set(err, "out of memory"), EXIT_SYSTEM);
	}
	if (!elements_split(f->table, &t->canonical, &elements))
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	elements_free(&elements);
	return EXIT_OK;
}

static enum exit_code fake_read_firewalls(void *ctx, const struct entry_list *entries,
					  uint32_t mark, const volatile sig_atomic_t *cancel,
					  struct live_table *live, struct foreign_report *r,
					  struct error *err)
{
	struct fake_kernel *f = ctx;

	(void)entries, (void)mark, (void)cancel;
	f->firewall_reads++;
	*r = (struct foreign_report){ .forwarder = { "", "" }, .trace_leftover = f->trace_leftover,
				    .trace_pid = 4242 };
	return live ? fake_structure(f, live, err) : EXIT_OK;
}

/* The addresses of sets host4 and host6, as live_hosts_are compares them. */
static bool fake_hosts(const char *table, struct addr_list *hosts)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < 2; i++) {
		size_t start = 0, end = 0, next, len;

		if (!find_elements(table, schema_set(SET_HOST, families[i])->name, &start, &end))
			continue;
		for (size_t at = start; at < end; at = next) {
			char addr[64];
			struct addr *grown;

			len = line_at(table, at, &next);
			snprintf(addr, sizeof(addr), "%.*s", (int)(len - 4), table + at + 3);
			grown = realloc(hosts->items, (hosts->count + 1) * sizeof(*grown));
			if (!grown)
				return false;
			hosts->items = grown;
			if (!parse_addr(addr, &hosts->items[hosts->count]))
				hosts->count++;
		}
	}
	return true;
}

static enum exit_code fake_read_table(void *ctx, struct live_table *t, char **elements,
				      struct error *err)
{
	struct fake_kernel *f = ctx;
	enum exit_code rc = fake_structure(f, t, err);

	f->table_reads++;
	if (rc != EXIT_OK)
		return rc;
	*elements = strdup(f->table ? f->table : "");
	if (!*elements || (f->table && !fake_hosts(f->table, &t->hosts))) {
		live_free(t);
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	}
	return EXIT_OK;
}

static enum exit_code fake_read_structure(void *ctx, struct live_table *t, struct error *err)
{
	struct fake_kernel *f = ctx;

	f->structure_reads++;
	return fake_structure(f, t, err);
}

static bool fake_conntrack_tracked(void *ctx)
{
	(void)ctx;
	return true;
}

static size_t fake_conntrack_forget(void *ctx, const struct entry_list *before,
				    const struct entry_list *after)
{
	struct fake_kernel *f = ctx;

	(void)after;
	f->forget_calls++;
	f->forgot_before = before->count;
	return 0;
}

static bool fake_libvirt_forwards(void *ctx)
{
	return ((struct fake_kernel *)ctx)->libvirt;
}

static bool write_file(const char *path, const char *value)
{
	FILE *file = fopen(path, "we");

	return file && fputs(value, file) >= 0 && fclose(file) == 0;
}

bool fake_kernel_init(struct fake_kernel *f)
{
	static const char *const names[] = { "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding" };
	static const char *const records[] = { "ipv4-forward.before", "ipv6-forward.before" };

	*f = (struct fake_kernel){ .gen = 100 };
	strcpy(f->dir, "/tmp/nft-portfwd-fake-XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	for (int i = 0; i < 2; i++) {
		snprintf(f->paths[i], sizeof(f->paths[i]), "%s/forward%d", f->dir, i);
		snprintf(f->conf_dirs[i], sizeof(f->conf_dirs[i]), "%s/conf%d", f->dir, i);
		if (!write_file(f->paths[i], "0\n") || mkdir(f->conf_dirs[i], 0700) != 0)
			return false;
		f->sysctls[i] = (struct forwarding_sysctl){ names[i], f->paths[i], records[i],
							    f->conf_dirs[i] };
	}
	f->ops = (struct kernel_ops){
		.ctx = f,
		.generation = fake_generation,
		.run = fake_run,
		.read_firewalls = fake_read_firewalls,
		.read_table = fake_read_table,
		.read_structure = fake_read_structure,
		.conntrack_tracked = fake_conntrack_tracked,
		.conntrack_forget = fake_conntrack_forget,
		.libvirt_forwards = fake_libvirt_forwards,
		.forwarding = { &f->sysctls[0], &f->sysctls[1] },
	};
	return true;
}

void fake_kernel_free(struct fake_kernel *f)
{
	for (int i = 0; i < 2; i++) {
		unlink(f->paths[i]);
		rmdir(f->conf_dirs[i]);
	}
	rmdir(f->dir);
	free(f->table);
	free(f->last_commit);
}

void fake_kernel_commit_other(struct fake_kernel *f, const char *table)
{
	char *copy = table ? strdup(table) : NULL; /* `table` may be f->table */

	free(f->table);
	f->table = copy;
	f->gen++;
}

void fake_kernel_sysctl(const struct fake_kernel *f, int family, char value[16])
{
	FILE *file = fopen(f->paths[family], "re");

	value[0] = '\0';
	if (file && fgets(value, 16, file))
		value[strcspn(value, "\n")] = '\0';
	if (file)
		fclose(file);
}

bool fake_kernel_has_line(const struct fake_kernel *f, const char *line)
{
	size_t n = strlen(line);

	for (const char *at = f->table; at && (at = strstr(at, line)); at += n)
		if ((at == f->table || at[-1] == '\n') && (at[n] == '\n' || !at[n]))
			return true;
	return false;
}
