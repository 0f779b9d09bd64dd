// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy files: YAML (and so JSON, which libyaml reads as flow style) into
 * struct egr_policy. libyaml's document API gives every node its line, so
 * each error points at the text that caused it. The walk only descends the
 * four levels the format has (top mapping, rules sequence, rule mapping,
 * ports sequence), which also keeps alias cycles (`&a [*a]`) harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "egressctl.h"
#include "addr.h"
#include "policy_file.h"

/* A policy file is typed or generated config; anything bigger is a mistake. */
#define POLICY_FILE_MAX (256u << 20)

/*
 * Rules after expanding "any" and port lists. No kernel can hold more, and
 * aliases can make a small file expand to (rules x ports) many.
 */
#define POLICY_RULES_MAX EGR_MAX_MAX_RULES

#define QUOTE_MAX 64

struct pctx {
	yaml_document_t *doc;
	const char *name;
	char *err;
	size_t errlen;
	struct egr_policy pol;
};

/* Control bytes as \xNN so a message stays one line; long text cut. */
static const char *quote(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; s[i] && o + 5 < len; i++) {
		unsigned char c = s[i];

		if (i == QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return out;
}

static void __attribute__((format(printf, 3, 4))) seterr(char *err, size_t errlen,
							  const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "name:LINE: message", LINE 1-based from a libyaml mark. */
static int __attribute__((format(printf, 3, 4))) perr(struct pctx *c, const yaml_node_t *at,
						       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(c->err, c->errlen, "%s:%zu: %s", c->name, at->start_mark.line + 1, msg);
	return -EINVAL;
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/*
 * The text of a scalar node, or NULL (error set) when n is not a scalar or
 * holds a NUL byte: C string code would silently stop at it.
 */
static const char *scalar(struct pctx *c, const yaml_node_t *n, const char *what)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE) {
		perr(c, n, "%s must be a single value, not %s", what, node_kind(n));
		return NULL;
	}
	v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		perr(c, n, "%s contains a NUL byte", what);
		return NULL;
	}
	return v;
}

/* YAML's null: `key:` with nothing after it, `~` or `null`, unquoted. */
static bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null");
}

static yaml_node_t *node(struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

/* A mapping key: a scalar without NUL; q receives it quoted for messages. */
static const char *key_text(struct pctx *c, const yaml_node_t *k, char *q, size_t qlen)
{
	const char *s = scalar(c, k, "a key");

	if (s)
		quote(s, q, qlen);
	return s;
}

/*
 * Check every port spec of a rule now, so the error names the right line;
 * returns how many there are, or -EINVAL.
 */
static int check_ports(struct pctx *c, yaml_node_t *ports)
{
	struct egr_portspec ps;
	char msg[512];
	yaml_node_item_t *it;
	yaml_node_t *n;
	const char *s;
	int count = 0;

	if (is_null(ports) ||
	    (ports->type == YAML_SEQUENCE_NODE &&
	     ports->data.sequence.items.start == ports->data.sequence.items.top))
		return perr(c, ports, "empty ports list: leave out ports: to match every port");
	if (ports->type == YAML_MAPPING_NODE)
		return perr(c, ports,
			    "ports: must be a port spec or a sequence of them, not a mapping");
	if (ports->type == YAML_SCALAR_NODE) {
		s = scalar(c, ports, "a port spec");
		if (!s)
			return -EINVAL;
		if (parse_portspec(s, &ps, msg, sizeof(msg)))
			return perr(c, ports, "%s", msg);
		return 1;
	}
	for (it = ports->data.sequence.items.start; it < ports->data.sequence.items.top; it++) {
		n = node(c, *it);
		s = scalar(c, n, "a port spec");
		if (!s)
			return -EINVAL;
		if (parse_portspec(s, &ps, msg, sizeof(msg)))
			return perr(c, n, "%s", msg);
		count++;
	}
	return count;
}

static int add_rule(struct pctx *c, const yaml_node_t *at, const struct egr_urule *r)
{
	if (c->pol.n >= POLICY_RULES_MAX)
		return perr(c, at, "too many rules (more than %u after expanding any and ports)",
			    POLICY_RULES_MAX);
	if (policy_add(&c->pol, r)) {
		seterr(c->err, c->errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	return 0;
}

/* The port spec of item i of a checked ports node (NULL: no ports). */
static void nth_port(struct pctx *c, yaml_node_t *ports, int i, struct egr_portspec *ps)
{
	yaml_node_t *n = ports;

	memset(ps, 0, sizeof(*ps));
	if (!ports)
		return;
	if (ports->type == YAML_SEQUENCE_NODE)
		n = node(c, ports->data.sequence.items.start[i]);
	parse_portspec((const char *)n->data.scalar.value, ps, NULL, 0);
}

static int parse_rule(struct pctx *c, yaml_node_t *rn)
{
	yaml_node_t *k, *v, *act_key = NULL, *ports = NULL;
	struct egr_dest dests[2];
	struct egr_urule r;
	yaml_node_pair_t *pair;
	char q[512], msg[512];
	const char *ks, *s;
	int ndest = 0, nports = 0, i, j, ret;

	memset(&r, 0, sizeof(r));
	if (rn->type != YAML_MAPPING_NODE)
		return perr(c, rn, "a rule must be a mapping with allow: or deny:, not %s",
			    node_kind(rn));
	for (pair = rn->data.mapping.pairs.start; pair < rn->data.mapping.pairs.top; pair++) {
		k = node(c, pair->key);
		v = node(c, pair->value);
		ks = key_text(c, k, q, sizeof(q));
		if (!ks)
			return -EINVAL;
		if (!strcmp(ks, "allow") || !strcmp(ks, "deny")) {
			if (act_key && !strcmp((const char *)act_key->data.scalar.value, ks))
				return perr(c, k, "duplicate key '%s' in rule", ks);
			if (act_key)
				return perr(c, k, "rule has both allow: and deny:");
			act_key = k;
			r.action = ks[0] == 'a' ? EGR_ALLOW : EGR_DENY;
			s = scalar(c, v, r.action == EGR_ALLOW ? "allow:" : "deny:");
			if (!s)
				return -EINVAL;
			ndest = parse_dests(s, dests, msg, sizeof(msg));
			if (ndest < 0)
				return perr(c, v, "%s", msg);
		} else if (!strcmp(ks, "ports")) {
			if (ports)
				return perr(c, k, "duplicate key 'ports' in rule");
			ports = v;
			nports = check_ports(c, v);
			if (nports < 0)
				return nports;
		} else {
			return perr(c, k, "unknown key '%s' in rule", q);
		}
	}
	if (!act_key)
		return perr(c, rn, "rule has neither allow: nor deny:");

	/* One rule per (destination, port spec); no ports: any protocol. */
	for (i = 0; i < ndest; i++) {
		r.dest = dests[i];
		for (j = 0; j < (ports ? nports : 1); j++) {
			nth_port(c, ports, j, &r.ps);
			ret = add_rule(c, rn, &r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int parse_rules(struct pctx *c, yaml_node_t *seq)
{
	yaml_node_item_t *it;
	int ret;

	if (is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return perr(c, seq, "rules: must be a sequence of rules, not %s", node_kind(seq));
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		ret = parse_rule(c, node(c, *it));
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_top(struct pctx *c, yaml_node_t *root)
{
	bool seen_rules = false;
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v;
	const char *ks, *s;
	char q[512], qv[512];
	int ret;

	if (root->type != YAML_MAPPING_NODE)
		return perr(c, root,
			    "a policy must be a mapping with default:, audit: and rules:, not %s",
			    node_kind(root));
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		k = node(c, pair->key);
		v = node(c, pair->value);
		ks = key_text(c, k, q, sizeof(q));
		if (!ks)
			return -EINVAL;
		if (!strcmp(ks, "default")) {
			if (c->pol.has_dflt)
				return perr(c, k, "duplicate key 'default'");
			s = scalar(c, v, "default:");
			if (!s)
				return -EINVAL;
			if (!strcmp(s, "allow"))
				c->pol.dflt = EGR_ALLOW;
			else if (!strcmp(s, "deny"))
				c->pol.dflt = EGR_DENY;
			else
				return perr(c, v, "bad default '%s': use allow or deny",
					    quote(s, qv, sizeof(qv)));
			c->pol.has_dflt = true;
		} else if (!strcmp(ks, "audit")) {
			if (c->pol.has_audit)
				return perr(c, k, "duplicate key 'audit'");
			s = scalar(c, v, "audit:");
			if (!s)
				return -EINVAL;
			if (!strcmp(s, "true"))
				c->pol.audit = true;
			else if (!strcmp(s, "false"))
				c->pol.audit = false;
			else
				return perr(c, v, "bad audit '%s': use true or false",
					    quote(s, qv, sizeof(qv)));
			c->pol.has_audit = true;
		} else if (!strcmp(ks, "rules")) {
			if (seen_rules)
				return perr(c, k, "duplicate key 'rules'");
			seen_rules = true;
			ret = parse_rules(c, v);
			if (ret)
				return ret;
		} else {
			return perr(c, k, "unknown key '%s' (expected default, audit or rules)", q);
		}
	}
	return 0;
}

/* A total order consistent with urule_equal(), ties broken by position. */
struct dd {
	const struct egr_urule *r;
	size_t pos;
};

static int cmp_dd(const void *pa, const void *pb)
{
	const struct egr_urule *a = ((const struct dd *)pa)->r, *b = ((const struct dd *)pb)->r;
	size_t ia = ((const struct dd *)pa)->pos, ib = ((const struct dd *)pb)->pos;
	int d;

#define CMP(x, y)                              \
	do {                                   \
		if ((x) != (y))                \
			return (x) < (y) ? -1 : 1; \
	} while (0)
	CMP(a->action, b->action);
	CMP(a->dest.family, b->dest.family);
	CMP(a->dest.plen, b->dest.plen);
	d = memcmp(a->dest.addr, b->dest.addr, sizeof(a->dest.addr));
	if (d)
		return d;
	CMP(a->ps.proto, b->ps.proto);
	CMP(a->ps.has_ports, b->ps.has_ports);
	if (a->ps.has_ports) {
		CMP(a->ps.lo, b->ps.lo);
		CMP(a->ps.hi, b->ps.hi);
	}
	CMP(ia, ib);
#undef CMP
	return 0;
}

/*
 * Keep the first of each set of equal rules, in file order. Sorting keeps
 * this O(n log n): generated policies can be large.
 */
static int dedup(struct pctx *c)
{
	struct egr_policy *p = &c->pol;
	struct dd *v;
	bool *drop;
	size_t i, o;

	if (p->n < 2)
		return 0;
	v = calloc(p->n, sizeof(*v));
	drop = calloc(p->n, sizeof(*drop));
	if (!v || !drop) {
		free(v);
		free(drop);
		seterr(c->err, c->errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	for (i = 0; i < p->n; i++) {
		v[i].r = &p->rules[i];
		v[i].pos = i;
	}
	qsort(v, p->n, sizeof(*v), cmp_dd);
	for (i = 1; i < p->n; i++)
		if (urule_equal(v[i - 1].r, v[i].r))
			drop[v[i].pos] = true;
	for (i = o = 0; i < p->n; i++)
		if (!drop[i])
			p->rules[o++] = p->rules[i];
	p->n = o;
	free(v);
	free(drop);
	return 0;
}

/* libyaml's reader errors carry a byte offset, not a line. */
static size_t offset_line(const char *buf, size_t len, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off && i < len; i++)
		line += buf[i] == '\n';
	return line;
}

static int yaml_err(struct pctx *c, yaml_parser_t *yp, const char *buf, size_t len)
{
	size_t line;

	if (yp->error == YAML_MEMORY_ERROR) {
		seterr(c->err, c->errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	if (yp->error == YAML_READER_ERROR)
		line = offset_line(buf, len, yp->problem_offset);
	else
		line = yp->problem_mark.line + 1;
	seterr(c->err, c->errlen, "%s:%zu: YAML error: %s", c->name, line,
	       yp->problem ? yp->problem : "unknown problem");
	return -EINVAL;
}

int policy_parse_buf(const char *buf, size_t len, const char *name, struct egr_policy *p,
		     char *err, size_t errlen)
{
	struct pctx c = { .name = name ? name : "<policy>", .err = err, .errlen = errlen };
	yaml_document_t doc, extra;
	yaml_parser_t yp;
	yaml_node_t *root;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!yaml_parser_initialize(&yp)) {
		seterr(err, errlen, "%s: out of memory", c.name);
		return -ENOMEM;
	}
	/* libyaml asserts on a NULL input even when it is empty. */
	yaml_parser_set_input_string(&yp, (const unsigned char *)(buf ? buf : ""), buf ? len : 0);
	if (!yaml_parser_load(&yp, &doc)) {
		ret = yaml_err(&c, &yp, buf, len);
		goto out_parser;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	/* Nothing, or only "---": a null document. */
	if (!root || is_null(root)) {
		seterr(err, errlen,
		       "%s: empty policy: expected a mapping with default:, audit: and rules:",
		       c.name);
		ret = -EINVAL;
		goto out_doc;
	}
	ret = parse_top(&c, root);
	if (ret)
		goto out_doc;

	/* A second document would be silently ignored: refuse it, and
	 * report syntax errors anywhere in the stream.
	 */
	if (!yaml_parser_load(&yp, &extra)) {
		ret = yaml_err(&c, &yp, buf, len);
		goto out_doc;
	}
	root = yaml_document_get_root_node(&extra);
	if (root) {
		seterr(err, errlen, "%s:%zu: more than one YAML document", c.name,
		       root->start_mark.line + 1);
		ret = -EINVAL;
	}
	yaml_document_delete(&extra);
	if (!ret)
		ret = dedup(&c);

out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&yp);
	if (ret)
		policy_free(&c.pol);
	else
		*p = c.pol;
	return ret;
}

/* The whole file; works for pipes too (e.g. bash's <(...)), hence no mmap. */
static int read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 64 * 1024, n = 0;
	struct stat st;
	char *buf, *nb;
	ssize_t r;

	if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
		if ((unsigned long long)st.st_size > POLICY_FILE_MAX)
			return -EFBIG;
		cap = st.st_size + 1;
	}
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap > POLICY_FILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > POLICY_FILE_MAX + 1 ? POLICY_FILE_MAX + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		if (!r)
			break;
		n += r;
	}
	if (n > POLICY_FILE_MAX) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

int policy_parse_file(const char *path, struct egr_policy *p, char *err, size_t errlen)
{
	char q[512];
	size_t len = 0;
	char *buf = NULL;
	int fd, ret;

	memset(p, 0, sizeof(*p));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		seterr(err, errlen, "cannot open policy file '%s': %s", quote(path, q, sizeof(q)),
		       strerror(-ret));
		return ret;
	}
	ret = read_all(fd, &buf, &len);
	close(fd);
	if (ret == -EFBIG) {
		seterr(err, errlen, "policy file '%s' is larger than %u MiB",
		       quote(path, q, sizeof(q)), POLICY_FILE_MAX >> 20);
		return ret;
	}
	if (ret) {
		seterr(err, errlen, "cannot read policy file '%s': %s", quote(path, q, sizeof(q)),
		       strerror(-ret));
		return ret;
	}
	ret = policy_parse_buf(buf, len, path, p, err, errlen);
	free(buf);
	return ret;
}
