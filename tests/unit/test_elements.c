/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A rendering split into structure and elements, and the element commands between two
 * renderings: what apply commits when only forwards change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "table/elements.h"
#include "table/render.h"
#include "config/validate.h"
#include "expect.h"

/* One config's rendering, its structure and its elements. */
struct side {
	struct model m;
	char *text, *structure;
	struct element_list elements;
};

static void render_config(const char *config, struct side *s)
{
	struct error err = { "" };

	*s = (struct side){ 0 };
	if (!config_parse(&s->m, config, strlen(config), "test.conf", &err) ||
	    !check_model(&s->m, &err)) {
		printf("FAIL: config rejected: %s\n", err.msg);
		failures++;
		return;
	}
	s->text = render_ruleset_text(&s->m);
	if (!s->text || !elements_split(s->text, &s->structure, &s->elements)) {
		printf("FAIL: out of memory\n");
		failures++;
	}
}

static void side_free(struct side *s)
{
	elements_free(&s->elements);
	free(s->structure);
	free(s->text);
	model_free(&s->m);
}

/* The commands from a to b, as one string; *change filled. */
static char *diff(const struct side *a, const struct side *b, struct element_change *change)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	if (!mem || !elements_diff(&a->elements, &b->elements, mem, change)) {
		printf("FAIL: elements_diff failed\n");
		failures++;
	}
	if (mem)
		fclose(mem);
	return text;
}

#define BASE "host-ip = 203.0.113.1\nforward tcp 8080 to 192.0.2.79:80\n"

static void test_split(void)
{
	struct side s;

	render_config(BASE "forward udp 5000 to 192.0.2.80\n"
			   "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24, 203.0.113.7\n", &s);
	/* fwd4: 2, fwdsrc4: 2, guest4: 3, fwdtcp4: 2, fwdudp4: 1 (host4 stays in the structure) */
	EXPECT(s.elements.count == 10, "%zu elements", s.elements.count);
	EXPECT(s.structure && !strstr(s.structure, "tcp . 8080 : 192.0.2.79 . 80"),
	       "a map element left in the structure");
	EXPECT(s.structure && strstr(s.structure, "\t\t\t203.0.113.1,\n"),
	       "the host set's element must stay in the structure");
	EXPECT(s.structure && strstr(s.structure, "\tmap fwd4 {") && strstr(s.structure, "chain forward"),
	       "the structure lost its sets or chains");
	EXPECT(s.elements.count > 0 && s.elements.items[0].len == strlen("tcp . 8080 : 192.0.2.79 . 80") &&
	       !memcmp(s.elements.items[0].text, "tcp . 8080 : 192.0.2.79 . 80", s.elements.items[0].len),
	       "first element '%.*s'", (int)s.elements.items[0].len, s.elements.items[0].text);
	side_free(&s);
}

static void test_same_config(void)
{
	struct side a, b;
	struct element_change c;
	char *text;

	render_config(BASE, &a);
	render_config(BASE, &b);
	text = diff(&a, &b, &c);
	EXPECT(text && !text[0], "commands for the same config: '%s'", text);
	EXPECT(c.added == 0 && c.deleted == 0, "%zu added, %zu deleted", c.added, c.deleted);
	EXPECT(a.structure && b.structure && !strcmp(a.structure, b.structure), "structures differ");
	free(text);
	element_change_free(&c);
	side_free(&a);
	side_free(&b);
}

static void test_changed_guest_port(void)
{
	struct side a, b;
	struct element_change c;
	char *text;
	const char *want =
		"delete element inet portfwd fwd4 {\n\tudp . 5000\n}\n"
		"delete element inet portfwd guest4 {\n\t192.0.2.80 . udp . 5000\n}\n"
		"add element inet portfwd fwd4 {\n\tudp . 5000 : 192.0.2.80 . 5001\n}\n"
		"add element inet portfwd guest4 {\n\t192.0.2.80 . udp . 5001\n}\n";

	render_config(BASE "forward udp 5000 to 192.0.2.80\n", &a);
	render_config(BASE "forward udp 5000 to 192.0.2.80:5001\n", &b);
	text = diff(&a, &b, &c);
	EXPECT(text && !strcmp(text, want), "commands:\n%s\nwanted:\n%s", text, want);
	EXPECT(c.added == 2 && c.deleted == 2, "%zu added, %zu deleted", c.added, c.deleted);
	EXPECT(a.structure && b.structure && !strcmp(a.structure, b.structure),
	       "a changed guest port must not change the structure");
	/* conntrack: the old mapping is stale, the new one fresh */
	EXPECT(c.removed_mappings.count == 1 && c.removed_mappings.items[0].guest_port == 5000 &&
	       c.removed_mappings.items[0].host_port == 5000 &&
	       c.removed_mappings.items[0].proto == PROTO_UDP,
	       "removed mappings: %zu", c.removed_mappings.count);
	EXPECT(c.added_mappings.count == 1 && c.added_mappings.items[0].guest_port == 5001,
	       "added mappings: %zu", c.added_mappings.count);
	free(text);
	element_change_free(&c);
	side_free(&a);
	side_free(&b);
}

static void test_allowlist_and_shared_endpoint(void)
{
	struct side a, b;
	struct element_change c;
	char *text;

	/* 2224 leads to the same endpoint as 2223: removing it deletes no guest4 element */
	render_config(BASE "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24\n"
			   "forward tcp 2224 to 192.0.2.79:22 from 203.0.113.7\n", &a);
	render_config(BASE "forward tcp 2223 to 192.0.2.79:22 from 198.51.100.0/24\n", &b);
	text = diff(&a, &b, &c);
	EXPECT(text && !strcmp(text, "delete element inet portfwd fwdsrc4 {\n\t203.0.113.7 . tcp . 2224\n}\n"
				     "delete element inet portfwd fwdtcp4 {\n\t2224\n}\n"),
	       "commands:\n%s", text);
	EXPECT(c.removed_mappings.count >= 1 && c.removed_mappings.items[0].source &&
	       c.removed_mappings.items[0].source->len == 32,
	       "the removed allowlisted mapping keeps its client network");
	EXPECT(text && !strstr(text, "guest4"), "guest4 192.0.2.79 . tcp . 22 is still used: %s", text);
	free(text);
	element_change_free(&c);
	side_free(&a);
	side_free(&b);
}

/* A name is the comment of the forward's elements; renaming changes them, not the mapping. */
static void test_renamed_forward(void)
{
	struct side a, b;
	struct element_change c;
	char *text;
	const char *want =
		"delete element inet portfwd fwd4 {\n\ttcp . 8443 comment \"web\"\n}\n"
		"delete element inet portfwd fwdsrc4 {\n\t198.51.100.0/24 . tcp . 443\n}\n"
		"delete element inet portfwd guest4 {\n\t192.0.2.79 . tcp . 443 comment \"web\"\n}\n"
		"add element inet portfwd fwd4 {\n\ttcp . 8443 comment \"web-1\" : 192.0.2.79 . 443\n}\n"
		"add element inet portfwd fwdsrc4 {\n\t198.51.100.0/24 . tcp . 443 comment \"tls\" : "
		"192.0.2.79 . 443\n}\n"
		"add element inet portfwd guest4 {\n\t192.0.2.79 . tcp . 443 comment \"tls, web-1\"\n}\n";

	render_config(BASE "forward tcp 8443 to 192.0.2.79:443 name web\n"
			   "forward tcp 443 to 192.0.2.79 from 198.51.100.0/24\n", &a);
	render_config(BASE "forward tcp 8443 to 192.0.2.79:443 name web-1\n"
			   "forward tcp 443 to 192.0.2.79 from 198.51.100.0/24 name tls\n", &b);
	text = diff(&a, &b, &c);
	if (!text)
		return;
	EXPECT(!strcmp(text, want), "commands:\n%s\nwanted:\n%s", text, want);
	EXPECT(a.structure && b.structure && !strcmp(a.structure, b.structure),
	       "a name must not change the structure");
	/* sorted by key: 443 (allowlisted) before 8443 */
	EXPECT(c.removed_mappings.count == 2 && c.added_mappings.count == 2 &&
	       c.removed_mappings.items[1].host_port == 8443 &&
	       c.removed_mappings.items[1].guest_port == 443,
	       "the renamed mapping is parsed back: %zu removed, %zu added",
	       c.removed_mappings.count, c.added_mappings.count);
	free(text);
	element_change_free(&c);
	side_free(&a);
	side_free(&b);
}

/*
 * A guest endpoint of many named forwards: its comment is cut to nft's 128 bytes
 * ("... +1"), and that comment read back from the live table renders as it was.
 */
static void test_long_endpoint_comment(void)
{
	struct side a;
	char *line = NULL, *text = NULL, comment[256];
	size_t len = 0;
	const char *start, *end;
	FILE *mem;

	render_config(BASE "forward tcp 8001 to 192.0.2.79:80 name aaaaaaaaaaaaaaaaaaaaaaaaaaa1\n"
			   "forward tcp 8002 to 192.0.2.79:80 name aaaaaaaaaaaaaaaaaaaaaaaaaaa2\n"
			   "forward tcp 8003 to 192.0.2.79:80 name aaaaaaaaaaaaaaaaaaaaaaaaaaa3\n"
			   "forward tcp 8004 to 192.0.2.79:80 name aaaaaaaaaaaaaaaaaaaaaaaaaaa4\n"
			   "forward tcp 8005 to 192.0.2.79:80 name aaaaaaaaaaaaaaaaaaaaaaaaaaa5\n", &a);
	start = a.text ? strstr(a.text, "\t\t\t192.0.2.79 . tcp . 80 comment \"") : NULL;
	EXPECT(start != NULL, "no guest4 element with a comment");
	if (!start) {
		side_free(&a);
		return;
	}
	start += strlen("\t\t\t192.0.2.79 . tcp . 80 comment \"");
	end = strchr(start, '"');
	snprintf(comment, sizeof(comment), "%.*s", (int)(end - start), start);
	/* four names of 28 bytes and their commas fill 118 bytes: 121 with " +1" */
	EXPECT(strlen(comment) == 121 && strstr(comment, " +1"), "comment '%s' (%zu bytes)", comment,
	       strlen(comment));
	mem = open_memstream(&text, &len);
	if (mem) {
		struct entry e = { .family = AF_INET, .proto = PROTO_TCP, .guest_port = 80,
				   .name = comment };
		struct entry_list guests = { &e, 1 }, none = { 0 };

		parse_addr("192.0.2.79", &e.guest);
		render_elements(&none, &guests, &none, &none, mem);
		fclose(mem);
	}
	asprintf(&line, "192.0.2.79 . tcp . 80 comment \"%s\"", comment);
	EXPECT(text && line && strstr(text, line), "read back and written again:\n%s\nwanted %s", text,
	       line);
	free(line);
	free(text);
	side_free(&a);
}

static void test_structure_changes(void)
{
	struct side a, b, c;

	render_config(BASE, &a);
	render_config("host-ip = 203.0.113.1, 198.51.100.1\nforward tcp 8080 to 192.0.2.79:80\n", &b);
	render_config(BASE "forward tcp 8443 to 192.0.2.79:443 keep-source\n", &c);
	EXPECT(a.structure && b.structure && strcmp(a.structure, b.structure),
	       "a new host-ip must change the structure");
	EXPECT(a.structure && c.structure && strcmp(a.structure, c.structure),
	       "keep-source must change the structure");
	side_free(&a);
	side_free(&b);
	side_free(&c);
}

/* The writer that reads a live table back gives the same lines as the renderer. */
static void test_render_elements_matches(void)
{
	struct side a;
	struct entry_list entries = { 0 }, guests = { 0 }, none = { 0 };
	char *text = NULL, *structure = NULL;
	size_t len = 0;
	FILE *mem;
	struct element_list live = { 0 };
	struct element_change c;

	render_config("host-ip = 203.0.113.1, 2001:db8:1::1\nforward tcp 8080 to 192.0.2.79:80 name web\n"
		      "forward udp 5000-5002 to 192.0.2.80 name dns.1\n"
		      "forward tcp 2223 to [2001:db8:2::79]:22 from 2001:db8:9::/48\n", &a);
	if (!entries_from_model(&a.m, &entries))
		return;
	/* the endpoints and the host ports, one per entry (render_elements keeps each once) */
	guests = entries;
	mem = open_memstream(&text, &len);
	EXPECT(mem && render_elements(&entries, &guests, &none, &entries, mem), "render_elements failed");
	if (mem)
		fclose(mem);
	EXPECT(text && elements_split(text, &structure, &live), "split failed");
	EXPECT(live.count == a.elements.count, "%zu live elements, %zu rendered", live.count,
	       a.elements.count);
	free(diff(&a, &(struct side){ .elements = live }, &c));
	EXPECT(c.added == 0 && c.deleted == 0, "live vs rendered: %zu added, %zu deleted", c.added,
	       c.deleted);
	element_change_free(&c);
	elements_free(&live);
	free(structure);
	free(text);
	entries_free(&entries);
	side_free(&a);
}

/* A forward with `n` client networks on host port `port`, and a small one beside it. */
static char *allowlist_config(size_t n, unsigned port, unsigned small_port)
{
	size_t size = 200 + n * 24, len = 0;
	char *text = malloc(size);

	len += (size_t)snprintf(text + len, size - len, "forward tcp %u to 192.0.2.79:80 from ", port);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, size - len, "%s10.%zu.%zu.%zu/30", i ? ", " : "",
					i >> 14, (i >> 6) & 255, (i & 63) << 2);
	snprintf(text + len, size - len, "\nforward tcp %u to 192.0.2.79:22 from 203.0.113.0/29, "
		 "203.0.113.8/29\n", small_port);
	return text;
}

/* Deleting from a large map of client networks in place is quadratic in the kernel. */
static void test_cheaper_replaced(void)
{
	char *a = allowlist_config(20000, 8080, 9000), *b = allowlist_config(20000, 8081, 9000);
	char *c = allowlist_config(20000, 8080, 9001);
	struct side sa, sb, sc;
	struct element_change change;

	render_config(a, &sa);
	render_config(b, &sb);
	render_config(c, &sc);
	free(diff(&sa, &sb, &change));
	/* the networks and the forward's port: 8080 goes from fwdtcp4 */
	EXPECT(change.deleted == 20001 && change.interval_work == 20000ull * 20002 &&
		       elements_cheaper_replaced(&change, sb.elements.count),
	       "20,000 networks of one forward changed, a replace is cheaper: %zu deleted, work %llu",
	       change.deleted, (unsigned long long)change.interval_work);
	element_change_free(&change);
	free(diff(&sa, &sc, &change));
	EXPECT(change.deleted == 3 && !elements_cheaper_replaced(&change, sc.elements.count),
	       "the small forward changed, in place: %zu deleted, work %llu", change.deleted,
	       (unsigned long long)change.interval_work);
	element_change_free(&change);
	side_free(&sa);
	side_free(&sb);
	side_free(&sc);
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	test_split();
	test_same_config();
	test_changed_guest_port();
	test_renamed_forward();
	test_long_endpoint_comment();
	test_allowlist_and_shared_endpoint();
	test_structure_changes();
	test_render_elements_matches();
	test_cheaper_replaced();
	return expect_summary("elements");
}
