// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/err.h"

void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void warn_add(struct egr_warn *w, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	if (!w)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	p = realloc(w->text, w->len + n + 2);
	if (!p)
		return;
	w->text = p;
	va_start(ap, fmt);
	vsnprintf(p + w->len, n + 1, fmt, ap);
	va_end(ap);
	w->len += n;
	p[w->len++] = '\n';
	p[w->len] = '\0';
}

void warn_free(struct egr_warn *w)
{
	free(w->text);
	w->text = NULL;
	w->len = 0;
}

void warn_each(const struct egr_warn *w, void (*fn)(const char *line, void *ctx), void *ctx)
{
	const char *p = w->text, *nl;
	char *line;

	while (p && (nl = strchr(p, '\n'))) {
		line = strndup(p, nl - p);
		if (line)
			fn(line, ctx);
		free(line);
		p = nl + 1;
	}
}


/*
 * Copy s into out for an error message: control bytes become \xNN so the
 * message stays one line, and long text is cut with "...".
 */
const char *quote_text(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; s[i] && o + 5 < len; i++) {
		unsigned char c = s[i];

		if (i == QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return out;
}
