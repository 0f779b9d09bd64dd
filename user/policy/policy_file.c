// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy files: YAML (and so JSON, which libyaml reads as flow style) into
 * struct egr_policy. libyaml's event API streams the input through a small
 * state machine, the walker: no document tree is built, so a policy of a
 * million rules costs little more than its rules, and duplicates are
 * dropped as they come. A file from POLICY_SPLIT_MIN on is read whole and
 * parsed in pieces on all CPUs when it can be (user/policy_split.c), with
 * the result of the whole parse; a smaller one is streamed.
 *
 * The result is the one a walk of the whole document would give (that is
 * how this worked before): a YAML error anywhere in the first document wins
 * over what is wrong with its content, so the walker's first error is held
 * until the document has been read, and each error names the line of the
 * node it is about. An alias stands for its anchored node, line included:
 * anchored nodes are recorded as they go by, and an alias replays the
 * recording into the walker. The walker descends only the four levels the
 * format has (top mapping, rules sequence, rule mapping, ports sequence),
 * which also keeps alias cycles (`&a [*a]`) harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/policy_file.h"
#include "policy/policy_split.h"
#include "util/err.h"
#include "util/thread.h"

/* A policy file is typed or generated config; anything bigger is a mistake. */
#define POLICY_FILE_MAX (256u << 20)

/*
 * Rules after expanding "any" and port lists. No kernel can hold more, and
 * aliases can make a small file expand to (rules x ports) many.
 */
#define POLICY_RULES_MAX EGR_MAX_MAX_RULES

#define NONE SIZE_MAX

/* Where the walker is: the format has four levels and no more. */
enum level {
	L_ROOT, /* before the document's node */
	L_TOP, /* in the top mapping */
	L_RULES, /* in the rules: sequence */
	L_RULE, /* in a rule's mapping */
	L_PORTS, /* in a rule's ports: sequence */
	L_END, /* after the document's node */
};

enum key {
	K_DEFAULT,
	K_AUDIT,
	K_RULES,
	K_ACTION, /* allow: or deny: */
	K_PORTS,
};

/*
 * A node event as the walker sees it, live from libyaml or replayed: a
 * scalar, or the start or end of a sequence or mapping.
 */
struct ev {
	yaml_event_type_t type;
	bool plain; /* a scalar without quotes */
	size_t line; /* 1-based line where the node starts */
	size_t col; /* 0-based column, of live events (for policy_parse_seg) */
	bool flow; /* a sequence or mapping in flow style ([..], {..}) */
	const char *val; /* scalar text, NUL-terminated (and maybe holding NULs) */
	size_t len;
};

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

/* Bounds nested recordings and replays: the walker has four levels. */
#define OPEN_MAX 8

struct pctx {
	const char *name;
	char *err;
	size_t errlen;
	const char *buf; /* the input, for the line of a reader error */
	size_t len;
	struct fin *fin; /* or the file it comes from */
	struct egr_policy pol;

	/* Parsing a piece (policy_parse_seg), and what it needs to know. */
	struct policy_seg *si;

	/* Rules before dropping duplicates; pol.rules[kept..] wait for dedup(). */
	size_t nexp, kept;
	uint32_t *set; /* SET_TAG(hash) | (index + 1) into pol.rules; 0: free slot */
	size_t set_size;

	/* The walker; ret holds its first error, after which it stops. */
	enum level lvl;
	int ret;
	bool root_null;
	bool top_value; /* the next top node is a value, of top_key */
	enum key top_key;
	bool seen_rules;
	bool rule_value; /* likewise in a rule */
	enum key rule_key;
	size_t rule_line;
	bool has_act;
	uint8_t act;
	int ndest;
	struct egr_dest dests[2];
	bool has_ports;
	size_t ports_line;
	struct egr_portspec *ports;
	size_t nports, ports_cap;

	/* Anchors of the current document, and recordings of their nodes. */
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

/* "name:LINE: message". */
static int __attribute__((format(printf, 3, 4)))
perr(struct pctx *c, size_t line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(c->err, c->errlen, "%s:%zu: %s", c->name, line, msg);
	return -EINVAL;
}

static int oom(struct pctx *c)
{
	seterr(c->err, c->errlen, "%s: out of memory", c->name);
	return -ENOMEM;
}

/* Make room for one more element in a growable array. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
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

static const char *node_kind(const struct ev *e)
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
static const char *scalar(struct pctx *c, const struct ev *e, const char *what)
{
	if (e->type != YAML_SCALAR_EVENT) {
		perr(c, e->line, "%s must be a single value, not %s", what, node_kind(e));
		return NULL;
	}
	if (memchr(e->val, '\0', e->len)) {
		perr(c, e->line, "%s contains a NUL byte", what);
		return NULL;
	}
	return e->val;
}

/* The text of scalar e, checked to hold no NUL, is the word w. */
#define IS(e, w) ((e)->len == sizeof(w) - 1 && !memcmp((e)->val, w, sizeof(w) - 1))

/* YAML's null: `key:` with nothing after it, `~` or `null`, unquoted. */
static bool is_null(const struct ev *e)
{
	if (e->type != YAML_SCALAR_EVENT || !e->plain)
		return false;
	return !*e->val || !strcmp(e->val, "~") || !strcmp(e->val, "null");
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * Duplicates are found with a hash set of the rules kept. An entry holds a
 * rule's index + 1 in its low bits and a few bits of its hash above: most
 * probes then need not look at the rule itself, a cache miss away in a large
 * policy. New rules are looked up a batch at a time, for the same reason.
 */
#define DEDUP_BATCH 32
#define SET_IDX_BITS 23
#define SET_IDX(v) ((v) & ((1u << SET_IDX_BITS) - 1))
#define SET_TAG(h) ((uint32_t)((h) >> (64 - (32 - SET_IDX_BITS))) << SET_IDX_BITS)
_Static_assert(POLICY_RULES_MAX < 1u << SET_IDX_BITS, "rule index must fit a set entry");

/* Hashes exactly what urule_equal() compares. */
static uint64_t rule_hash(const struct egr_urule *r)
{
	uint64_t a, b = 0, m;
	uint32_t a4;

	if (r->dest.family == 4) {
		memcpy(&a4, r->dest.addr, 4);
		a = a4;
	} else {
		memcpy(&a, r->dest.addr, 8);
		memcpy(&b, r->dest.addr + 8, 8);
	}
	m = r->action | (uint64_t)r->dest.family << 8 | (uint64_t)r->dest.plen << 16 |
	    (uint64_t)(r->ps.proto & 0xff) << 24 | (uint64_t)r->ps.has_ports << 32;
	if (r->ps.has_ports)
		m ^= (uint64_t)r->ps.lo << 40 | (uint64_t)r->ps.hi << 48;
	/* one mix: the multiplications spread a, b over all 64 bits first */
	return mix64(a * 0x9e3779b97f4a7c15ULL ^ b * 0xc2b2ae3d27d4eb4fULL ^ m);
}

/* Room in the set for need rules, at most half full. */
static int set_grow(struct pctx *c, size_t need)
{
	size_t size = c->set_size ? c->set_size : 1024, mask, i, h;
	const struct egr_urule *rules = c->pol.rules;
	uint64_t hash;
	uint32_t *set;

	while (size < 2 * need)
		size *= 2;
	if (size == c->set_size)
		return 0;
	set = calloc(size, sizeof(*set));
	if (!set)
		return -ENOMEM;
	mask = size - 1;
	for (i = 0; i < c->kept; i++) {
		if (i + 8 < c->kept)
			__builtin_prefetch(&set[rule_hash(&rules[i + 8]) & mask], 1);
		hash = rule_hash(&rules[i]);
		for (h = hash & mask; set[h]; h = (h + 1) & mask)
			;
		set[h] = SET_TAG(hash) | (i + 1);
	}
	free(c->set);
	c->set = set;
	c->set_size = size;
	return 0;
}

/*
 * Drop the waiting rules (after kept) equal to one kept, so that the first
 * of each set of equal rules stays, in file order.
 */
static int dedup(struct pctx *c)
{
	struct egr_urule *rules = c->pol.rules;
	size_t k, h, mask, o = c->kept, n = c->pol.n - c->kept;
	uint64_t hash[DEDUP_BATCH];
	uint32_t v;

	if (set_grow(c, c->pol.n))
		return -ENOMEM;
	mask = c->set_size - 1;
	for (k = 0; k < n; k++) {
		hash[k] = rule_hash(&rules[c->kept + k]);
		__builtin_prefetch(&c->set[hash[k] & mask]);
	}
	/* and the rule that is likely the same, if any */
	for (k = 0; k < n; k++) {
		v = c->set[hash[k] & mask];
		if (v && (v & ~SET_IDX(~0u)) == SET_TAG(hash[k]))
			__builtin_prefetch(&rules[SET_IDX(v) - 1]);
	}
	for (k = 0; k < n; k++) {
		for (h = hash[k] & mask; (v = c->set[h]); h = (h + 1) & mask)
			if ((v & ~SET_IDX(~0u)) == SET_TAG(hash[k]) &&
			    urule_equal(&rules[SET_IDX(v) - 1], &rules[c->kept + k]))
				break;
		if (v)
			continue;
		rules[o] = rules[c->kept + k];
		c->set[h] = SET_TAG(hash[k]) | ++o;
	}
	c->pol.n = c->kept = o;
	return 0;
}

/* Add a rule; the limit counts rules before dropping duplicates. */
static int add_rule(struct pctx *c, size_t line, const struct egr_urule *r)
{
	if (c->nexp >= POLICY_RULES_MAX)
		return perr(c, line, "too many rules (more than %u after expanding any and ports)",
			    POLICY_RULES_MAX);
	c->nexp++;
	if (c->pol.n < c->pol.cap)
		c->pol.rules[c->pol.n++] = *r;
	else if (policy_add(&c->pol, r))
		return oom(c);
	if (c->pol.n - c->kept == DEDUP_BATCH && dedup(c))
		return oom(c);
	return 0;
}

/* A mapping key: a scalar without NUL. */
static const char *key_text(struct pctx *c, const struct ev *e)
{
	return scalar(c, e, "a key");
}

static int walk_root(struct pctx *c, const struct ev *e)
{
	c->lvl = L_END;
	/* Nothing, or only "---": a null document, reported at its end. */
	if (is_null(e)) {
		c->root_null = true;
		return 0;
	}
	if (e->type != YAML_MAPPING_START_EVENT)
		return perr(c, e->line,
			    "a policy must be a mapping with default:, audit: and rules:, not %s",
			    node_kind(e));
	c->lvl = L_TOP;
	return 0;
}

static int top_key(struct pctx *c, const struct ev *e)
{
	const char *ks = key_text(c, e);
	char q[512];

	if (!ks)
		return -EINVAL;
	if (c->seen_rules && c->si)
		c->si->key_after_rules = true;
	if (IS(e, "default")) {
		if (c->pol.has_dflt)
			return perr(c, e->line, "duplicate key 'default'");
		c->top_key = K_DEFAULT;
	} else if (IS(e, "audit")) {
		if (c->pol.has_audit)
			return perr(c, e->line, "duplicate key 'audit'");
		c->top_key = K_AUDIT;
	} else if (IS(e, "rules")) {
		if (c->seen_rules)
			return perr(c, e->line, "duplicate key 'rules'");
		c->seen_rules = true;
		c->top_key = K_RULES;
		if (c->si)
			c->si->rules_line = e->line;
	} else {
		return perr(c, e->line, "unknown key '%s' (expected default, audit or rules)",
			    quote_text(ks, q, sizeof(q)));
	}
	c->top_value = true;
	return 0;
}

static bool word_is(const struct ev *e, const char *w)
{
	return e->len == strlen(w) && !memcmp(e->val, w, e->len);
}

/* A top-level key that takes one of two words: *yes = (the value is yes). */
static int two_way(struct pctx *c, const struct ev *e, const char *key, const char *yes,
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
	return perr(c, e->line, "bad %s '%s': use %s or %s", key, quote_text(s, q, sizeof(q)), yes,
		    no);
}

static int walk_top(struct pctx *c, const struct ev *e)
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
	default:
		if (is_null(e))
			return 0;
		if (e->type != YAML_SEQUENCE_START_EVENT)
			return perr(c, e->line, "rules: must be a sequence of rules, not %s",
				    node_kind(e));
		if (c->si) {
			c->si->rules_block = !e->flow;
			c->si->rules_col = e->col;
		}
		c->lvl = L_RULES;
		return 0;
	}
}

static int walk_rules(struct pctx *c, const struct ev *e)
{
	if (e->type == YAML_SEQUENCE_END_EVENT) {
		c->lvl = L_TOP;
		return 0;
	}
	if (e->type != YAML_MAPPING_START_EVENT)
		return perr(c, e->line, "a rule must be a mapping with allow: or deny:, not %s",
			    node_kind(e));
	c->lvl = L_RULE;
	c->rule_value = false;
	c->rule_line = e->line;
	c->has_act = false;
	c->has_ports = false;
	c->nports = 0;
	return 0;
}

static int rule_key(struct pctx *c, const struct ev *e)
{
	const char *ks = key_text(c, e);
	char q[512];
	uint8_t act;

	if (!ks)
		return -EINVAL;
	if (IS(e, "allow") || IS(e, "deny")) {
		act = ks[0] == 'a' ? EGR_ALLOW : EGR_DENY;
		if (c->has_act && c->act == act)
			return perr(c, e->line, "duplicate key '%s' in rule", ks);
		if (c->has_act)
			return perr(c, e->line, "rule has both allow: and deny:");
		c->has_act = true;
		c->act = act;
		c->rule_key = K_ACTION;
	} else if (IS(e, "ports")) {
		if (c->has_ports)
			return perr(c, e->line, "duplicate key 'ports' in rule");
		c->has_ports = true;
		c->rule_key = K_PORTS;
	} else {
		return perr(c, e->line, "unknown key '%s' in rule", quote_text(ks, q, sizeof(q)));
	}
	c->rule_value = true;
	return 0;
}

/* One port spec of a rule, checked now so the error names its line. */
static int add_port(struct pctx *c, const struct ev *e)
{
	const char *s = scalar(c, e, "a port spec");
	char msg[512];

	if (!s)
		return -EINVAL;
	if (grow((void **)&c->ports, &c->ports_cap, c->nports, sizeof(*c->ports)))
		return oom(c);
	if (parse_portspec(s, &c->ports[c->nports], msg, sizeof(msg)))
		return perr(c, e->line, "%s", msg);
	c->nports++;
	return 0;
}

/* One rule per (destination, port spec); no ports: any protocol. */
static int end_rule(struct pctx *c)
{
	struct egr_urule r;
	size_t j;
	int i, ret;

	c->lvl = L_RULES;
	if (!c->has_act)
		return perr(c, c->rule_line, "rule has neither allow: nor deny:");
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

static int walk_rule(struct pctx *c, const struct ev *e)
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
			return perr(c, e->line, "%s", msg);
		return 0;
	}
	if (is_null(e))
		return perr(c, e->line, "empty ports list: leave out ports: to match every port");
	if (e->type == YAML_MAPPING_START_EVENT)
		return perr(c, e->line,
			    "ports: must be a port spec or a sequence of them, not a mapping");
	if (e->type == YAML_SEQUENCE_START_EVENT) {
		c->lvl = L_PORTS;
		c->ports_line = e->line;
		return 0;
	}
	return add_port(c, e);
}

static int walk_ports(struct pctx *c, const struct ev *e)
{
	if (e->type != YAML_SEQUENCE_END_EVENT)
		return add_port(c, e);
	if (!c->nports)
		return perr(c, c->ports_line,
			    "empty ports list: leave out ports: to match every port");
	c->lvl = L_RULE;
	return 0;
}

/* Feed the walker one node event: 0, or -EINVAL (message set) or -ENOMEM. */
static int walk(struct pctx *c, const struct ev *e)
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
	default:
		return 0;
	}
}

/*
 * Replay an anchored node for an alias (at line). A recording is whole
 * unless its node is still open (the alias is inside it) or only its start
 * was kept (see feed()). The walker then fails within the part there is:
 * a node used inside itself sits a level deeper than it can be. Were that
 * ever not so, the alias is refused rather than half read.
 */
static int replay(struct pctx *c, size_t a, size_t line, int nest)
{
	const struct anchor *an = &c->anchors[a];
	const struct rec *r;
	struct ev e;
	size_t i;
	int ret;

	for (i = 0; i < an->n; i++) {
		r = &c->log[an->first + i];
		if (r->type == YAML_ALIAS_EVENT) {
			/* each one is a walker level deeper: at most four */
			if (nest > OPEN_MAX)
				goto unfinished;
			ret = replay(c, r->off, r->line, nest + 1);
		} else {
			e.type = r->type;
			e.plain = r->plain;
			e.line = r->line;
			e.col = 0;
			e.flow = false;
			e.val = r->type == YAML_SCALAR_EVENT ? c->text + r->off : NULL;
			e.len = r->len;
			ret = walk(c, &e);
		}
		if (ret)
			return ret;
	}
	if (!an->open && !an->cut)
		return 0;
unfinished:
	return perr(c, line, "an alias to a node it is part of");
}

/* Append text (NUL-terminated in the arena) and return its offset. */
static int text_add(struct pctx *c, const void *s, size_t len, size_t *off)
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

/* The anchor called name, or NONE; *slot gets where it is or would go. */
static size_t anchor_find(const struct pctx *c, const char *name, size_t *slot)
{
	size_t h, a;

	if (!c->names_size)
		return NONE;
	for (h = name_hash(name) & (c->names_size - 1); c->names[h];
	     h = (h + 1) & (c->names_size - 1)) {
		a = c->names[h] - 1;
		if (!strcmp(c->text + c->anchors[a].name, name))
			return a;
	}
	if (slot)
		*slot = h;
	return NONE;
}

static int names_grow(struct pctx *c)
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

/* A new anchor; libyaml's loader refuses one already in the document. */
static int anchor_add(struct pctx *c, const char *name, size_t line, size_t *a)
{
	struct anchor *an;
	size_t slot = 0;

	if (2 * (c->nanchors + 1) > c->names_size &&
	    (c->nanchors >= UINT32_MAX - 1 || names_grow(c)))
		return oom(c);
	if (anchor_find(c, name, &slot) != NONE) {
		seterr(c->err, c->errlen, "%s:%zu: YAML error: second occurrence", c->name, line);
		return -EINVAL;
	}
	if (grow((void **)&c->anchors, &c->anchors_cap, c->nanchors, sizeof(*c->anchors)))
		return oom(c);
	an = &c->anchors[c->nanchors];
	memset(an, 0, sizeof(*an));
	if (text_add(c, name, strlen(name), &an->name))
		return oom(c);
	c->names[slot] = ++c->nanchors;
	*a = c->nanchors - 1;
	return 0;
}

static int log_add(struct pctx *c, const yaml_event_t *y, size_t target, size_t *at)
{
	struct rec *r;

	if (grow((void **)&c->log, &c->log_cap, c->nlog, sizeof(*c->log)))
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
 * recording if it begins one (a, not NONE). target: an alias's anchor.
 */
static int record(struct pctx *c, const yaml_event_t *y, size_t a, size_t target, size_t cap)
{
	bool start = y->type == YAML_SEQUENCE_START_EVENT || y->type == YAML_MAPPING_START_EVENT;
	bool end = y->type == YAML_SEQUENCE_END_EVENT || y->type == YAML_MAPPING_END_EVENT;
	struct anchor *an;
	size_t i, at = NONE;

	for (i = 0; i < c->nopen; i++) {
		an = &c->anchors[c->open[i]];
		if (an->n == an->cap) {
			an->cut = true;
			continue;
		}
		if (at == NONE && log_add(c, y, target, &at))
			return oom(c);
		an->n++;
	}
	if (end && c->nopen && c->anchors[c->open[c->nopen - 1]].depth == c->depth)
		c->anchors[c->open[--c->nopen]].open = false;
	if (a != NONE) {
		an = &c->anchors[a];
		if (at == NONE && log_add(c, y, target, &at))
			return oom(c);
		an->first = at;
		an->n = 1;
		an->cap = cap;
		an->depth = c->depth;
		if (start) {
			/* one per level; the walker fails on a fifth */
			if (c->nopen == OPEN_MAX)
				return oom(c);
			an->open = true;
			c->open[c->nopen++] = a;
		}
	}
	return 0;
}

/*
 * One live node event: anchors are checked as yaml_parser_load() does, then
 * the walker (if walking and not failed yet) takes it or, for an alias, the
 * recording of the anchored node. Returns 0, or a fatal error (YAML, or
 * -ENOMEM); the walker's own error waits in c->ret.
 */
static int feed(struct pctx *c, const yaml_event_t *y, bool walking)
{
	const char *anchor = NULL;
	size_t line = y->start_mark.line + 1, a = NONE, target = NONE, cap;
	struct ev e;
	int ret;

	switch (y->type) {
	case YAML_ALIAS_EVENT:
		target = anchor_find(c, (const char *)y->data.alias.anchor, NULL);
		if (target == NONE) {
			seterr(c->err, c->errlen, "%s:%zu: YAML error: found undefined alias",
			       c->name, line);
			return -EINVAL;
		}
		break;
	case YAML_SCALAR_EVENT:
		anchor = (const char *)y->data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = (const char *)y->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = (const char *)y->data.mapping_start.anchor;
		break;
	default:
		break;
	}
	/* A piece cannot see the anchors of the others. */
	if (c->si && (anchor || y->type == YAML_ALIAS_EVENT))
		return -EAGAIN;
	if (anchor) {
		ret = anchor_add(c, anchor, line, &a);
		if (ret)
			return ret;
	}
	if (!walking || c->ret)
		return 0;

	/*
	 * The top mapping and the rules sequence are the large nodes, and an
	 * alias can only stand for them where the walker fails on their start
	 * or on their first item: record that much of them.
	 */
	cap = c->lvl == L_ROOT || (c->lvl == L_TOP && c->top_value && c->top_key == K_RULES) ?
		      2 :
		      SIZE_MAX;
	if (y->type == YAML_ALIAS_EVENT) {
		ret = replay(c, target, line, 0);
	} else {
		e.type = y->type;
		e.line = line;
		e.col = y->start_mark.column;
		e.flow = (y->type == YAML_SEQUENCE_START_EVENT &&
			  y->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE) ||
			 (y->type == YAML_MAPPING_START_EVENT &&
			  y->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE);
		e.plain = false;
		e.val = NULL;
		e.len = 0;
		if (y->type == YAML_SCALAR_EVENT) {
			e.plain = y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			e.val = (const char *)y->data.scalar.value;
			e.len = y->data.scalar.length;
		}
		ret = walk(c, &e);
	}
	if (ret == -EINVAL) {
		c->ret = ret;
		return 0;
	}
	if (ret)
		return ret;
	if (y->type == YAML_SEQUENCE_END_EVENT || y->type == YAML_MAPPING_END_EVENT)
		c->depth--;
	if (a != NONE || c->nopen)
		ret = record(c, y, a, target, cap);
	if (y->type == YAML_SEQUENCE_START_EVENT || y->type == YAML_MAPPING_START_EVENT)
		c->depth++;
	return ret;
}

/*
 * A policy file, read as libyaml asks for it: in the pieces a string input
 * would give, so that libyaml sees the same. The tail of what was read gives
 * the line of a reader error: libyaml holds at most 16 KiB undecoded.
 */
#define TAIL_SIZE (64 * 1024)

struct fin {
	int fd;
	int err; /* -errno of a failed read, or -EFBIG; reading stopped */
	size_t total; /* bytes read */
	size_t lines; /* newlines in them */
	char tail[TAIL_SIZE]; /* the last bytes read, byte i at i % TAIL_SIZE */
};

static int fin_read(void *data, unsigned char *buf, size_t size, size_t *size_read)
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

/* Read the rest: a read error or too big a file wins over the parse. */
static void fin_drain(struct fin *f)
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

/* libyaml's reader errors carry a byte offset, not a line. */
static size_t offset_line(const struct pctx *c, size_t off)
{
	const struct fin *f = c->fin;
	size_t i, line = 1;

	if (!f) {
		for (i = 0; i < off && i < c->len; i++)
			line += c->buf[i] == '\n';
		return line;
	}
	/* back from the end */
	line += f->lines;
	i = f->total > TAIL_SIZE ? f->total - TAIL_SIZE : 0;
	for (i = off > i ? off : i; i < f->total; i++)
		line -= f->tail[i % TAIL_SIZE] == '\n';
	return line;
}

static int yaml_err(struct pctx *c, yaml_parser_t *yp)
{
	size_t line;

	if (yp->error == YAML_MEMORY_ERROR)
		return oom(c);
	if (yp->error == YAML_READER_ERROR)
		line = offset_line(c, yp->problem_offset);
	else
		line = yp->problem_mark.line + 1;
	seterr(c->err, c->errlen, "%s:%zu: YAML error: %s", c->name, line,
	       yp->problem ? yp->problem : "unknown problem");
	return -EINVAL;
}

/* The type of the next event, which carries nothing else we need. */
static int next_type(struct pctx *c, yaml_parser_t *yp, yaml_event_type_t *type)
{
	yaml_event_t y;

	if (!yaml_parser_parse(yp, &y))
		return yaml_err(c, yp);
	*type = y.type;
	yaml_event_delete(&y);
	return 0;
}

/*
 * The rest of a document, after its DOCUMENT-START: the first is walked,
 * any other only read through. *line gets the line of its node.
 */
static int read_doc(struct pctx *c, yaml_parser_t *yp, bool walking, size_t *line)
{
	yaml_event_t y;
	int ret;

	/* anchors are per document */
	c->nanchors = c->nlog = c->ntext = c->nopen = c->depth = 0;
	if (c->names)
		memset(c->names, 0, c->names_size * sizeof(*c->names));
	*line = 0;
	for (;;) {
		if (!yaml_parser_parse(yp, &y))
			return yaml_err(c, yp);
		if (y.type == YAML_DOCUMENT_END_EVENT) {
			if (c->si && !y.data.document_end.implicit)
				c->si->explicit_end = true;
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

static int parse_stream(struct pctx *c, yaml_parser_t *yp)
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
	if (type != YAML_DOCUMENT_START_EVENT || c->root_null) {
		seterr(c->err, c->errlen,
		       "%s: empty policy: expected a mapping with default:, audit: and rules:",
		       c->name);
		return -EINVAL;
	}
	/* the walker's error, its message already in err */
	if (c->ret)
		return c->ret;

	/* A second document would be silently ignored: refuse it, and
	 * report syntax errors anywhere in it.
	 */
	ret = next_type(c, yp, &type);
	if (ret || type != YAML_DOCUMENT_START_EVENT)
		return ret;
	ret = read_doc(c, yp, false, &line);
	if (ret)
		return ret;
	seterr(c->err, c->errlen, "%s:%zu: more than one YAML document", c->name, line);
	return -EINVAL;
}

/* Parse what yp reads into c->pol, which is all that is left to free. */
static int parse(struct pctx *c, yaml_parser_t *yp)
{
	int ret = parse_stream(c, yp);

	if (!ret && dedup(c))
		ret = oom(c);
	yaml_parser_delete(yp);
	free(c->set);
	free(c->ports);
	free(c->anchors);
	free(c->names);
	free(c->log);
	free(c->text);
	return ret;
}

static int done(struct pctx *c, int ret, struct egr_policy *p)
{
	if (ret)
		policy_free(&c->pol);
	else
		*p = c->pol;
	return ret;
}

int policy_parse_buf(const char *buf, size_t len, const char *name, struct egr_policy *p, char *err,
		     size_t errlen)
{
	struct pctx c = {
		.name = name ? name : "<policy>",
		.err = err,
		.errlen = errlen,
		.buf = buf,
		.len = buf ? len : 0,
	};
	yaml_parser_t yp;

	memset(p, 0, sizeof(*p));
	if (!yaml_parser_initialize(&yp))
		return oom(&c);
	/* libyaml asserts on a NULL input even when it is empty. */
	yaml_parser_set_input_string(&yp, (const unsigned char *)(buf ? buf : ""), c.len);
	return done(&c, parse(&c, &yp), p);
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
int policy_parse_file(const char *path, struct egr_policy *p, char *err, size_t errlen)
{
	struct pctx c = { .name = path, .err = err, .errlen = errlen };
	off_t size = -1; /* of a regular file */
	yaml_parser_t yp;
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
	/* a regular file too big is refused without reading it */
	if (size > (off_t)POLICY_FILE_MAX) {
		c.fin->err = -EFBIG;
		ret = -EFBIG;
	} else if (!yaml_parser_initialize(&yp)) {
		ret = oom(&c);
	} else {
		/* Size the duplicate set for the rules the file likely holds
		 * (some 30 bytes each) rather than grow it step by step. Only
		 * a hint: dedup() grows it as needed and reports -ENOMEM.
		 */
		if (size > 0)
			set_grow(&c, size / 32 < POLICY_RULES_MAX ? size / 32 : POLICY_RULES_MAX);
		yaml_parser_set_input(&yp, fin_read, c.fin);
		ret = parse(&c, &yp);
		fin_drain(c.fin);
	}
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
	struct pctx c = { .name = "", .si = si };
	yaml_parser_t yp;
	int ret;

	memset(p, 0, sizeof(*p));
	memset(si, 0, sizeof(*si));
	if (!yaml_parser_initialize(&yp))
		return -EAGAIN;
	yaml_parser_set_input(&yp, seg_read, &in);
	ret = parse(&c, &yp);
	si->nexp = c.nexp;
	/* Any error: the whole file is parsed again, for its message. */
	return done(&c, ret ? -EAGAIN : 0, p);
}

int policy_dedup(struct egr_policy *p)
{
	struct pctx c = { .name = "", .pol = *p };
	size_t total = p->n, next = 0, m;
	int ret = 0;

	/* in dedup()'s batches, as add_rule() feeds it */
	c.pol.n = 0;
	while (next < total && !ret) {
		m = total - next < DEDUP_BATCH ? total - next : DEDUP_BATCH;
		memmove(c.pol.rules + c.kept, c.pol.rules + next, m * sizeof(*c.pol.rules));
		c.pol.n = c.kept + m;
		next += m;
		ret = dedup(&c);
	}
	free(c.set);
	*p = c.pol;
	return ret;
}
