/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A policy file as libyaml's input (user/policy/policy_input.c): read as
 * libyaml asks for it, in the pieces a string input would give, so that
 * libyaml sees the same. The tail of what was read gives the line of a
 * reader error: libyaml holds at most 16 KiB undecoded.
 */
#ifndef EGR_POLICY_INPUT_H
#define EGR_POLICY_INPUT_H

#include <stddef.h>

#define TAIL_SIZE (64 * 1024)

struct fin {
	int fd;
	int err; /* -errno of a failed read, or -EFBIG; reading stopped */
	size_t total; /* bytes read */
	size_t lines; /* newlines in them */
	char tail[TAIL_SIZE]; /* the last bytes read, byte i at i % TAIL_SIZE */
};

/* libyaml's read handler (yaml_parser_set_input(), data: a struct fin). */
int fin_read(void *data, unsigned char *buf, size_t size, size_t *size_read);

/* Read the rest: a read error or too big a file wins over the parse. */
void fin_drain(struct fin *f);

/* The line of byte offset off (libyaml's reader errors carry an offset). */
size_t fin_line(const struct fin *f, size_t off);

#endif /* EGR_POLICY_INPUT_H */
