// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A policy document read with libyaml's event API (see policy_reader.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "policy/addr.h"
#include "policy/policy_anchor.h"
#include "policy/policy_input.h"
#include "policy/policy_reader.h"
#include "policy/policy_walk.h"
#include "util/err.h"

/* libyaml's reader errors carry a byte offset, not a line. */
static size_t offset_line(const struct preader *c, size_t off)
{
	size_t i, line = 1;

	if (c->fin)
		return fin_line(c->fin, off);
	for (i = 0; i < off && i < c->len; i++)
		line += c->buf[i] == '\n';
	return line;
}

static int yaml_err(struct preader *c, yaml_parser_t *yp)
{
	size_t line;

	if (yp->error == YAML_MEMORY_ERROR)
		return pwalk_oom(&c->w);
	if (yp->error == YAML_READER_ERROR)
		line = offset_line(c, yp->problem_offset);
	else
		line = yp->problem_mark.line + 1;
	return pwalk_err(&c->w, line, "YAML error: %s",
			 yp->problem ? yp->problem : "unknown problem");
}

/* The type of the next event, which carries nothing else we need. */
static int next_type(struct preader *c, yaml_parser_t *yp, yaml_event_type_t *type)
{
	yaml_event_t y;

	if (!yaml_parser_parse(yp, &y))
		return yaml_err(c, yp);
	*type = y.type;
	yaml_event_delete(&y);
	return 0;
}

/* The anchor a live event defines, or NULL. */
static const char *anchor_of(const yaml_event_t *y)
{
	switch (y->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)y->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)y->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return (const char *)y->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

/* A live event as the walker takes it. */
static void live_event(const yaml_event_t *y, size_t line, struct pev *e)
{
	e->type = y->type;
	e->line = line;
	e->col = y->start_mark.column;
	e->flow = (y->type == YAML_SEQUENCE_START_EVENT &&
		   y->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE) ||
		  (y->type == YAML_MAPPING_START_EVENT &&
		   y->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE);
	e->plain = false;
	e->val = NULL;
	e->len = 0;
	if (y->type == YAML_SCALAR_EVENT) {
		e->plain = y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		e->val = (const char *)y->data.scalar.value;
		e->len = y->data.scalar.length;
	}
}

/*
 * One live node event: anchors are checked as yaml_parser_load() does, then
 * the walker (if walking and not failed yet) takes it or, for an alias, the
 * recording of the anchored node. Returns 0, or a fatal error (YAML, or
 * -ENOMEM); the walker's own error waits in c->w.ret.
 */
static int feed(struct preader *c, const yaml_event_t *y, bool walking)
{
	const char *anchor = anchor_of(y);
	size_t line = y->start_mark.line + 1, a = ANCHOR_NONE, target = ANCHOR_NONE, cap;
	struct pev e;
	int ret;

	if (y->type == YAML_ALIAS_EVENT) {
		target = anchors_find(&c->an, (const char *)y->data.alias.anchor);
		if (target == ANCHOR_NONE)
			return pwalk_err(&c->w, line, "YAML error: found undefined alias");
	}
	/* A piece cannot see the anchors of the others. */
	if (c->w.si && (anchor || y->type == YAML_ALIAS_EVENT))
		return -EAGAIN;
	if (anchor) {
		ret = anchors_add(&c->an, anchor, &a);
		if (ret == -EEXIST)
			return pwalk_err(&c->w, line, "YAML error: second occurrence");
		if (ret)
			return pwalk_oom(&c->w);
	}
	if (!walking || c->w.ret)
		return 0;

	/*
	 * The top mapping and the rules sequence are the large nodes, and an
	 * alias can only stand for them where the walker fails on their start
	 * or on their first item: record that much of them.
	 */
	cap = pwalk_at_large_node(&c->w) ? 2 : SIZE_MAX;
	if (y->type == YAML_ALIAS_EVENT) {
		ret = anchors_replay(&c->an, target, line, &c->w);
	} else {
		live_event(y, line, &e);
		ret = pwalk_event(&c->w, &e);
	}
	if (ret == -EINVAL) {
		c->w.ret = ret;
		return 0;
	}
	if (ret)
		return ret;
	return anchors_track(&c->an, y, a, target, cap) ? pwalk_oom(&c->w) : 0;
}

/*
 * The rest of a document, after its DOCUMENT-START: the first is walked,
 * any other only read through. *line gets the line of its node.
 */
static int read_doc(struct preader *c, yaml_parser_t *yp, bool walking, size_t *line)
{
	yaml_event_t y;
	int ret;

	anchors_reset(&c->an); /* anchors are per document */
	*line = 0;
	for (;;) {
		if (!yaml_parser_parse(yp, &y))
			return yaml_err(c, yp);
		if (y.type == YAML_DOCUMENT_END_EVENT) {
			if (c->w.si && !y.data.document_end.implicit)
				c->w.si->explicit_end = true;
			break;
		}
		if (!*line)
			*line = y.start_mark.line + 1;
		ret = feed(c, &y, walking);
		yaml_event_delete(&y);
		if (ret)
			return ret;
	}
	yaml_event_delete(&y);
	return 0;
}

static int parse_stream(struct preader *c, yaml_parser_t *yp)
{
	yaml_event_type_t type = YAML_NO_EVENT;
	size_t line;
	int ret;

	/* STREAM-START, then DOCUMENT-START or (no document) STREAM-END */
	ret = next_type(c, yp, &type);
	if (!ret)
		ret = next_type(c, yp, &type);
	if (ret)
		return ret;
	if (type == YAML_DOCUMENT_START_EVENT) {
		ret = read_doc(c, yp, true, &line);
		if (ret)
			return ret;
	}
	if (type != YAML_DOCUMENT_START_EVENT || c->w.root_null) {
		seterr(c->w.err, c->w.errlen,
		       "%s: empty policy: expected a mapping with default:, audit: and rules:",
		       c->w.name);
		return -EINVAL;
	}
	/* the walker's error, its message already in err */
	if (c->w.ret)
		return c->w.ret;

	/* A second document would be silently ignored: refuse it, and
	 * report syntax errors anywhere in it.
	 */
	ret = next_type(c, yp, &type);
	if (ret || type != YAML_DOCUMENT_START_EVENT)
		return ret;
	ret = read_doc(c, yp, false, &line);
	if (ret)
		return ret;
	return pwalk_err(&c->w, line, "more than one YAML document");
}

int preader_parse(struct preader *c, yaml_parser_t *yp)
{
	int ret = pwalk_end(&c->w, parse_stream(c, yp));

	yaml_parser_delete(yp);
	anchors_free(&c->an);
	return ret;
}

/* libyaml's input for a piece: the header, then the body. */
struct seg_in {
	const char *hdr, *body;
	size_t hlen, blen, off;
};

static int seg_read(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct seg_in *in = data;
	size_t n = 0, k;

	if (in->off < in->hlen) {
		k = in->hlen - in->off < size ? in->hlen - in->off : size;
		memcpy(buf, in->hdr + in->off, k);
		in->off += k;
		n = k;
	}
	if (n < size && in->off >= in->hlen) {
		size_t bo = in->off - in->hlen;

		k = in->blen - bo < size - n ? in->blen - bo : size - n;
		memcpy(buf + n, in->body + bo, k);
		in->off += k;
		n += k;
	}
	*size_read = n;
	return 1;
}

int policy_parse_seg(const char *hdr, size_t hlen, const char *body, size_t blen,
		     struct egr_policy *p, struct policy_seg *si)
{
	struct seg_in in = { .hdr = hdr, .hlen = hlen, .body = body, .blen = blen };
	struct preader c = { .w = { .name = "", .si = si } };
	yaml_parser_t yp;
	int ret;

	memset(p, 0, sizeof(*p));
	memset(si, 0, sizeof(*si));
	if (!yaml_parser_initialize(&yp))
		return -EAGAIN;
	yaml_parser_set_input(&yp, seg_read, &in);
	ret = preader_parse(&c, &yp);
	si->nexp = c.w.nexp;
	/* Any error: the whole file is parsed again, for its message. */
	if (ret)
		policy_free(&c.w.pol);
	else
		*p = c.w.pol;
	return ret ? -EAGAIN : 0;
}
