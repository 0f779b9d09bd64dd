/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Big policy files parsed in pieces, in parallel (user/policy/policy_split.c). */
#ifndef EGR_POLICY_SPLIT_H
#define EGR_POLICY_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include "policy/rule.h"

/* Files from this size on are worth a second thread (~40 us to start). */
#define POLICY_SPLIT_MIN (16u << 10)
#define POLICY_SPLIT_MAX 8

/* What the parse of one piece saw, for checking the pieces fit together. */
struct policy_seg {
	size_t rules_line; /* line of the rules: key, 0 if none */
	size_t rules_col; /* column of its sequence */
	bool rules_block; /* the sequence is in block style */
	bool key_after_rules; /* a top-level key came after rules: */
	bool explicit_end; /* the document ended with "..." */
	size_t nexp; /* rules before dropping duplicates */
};

/*
 * Parse buf in up to nseg pieces, each in a thread of its own, and give
 * the result a parse of the whole would give. Returns 0, or -EAGAIN when
 * the file has to be parsed whole (it is not a plain block list of rules,
 * it has an error, which the whole parse reports, or memory ran out).
 */
int policy_parse_split(const char *buf, size_t len, unsigned int nseg, struct egr_policy *p);

#endif /* EGR_POLICY_SPLIT_H */
