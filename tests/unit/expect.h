/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The unit tests' one assertion: EXPECT(condition, printf-style message) counts a failure. */
#ifndef NFT_PORTFWD_TEST_EXPECT_H
#define NFT_PORTFWD_TEST_EXPECT_H

#include <stdio.h>

static int failures;

#define EXPECT(cond, ...)                                   \
	do {                                                \
		if (!(cond)) {                              \
			printf("FAIL %s:%d: ", __func__, __LINE__); \
			printf(__VA_ARGS__);                \
			printf("\n");                       \
			failures++;                         \
		}                                           \
	} while (0)

/* main's last words: the count, and the exit status. */
static int expect_summary(const char *suite)
{
	printf("%s: %s: %d failure%s\n", suite, failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}

#endif
