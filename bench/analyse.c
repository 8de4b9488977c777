/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Times the analysis of other firewalls' chains alone: foreign_analyse on a saved
 * `nft -j -a list ruleset`, for the forwards of a config, RUNS times; prints the minimum
 * and median milliseconds, the blocks found and where the accepts go.
 *   analyse-bench RULESET.json CONFIG [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "config/entries.h"
#include "firewalls/foreign.h"
#include "config/validate.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t size = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		char *grown = realloc(buf, size += 1 << 20);

		if (!grown) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = grown;
		n = fread(buf + len, 1, size - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct model m = { 0 };
	struct entry_list entries;
	struct error err;
	char *json, *conf;
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	double ms[100];

	if (argc < 3 || runs < 1 || runs > 100) {
		fprintf(stderr, "usage: %s RULESET.json CONFIG [RUNS (1-100)]\n", argv[0]);
		return 2;
	}
	json = slurp(argv[1]);
	conf = slurp(argv[2]);
	if (!json || !conf || !config_parse(&m, conf, strlen(conf), argv[2], &err) ||
	    !check_model(&m, &err) || !entries_from_model(&m, &entries)) {
		fprintf(stderr, "analyse-bench: cannot read %s or %s\n", argv[1], argv[2]);
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		struct foreign_report r;
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (!foreign_analyse(json, &entries, model_mark(&m), &r, &err)) {
			fprintf(stderr, "analyse-bench: %s\n", err.msg);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		if (i == runs - 1)
			for (size_t j = 0; j < r.count; j++)
				printf("block: %s %s %s -> %s\n", r.blocks[j].family, r.blocks[j].table,
				       r.blocks[j].base_chain, r.blocks[j].placement);
		for (size_t j = 0; i == runs - 1 && j < r.skipped_count; j++)
			printf("not analysed: %s %s: %s\n", r.skipped[j].family, r.skipped[j].table,
			       r.skipped[j].why);
		foreign_report_free(&r);
	}
	qsort(ms, (size_t)runs, sizeof(*ms), cmp);
	printf("analysis: min %.2f ms, median %.2f ms over %d runs\n", ms[0], ms[runs / 2], runs);
	entries_free(&entries);
	model_free(&m);
	free(json);
	free(conf);
	return 0;
}
