// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prometheus text exposition (0.0.4) of every attached cgroup.
 *
 * Scrape cost: the policy is read back with kpolicy_read(), whose lookups
 * are batched (tries, rule slices and hit counters: a few dozen syscalls per
 * target whatever its size); formatting is one pass, labels escaped once
 * per target. See docs/monitoring.md for measurements.
 *
 * Every counter comes straight from a per-CPU kernel counter that only
 * ever grows while the pins exist: live edits and apply never reset
 * egr_stats, and a rule keeps its id (and hit counter) while it stays in
 * force. Nothing here writes to the kernel.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "kernel/guard.h"
#include "kernel/kgen.h"
#include "kernel/knames.h"
#include "kernel/kread.h"
#include "obs/metrics.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "runtime/label.h"
#include "util/err.h"
#include "util/utf8.h"

/* ---- reading the kernel --------------------------------------------------- */

/* The rules in force (kpolicy_read(): batched lookups), with the prefix
 * count per family. A rule read twice (the kernel's trie walk restarts if
 * an entry is deleted under it) is kept once: a series must not repeat.
 */
static int read_rules(const struct egr_kstate *ks, struct metrics_target *t)
{
	struct egr_live_rule *lr;
	size_t n, i, k = 0;
	int err = kpolicy_read(ks, NULL, &lr, &n);

	if (err)
		return err;
	for (i = 0; i < n; i++) {
		const struct egr_dest *d = &lr[i].rule.dest;

		if (k && urule_equal(&lr[k - 1].rule, &lr[i].rule))
			continue;
		if (!k || memcmp(d, &lr[k - 1].rule.dest, sizeof(*d))) {
			if (dest_is_name(d))
				t->nnames++;
			else
				t->nprefix[d->family == 6]++;
		}
		lr[k++] = lr[i];
	}
	t->rules = lr;
	t->nrules = k;
	return 0;
}

/* Learned addresses with a reference that has not expired. */
static int count_learned(const struct egr_kstate *ks, struct metrics_target *t)
{
	struct klearned *l;
	uint64_t now = klearn_now();
	size_t n, i, k;
	int err = klearn_read(ks, &l, &n);

	for (i = 0; !err && i < n; i++)
		for (k = 0; k < EGR_LEARN_REFS; k++)
			if (l[i].ref[k].inc && l[i].ref[k].expires > now) {
				t->learned++;
				break;
			}
	if (!err)
		free(l);
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
	target_label(&ks, t->label, sizeof(t->label));
	snprintf(t->cgroup, sizeof(t->cgroup), "%.*s", (int)sizeof(ks.meta.path) - 1, ks.meta.path);
	t->cgid = cgid;
	t->capacity = ks.meta.max_rules;
	t->alive = kstate_link_alive(&ks) == 1;
	err = kgen_slot_cfg(&ks, &cfg);
	if (!err)
		t->audit = cfg.flags & EGR_SF_AUDIT;
	if (!err)
		err = kstate_stats(&ks, t->st);
	if (!err)
		err = read_rules(&ks, t);
	t->max_learned = ks.meta.max_learned;
	if (!err && ks.meta.nnames)
		err = count_learned(&ks, t);
	if (!err)
		err = kread_comm(&ks, &t->comm, &t->ncomm);
	kstate_close(&ks);
	return err;
}

static bool wanted(const uint64_t *only, size_t nonly, uint64_t id)
{
	size_t i;

	for (i = 0; i < nonly; i++)
		if (only[i] == id)
			return true;
	return !nonly;
}

int metrics_collect(const uint64_t *only, size_t nonly, struct metrics_target **out, size_t *nout,
		    struct egr_warn *warn)
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
		if (!wanted(only, nonly, ids[i]))
			continue;
		err = collect_one(ids[i], &t[k]);
		if (err == -ENOENT || err == -EPROTO)
			continue; /* detached meanwhile, or not our pins */
		if (err) {
			warn_add(warn, "metrics: reading cgroup id %" PRIu64 ": %s", ids[i],
				 strerror(-err));
			free(t[k].rules);
			free(t[k].comm);
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

	for (i = 0; t && i < n; i++) {
		free(t[i].rules);
		free(t[i].comm);
	}
	free(t);
}

/* ---- formatting ----------------------------------------------------------- */

void metrics_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	while (*p) {
		size_t n;

		if (*p >= 0x20 && *p < 0x80 && *p != '\\' && *p != '"') {
			p++; /* plain ASCII: written in runs */
			continue;
		}
		fwrite(run, 1, p - run, f);
		n = utf8_len(p);
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
		run = p;
	}
	fwrite(run, 1, p - run, f);
}

/* metrics_escape() into a malloc'd string, or NULL. */
static char *escape_dup(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	metrics_escape(f, s);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

const char *metrics_comm_text(const char *comm, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < 16 && comm[i] && o + 4 <= len; i++) {
		unsigned char c = comm[i];

		if (c >= 0x20 && c < 0x7f && c != '%' && c != '"' && c != '\\')
			buf[o++] = c;
		else
			o += snprintf(buf + o, len - o, "%%%02X", c);
	}
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}

const char *metrics_rule_text(const struct egr_urule *r, char *buf, size_t len)
{
	char d[EGR_DEST_STRLEN], ps[32];

	snprintf(buf, len, "%s %s %s", r->action == EGR_ALLOW ? "allow" : "deny",
		 format_dest(&r->dest, d, sizeof(d)), format_portspec(&r->ps, ps, sizeof(ps)));
	return buf;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
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
	{ EGR_STAT_NDP, "ndp" },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A target's labels, escaped once; skip: left out (a repeated label). */
struct tlabels {
	char *target;
	char *tc; /* target="..",cgroup=".." */
	bool skip;
};

/* Leave out a target whose label repeats another's (a defunct cgroup and
 * its live successor under one container name): keep the live one, else
 * the first.
 */
static void find_dups(const struct metrics_target *t, size_t n, struct tlabels *l)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && !l[i].skip; j++) {
			if (l[j].skip || strcmp(t[i].label, t[j].label))
				continue;
			if (t[i].alive && !t[j].alive)
				l[j].skip = true;
			else
				l[i].skip = true;
		}
	}
}

static int make_labels(const struct metrics_target *t, size_t n, struct tlabels *l)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *c = escape_dup(t[i].cgroup);

		l[i].target = escape_dup(t[i].label);
		if (c && l[i].target &&
		    asprintf(&l[i].tc, "target=\"%s\",cgroup=\"%s\"", l[i].target, c) < 0)
			l[i].tc = NULL;
		free(c);
		if (!l[i].target || !l[i].tc)
			return -ENOMEM;
	}
	find_dups(t, n, l);
	return 0;
}

/* Per-target counters by verdict or by reason, packets or bytes. */
static void stat_family(FILE *f, const struct metrics_target *t, size_t n, const struct tlabels *l,
			const char *name, bool bytes, bool judged)
{
	size_t i, k, nk = judged ? ARRAY_LEN(verdicts) : ARRAY_LEN(unjudged);

	for (i = 0; i < n; i++) {
		for (k = 0; !l[i].skip && k < nk; k++) {
			enum egr_stat s = judged ? verdicts[k].stat : unjudged[k].stat;

			fprintf(f, "%s{%s,%s=\"%s\"} %" PRIu64 "\n", name, l[i].tc,
				judged ? "verdict" : "reason",
				judged ? verdicts[k].name : unjudged[k].name,
				(uint64_t)(bytes ? t[i].st[s].bytes : t[i].st[s].packets));
		}
	}
}

/* One sample per target: name{target=".."[,cgroup=".."]} v */
static void per_target(FILE *f, const struct metrics_target *t, size_t n, const struct tlabels *l,
		       const char *name, bool cgroup,
		       uint64_t (*get)(const struct metrics_target *))
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (l[i].skip)
			continue;
		if (cgroup)
			fprintf(f, "%s{%s} %" PRIu64 "\n", name, l[i].tc, get(&t[i]));
		else
			fprintf(f, "%s{target=\"%s\"} %" PRIu64 "\n", name, l[i].target,
				get(&t[i]));
	}
}

static uint64_t get_alive(const struct metrics_target *t)
{
	return t->alive;
}

static uint64_t get_nrules(const struct metrics_target *t)
{
	return t->nrules;
}

static uint64_t get_audit(const struct metrics_target *t)
{
	return t->audit;
}

static uint64_t get_ev_sent(const struct metrics_target *t)
{
	return t->st[EGR_STAT_EV_SENT].packets;
}

static uint64_t get_ev_suppressed(const struct metrics_target *t)
{
	return t->st[EGR_STAT_EV_SUPPRESSED].packets;
}

static uint64_t get_ev_lost(const struct metrics_target *t)
{
	return t->st[EGR_STAT_EV_LOST].packets;
}

/* egressctl_map_entries (capacity false) or egressctl_map_capacity */
static void map_family(FILE *f, const struct metrics_target *t, size_t n, const struct tlabels *l,
		       bool capacity)
{
	static const char *const maps[] = { "rules", "prefixes_v4", "prefixes_v6", "names",
					    "learned" };
	const char *name = capacity ? "egressctl_map_capacity" : "egressctl_map_entries";
	size_t i, m;

	for (i = 0; i < n; i++) {
		uint64_t v[5] = { t[i].nrules, t[i].nprefix[0], t[i].nprefix[1], t[i].nnames,
				  t[i].learned };
		uint64_t c[5] = { t[i].capacity, t[i].capacity, t[i].capacity, t[i].capacity,
				  t[i].max_learned };

		for (m = 0; !l[i].skip && m < ARRAY_LEN(maps); m++)
			fprintf(f, "%s{target=\"%s\",map=\"%s\"} %" PRIu64 "\n", name, l[i].target,
				maps[m], capacity ? c[m] : v[m]);
	}
}

/* DNS: answers by result, addresses by fate, one family each. */
static const struct {
	enum egr_stat stat;
	const char *name;
} dns_answers[] = {
	{ EGR_STAT_DNS_ANSWERS, "learned" },	    { EGR_STAT_DNS_UNTRUSTED, "untrusted" },
	{ EGR_STAT_DNS_MISMATCH, "mismatch" },	    { EGR_STAT_DNS_MALFORMED, "malformed" },
	{ EGR_STAT_DNS_TRUNCATED, "truncated" },
}, dns_addresses[] = {
	{ EGR_STAT_DNS_LEARNED, "learned" },
	{ EGR_STAT_DNS_CAPACITY, "capacity" },
	{ EGR_STAT_DNS_EVICTED, "evicted" },
};

static void dns_family(FILE *f, const struct metrics_target *t, size_t n, const struct tlabels *l,
		       bool answers)
{
	const char *name = answers ? "egressctl_dns_answers_total" : "egressctl_dns_addresses_total";
	size_t i, k, nk = answers ? ARRAY_LEN(dns_answers) : ARRAY_LEN(dns_addresses);

	for (i = 0; i < n; i++)
		for (k = 0; !l[i].skip && k < nk; k++)
			fprintf(f, "%s{%s,%s=\"%s\"} %" PRIu64 "\n", name, l[i].tc,
				answers ? "result" : "fate",
				answers ? dns_answers[k].name : dns_addresses[k].name,
				(uint64_t)t[i].st[answers ? dns_answers[k].stat :
							    dns_addresses[k].stat]
					.packets);
}

static uint64_t get_dns_queries(const struct metrics_target *t)
{
	return t->st[EGR_STAT_DNS_QUERIES].packets;
}

static uint64_t get_dns_forged(const struct metrics_target *t)
{
	return t->st[EGR_STAT_DNS_FORGED].packets;
}

static uint64_t get_learned(const struct metrics_target *t)
{
	return t->learned;
}

static void rule_family(FILE *f, const struct metrics_target *t, size_t n, const struct tlabels *l)
{
	char d[EGR_DEST_STRLEN], ps[32];
	size_t i, r;

	for (i = 0; i < n; i++) {
		for (r = 0; !l[i].skip && r < t[i].nrules; r++) {
			const struct egr_urule *u = &t[i].rules[r].rule;

			fprintf(f,
				"egressctl_rule_hits_total{target=\"%s\",action=\"%s\",dest=\"%s\",ports=\"%s\"} %" PRIu64
				"\n",
				l[i].target, u->action == EGR_ALLOW ? "allow" : "deny",
				format_dest(&u->dest, d, sizeof(d)),
				format_portspec(&u->ps, ps, sizeof(ps)), t[i].rules[r].hits);
		}
	}
}

/* egressctl_denied_connections_total (audit false) or
 * egressctl_audit_connections_total: one series per process name, at most
 * EGR_COMM_MAX and comm="_other" per target.
 */
static void comm_family(FILE *f, const struct metrics_target *t, size_t n, const struct tlabels *l,
			bool audit)
{
	char name[3 * 16 + 1];
	size_t i, c;

	for (i = 0; i < n; i++) {
		for (c = 0; !l[i].skip && c < t[i].ncomm; c++) {
			const struct egr_comm_stat *s = &t[i].comm[c];

			if (!(audit ? s->audit : s->denied) && s->other)
				continue; /* the overflow row, unused */
			fprintf(f, "%s{target=\"%s\",comm=\"",
				audit ? "egressctl_audit_connections_total" :
					"egressctl_denied_connections_total",
				l[i].target);
			fprintf(f, "%s\"} %" PRIu64 "\n",
				s->other ? METRICS_COMM_OTHER : metrics_comm_text(s->comm, name, sizeof(name)),
				audit ? s->audit : s->denied);
		}
	}
}

int metrics_format(FILE *f, const struct metrics_target *t, size_t n, const char *version,
		   const char *libbpf)
{
	struct tlabels *l = calloc(n ? n : 1, sizeof(*l));
	size_t i;
	int err;

	if (!l)
		return -ENOMEM;
	err = make_labels(t, n, l);
	if (err)
		goto out;

	family(f, "egressctl_build_info", "gauge",
	       "egressctl version and the libbpf it runs with; always 1.");
	fputs("egressctl_build_info{version=\"", f);
	metrics_escape(f, version);
	fputs("\",libbpf=\"", f);
	metrics_escape(f, libbpf);
	fputs("\"} 1\n", f);

	family(f, "egressctl_attached", "gauge",
	       "1 while the filter is attached to a live cgroup, 0 once the cgroup is gone.");
	per_target(f, t, n, l, "egressctl_attached", true, get_alive);

	family(f, "egressctl_packets_total", "counter",
	       "Outgoing packets judged by the policy, by verdict (audit: would-be drop let out).");
	stat_family(f, t, n, l, "egressctl_packets_total", false, true);
	family(f, "egressctl_bytes_total", "counter",
	       "Bytes (IP packet length) of outgoing packets judged by the policy, by verdict.");
	stat_family(f, t, n, l, "egressctl_bytes_total", true, true);

	family(f, "egressctl_unjudged_packets_total", "counter",
	       "Outgoing packets decided before the policy, by reason: loopback, inbound "
	       "(replies on accepted connections) and ndp (IPv6 neighbour discovery) pass; "
	       "malformed and nopolicy are dropped.");
	stat_family(f, t, n, l, "egressctl_unjudged_packets_total", false, false);
	family(f, "egressctl_unjudged_bytes_total", "counter",
	       "Bytes of outgoing packets decided before the policy, by reason.");
	stat_family(f, t, n, l, "egressctl_unjudged_bytes_total", true, false);

	family(f, "egressctl_rule_hits_total", "counter",
	       "Packets decided by each rule in force (kept across edits while the rule stays).");
	rule_family(f, t, n, l);

	family(f, "egressctl_denied_connections_total", "counter",
	       "connect() and sendmsg() calls refused at the socket, by process name (at most "
	       "64 names per target, the rest under comm=\"" METRICS_COMM_OTHER "\").");
	comm_family(f, t, n, l, false);
	family(f, "egressctl_audit_connections_total", "counter",
	       "connect() and sendmsg() calls audit mode let through that the policy denies, by "
	       "process name (bounded as egressctl_denied_connections_total).");
	comm_family(f, t, n, l, true);

	family(f, "egressctl_policy_rules", "gauge", "Rules in force.");
	per_target(f, t, n, l, "egressctl_policy_rules", false, get_nrules);
	family(f, "egressctl_audit_mode", "gauge",
	       "1 in audit mode (nothing dropped, would-be drops counted as audit), else 0.");
	per_target(f, t, n, l, "egressctl_audit_mode", false, get_audit);

	family(f, "egressctl_map_entries", "gauge",
	       "Entries in use: rules, prefixes per address family (trie entries), names, "
	       "and addresses learned from DNS answers that have not expired.");
	map_family(f, t, n, l, false);
	family(f, "egressctl_map_capacity", "gauge",
	       "Capacity of each map (attach --max-rules; learned: --max-learned).");
	map_family(f, t, n, l, true);

	family(f, "egressctl_dns_queries_total", "counter",
	       "DNS queries the cgroup sent to a resolver it may use, recorded to match answers.");
	per_target(f, t, n, l, "egressctl_dns_queries_total", true, get_dns_queries);
	family(f, "egressctl_dns_answers_total", "counter",
	       "DNS answers received, by result: learned from, or ignored (untrusted: no matching "
	       "query of the socket, or another source, port or device; mismatch: another "
	       "question; malformed; truncated: TC, too big, or TCP split over segments).");
	dns_family(f, t, n, l, true);
	family(f, "egressctl_dns_addresses_total", "counter",
	       "Addresses of accepted answers for name rules, by fate: learned (or refreshed), not "
	       "learned (capacity: over max_per_name, or a rule reference pushed out), evicted "
	       "(the oldest, to make room).");
	dns_family(f, t, n, l, false);
	family(f, "egressctl_dns_forged_total", "counter",
	       "Packets dropped because the cgroup sent them from its resolver's address and port "
	       "53 (a forged answer).");
	per_target(f, t, n, l, "egressctl_dns_forged_total", true, get_dns_forged);
	family(f, "egressctl_dns_learned_addresses", "gauge",
	       "Addresses the cgroup's name rules hold now (learned, not yet expired).");
	per_target(f, t, n, l, "egressctl_dns_learned_addresses", false, get_learned);

	family(f, "egressctl_events_sent_total", "counter",
	       "Denied/audited packet events sent to `egressctl events` (only while one runs).");
	per_target(f, t, n, l, "egressctl_events_sent_total", true, get_ev_sent);
	family(f, "egressctl_events_suppressed_total", "counter",
	       "Events not sent: over the per-cgroup rate limit (the verdict is unaffected).");
	per_target(f, t, n, l, "egressctl_events_suppressed_total", true, get_ev_suppressed);
	family(f, "egressctl_events_lost_total", "counter",
	       "Events lost: the ring buffer was full (the reader is too slow).");
	per_target(f, t, n, l, "egressctl_events_lost_total", true, get_ev_lost);
	err = ferror(f) ? -EIO : 0;
out:
	for (i = 0; i < n; i++) {
		free(l[i].target);
		free(l[i].tc);
	}
	free(l);
	return err;
}

int metrics_format_guard(FILE *f, const struct egr_guard_info *gi, size_t held)
{
	static const char *const verdicts[EGR_GSTAT_MAX] = { "managed", "allowed", "denied",
							      "loopback", "malformed" };
	int k;

	family(f, "egressctl_guard_installed", "gauge",
	       "1 while a strict-mode guard is pinned (watch --strict), else 0.");
	fprintf(f, "egressctl_guard_installed %d\n", gi != NULL);
	if (!gi)
		return ferror(f) ? -EIO : 0;
	family(f, "egressctl_guard_attached", "gauge",
	       "1 while the guard is attached to a live cgroup, 0 once its cgroup is gone.");
	fputs("egressctl_guard_attached{cgroup=\"", f);
	metrics_escape(f, gi->meta.path);
	fprintf(f, "\"} %d\n", gi->alive);
	family(f, "egressctl_guard_cgroups", "gauge",
	       "Cgroups under the guard: managed (their filter decides), allowed (watch found no "
	       "policy and lets them out), held (a process and no policy: all traffic but "
	       "loopback dropped).");
	fputs("egressctl_guard_cgroups{cgroup=\"", f);
	metrics_escape(f, gi->meta.path);
	fprintf(f, "\",state=\"managed\"} %zu\n", gi->managed);
	fputs("egressctl_guard_cgroups{cgroup=\"", f);
	metrics_escape(f, gi->meta.path);
	fprintf(f, "\",state=\"allowed\"} %zu\n", gi->entries - gi->managed);
	fputs("egressctl_guard_cgroups{cgroup=\"", f);
	metrics_escape(f, gi->meta.path);
	fprintf(f, "\",state=\"held\"} %zu\n", held);
	family(f, "egressctl_guard_packets_total", "counter",
	       "Packets the guard judged, by verdict (denied: dropped, no policy in force).");
	for (k = 0; k < EGR_GSTAT_MAX; k++) {
		fputs("egressctl_guard_packets_total{cgroup=\"", f);
		metrics_escape(f, gi->meta.path);
		fprintf(f, "\",verdict=\"%s\"} %llu\n", verdicts[k],
			(unsigned long long)gi->stats[k].packets);
	}
	return ferror(f) ? -EIO : 0;
}

/* The guard's families, from the pins (none pinned: installed 0). */
static int render_guard(FILE *f)
{
	struct egr_guard_info gi;
	struct egr_guard_held h;
	int err;

	if (guard_info(&gi))
		return metrics_format_guard(f, NULL, 0);
	guard_held(&h);
	err = metrics_format_guard(f, &gi, h.count);
	guard_held_free(&h);
	return err;
}

int metrics_render(const uint64_t *only, size_t nonly, char **buf, size_t *len,
		   struct egr_warn *warn)
{
	struct metrics_target *t;
	size_t n;
	FILE *f;
	int err = metrics_collect(only, nonly, &t, &n, warn);

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
	if (!err && !nonly)
		err = render_guard(f);
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
