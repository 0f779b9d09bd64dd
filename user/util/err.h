/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How library code tells the user what went wrong: it returns 0 or -errno
 * and writes one line (no newline) into the caller's buffer with seterr();
 * what must reach the user although the call went on (a filter attached
 * but packet sockets not blocked, say) is added to a struct egr_warn. Only
 * the CLI layer prints either (user/cli/cmd_util.c: pr_warnings()).
 */
#ifndef EGR_ERR_H
#define EGR_ERR_H

#include <stddef.h>

/* One line into err (errlen bytes); nothing when err is NULL or errlen 0. */
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Warning lines, in order; zero-initialise, free with warn_free(). */
struct egr_warn {
	char *text; /* lines, each ending in '\n'; NULL while empty */
	size_t len;
};

/* Add one line (no trailing newline in fmt); w NULL: the line is dropped,
 * as it is when memory runs out.
 */
void warn_add(struct egr_warn *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warn_free(struct egr_warn *w);

/* Call fn with each line (NUL-terminated, no newline), in order. */
void warn_each(const struct egr_warn *w, void (*fn)(const char *line, void *ctx), void *ctx);

/* Copy text for an error message: control bytes become \xNN (one line),
 * text longer than QUOTE_MAX is cut with "...". Returns out; a buffer of
 * 4 * QUOTE_MAX + 8 always holds it.
 */
#define QUOTE_MAX 64
const char *quote_text(const char *s, char *out, size_t len);

#endif /* EGR_ERR_H */
