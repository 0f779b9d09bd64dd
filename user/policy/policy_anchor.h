/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Anchors and aliases of a policy document (user/policy/policy_anchor.c).
 * An alias stands for its anchored node, line included: anchored nodes are
 * recorded as their events go by, and an alias replays the recording into
 * the walker (policy_walk.h).
 */
#ifndef EGR_POLICY_ANCHOR_H
#define EGR_POLICY_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>
#include "policy/policy_walk.h"

#define ANCHOR_NONE SIZE_MAX

/* Bounds nested recordings and replays: the walker has four levels. */
#define OPEN_MAX 8

/* A recorded event: scalar text at text + off, or an alias's anchor in off. */
struct rec {
	yaml_event_type_t type;
	bool plain;
	size_t line, off, len;
};

/* An anchor of the current document and the recording of its node. */
struct anchor {
	size_t name; /* offset in text */
	size_t first, n; /* the recording: log[first .. first + n) */
	size_t cap; /* record no more events than this */
	size_t depth; /* nesting depth of the node's start */
	bool open; /* the node has not ended yet */
	bool cut; /* events went by after cap */
};

/* The anchors of the current document, and recordings of their nodes. */
struct anchors {
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	uint32_t *names; /* index + 1 into anchors, by name; 0: free */
	size_t names_size;
	struct rec *log;
	size_t nlog, log_cap;
	char *text;
	size_t ntext, text_cap;
	size_t open[OPEN_MAX]; /* anchors whose node is being recorded */
	size_t nopen;
	size_t depth; /* sequences and mappings open in the live stream */
};

/* A new document: anchors are per document. */
void anchors_reset(struct anchors *c);
void anchors_free(struct anchors *c);

/* The anchor called name, or ANCHOR_NONE. */
size_t anchors_find(const struct anchors *c, const char *name);

/* A new anchor into *a: 0, -EEXIST (libyaml's loader refuses one already
 * in the document) or -ENOMEM.
 */
int anchors_add(struct anchors *c, const char *name, size_t *a);

/*
 * After the walker took the live event y: record it for the anchored nodes
 * open around it, and start a recording of at most cap events if it
 * begins one (a, not ANCHOR_NONE). target: an alias's anchor. 0 or
 * -ENOMEM.
 */
int anchors_track(struct anchors *c, const yaml_event_t *y, size_t a, size_t target, size_t cap);

/*
 * Replay anchor a's node into w for an alias (at line). A recording is
 * whole unless its node is still open (the alias is inside it) or only its
 * start was kept. The walker then fails within the part there is: a node
 * used inside itself sits a level deeper than it can be. Were that ever
 * not so, the alias is refused rather than half read.
 */
int anchors_replay(const struct anchors *c, size_t a, size_t line, struct pwalk *w);

#endif /* EGR_POLICY_ANCHOR_H */
