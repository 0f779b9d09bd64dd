// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Anchors recorded and aliases replayed (see policy_anchor.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "policy/policy_anchor.h"
#include "policy/policy_walk.h"

/* Append text (NUL-terminated in the arena) and return its offset. */
static int text_add(struct anchors *c, const void *s, size_t len, size_t *off)
{
	size_t cap = c->text_cap ? c->text_cap : 256;
	char *t;

	if (len >= SIZE_MAX / 4 - c->ntext)
		return -ENOMEM;
	while (c->ntext + len + 1 > cap)
		cap *= 2;
	if (cap != c->text_cap) {
		t = realloc(c->text, cap);
		if (!t)
			return -ENOMEM;
		c->text = t;
		c->text_cap = cap;
	}
	memcpy(c->text + c->ntext, s, len);
	c->text[c->ntext + len] = '\0';
	*off = c->ntext;
	c->ntext += len + 1;
	return 0;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The anchor called name, or ANCHOR_NONE; *slot gets where it is or would go. */
static size_t find(const struct anchors *c, const char *name, size_t *slot)
{
	size_t h, a;

	if (!c->names_size)
		return ANCHOR_NONE;
	for (h = name_hash(name) & (c->names_size - 1); c->names[h];
	     h = (h + 1) & (c->names_size - 1)) {
		a = c->names[h] - 1;
		if (!strcmp(c->text + c->anchors[a].name, name))
			return a;
	}
	if (slot)
		*slot = h;
	return ANCHOR_NONE;
}

static int names_grow(struct anchors *c)
{
	size_t size = c->names_size ? c->names_size * 2 : 64, i, h;
	uint32_t *names = calloc(size, sizeof(*names));

	if (!names)
		return -ENOMEM;
	for (i = 0; i < c->nanchors; i++) {
		h = name_hash(c->text + c->anchors[i].name) & (size - 1);
		while (names[h])
			h = (h + 1) & (size - 1);
		names[h] = i + 1;
	}
	free(c->names);
	c->names = names;
	c->names_size = size;
	return 0;
}

size_t anchors_find(const struct anchors *c, const char *name)
{
	return find(c, name, NULL);
}

int anchors_add(struct anchors *c, const char *name, size_t *a)
{
	struct anchor *an;
	size_t slot = 0;

	if (2 * (c->nanchors + 1) > c->names_size &&
	    (c->nanchors >= UINT32_MAX - 1 || names_grow(c)))
		return -ENOMEM;
	if (find(c, name, &slot) != ANCHOR_NONE)
		return -EEXIST;
	if (policy_grow((void **)&c->anchors, &c->anchors_cap, c->nanchors, sizeof(*c->anchors)))
		return -ENOMEM;
	an = &c->anchors[c->nanchors];
	memset(an, 0, sizeof(*an));
	if (text_add(c, name, strlen(name), &an->name))
		return -ENOMEM;
	c->names[slot] = ++c->nanchors;
	*a = c->nanchors - 1;
	return 0;
}

static int log_add(struct anchors *c, const yaml_event_t *y, size_t target, size_t *at)
{
	struct rec *r;

	if (policy_grow((void **)&c->log, &c->log_cap, c->nlog, sizeof(*c->log)))
		return -ENOMEM;
	r = &c->log[c->nlog];
	memset(r, 0, sizeof(*r));
	r->type = y->type;
	r->line = y->start_mark.line + 1;
	r->off = target;
	if (y->type == YAML_SCALAR_EVENT) {
		r->plain = y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		r->len = y->data.scalar.length;
		if (text_add(c, y->data.scalar.value, r->len, &r->off))
			return -ENOMEM;
	}
	*at = c->nlog++;
	return 0;
}

/*
 * Record a live event for the anchored nodes open around it, and start a
 * recording if it begins one (a, not ANCHOR_NONE). target: an alias's anchor.
 */
static int record(struct anchors *c, const yaml_event_t *y, size_t a, size_t target, size_t cap)
{
	bool start = y->type == YAML_SEQUENCE_START_EVENT || y->type == YAML_MAPPING_START_EVENT;
	bool end = y->type == YAML_SEQUENCE_END_EVENT || y->type == YAML_MAPPING_END_EVENT;
	struct anchor *an;
	size_t i, at = ANCHOR_NONE;

	for (i = 0; i < c->nopen; i++) {
		an = &c->anchors[c->open[i]];
		if (an->n == an->cap) {
			an->cut = true;
			continue;
		}
		if (at == ANCHOR_NONE && log_add(c, y, target, &at))
			return -ENOMEM;
		an->n++;
	}
	if (end && c->nopen && c->anchors[c->open[c->nopen - 1]].depth == c->depth)
		c->anchors[c->open[--c->nopen]].open = false;
	if (a != ANCHOR_NONE) {
		an = &c->anchors[a];
		if (at == ANCHOR_NONE && log_add(c, y, target, &at))
			return -ENOMEM;
		an->first = at;
		an->n = 1;
		an->cap = cap;
		an->depth = c->depth;
		if (start) {
			/* one per level; the walker fails on a fifth */
			if (c->nopen == OPEN_MAX)
				return -ENOMEM;
			an->open = true;
			c->open[c->nopen++] = a;
		}
	}
	return 0;
}

int anchors_track(struct anchors *c, const yaml_event_t *y, size_t a, size_t target, size_t cap)
{
	int ret = 0;

	if (y->type == YAML_SEQUENCE_END_EVENT || y->type == YAML_MAPPING_END_EVENT)
		c->depth--;
	if (a != ANCHOR_NONE || c->nopen)
		ret = record(c, y, a, target, cap);
	if (y->type == YAML_SEQUENCE_START_EVENT || y->type == YAML_MAPPING_START_EVENT)
		c->depth++;
	return ret;
}

/* anchors_replay(); nest: how many aliases deep */
static int replay(const struct anchors *c, size_t a, size_t line, int nest, struct pwalk *w)
{
	const struct anchor *an = &c->anchors[a];
	const struct rec *r;
	struct pev e;
	size_t i;
	int ret;

	for (i = 0; i < an->n; i++) {
		r = &c->log[an->first + i];
		if (r->type == YAML_ALIAS_EVENT) {
			/* each one is a walker level deeper: at most four */
			if (nest > OPEN_MAX)
				goto unfinished;
			ret = replay(c, r->off, r->line, nest + 1, w);
		} else {
			e.type = r->type;
			e.plain = r->plain;
			e.line = r->line;
			e.col = 0;
			e.flow = false;
			e.val = r->type == YAML_SCALAR_EVENT ? c->text + r->off : NULL;
			e.len = r->len;
			ret = pwalk_event(w, &e);
		}
		if (ret)
			return ret;
	}
	if (!an->open && !an->cut)
		return 0;
unfinished:
	return pwalk_err(w, line, "an alias to a node it is part of");
}

int anchors_replay(const struct anchors *c, size_t a, size_t line, struct pwalk *w)
{
	return replay(c, a, line, 0, w);
}

void anchors_reset(struct anchors *c)
{
	c->nanchors = c->nlog = c->ntext = c->nopen = c->depth = 0;
	if (c->names)
		memset(c->names, 0, c->names_size * sizeof(*c->names));
}

void anchors_free(struct anchors *c)
{
	free(c->anchors);
	free(c->names);
	free(c->log);
	free(c->text);
	memset(c, 0, sizeof(*c));
}
