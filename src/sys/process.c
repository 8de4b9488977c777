/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/process.h"

bool process_start(long pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	size_t n;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "re")))
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (COMM) STATE ..." where COMM may hold spaces and parentheses: the fields
	 * start after the last ')'; the start time is field 22, the 20th after it */
	if (!(p = strrchr(buf, ')')))
		return false;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return false;
	}
	*start = strtoull(p + 1, NULL, 10);
	return *start != 0;
}

void process_name(long pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if (pid <= 0 || !(f = fopen(path, "re")))
		return;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

bool process_is(long pid, unsigned long long start)
{
	unsigned long long now;

	return start && process_start(pid, &now) && now == start;
}
