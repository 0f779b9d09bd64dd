// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prometheus text exposition (0.0.4) of every attached cgroup.
 *
 * Scrape cost must not grow with syscalls per rule: the tries, the live
 * slot's rule slices and the hit counters are read with batch lookups
 * (BPF_MAP_LOOKUP_BATCH, in chunks), so a target costs a few dozen
 * syscalls whether it has ten rules or ten thousand. Kernels without batch
 * support for a map type fall back to one lookup per element.
 *
 * Every counter comes straight from a per-CPU kernel counter that only
 * ever grows while the pins exist: live edits and apply never reset
 * egr_stats, and a rule keeps its id (and hit counter) while it stays in
 * force. Nothing here writes to the kernel.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "log.h"
#include "metrics.h"

#define CHUNK 4096u /* elements per batch lookup */

/* ---- reading the kernel --------------------------------------------------- */

struct pfx {
	struct egr_dest dest;
	struct egr_prefix pv;
};

static bool batch_unsupported(int err)
{
	return err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP;
}

static int inner_fd(int outer_fd, uint32_t slot)
{
	uint32_t id;
	int fd;

	if (bpf_map_lookup_elem(outer_fd, &slot, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

static void key_to_dest(int family, const uint8_t *key, struct egr_dest *d)
{
	uint32_t plen;

	memset(d, 0, sizeof(*d));
	memcpy(&plen, key, sizeof(plen));
	d->family = family;
	d->plen = plen;
	memcpy(d->addr, key + sizeof(plen), family == 4 ? 4 : 16);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *q;
	size_t c = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* One element at a time, for kernels without trie batch lookups. */
static int read_trie_slow(int fd, int family, uint32_t max, struct pfx **out, size_t *n,
			  size_t *cap)
{
	uint8_t key[sizeof(struct egr_lpm_v6)], next[sizeof(struct egr_lpm_v6)];
	void *prev = NULL;
	int err;

	while (*n < max && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		err = grow((void **)out, cap, *n + 1, sizeof(**out));
		if (err)
			return err;
		if (bpf_map_lookup_elem(fd, key, &(*out)[*n].pv)) {
			if (errno == ENOENT)
				continue; /* deleted meanwhile */
			return -errno;
		}
		key_to_dest(family, key, &(*out)[*n].dest);
		(*n)++;
	}
	return 0;
}

/* Append the entries of one trie (at most max: a concurrent delete may
 * restart the kernel's key walk) to *out.
 */
static int read_trie(int fd, int family, uint32_t max, struct pfx **out, size_t *n, size_t *cap)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t ksz = family == 4 ? sizeof(struct egr_lpm_v4) : sizeof(struct egr_lpm_v6);
	struct egr_prefix *vals = calloc(CHUNK, sizeof(*vals));
	uint8_t *keys = calloc(CHUNK, ksz), batch[sizeof(struct egr_lpm_v6)];
	size_t got = 0;
	bool first = true;
	int err = 0;

	if (!vals || !keys) {
		err = -ENOMEM;
		goto out;
	}
	while (got < max) {
		__u32 cnt = CHUNK, i;

		err = bpf_map_lookup_batch(fd, first ? NULL : batch, batch, keys, vals, &cnt,
					   &opts) ? -errno : 0;
		if (err && err != -ENOENT) {
			if (first && batch_unsupported(err)) {
				err = read_trie_slow(fd, family, max, out, n, cap);
				goto out;
			}
			goto out;
		}
		first = false;
		if (grow((void **)out, cap, *n + cnt, sizeof(**out))) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < cnt && got < max; i++, got++) {
			key_to_dest(family, keys + i * ksz, &(*out)[*n].dest);
			(*out)[*n].pv = vals[i];
			(*n)++;
		}
		if (err == -ENOENT || !cnt) {
			err = 0;
			break;
		}
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* Elements [lo, hi) of an array map into vals (vsz bytes each, per-CPU
 * maps: vsz = 8-byte-rounded value size * ncpus).
 */
static int read_array(int fd, uint32_t lo, uint32_t hi, void *vals, size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys = calloc(CHUNK, sizeof(*keys)), at = lo, prev, i;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (at < hi) {
		__u32 cnt = hi - at < CHUNK ? hi - at : CHUNK;

		prev = at - 1;
		err = bpf_map_lookup_batch(fd, at ? &prev : NULL, &prev, keys,
					   (char *)vals + (size_t)(at - lo) * vsz, &cnt, &opts)
			      ? -errno
			      : 0;
		if (err && batch_unsupported(err))
			break;
		if (err && err != -ENOENT)
			goto out;
		if (!cnt) {
			err = -ERANGE; /* end of the map before hi */
			goto out;
		}
		at += cnt;
		err = 0;
	}
	for (i = at; i < hi; i++) { /* no batch support: one by one */
		if (bpf_map_lookup_elem(fd, &i, (char *)vals + (size_t)(i - lo) * vsz)) {
			err = -errno;
			goto out;
		}
		err = 0;
	}
out:
	free(keys);
	return err;
}

static void krule_to_urule(const struct egr_rule *r, const struct egr_dest *d,
			   struct egr_urule *u)
{
	memset(u, 0, sizeof(*u));
	u->action = r->action;
	u->dest = *d;
	switch (r->proto) {
	case IPPROTO_TCP:
		u->ps.proto = EGR_UP_TCP;
		break;
	case IPPROTO_UDP:
		u->ps.proto = EGR_UP_UDP;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		u->ps.proto = EGR_UP_ICMP;
		break;
	default:
		u->ps.proto = EGR_UP_ANY;
	}
	if (r->flags & EGR_RF_PORTS) {
		u->ps.has_ports = true;
		u->ps.lo = r->port_lo;
		u->ps.hi = r->port_hi;
	}
}

static int cmp_dest(const struct egr_dest *x, const struct egr_dest *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static int cmp_pfx(const void *pa, const void *pb)
{
	const struct pfx *a = pa, *b = pb;

	return cmp_dest(&a->dest, &b->dest);
}

/* The order `list` shows: family, prefix, deny first, protocol, ports. */
static int cmp_rule(const void *pa, const void *pb)
{
	const struct egr_urule *a = &((const struct metrics_rule *)pa)->rule;
	const struct egr_urule *b = &((const struct metrics_rule *)pb)->rule;
	int c = cmp_dest(&a->dest, &b->dest);

	if (c)
		return c;
	if (a->action != b->action)
		return a->action == EGR_DENY ? -1 : 1;
	if (a->ps.proto != b->ps.proto)
		return a->ps.proto < b->ps.proto ? -1 : 1;
	if (a->ps.has_ports != b->ps.has_ports)
		return a->ps.has_ports < b->ps.has_ports ? -1 : 1;
	if (a->ps.lo != b->ps.lo)
		return a->ps.lo < b->ps.lo ? -1 : 1;
	return a->ps.hi < b->ps.hi ? -1 : a->ps.hi > b->ps.hi;
}

/* Both tries of the live slot, sorted, duplicates (a restarted key walk)
 * dropped, entries that do not describe themselves left out.
 */
static int read_prefixes(const struct egr_kstate *ks, uint32_t slot, struct pfx **out,
			 size_t *n, uint32_t nprefix[2])
{
	size_t cap = 0, i, j;
	int f, err = 0;

	*out = NULL;
	*n = 0;
	for (f = 0; f < 2; f++) {
		size_t before = *n;
		int fd = inner_fd(f ? ks->v6_fd : ks->v4_fd, slot);

		if (fd < 0)
			return fd;
		err = read_trie(fd, f ? 6 : 4, ks->meta.max_rules, out, n, &cap);
		close(fd);
		if (err)
			return err;
		qsort(*out + before, *n - before, sizeof(**out), cmp_pfx);
		for (i = j = before; i < *n; i++) {
			const struct pfx *p = &(*out)[i];

			if (p->pv.plen != p->dest.plen || !p->pv.count ||
			    p->pv.count > EGR_MAX_PREFIX_RULES)
				continue;
			if (j > before && !cmp_pfx(&(*out)[j - 1], p))
				continue;
			(*out)[j++] = *p;
		}
		*n = j;
		if (nprefix)
			nprefix[f] = j - before;
	}
	return 0;
}

/* Sum per-CPU hit counters of ids [0, nids) into hits[]. */
static int read_hits(const struct egr_kstate *ks, uint32_t nids, uint64_t *hits)
{
	size_t vsz = (size_t)ks->ncpus * sizeof(uint64_t);
	uint64_t *buf = malloc(CHUNK * vsz);
	uint32_t lo, i;
	int c, err = 0;

	if (!buf)
		return -ENOMEM;
	for (lo = 0; lo < nids && !err; lo += CHUNK) {
		uint32_t hi = nids - lo < CHUNK ? nids : lo + CHUNK;

		err = read_array(ks->hits_fd, lo, hi, buf, vsz);
		for (i = lo; !err && i < hi; i++) {
			const uint64_t *v = buf + (size_t)(i - lo) * ks->ncpus;

			hits[i] = 0;
			for (c = 0; c < ks->ncpus; c++)
				hits[i] += v[c];
		}
	}
	free(buf);
	return err;
}

int metrics_read_rules(const struct egr_kstate *ks, struct metrics_rule **out, size_t *nout,
		       uint32_t nprefix[2])
{
	struct metrics_rule *mr = NULL;
	struct egr_rule *kr = NULL;
	uint64_t *hits = NULL;
	struct pfx *p = NULL;
	uint32_t lo = UINT32_MAX, hi = 0, nids = 0, cap = ks->meta.max_rules, j;
	size_t np = 0, n = 0, total = 0, i;
	struct egr_ctl cfg;
	int err;

	*out = NULL;
	*nout = 0;
	err = kstate_slot_cfg(ks, &cfg);
	if (err)
		return err;
	err = read_prefixes(ks, cfg.slot, &p, &np, nprefix);
	if (err)
		goto out;
	for (i = 0; i < np; i++) {
		uint32_t first = p[i].pv.first, end = first + p[i].pv.count;

		if (end > 2 * cap || end < first) {
			err = -EPROTO;
			goto out;
		}
		lo = first < lo ? first : lo;
		hi = end > hi ? end : hi;
		total += p[i].pv.count;
	}
	if (!total)
		goto done;
	/* The live slot's slices lie within one half of egr_rules: read the
	 * span they cover at once.
	 */
	kr = calloc(hi - lo, sizeof(*kr));
	mr = calloc(total, sizeof(*mr));
	if (!kr || !mr) {
		err = -ENOMEM;
		goto out;
	}
	err = read_array(ks->rules_fd, lo, hi, kr, sizeof(*kr));
	if (err)
		goto out;
	for (i = 0; i < np; i++) {
		for (j = 0; j < p[i].pv.count; j++) {
			const struct egr_rule *r = &kr[p[i].pv.first - lo + j];

			krule_to_urule(r, &p[i].dest, &mr[n].rule);
			mr[n].id = r->id;
			if (r->id < cap && r->id >= nids)
				nids = r->id + 1;
			n++;
		}
	}
	hits = calloc(nids ? nids : 1, sizeof(*hits));
	if (!hits) {
		err = -ENOMEM;
		goto out;
	}
	err = read_hits(ks, nids, hits);
	if (err)
		goto out;
	for (i = 0; i < n; i++)
		mr[i].hits = mr[i].id < nids ? hits[mr[i].id] : 0;
	qsort(mr, n, sizeof(*mr), cmp_rule);
done:
	*out = mr;
	*nout = n;
	mr = NULL;
out:
	free(mr);
	free(kr);
	free(hits);
	free(p);
	return err;
}

static int collect_one(uint64_t cgid, struct metrics_target *t)
{
	struct egr_kstate ks;
	struct egr_ctl cfg;
	int err = kstate_open(cgid, &ks);

	memset(t, 0, sizeof(*t));
	if (err)
		return err;
	kstate_label(&ks, t->label, sizeof(t->label));
	snprintf(t->cgroup, sizeof(t->cgroup), "%.*s", (int)sizeof(ks.meta.path) - 1, ks.meta.path);
	t->cgid = cgid;
	t->capacity = ks.meta.max_rules;
	t->alive = kstate_link_alive(&ks) == 1;
	err = kstate_slot_cfg(&ks, &cfg);
	if (!err)
		t->audit = cfg.flags & EGR_SF_AUDIT;
	if (!err)
		err = kstate_stats(&ks, t->st);
	if (!err)
		err = metrics_read_rules(&ks, &t->rules, &t->nrules, t->nprefix);
	kstate_close(&ks);
	return err;
}

int metrics_collect(struct metrics_target **out, size_t *nout)
{
	struct metrics_target *t;
	uint64_t *ids;
	size_t n = 0, i, k = 0;
	int err = kstate_list(&ids, &n);

	*out = NULL;
	*nout = 0;
	if (err)
		return err;
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t) {
		free(ids);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		err = collect_one(ids[i], &t[k]);
		if (err == -ENOENT || err == -EPROTO)
			continue; /* detached meanwhile, or not our pins */
		if (err) {
			pr_warn("metrics: reading cgroup id %" PRIu64 ": %s\n", ids[i],
				strerror(-err));
			free(t[k].rules);
			continue;
		}
		k++;
	}
	free(ids);
	*out = t;
	*nout = k;
	return 0;
}

void metrics_free(struct metrics_target *t, size_t n)
{
	size_t i;

	for (i = 0; t && i < n; i++)
		free(t[i].rules);
	free(t);
}

/* ---- formatting ----------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void metrics_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (n)
			fwrite(p, 1, n, f);
		else
			fputs("\xef\xbf\xbd", f); /* U+FFFD: Prometheus wants UTF-8 */
		p += n ? n : 1;
	}
}

const char *metrics_rule_text(const struct egr_urule *r, char *buf, size_t len)
{
	char d[64], ps[32];

	snprintf(buf, len, "%s %s %s", r->action == EGR_ALLOW ? "allow" : "deny",
		 format_dest(&r->dest, d, sizeof(d)), format_portspec(&r->ps, ps, sizeof(ps)));
	return buf;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{target="..",cgroup=".." (no closing brace) */
static void series(FILE *f, const char *name, const struct metrics_target *t, bool cgroup)
{
	fprintf(f, "%s{target=\"", name);
	metrics_escape(f, t->label);
	if (cgroup) {
		fputs("\",cgroup=\"", f);
		metrics_escape(f, t->cgroup);
	}
	fputc('"', f);
}

static void sample(FILE *f, uint64_t v)
{
	fprintf(f, "} %" PRIu64 "\n", v);
}

static const struct {
	enum egr_stat stat;
	const char *name;
} verdicts[] = {
	{ EGR_STAT_ALLOWED, "allowed" },
	{ EGR_STAT_DENIED, "denied" },
	{ EGR_STAT_AUDIT, "audit" },
}, unjudged[] = {
	{ EGR_STAT_LOOPBACK, "loopback" },
	{ EGR_STAT_INBOUND, "inbound" },
	{ EGR_STAT_MALFORMED, "malformed" },
	{ EGR_STAT_NOPOLICY, "nopolicy" },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Per-target counters by verdict/reason: packets (bytes == false) or bytes. */
static void stat_family(FILE *f, const struct metrics_target *t, size_t n, const bool *skip,
			const char *name, const char *label, bool bytes, bool judged)
{
	size_t i, k, nk = judged ? ARRAY_LEN(verdicts) : ARRAY_LEN(unjudged);

	for (i = 0; i < n; i++) {
		if (skip[i])
			continue;
		for (k = 0; k < nk; k++) {
			enum egr_stat s = judged ? verdicts[k].stat : unjudged[k].stat;

			series(f, name, &t[i], true);
			fprintf(f, ",%s=\"%s\"", label, judged ? verdicts[k].name : unjudged[k].name);
			sample(f, bytes ? t[i].st[s].bytes : t[i].st[s].packets);
		}
	}
}

static void event_family(FILE *f, const struct metrics_target *t, size_t n, const bool *skip,
			 const char *name, enum egr_stat s, const char *help)
{
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < n; i++) {
		if (skip[i])
			continue;
		series(f, name, &t[i], true);
		sample(f, t[i].st[s].packets);
	}
}

/* Leave out a target whose label repeats another's (a defunct cgroup and
 * its live successor under one container name): keep the live one, else
 * the first.
 */
static void find_dups(const struct metrics_target *t, size_t n, bool *skip)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && !skip[i]; j++) {
			if (skip[j] || strcmp(t[i].label, t[j].label))
				continue;
			if (t[i].alive && !t[j].alive)
				skip[j] = true;
			else
				skip[i] = true;
		}
	}
}

int metrics_format(FILE *f, const struct metrics_target *t, size_t n, const char *version,
		   const char *libbpf)
{
	static const char *const maps[] = { "rules", "prefixes_v4", "prefixes_v6" };
	bool *skip = calloc(n ? n : 1, sizeof(*skip));
	char d[64], ps[32];
	size_t i, r, m;

	if (!skip)
		return -ENOMEM;
	find_dups(t, n, skip);

	family(f, "egressctl_build_info", "gauge",
	       "egressctl version and the libbpf it runs with; always 1.");
	fputs("egressctl_build_info{version=\"", f);
	metrics_escape(f, version);
	fputs("\",libbpf=\"", f);
	metrics_escape(f, libbpf);
	fputs("\"} 1\n", f);

	family(f, "egressctl_attached", "gauge",
	       "1 while the filter is attached to a live cgroup, 0 when the cgroup is gone (run detach).");
	for (i = 0; i < n; i++) {
		if (skip[i])
			continue;
		series(f, "egressctl_attached", &t[i], true);
		sample(f, t[i].alive);
	}

	family(f, "egressctl_packets_total", "counter",
	       "Outgoing packets judged by the policy, by verdict (audit: would have been denied, let through).");
	stat_family(f, t, n, skip, "egressctl_packets_total", "verdict", false, true);
	family(f, "egressctl_bytes_total", "counter",
	       "Bytes (IP packet length) of outgoing packets judged by the policy, by verdict.");
	stat_family(f, t, n, skip, "egressctl_bytes_total", "verdict", true, true);

	family(f, "egressctl_unjudged_packets_total", "counter",
	       "Outgoing packets decided before the policy: loopback and inbound (replies on accepted connections) pass, malformed and nopolicy (fail closed) are dropped.");
	stat_family(f, t, n, skip, "egressctl_unjudged_packets_total", "reason", false, false);
	family(f, "egressctl_unjudged_bytes_total", "counter",
	       "Bytes of outgoing packets decided before the policy, by reason.");
	stat_family(f, t, n, skip, "egressctl_unjudged_bytes_total", "reason", true, false);

	family(f, "egressctl_rule_hits_total", "counter",
	       "Packets decided by each rule in force (kept across edits while the rule stays).");
	for (i = 0; i < n; i++) {
		if (skip[i])
			continue;
		for (r = 0; r < t[i].nrules; r++) {
			const struct egr_urule *u = &t[i].rules[r].rule;

			series(f, "egressctl_rule_hits_total", &t[i], false);
			fprintf(f, ",action=\"%s\",dest=\"%s\",ports=\"%s\"",
				u->action == EGR_ALLOW ? "allow" : "deny",
				format_dest(&u->dest, d, sizeof(d)),
				format_portspec(&u->ps, ps, sizeof(ps)));
			sample(f, t[i].rules[r].hits);
		}
	}

	family(f, "egressctl_policy_rules", "gauge", "Rules in force.");
	for (i = 0; i < n; i++) {
		if (skip[i])
			continue;
		series(f, "egressctl_policy_rules", &t[i], false);
		sample(f, t[i].nrules);
	}

	family(f, "egressctl_audit_mode", "gauge",
	       "1 when the policy is in audit mode (nothing dropped), else 0.");
	for (i = 0; i < n; i++) {
		if (skip[i])
			continue;
		series(f, "egressctl_audit_mode", &t[i], false);
		sample(f, t[i].audit);
	}

	family(f, "egressctl_map_entries", "gauge",
	       "Entries in use: rules, and prefixes per address family (trie entries).");
	for (i = 0; i < n; i++) {
		uint64_t v[3] = { t[i].nrules, t[i].nprefix[0], t[i].nprefix[1] };

		for (m = 0; !skip[i] && m < ARRAY_LEN(maps); m++) {
			series(f, "egressctl_map_entries", &t[i], false);
			fprintf(f, ",map=\"%s\"", maps[m]);
			sample(f, v[m]);
		}
	}
	family(f, "egressctl_map_capacity", "gauge",
	       "Capacity of each map (attach --max-rules).");
	for (i = 0; i < n; i++) {
		for (m = 0; !skip[i] && m < ARRAY_LEN(maps); m++) {
			series(f, "egressctl_map_capacity", &t[i], false);
			fprintf(f, ",map=\"%s\"", maps[m]);
			sample(f, t[i].capacity);
		}
	}

	event_family(f, t, n, skip, "egressctl_events_sent_total", EGR_STAT_EV_SENT,
		     "Denied/audited packet events written to the ring buffer (only while `egressctl events` runs).");
	event_family(f, t, n, skip, "egressctl_events_suppressed_total", EGR_STAT_EV_SUPPRESSED,
		     "Events not sent: over the per-cgroup rate limit (the verdict is unaffected).");
	event_family(f, t, n, skip, "egressctl_events_lost_total", EGR_STAT_EV_LOST,
		     "Events lost: the ring buffer was full (the reader is too slow).");
	free(skip);
	return ferror(f) ? -EIO : 0;
}

int metrics_render(char **buf, size_t *len)
{
	struct metrics_target *t;
	size_t n;
	FILE *f;
	int err = metrics_collect(&t, &n);

	*buf = NULL;
	*len = 0;
	if (err)
		return err;
	f = open_memstream(buf, len);
	if (!f) {
		err = -errno;
		metrics_free(t, n);
		return err;
	}
	err = metrics_format(f, t, n, EGR_VERSION, libbpf_version_string());
	if (fclose(f) && !err)
		err = -EIO;
	metrics_free(t, n);
	if (err) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return err;
}
