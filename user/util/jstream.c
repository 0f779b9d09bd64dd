// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reply buffers and JSON value streams (see jstream.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util/jstream.h"

int jbuf_add(struct jbuf *b, const char *data, size_t n, size_t max)
{
	if (b->len + n + 1 > max)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void jbuf_free(struct jbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/*
 * Each value is read with JSON_DISABLE_EOF_CHECK, which reports how many
 * bytes it used, so values need not be one per line.
 */
int jbuf_parse_stream(struct jbuf *b, int (*cb)(json_t *v, void *ctx), void *ctx)
{
	size_t off = 0;
	int ret = 0;

	while (off < b->len) {
		json_error_t je;
		json_t *v;

		off += strspn(b->p + off, " \t\r\n");
		if (off >= b->len)
			break;
		v = json_loadb(b->p + off, b->len - off, JSON_DISABLE_EOF_CHECK, &je);
		if (!v) {
			char *nl = memchr(b->p + off, '\n', b->len - off);

			if (json_error_code(&je) == json_error_premature_end_of_input || !nl)
				break; /* the rest is still on its way */
			off = (size_t)(nl - b->p) + 1;
			continue;
		}
		off += (size_t)je.position;
		ret = cb(v, ctx);
		json_decref(v);
		if (ret)
			break;
	}
	if (b->p) {
		memmove(b->p, b->p + off, b->len - off);
		b->len -= off;
		b->p[b->len] = '\0';
	}
	return ret;
}
