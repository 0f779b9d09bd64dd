// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A big policy file parsed in pieces, one thread each: libyaml reads some
 * 60 MB/s here, which is most of what `apply` spends on a file of 1k rules
 * and a third of it at 1M.
 *
 * Only the common shape is cut: a block-style top mapping whose rules:
 * key sits at column 0, with its items as "<n spaces>- " lines. A cut goes
 * at the start of such an item line; each piece after the first is parsed
 * as "rules:\n" followed by its text. The pieces are then checked to fit:
 *  - every piece parsed without error, anchor or alias (a piece cannot see
 *    another's anchors);
 *  - in each piece the rules: sequence is in block style at column n, and
 *    in the first one it is the key on the line the text search found;
 *  - in every piece but the last, nothing follows the rules (no other key,
 *    no "..."), so each cut was inside the sequence, at one of its items:
 *    a piece that ended inside a quoted scalar or a flow collection would
 *    have failed, and a block scalar cannot hold a line indented as the
 *    items are;
 *  - default:, audit: and dns: are each given once in all.
 * Anything else is -EAGAIN, and the caller parses the file whole, which
 * also gives errors their usual message and line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/policy_dedup.h"
#include "policy/policy_reader.h"
#include "policy/policy_split.h"
#include "util/thread.h"

#define HDR "rules:\n"

struct piece {
	const char *hdr, *body;
	size_t hlen, blen;
	struct egr_policy pol;
	struct policy_seg si;
	int ret;
	struct helper_job job;
};

static void *parse_piece(void *arg)
{
	struct piece *pc = arg;

	pc->ret = policy_parse_seg(pc->hdr, pc->hlen, pc->body, pc->blen, &pc->pol, &pc->si);
	return NULL;
}

/* Spaces and an optional comment to the end of the line at s? */
static bool rest_blank(const char *s, const char *end)
{
	const char *p = s;

	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '#' && p > s)
		return true;
	return p == end || *p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n');
}

static const char *next_line(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', end - s);

	return nl ? nl + 1 : end;
}

/* Is the line at s "<n spaces>-" followed by a space or the line's end? */
static bool item_line(const char *s, const char *end, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s + i >= end || s[i] != ' ')
			return false;
	if (s + n + 1 >= end || s[n] != '-')
		return false;
	return s[n + 1] == ' ' || s[n + 1] == '\n' || s[n + 1] == '\r';
}

/*
 * The rules: line at column 0 and the indentation of its first item:
 * returns the item's line and sets *n and *rules_line, or NULL.
 */
static const char *first_item(const char *buf, size_t len, size_t *n, size_t *rules_line)
{
	const char *end = buf + len, *s = buf, *t;
	size_t line = 1;

	while (s < end && !(end - s > 6 && !memcmp(s, "rules:", 6))) {
		s = next_line(s, end);
		line++;
	}
	if (s >= end || !rest_blank(s + 6, end))
		return NULL;
	*rules_line = line;
	for (s = next_line(s, end); s < end; s = next_line(s, end)) {
		for (t = s; t < end && *t == ' '; t++)
			;
		if (t < end && *t == '#')
			continue;
		if (rest_blank(t, end))
			continue;
		*n = t - s;
		return item_line(s, end, *n) ? s : NULL;
	}
	return NULL;
}

/* Cut points: item lines at or after each k/nseg of the text. */
static unsigned int cut(const char *buf, size_t len, const char *first, size_t n, unsigned int nseg,
			const char **at)
{
	const char *end = buf + len, *s, *prev = first;
	unsigned int k, m = 0;

	for (k = 1; k < nseg; k++) {
		s = buf + len / nseg * k;
		if (s <= prev)
			s = prev + 1;
		for (s = next_line(s, end); s < end && !item_line(s, end, n); s = next_line(s, end))
			;
		if (s >= end)
			break;
		at[m++] = prev = s;
	}
	return m;
}

static bool fits(const struct piece *pc, unsigned int np, size_t n, size_t rules_line)
{
	bool dflt = false, audit = false, dns = false;
	size_t nexp = 0;
	unsigned int i;

	for (i = 0; i < np; i++) {
		const struct policy_seg *si = &pc[i].si;

		if (pc[i].ret || !si->rules_line || !si->rules_block || si->rules_col != n)
			return false;
		if (i + 1 < np && (si->key_after_rules || si->explicit_end))
			return false;
		if ((pc[i].pol.has_dflt && dflt) || (pc[i].pol.has_audit && audit) ||
		    (pc[i].pol.has_dns && dns))
			return false;
		dflt |= pc[i].pol.has_dflt;
		audit |= pc[i].pol.has_audit;
		dns |= pc[i].pol.has_dns;
		nexp += si->nexp;
	}
	/* The whole parse names the rule over the limit. */
	return pc[0].si.rules_line == rules_line && nexp <= EGR_MAX_MAX_RULES;
}

/* The pieces' rules in order into the first piece's policy. */
static int join(struct piece *pc, unsigned int np, struct egr_policy *p)
{
	size_t total = 0, o;
	struct egr_urule *r;
	unsigned int i;

	for (i = 0; i < np; i++)
		total += pc[i].pol.n;
	*p = pc[0].pol;
	memset(&pc[0].pol, 0, sizeof(pc[0].pol));
	if (total > p->cap) {
		r = realloc(p->rules, (total ? total : 1) * sizeof(*r));
		if (!r)
			return -ENOMEM;
		p->rules = r;
		p->cap = total;
	}
	for (i = 1, o = p->n; i < np; i++) {
		memcpy(p->rules + o, pc[i].pol.rules, pc[i].pol.n * sizeof(*p->rules));
		o += pc[i].pol.n;
		if (pc[i].pol.has_dflt) {
			p->has_dflt = true;
			p->dflt = pc[i].pol.dflt;
		}
		if (pc[i].pol.has_audit) {
			p->has_audit = true;
			p->audit = pc[i].pol.audit;
		}
		if (pc[i].pol.has_dns) {
			p->has_dns = true;
			p->min_ttl = pc[i].pol.min_ttl;
			p->max_per_name = pc[i].pol.max_per_name;
		}
	}
	p->n = o;
	return policy_dedup(p);
}

int policy_parse_split(const char *buf, size_t len, unsigned int nseg, struct egr_policy *p)
{
	const char *first, *at[POLICY_SPLIT_MAX];
	struct piece pc[POLICY_SPLIT_MAX];
	size_t n, rules_line;
	unsigned int np, i;
	int ret = -EAGAIN;

	memset(p, 0, sizeof(*p));
	if (nseg > POLICY_SPLIT_MAX)
		nseg = POLICY_SPLIT_MAX;
	/* A UTF-16 byte order mark: libyaml reads it as UTF-16, not so here. */
	if (nseg < 2 || len < 2 || (uint8_t)buf[0] == 0xfe || (uint8_t)buf[0] == 0xff)
		return -EAGAIN;
	first = first_item(buf, len, &n, &rules_line);
	if (!first)
		return -EAGAIN;
	np = cut(buf, len, first, n, nseg, at) + 1;
	if (np < 2)
		return -EAGAIN;
	memset(pc, 0, sizeof(pc));
	for (i = 0; i < np; i++) {
		const char *b = i ? at[i - 1] : buf, *e = i + 1 < np ? at[i] : buf + len;

		pc[i].hdr = i ? HDR : "";
		pc[i].hlen = i ? sizeof(HDR) - 1 : 0;
		pc[i].body = b;
		pc[i].blen = e - b;
		if (i)
			helper_run(&pc[i].job, parse_piece, &pc[i]);
	}
	parse_piece(&pc[0]);
	for (i = 1; i < np; i++)
		helper_wait(&pc[i].job);
	/* Out of memory too: the streamed parse needs less, or says so. */
	if (fits(pc, np, n, rules_line) && join(pc, np, p) == 0)
		ret = 0;
	for (i = 0; i < np; i++)
		policy_free(&pc[i].pol);
	if (ret)
		policy_free(p);
	return ret;
}
