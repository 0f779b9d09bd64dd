// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl explain: the verdict the policy in the kernel gives a packet to
 * one destination, and why (user/kernel/kexplain.h). Read-only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "kernel/kexplain.h"
#include "obs/metrics.h"
#include "policy/addr.h"
#include "util/log.h"

static const char explain_usage[] =
	"Usage: egressctl explain <target> <address> [<portspec>] [--inbound] [-j|--json]\n"
	"\n"
	"The verdict the policy in force (read from the kernel) gives a packet to\n"
	"<address>, and why: the deciding rule (its text, id and hits), or the\n"
	"default, or 'loopback: always allowed', or a name rule whose name a DNS\n"
	"answer gave this address. Without <portspec>, every protocol\n"
	"and port, grouped by outcome.\n"
	"  <portspec>   tcp:443, udp:53 or icmp\n"
	"  --inbound    the packet is a reply on a TCP connection accepted from\n"
	"               outside (always allowed)\n"
	"  -j, --json   one JSON object\n";

/* <address>: one IPv4 or IPv6 address. */
static int parse_address(const char *s, struct kx_pkt *p)
{
	memset(p->dst, 0, sizeof(p->dst));
	if (inet_pton(AF_INET, s, p->dst) == 1) {
		p->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, p->dst) == 1) {
		p->family = 6;
		return 0;
	}
	if (strchr(s, '/'))
		pr_err("explain: '%s' is a prefix; explain takes one address (e.g. 10.1.2.3)\n", s);
	else
		pr_err("explain: bad address '%s': use an IPv4 or IPv6 address\n", s);
	return -EINVAL;
}

/* <portspec>: tcp:PORT, udp:PORT or icmp. */
static int parse_packet(const char *s, struct kx_pkt *p)
{
	struct egr_portspec ps;
	char err[256];

	if (parse_portspec(s, &ps, err, sizeof(err))) {
		pr_err("%s\n", err);
		return -EINVAL;
	}
	if (ps.proto == EGR_UP_ANY || (ps.proto != EGR_UP_ICMP && !ps.has_ports) ||
	    (ps.has_ports && ps.lo != ps.hi)) {
		pr_err("explain: '%s' is not one packet's protocol and port: use tcp:443, udp:53 or icmp\n",
		       s);
		return -EINVAL;
	}
	p->proto = ps.proto == EGR_UP_TCP ? IPPROTO_TCP :
		   ps.proto == EGR_UP_UDP ? IPPROTO_UDP :
		   p->family == 4	   ? IPPROTO_ICMP :
					     IPPROTO_ICMPV6;
	p->dport = ps.has_ports ? ps.lo : 0;
	return 0;
}

static const char *proto_text(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return "icmp";
	}
	return "other protocols";
}

/* "allowed" / "denied" / "audit" (denied by the policy, let through). */
static const char *verdict_text(const struct kx_result *r)
{
	if (r->verdict == EGR_ALLOW)
		return "allowed";
	return r->audit ? "audit" : "denied";
}

static const char *reason_text(enum kx_reason r)
{
	static const char *const t[] = { "rule", "default", "loopback", "inbound", "learned" };

	return t[r];
}

/* "allowed by rule 3 "allow ..." (12 hits)", "denied by default", ... */
static void why(const struct kx_result *r, char *buf, size_t len)
{
	char rt[EGR_DEST_STRLEN + 64];
	const char *v = r->verdict == EGR_ALLOW ? "allowed" : "denied";

	switch (r->reason) {
	case KX_LOOPBACK:
		snprintf(buf, len, "allowed: loopback: always allowed");
		return;
	case KX_INBOUND:
		snprintf(buf, len, "allowed: reply on an inbound TCP connection: always allowed");
		return;
	case KX_RULE:
		snprintf(buf, len, "%s%s by rule %u \"%s\" (%" PRIu64 " hits)",
			 r->audit && r->verdict == EGR_DENY ? "would be " : "", v, r->rule_id,
			 metrics_rule_text(&r->rule, rt, sizeof(rt)), r->hits);
		break;
	case KX_LEARNED:
		snprintf(buf, len, "allowed by rule %u \"%s\" (%" PRIu64 " hits): learned from a DNS answer, %" PRIu64 " s left",
			 r->rule_id, metrics_rule_text(&r->rule, rt, sizeof(rt)), r->hits,
			 r->left_ms / 1000);
		return;
	case KX_DEFAULT:
		snprintf(buf, len, "%s%s by default", r->audit && r->verdict == EGR_DENY ? "would be " : "",
			 v);
		break;
	}
	if (r->audit && r->verdict == EGR_DENY)
		snprintf(buf + strlen(buf), len - strlen(buf), " (audit mode: let through)");
}

/* "443", "1-442,444-65535", "" for a whole protocol. */
static void ports_text(const struct kx_class *c, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	if (c->nports == 1 && c->ports[0].lo == 1 && c->ports[0].hi == 65535)
		return;
	for (i = 0; i < c->nports && o < len; i++) {
		if (c->ports[i].lo == c->ports[i].hi)
			o += snprintf(buf + o, len - o, "%s%u", i ? "," : "", c->ports[i].lo);
		else
			o += snprintf(buf + o, len - o, "%s%u-%u", i ? "," : "", c->ports[i].lo,
				      c->ports[i].hi);
	}
}

static json_t *result_json(uint8_t proto, const char *ports, const struct kx_result *r)
{
	char rt[EGR_DEST_STRLEN + 64];
	bool rule = r->reason == KX_RULE || r->reason == KX_LEARNED;

	return json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o}", "proto", proto_text(proto),
			 "ports", ports && *ports ? json_string(ports) : json_null(), "verdict",
			 verdict_text(r), "reason", reason_text(r->reason), "rule",
			 rule ? json_string(metrics_rule_text(&r->rule, rt, sizeof(rt))) : json_null(),
			 "rule_id", rule ? json_integer(r->rule_id) : json_null(), "hits",
			 rule ? json_integer((json_int_t)r->hits) : json_null(), "ttl",
			 r->reason == KX_LEARNED ? json_integer((json_int_t)(r->left_ms / 1000)) :
						   json_null());
}

static int explain_json(const struct egr_target *t, const struct egr_kstate *ks, const char *addr,
		      json_t *results, uint64_t gen, bool audit)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:b, s:o}", "target", t->label, "cgroup",
			      ks->meta.path, "cgroup_id", (json_int_t)ks->cgid, "address", addr,
			      "generation", (json_int_t)gen, "audit", audit, "results", results);

	if (o && !print_json(o))
		return 0;
	pr_err("explain: %s\n", strerror(ENOMEM));
	return 1;
}

/* One packet. */
static int explain_one(const struct egr_target *t, const struct egr_kstate *ks,
		       const struct kx_pkt *p, const char *addr, bool json)
{
	char w[512], ports[8] = "";
	struct kx_result r;
	int ret = kexplain(ks, p, &r);

	if (ret) {
		pr_err("%s: reading the policy: %s\n", t->label, strerror(-ret));
		return 1;
	}
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)
		snprintf(ports, sizeof(ports), "%u", p->dport);
	if (json)
		return explain_json(t, ks, addr, json_pack("[o]", result_json(p->proto, ports, &r)),
				  r.generation, r.audit);
	why(&r, w, sizeof(w));
	if (*ports)
		printf("%s: %s %s%s%s:%s %s\n", t->label, proto_text(p->proto),
		       p->family == 6 ? "[" : "", addr, p->family == 6 ? "]" : "", ports, w);
	else
		printf("%s: %s %s %s\n", t->label, proto_text(p->proto), addr, w);
	return 0;
}

/* Every protocol and port, by outcome. */
static int explain_all(const struct egr_target *t, const struct egr_kstate *ks,
		       const struct kx_pkt *p, const char *addr, bool json)
{
	struct kx_class *c;
	json_t *results = json_array();
	size_t n, i;
	int ret = kexplain_all(ks, p, &c, &n);

	if (ret) {
		json_decref(results);
		pr_err("%s: reading the policy: %s\n", t->label, strerror(-ret));
		return 1;
	}
	if (!json)
		printf("%s: %s\n", t->label, addr);
	for (i = 0; i < n; i++) {
		char ports[1024], what[1100], w[512];

		ports_text(&c[i], ports, sizeof(ports));
		if (json) {
			json_array_append_new(results, result_json(c[i].proto, ports, &c[i].r));
			continue;
		}
		snprintf(what, sizeof(what), "%s%s%s", proto_text(c[i].proto), *ports ? ":" : "",
			 ports);
		why(&c[i].r, w, sizeof(w));
		printf("  %-24s %s\n", what, w);
	}
	if (json)
		ret = explain_json(t, ks, addr, results, n ? c[0].r.generation : 0,
				 n && c[0].r.audit);
	else
		json_decref(results);
	kexplain_free(c, n);
	return ret;
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "inbound", no_argument, NULL, 'i' },
					      HELP_OPT,
					      { 0 } };
	struct kx_pkt p = { 0 };
	struct egr_target t;
	struct egr_kstate ks;
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'i')
			p.inbound = true;
		else
			return usage(explain_usage, c != 'h');
	}
	if (argc - optind < 2 || argc - optind > 3)
		return usage(explain_usage, true);
	if (parse_address(argv[optind + 1], &p))
		return 1;
	if (argc - optind == 3 && parse_packet(argv[optind + 2], &p))
		return 1;
	if (need_root() || open_target(argv[optind], &t, &ks))
		return 1;
	if (argc - optind == 3)
		ret = explain_one(&t, &ks, &p, argv[optind + 1], json);
	else
		ret = explain_all(&t, &ks, &p, argv[optind + 1], json);
	kstate_close(&ks);
	return ret;
}
