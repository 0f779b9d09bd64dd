/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The walker of policy documents (user/policy/policy_walk.c): it takes the
 * document's node events one at a time, live from libyaml or replayed for
 * an alias (policy_anchor.h), checks them against the format and turns the
 * rules into struct egr_urule, dropping duplicates as they come
 * (policy_dedup.h). No document tree is built. Each error names the line
 * of the node it is about.
 */
#ifndef EGR_POLICY_WALK_H
#define EGR_POLICY_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>
#include "policy/policy_dedup.h"
#include "policy/policy_split.h"
#include "policy/rule.h"

/*
 * A node event as the walker sees it, live from libyaml or replayed: a
 * scalar, or the start or end of a sequence or mapping.
 */
struct pev {
	yaml_event_type_t type;
	bool plain; /* a scalar without quotes */
	size_t line; /* 1-based line where the node starts */
	size_t col; /* 0-based column, of live events (for policy_parse_seg) */
	bool flow; /* a sequence or mapping in flow style ([..], {..}) */
	const char *val; /* scalar text, NUL-terminated (and maybe holding NULs) */
	size_t len;
};

/* Where the walker is: the format has four levels and no more. */
enum level {
	L_ROOT, /* before the document's node */
	L_TOP, /* in the top mapping */
	L_RULES, /* in the rules: sequence */
	L_RULE, /* in a rule's mapping */
	L_PORTS, /* in a rule's ports: sequence */
	L_DNS, /* in the dns: mapping */
	L_END, /* after the document's node */
};

enum key {
	K_DEFAULT,
	K_AUDIT,
	K_RULES,
	K_ACTION, /* allow: or deny: */
	K_PORTS,
	K_DNS,
	K_MIN_TTL, /* in dns: */
	K_MAX_PER_NAME,
};

/* Zero-initialise, then set name, err, errlen (and si for a piece). */
struct pwalk {
	const char *name; /* of the document, in messages */
	char *err;
	size_t errlen;
	struct policy_seg *si; /* parsing a piece (policy_parse_seg): what it saw */

	struct egr_policy pol;
	size_t nexp; /* rules before dropping duplicates */
	struct rule_set rs; /* pol.rules[rs.kept..] wait for rule_set_dedup() */

	enum level lvl;
	int ret; /* the first error, after which the walker stops */
	bool root_null;
	bool top_value; /* the next top node is a value, of top_key */
	enum key top_key;
	bool seen_rules;
	bool rule_value; /* likewise in a rule */
	enum key rule_key;
	bool dns_value; /* likewise in dns: */
	enum key dns_key;
	bool seen_min_ttl, seen_max_per_name;
	size_t rule_line;
	bool has_act;
	uint8_t act;
	int ndest;
	struct egr_dest dests[2];
	bool has_ports;
	size_t ports_line;
	struct egr_portspec *ports;
	size_t nports, ports_cap;
};

/* Feed the walker one node event: 0, or -EINVAL (message set) or -ENOMEM. */
int pwalk_event(struct pwalk *w, const struct pev *e);

/* Is the next node one of the large ones (the top mapping, the rules
 * sequence)? An alias can only stand for them where the walker fails on
 * their start or first item.
 */
bool pwalk_at_large_node(const struct pwalk *w);

/* The walk is over, with ret: the last duplicates dropped (unless ret),
 * what only the walk needed freed. Returns ret, or -ENOMEM.
 */
int pwalk_end(struct pwalk *w, int ret);

/* "name:LINE: message" into err; returns -EINVAL. */
int pwalk_err(struct pwalk *w, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "name: out of memory"; returns -ENOMEM. */
int pwalk_oom(struct pwalk *w);

/* Make room for one more element (n used of *cap) in a growable array. */
int policy_grow(void **arr, size_t *cap, size_t n, size_t size);

#endif /* EGR_POLICY_WALK_H */
