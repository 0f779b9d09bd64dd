/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A growing text buffer for HTTP replies, and the JSON values in a stream
 * of them (Docker's event stream, a Kubernetes watch): values are normally
 * one per line but need not be; each complete one is handed on as it
 * arrives, an incomplete one at the end waits for the next chunk, a broken
 * one is skipped up to its line end.
 */
#ifndef EGR_JSTREAM_H
#define EGR_JSTREAM_H

#include <stddef.h>
#include <jansson.h>

struct jbuf {
	char *p; /* NUL-terminated (NULL while empty) */
	size_t len, cap;
};

/* Append n bytes, keeping the text under max bytes: 0, -E2BIG, -ENOMEM. */
int jbuf_add(struct jbuf *b, const char *data, size_t n, size_t max);
void jbuf_free(struct jbuf *b);

/*
 * Hand every complete JSON value in b to cb(value, ctx) (the value is
 * freed afterwards); what was handed on leaves b. Returns the first
 * non-zero return of cb (parsing stops after that value), else 0.
 */
int jbuf_parse_stream(struct jbuf *b, int (*cb)(json_t *v, void *ctx), void *ctx);

#endif /* EGR_JSTREAM_H */
