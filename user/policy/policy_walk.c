// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The walker of policy documents (see policy_walk.h): a small state
 * machine over node events. It descends only the four levels the format
 * has (top mapping, rules sequence, rule mapping, ports sequence), which
 * also keeps alias cycles (`&a [*a]`) harmless.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "policy/policy_file.h"
#include "policy/policy_walk.h"
#include "util/err.h"

int pwalk_err(struct pwalk *c, size_t line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(c->err, c->errlen, "%s:%zu: %s", c->name, line, msg);
	return -EINVAL;
}

int pwalk_oom(struct pwalk *c)
{
	seterr(c->err, c->errlen, "%s: out of memory", c->name);
	return -ENOMEM;
}

/* Make room for one more element in a growable array. */
int policy_grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static const char *node_kind(const struct pev *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return "a scalar";
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "nothing";
	}
}

/*
 * The text of a scalar, or NULL (error set) when e is not a scalar or the
 * text holds a NUL byte: C string code would silently stop at it.
 */
static const char *scalar(struct pwalk *c, const struct pev *e, const char *what)
{
	if (e->type != YAML_SCALAR_EVENT) {
		pwalk_err(c, e->line, "%s must be a single value, not %s", what, node_kind(e));
		return NULL;
	}
	if (memchr(e->val, '\0', e->len)) {
		pwalk_err(c, e->line, "%s contains a NUL byte", what);
		return NULL;
	}
	return e->val;
}

/* The text of scalar e, checked to hold no NUL, is the word w. */
#define IS(e, w) ((e)->len == sizeof(w) - 1 && !memcmp((e)->val, w, sizeof(w) - 1))

/* YAML's null: `key:` with nothing after it, `~` or `null`, unquoted. */
static bool is_null(const struct pev *e)
{
	if (e->type != YAML_SCALAR_EVENT || !e->plain)
		return false;
	return !*e->val || !strcmp(e->val, "~") || !strcmp(e->val, "null");
}

/* Add a rule; the limit counts rules before dropping duplicates. */
static int add_rule(struct pwalk *c, size_t line, const struct egr_urule *r)
{
	if (c->nexp >= POLICY_RULES_MAX)
		return pwalk_err(c, line,
				 "too many rules (more than %u after expanding any and ports)",
				 POLICY_RULES_MAX);
	c->nexp++;
	if (c->pol.n < c->pol.cap)
		c->pol.rules[c->pol.n++] = *r;
	else if (policy_add(&c->pol, r))
		return pwalk_oom(c);
	if (c->pol.n - c->rs.kept == DEDUP_BATCH && rule_set_dedup(&c->rs, &c->pol))
		return pwalk_oom(c);
	return 0;
}

/* A mapping key: a scalar without NUL. */
static const char *key_text(struct pwalk *c, const struct pev *e)
{
	return scalar(c, e, "a key");
}

static int walk_root(struct pwalk *c, const struct pev *e)
{
	c->lvl = L_END;
	/* Nothing, or only "---": a null document, reported at its end. */
	if (is_null(e)) {
		c->root_null = true;
		return 0;
	}
	if (e->type != YAML_MAPPING_START_EVENT)
		return pwalk_err(
			c, e->line,
			"a policy must be a mapping with default:, audit: and rules:, not %s",
			node_kind(e));
	c->lvl = L_TOP;
	return 0;
}

static int top_key(struct pwalk *c, const struct pev *e)
{
	const char *ks = key_text(c, e);
	char q[512];

	if (!ks)
		return -EINVAL;
	if (c->seen_rules && c->si)
		c->si->key_after_rules = true;
	if (IS(e, "default")) {
		if (c->pol.has_dflt)
			return pwalk_err(c, e->line, "duplicate key 'default'");
		c->top_key = K_DEFAULT;
	} else if (IS(e, "audit")) {
		if (c->pol.has_audit)
			return pwalk_err(c, e->line, "duplicate key 'audit'");
		c->top_key = K_AUDIT;
	} else if (IS(e, "dns")) {
		if (c->pol.has_dns)
			return pwalk_err(c, e->line, "duplicate key 'dns'");
		c->top_key = K_DNS;
	} else if (IS(e, "rules")) {
		if (c->seen_rules)
			return pwalk_err(c, e->line, "duplicate key 'rules'");
		c->seen_rules = true;
		c->top_key = K_RULES;
		if (c->si)
			c->si->rules_line = e->line;
	} else {
		return pwalk_err(c, e->line,
				 "unknown key '%s' (expected default, audit, dns or rules)",
				 quote_text(ks, q, sizeof(q)));
	}
	c->top_value = true;
	return 0;
}

static bool word_is(const struct pev *e, const char *w)
{
	return e->len == strlen(w) && !memcmp(e->val, w, e->len);
}

/* A top-level key that takes one of two words: *yes = (the value is yes). */
static int two_way(struct pwalk *c, const struct pev *e, const char *key, const char *yes,
		   const char *no, bool *out)
{
	char what[32], q[512];
	const char *s;

	snprintf(what, sizeof(what), "%s:", key);
	s = scalar(c, e, what);
	if (!s)
		return -EINVAL;
	if (word_is(e, yes) || word_is(e, no)) {
		*out = word_is(e, yes);
		return 0;
	}
	return pwalk_err(c, e->line, "bad %s '%s': use %s or %s", key, quote_text(s, q, sizeof(q)),
			 yes, no);
}

static int walk_top(struct pwalk *c, const struct pev *e)
{
	bool yes;
	int ret;

	if (e->type == YAML_MAPPING_END_EVENT) {
		c->lvl = L_END;
		return 0;
	}
	if (!c->top_value)
		return top_key(c, e);
	c->top_value = false;
	switch (c->top_key) {
	case K_DEFAULT:
		ret = two_way(c, e, "default", "allow", "deny", &yes);
		if (!ret) {
			c->pol.dflt = yes ? EGR_ALLOW : EGR_DENY;
			c->pol.has_dflt = true;
		}
		return ret;
	case K_AUDIT:
		ret = two_way(c, e, "audit", "true", "false", &yes);
		if (!ret) {
			c->pol.audit = yes;
			c->pol.has_audit = true;
		}
		return ret;
	case K_DNS:
		c->pol.has_dns = true;
		if (is_null(e))
			return 0;
		if (e->type != YAML_MAPPING_START_EVENT)
			return pwalk_err(c, e->line,
					 "dns: must be a mapping (dns: {min_ttl: 60, max_per_name: 64}), not %s",
					 node_kind(e));
		c->lvl = L_DNS;
		c->dns_value = false;
		return 0;
	default:
		if (is_null(e))
			return 0;
		if (e->type != YAML_SEQUENCE_START_EVENT)
			return pwalk_err(c, e->line, "rules: must be a sequence of rules, not %s",
					 node_kind(e));
		if (c->si) {
			c->si->rules_block = !e->flow;
			c->si->rules_col = e->col;
		}
		c->lvl = L_RULES;
		return 0;
	}
}

static int walk_rules(struct pwalk *c, const struct pev *e)
{
	if (e->type == YAML_SEQUENCE_END_EVENT) {
		c->lvl = L_TOP;
		return 0;
	}
	if (e->type != YAML_MAPPING_START_EVENT)
		return pwalk_err(c, e->line,
				 "a rule must be a mapping with allow: or deny:, not %s",
				 node_kind(e));
	c->lvl = L_RULE;
	c->rule_value = false;
	c->rule_line = e->line;
	c->has_act = false;
	c->has_ports = false;
	c->nports = 0;
	return 0;
}

static int rule_key(struct pwalk *c, const struct pev *e)
{
	const char *ks = key_text(c, e);
	char q[512];
	uint8_t act;

	if (!ks)
		return -EINVAL;
	if (IS(e, "allow") || IS(e, "deny")) {
		act = ks[0] == 'a' ? EGR_ALLOW : EGR_DENY;
		if (c->has_act && c->act == act)
			return pwalk_err(c, e->line, "duplicate key '%s' in rule", ks);
		if (c->has_act)
			return pwalk_err(c, e->line, "rule has both allow: and deny:");
		c->has_act = true;
		c->act = act;
		c->rule_key = K_ACTION;
	} else if (IS(e, "ports")) {
		if (c->has_ports)
			return pwalk_err(c, e->line, "duplicate key 'ports' in rule");
		c->has_ports = true;
		c->rule_key = K_PORTS;
	} else {
		return pwalk_err(c, e->line, "unknown key '%s' in rule",
				 quote_text(ks, q, sizeof(q)));
	}
	c->rule_value = true;
	return 0;
}

/* One port spec of a rule, checked now so the error names its line. */
static int add_port(struct pwalk *c, const struct pev *e)
{
	const char *s = scalar(c, e, "a port spec");
	char msg[512];

	if (!s)
		return -EINVAL;
	if (policy_grow((void **)&c->ports, &c->ports_cap, c->nports, sizeof(*c->ports)))
		return pwalk_oom(c);
	if (parse_portspec(s, &c->ports[c->nports], msg, sizeof(msg)))
		return pwalk_err(c, e->line, "%s", msg);
	c->nports++;
	return 0;
}

/* A whole number in [lo, hi] for key (a scalar without sign or leading
 * zero).
 */
static int dns_number(struct pwalk *c, const struct pev *e, const char *key, uint32_t lo,
		      uint32_t hi, uint32_t *out)
{
	char what[32], q[512];
	const char *s;
	uint64_t v = 0;
	size_t i;

	snprintf(what, sizeof(what), "%s:", key);
	s = scalar(c, e, what);
	if (!s)
		return -EINVAL;
	for (i = 0; i < e->len && v <= hi; i++) {
		if (s[i] < '0' || s[i] > '9' || (i == 0 && s[i] == '0' && e->len > 1))
			break;
		v = v * 10 + (s[i] - '0');
	}
	if (!e->len || i < e->len || v < lo || v > hi)
		return pwalk_err(c, e->line, "bad %s '%s': a whole number from %u to %u", key,
				 quote_text(s, q, sizeof(q)), lo, hi);
	*out = v;
	return 0;
}

/* dns: {min_ttl: N, max_per_name: N} */
static int walk_dns(struct pwalk *c, const struct pev *e)
{
	const char *ks;
	char q[512];

	if (e->type == YAML_MAPPING_END_EVENT) {
		c->lvl = L_TOP;
		return 0;
	}
	if (c->dns_value) {
		c->dns_value = false;
		if (c->dns_key == K_MIN_TTL)
			return dns_number(c, e, "min_ttl", 1, EGR_MAX_MIN_TTL, &c->pol.min_ttl);
		return dns_number(c, e, "max_per_name", 1, EGR_MAX_MAX_PER_NAME,
				  &c->pol.max_per_name);
	}
	ks = key_text(c, e);
	if (!ks)
		return -EINVAL;
	if (IS(e, "min_ttl")) {
		if (c->seen_min_ttl)
			return pwalk_err(c, e->line, "duplicate key 'min_ttl' in dns");
		c->seen_min_ttl = true;
		c->dns_key = K_MIN_TTL;
	} else if (IS(e, "max_per_name")) {
		if (c->seen_max_per_name)
			return pwalk_err(c, e->line, "duplicate key 'max_per_name' in dns");
		c->seen_max_per_name = true;
		c->dns_key = K_MAX_PER_NAME;
	} else {
		return pwalk_err(c, e->line,
				 "unknown key '%s' in dns (expected min_ttl or max_per_name)",
				 quote_text(ks, q, sizeof(q)));
	}
	c->dns_value = true;
	return 0;
}

/* One rule per (destination, port spec); no ports: any protocol. */
static int end_rule(struct pwalk *c)
{
	struct egr_urule r;
	size_t j;
	int i, ret;

	c->lvl = L_RULES;
	if (!c->has_act)
		return pwalk_err(c, c->rule_line, "rule has neither allow: nor deny:");
	if (c->act == EGR_DENY && c->ndest == 1 && dest_is_name(&c->dests[0])) {
		char msg[512];

		name_deny_error(dest_name(&c->dests[0]), msg, sizeof(msg));
		return pwalk_err(c, c->rule_line, "%s", msg);
	}
	memset(&r, 0, sizeof(r));
	r.action = c->act;
	for (i = 0; i < c->ndest; i++) {
		r.dest = c->dests[i];
		for (j = 0; j < (c->has_ports ? c->nports : 1); j++) {
			if (c->has_ports)
				r.ps = c->ports[j];
			ret = add_rule(c, c->rule_line, &r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int walk_rule(struct pwalk *c, const struct pev *e)
{
	const char *s;
	char msg[512];

	if (e->type == YAML_MAPPING_END_EVENT)
		return end_rule(c);
	if (!c->rule_value)
		return rule_key(c, e);
	c->rule_value = false;
	if (c->rule_key == K_ACTION) {
		s = scalar(c, e, c->act == EGR_ALLOW ? "allow:" : "deny:");
		if (!s)
			return -EINVAL;
		c->ndest = parse_dests(s, c->dests, msg, sizeof(msg));
		if (c->ndest < 0)
			return pwalk_err(c, e->line, "%s", msg);
		return 0;
	}
	if (is_null(e))
		return pwalk_err(c, e->line,
				 "empty ports list: leave out ports: to match every port");
	if (e->type == YAML_MAPPING_START_EVENT)
		return pwalk_err(c, e->line,
				 "ports: must be a port spec or a sequence of them, not a mapping");
	if (e->type == YAML_SEQUENCE_START_EVENT) {
		c->lvl = L_PORTS;
		c->ports_line = e->line;
		return 0;
	}
	return add_port(c, e);
}

static int walk_ports(struct pwalk *c, const struct pev *e)
{
	if (e->type != YAML_SEQUENCE_END_EVENT)
		return add_port(c, e);
	if (!c->nports)
		return pwalk_err(c, c->ports_line,
				 "empty ports list: leave out ports: to match every port");
	c->lvl = L_RULE;
	return 0;
}

/* Feed the walker one node event: 0, or -EINVAL (message set) or -ENOMEM. */
int pwalk_event(struct pwalk *c, const struct pev *e)
{
	switch (c->lvl) {
	case L_ROOT:
		return walk_root(c, e);
	case L_TOP:
		return walk_top(c, e);
	case L_RULES:
		return walk_rules(c, e);
	case L_RULE:
		return walk_rule(c, e);
	case L_PORTS:
		return walk_ports(c, e);
	case L_DNS:
		return walk_dns(c, e);
	default:
		return 0;
	}
}

bool pwalk_at_large_node(const struct pwalk *c)
{
	return c->lvl == L_ROOT || (c->lvl == L_TOP && c->top_value && c->top_key == K_RULES);
}

int pwalk_end(struct pwalk *c, int ret)
{
	if (!ret && rule_set_dedup(&c->rs, &c->pol))
		ret = pwalk_oom(c);
	rule_set_free(&c->rs);
	free(c->ports);
	c->ports = NULL;
	return ret;
}
