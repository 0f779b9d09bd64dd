// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A policy file as libyaml's input (see policy_input.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "policy/policy_file.h"
#include "policy/policy_input.h"

int fin_read(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct fin *f = data;
	unsigned char *nl = buf;
	size_t n = 0, i, o, len;
	ssize_t r;

	while (n < size && !f->err) {
		r = read(f->fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			f->err = -errno;
		if (r <= 0)
			break;
		if (f->total + n + r > POLICY_FILE_MAX)
			f->err = -EFBIG;
		else
			n += r;
	}
	for (i = n > TAIL_SIZE ? n - TAIL_SIZE : 0; i < n; i += len) {
		o = (f->total + i) % TAIL_SIZE;
		len = n - i < TAIL_SIZE - o ? n - i : TAIL_SIZE - o;
		memcpy(f->tail + o, buf + i, len);
	}
	while ((nl = memchr(nl, '\n', buf + n - nl))) {
		f->lines++;
		nl++;
	}
	f->total += n;
	*size_read = n;
	return !f->err;
}

void fin_drain(struct fin *f)
{
	ssize_t r;

	while (!f->err) {
		r = read(f->fd, f->tail, sizeof(f->tail));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			f->err = -errno;
		if (r <= 0)
			break;
		f->total += r;
		if (f->total > POLICY_FILE_MAX)
			f->err = -EFBIG;
	}
}

size_t fin_line(const struct fin *f, size_t off)
{
	size_t i, line = 1 + f->lines;

	/* back from the end */
	i = f->total > TAIL_SIZE ? f->total - TAIL_SIZE : 0;
	for (i = off > i ? off : i; i < f->total; i++)
		line -= f->tail[i % TAIL_SIZE] == '\n';
	return line;
}
