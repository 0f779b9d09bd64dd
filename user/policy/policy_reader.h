/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading a policy document with libyaml's event API
 * (user/policy/policy_reader.c): events go to the walker
 * (policy_walk.h), anchored nodes are recorded and aliases replayed
 * (policy_anchor.h). The result is the one a walk of the whole document
 * would give: a YAML error anywhere in the first document wins over what
 * is wrong with its content, so the walker's first error is held until the
 * document has been read; a second document is an error.
 */
#ifndef EGR_POLICY_READER_H
#define EGR_POLICY_READER_H

#include <stddef.h>
#include <yaml.h>
#include "policy/policy_anchor.h"
#include "policy/policy_input.h"
#include "policy/policy_split.h"
#include "policy/policy_walk.h"

/* Zero-initialise; set w.name, w.err, w.errlen, and buf/len or fin. */
struct preader {
	struct pwalk w; /* its pol is the result */
	struct anchors an;
	const char *buf; /* the input, for the line of a reader error */
	size_t len;
	struct fin *fin; /* or the file it comes from */
};

/* Parse what yp reads into r->w.pol, which is all that is left to free;
 * yp is deleted. 0, or -EINVAL / -ENOMEM with the message in r->w.err
 * (-EAGAIN for a piece: see policy_parse_seg()).
 */
int preader_parse(struct preader *r, yaml_parser_t *yp);

/* One piece of a policy split for parsing in parallel (policy_split.c):
 * the text hdr then body, YAML-wise; 0, or -EAGAIN for anything wrong with
 * it (si says what it saw).
 */
int policy_parse_seg(const char *hdr, size_t hlen, const char *body, size_t blen,
		     struct egr_policy *p, struct policy_seg *si);

#endif /* EGR_POLICY_READER_H */
