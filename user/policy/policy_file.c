// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy files: YAML (and so JSON, which libyaml reads as flow style) into
 * struct egr_policy. libyaml's event API streams the input through a small
 * state machine, the walker (policy_reader.h, policy_walk.h): no document
 * tree is built, so a policy of a million rules costs little more than its
 * rules, and duplicates are dropped as they come (policy_dedup.h). A file
 * from POLICY_SPLIT_MIN on is read whole and parsed in pieces on all CPUs
 * when it can be (policy_split.h), with the result of the whole parse; a
 * smaller one is streamed (policy_input.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "policy/addr.h"
#include "policy/policy_file.h"
#include "policy/policy_input.h"
#include "policy/policy_reader.h"
#include "policy/policy_split.h"
#include "util/err.h"
#include "util/thread.h"

static int done(struct preader *c, int ret, struct egr_policy *p)
{
	if (ret)
		policy_free(&c->w.pol);
	else
		*p = c->w.pol;
	return ret;
}

int policy_parse_buf(const char *buf, size_t len, const char *name, struct egr_policy *p, char *err,
		     size_t errlen)
{
	struct preader c = {
		.w = { .name = name ? name : "<policy>", .err = err, .errlen = errlen },
		.buf = buf,
		.len = buf ? len : 0,
	};
	yaml_parser_t yp;

	memset(p, 0, sizeof(*p));
	if (!yaml_parser_initialize(&yp))
		return pwalk_oom(&c.w);
	/* libyaml asserts on a NULL input even when it is empty. */
	yaml_parser_set_input_string(&yp, (const unsigned char *)(buf ? buf : ""), c.len);
	return done(&c, preader_parse(&c, &yp), p);
}

/*
 * A big regular file read whole and parsed in pieces on the CPUs there are
 * (user/policy_split.c). -EAGAIN: parse it as a stream after all (the file
 * is back at its start).
 */
static int parse_whole_split(int fd, off_t size, struct egr_policy *p)
{
	unsigned int ncpu = helpers() + 1;
	char *buf, extra;
	size_t got = 0;
	ssize_t r;
	int ret = -EAGAIN;

	if (ncpu < 2)
		return -EAGAIN;
	buf = malloc(size);
	if (!buf)
		return -EAGAIN;
	while (got < (size_t)size) {
		r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	/* A file that changed size meanwhile goes the usual way. */
	if (got == (size_t)size && read(fd, &extra, 1) == 0)
		ret = policy_parse_split(buf, got, ncpu, p);
	free(buf);
	if (ret)
		lseek(fd, 0, SEEK_SET); /* a regular file */
	return ret;
}

/*
 * Streamed, so memory follows the rules rather than the file. As if the
 * whole file were read first: a read error, or more than the size limit,
 * wins over whatever the parse found.
 */
/* Parse the open file f (size: of a regular file, or -1) as a stream. */
static int parse_stream(struct preader *c, off_t size)
{
	yaml_parser_t yp;
	int ret;

	/* a regular file too big is refused without reading it */
	if (size > (off_t)POLICY_FILE_MAX) {
		c->fin->err = -EFBIG;
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&yp))
		return pwalk_oom(&c->w);
	/* Size the duplicate set for the rules the file likely holds (some
	 * 30 bytes each) rather than grow it step by step. Only a hint:
	 * the walk grows it as needed and reports -ENOMEM.
	 */
	if (size > 0)
		rule_set_reserve(&c->w.rs, &c->w.pol,
				 size / 32 < POLICY_RULES_MAX ? size / 32 : POLICY_RULES_MAX);
	yaml_parser_set_input(&yp, fin_read, c->fin);
	ret = preader_parse(c, &yp);
	fin_drain(c->fin);
	return ret;
}

/*
 * Streamed, so memory follows the rules rather than the file. As if the
 * whole file were read first: a read error, or more than the size limit,
 * wins over whatever the parse found.
 */
int policy_parse_file(const char *path, struct egr_policy *p, char *err, size_t errlen)
{
	struct preader c = { .w = { .name = path, .err = err, .errlen = errlen } };
	off_t size = -1; /* of a regular file */
	struct stat st;
	char q[512];
	int ret;

	memset(p, 0, sizeof(*p));
	c.fin = calloc(1, sizeof(*c.fin));
	if (!c.fin) {
		seterr(err, errlen, "cannot read policy file '%s': %s",
		       quote_text(path, q, sizeof(q)), strerror(ENOMEM));
		return -ENOMEM;
	}
	c.fin->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.fin->fd < 0) {
		ret = -errno;
		free(c.fin);
		seterr(err, errlen, "cannot open policy file '%s': %s",
		       quote_text(path, q, sizeof(q)), strerror(-ret));
		return ret;
	}
	if (!fstat(c.fin->fd, &st) && S_ISREG(st.st_mode))
		size = st.st_size;
	if (size >= (off_t)POLICY_SPLIT_MIN && size <= (off_t)POLICY_FILE_MAX &&
	    !parse_whole_split(c.fin->fd, size, p)) {
		close(c.fin->fd);
		free(c.fin);
		return 0;
	}
	ret = parse_stream(&c, size);
	close(c.fin->fd);
	if (c.fin->err) {
		ret = c.fin->err;
		if (ret == -EFBIG)
			seterr(err, errlen, "policy file '%s' is larger than %u MiB",
			       quote_text(path, q, sizeof(q)), POLICY_FILE_MAX >> 20);
		else
			seterr(err, errlen, "cannot read policy file '%s': %s",
			       quote_text(path, q, sizeof(q)), strerror(-ret));
	}
	free(c.fin);
	return done(&c, ret, p);
}
