/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared bits of the libFuzzer targets (tests/fuzz/fuzz_*.c). Each target
 * defines LLVMFuzzerTestOneInput(); a broken invariant prints what broke
 * and aborts, which libFuzzer reports as a crash with the input saved.
 */
#ifndef EGR_FUZZ_H
#define EGR_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input as a NUL-terminated string (malloc'd); NUL bytes inside stay,
 * so C-string parsers see a prefix, as they would from argv.
 */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#define FUZZ_CHECK(cond, ...)                                                                \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, \
				#cond);                                                      \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* An error message is one non-empty line. */
static inline int fuzz_one_line(const char *err)
{
	return err[0] && !strchr(err, '\n');
}

#endif /* EGR_FUZZ_H */
