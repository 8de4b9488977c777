/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer: the normal
 * build uses it to replay the seed corpus and every crash found so far (regressions/).
 * Arguments are files or directories (their regular files, not recursive; *.md skipped).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long size = -1;

	/* An exact-size heap buffer, so an over-read trips the sanitizers as under libFuzzer. */
	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || !(data = malloc(size ? (size_t)size : 1)) ||
	    fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		free(data);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	int failed = 0, files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent *d;
		DIR *dir;
		char **names = NULL;
		size_t n = 0;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += run_file(argv[i]);
			files++;
			continue;
		}
		if (!(dir = opendir(argv[i])))
			return 1;
		while ((d = readdir(dir))) {
			char *path;

			size_t len = strlen(d->d_name);

			/* hidden files and the directory's README.md are not inputs */
			if (d->d_name[0] == '.' ||
			    (len > 3 && strcmp(d->d_name + len - 3, ".md") == 0))
				continue;
			if (asprintf(&path, "%s/%s", argv[i], d->d_name) < 0 ||
			    !(names = realloc(names, (n + 1) * sizeof(*names))))
				return 1;
			names[n++] = path;
		}
		closedir(dir);
		if (n > 0) /* qsort's base must not be NULL, even for no items */
			qsort(names, n, sizeof(*names), compare);
		for (size_t j = 0; j < n; j++) {
			if (stat(names[j], &st) == 0 && S_ISREG(st.st_mode)) {
				failed += run_file(names[j]);
				files++;
			}
			free(names[j]);
		}
		free(names);
	}
	printf("replayed %d file%s, %d unreadable\n", files, files == 1 ? "" : "s", failed);
	return failed ? 1 : 0;
}
