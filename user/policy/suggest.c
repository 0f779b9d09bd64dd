// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A policy file from what audit mode observed (see suggest.h). */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "policy/suggest.h"

/* One suggested rule's destination and port, with its packets. */
struct item {
	struct egr_dest dest;
	struct egr_portspec ps;
	uint64_t packets;
	size_t naddr; /* observed addresses it covers */
};

static int cmp_obs(const void *pa, const void *pb)
{
	const struct suggest_obs *a = *(const struct suggest_obs *const *)pa;
	const struct suggest_obs *b = *(const struct suggest_obs *const *)pb;

	if (!a->name != !b->name)
		return a->name ? 1 : -1;
	if (a->name && strcmp(a->name, b->name))
		return strcmp(a->name, b->name);
	if (a->name && a->proto != b->proto)
		return a->proto - b->proto;
	if (a->name && a->dport != b->dport)
		return a->dport - b->dport;
	if (a->family != b->family)
		return a->family - b->family;
	if (a->proto != b->proto)
		return a->proto - b->proto;
	if (a->dport != b->dport)
		return a->dport - b->dport;
	return memcmp(a->addr, b->addr, 16);
}

static int cmp_item(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c;

	if (a->dest.family != b->dest.family)
		return a->dest.family - b->dest.family;
	if (dest_is_name(&a->dest))
		c = strcmp(dest_name(&a->dest), dest_name(&b->dest));
	else
		c = memcmp(a->dest.addr, b->dest.addr, 16);
	if (c)
		return c;
	if (a->dest.plen != b->dest.plen)
		return a->dest.plen - b->dest.plen;
	if (a->ps.proto != b->ps.proto)
		return (int)a->ps.proto - (int)b->ps.proto;
	return (int)a->ps.lo - (int)b->ps.lo;
}

/* Do a and b share their first n bits? */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned int n)
{
	unsigned int full = n / 8, rest = n % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest)));
}

/* The number of leading bits a and b share (bits: 32 or 128). */
static unsigned int common_bits(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int n = 0;

	while (n < bits && same_bits(a, b, n + 1))
		n++;
	return n;
}

static void set_dest(struct egr_dest *d, uint8_t family, const uint8_t *addr, unsigned int plen)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->family = family;
	d->plen = plen;
	for (i = 0; i < plen / 8; i++)
		d->addr[i] = addr[i];
	if (plen % 8)
		d->addr[i] = addr[i] & (uint8_t)(0xff << (8 - plen % 8));
}

/* The portspec of an observation; false when no rule but an address-only
 * one can allow it (another protocol, or no port known).
 */
static bool portspec_of(const struct suggest_obs *o, struct egr_portspec *ps)
{
	memset(ps, 0, sizeof(*ps));
	if (o->ports_unknown)
		return false;
	switch (o->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		ps->proto = o->proto == IPPROTO_TCP ? EGR_UP_TCP : EGR_UP_UDP;
		ps->has_ports = true;
		ps->lo = ps->hi = o->dport;
		return o->dport != 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		ps->proto = EGR_UP_ICMP;
		return true;
	}
	return false;
}

/* Group the allowable observations (sorted: family, proto, port, address)
 * into items.
 */
static size_t group(struct suggest_obs **s, size_t n, const struct suggest_opts *opt,
		    struct item *it)
{
	size_t i = 0, j, k, ni = 0;

	while (i < n) {
		const struct suggest_obs *a = s[i];
		unsigned int bits = a->family == 4 ? 32 : 128;
		int g = a->family == 4 ? opt->group4 : opt->group6;
		unsigned int plen = bits;

		/* s[i..j): same class, and the same name, or with a bound the
		 * same first g bits
		 */
		for (j = i + 1; j < n; j++) {
			const struct suggest_obs *b = s[j];

			if (b->proto != a->proto || b->dport != a->dport || !b->name != !a->name)
				break;
			if (a->name ? strcmp(a->name, b->name) :
				      b->family != a->family || !g || !same_bits(a->addr, b->addr, g))
				break;
		}
		if (j - i > 1 && !a->name)
			plen = common_bits(s[i]->addr, s[j - 1]->addr, bits);
		memset(&it[ni], 0, sizeof(it[ni]));
		if (a->name)
			dest_set_name(&it[ni].dest, a->name);
		else
			set_dest(&it[ni].dest, a->family, a->addr, plen);
		portspec_of(a, &it[ni].ps);
		for (k = i; k < j; k++)
			it[ni].packets += s[k]->packets;
		it[ni].naddr = j - i;
		ni++;
		i = j;
	}
	return ni;
}

/* Name items an allow rule in force already says (a name rule whose
 * addresses audit mode did not learn): not proposed twice. An address
 * item cannot be one (the policy allowed it, it is no observation). The
 * number left, or 0 with *err -ENOMEM.
 */
static size_t drop_in_force(const struct egr_policy *p, struct item *it, size_t n, int *err)
{
	const struct egr_urule **nr;
	size_t i, j, k = 0, nn = 0;
	bool names = false;

	for (i = 0; i < n; i++)
		names |= dest_is_name(&it[i].dest);
	if (!names)
		return n;
	nr = calloc(p->n ? p->n : 1, sizeof(*nr));
	if (!nr) {
		*err = -ENOMEM;
		return 0;
	}
	for (j = 0; j < p->n; j++)
		if (p->rules[j].action == EGR_ALLOW && dest_is_name(&p->rules[j].dest))
			nr[nn++] = &p->rules[j];
	for (i = 0; i < n; i++) {
		struct egr_urule r = { .action = EGR_ALLOW, .dest = it[i].dest, .ps = it[i].ps };
		bool dup = false;

		for (j = 0; j < nn && !dup && dest_is_name(&r.dest); j++)
			dup = urule_equal(nr[j], &r);
		if (!dup)
			it[k++] = it[i];
	}
	free(nr);
	return k;
}

static void write_rule(FILE *f, const struct egr_urule *r)
{
	char d[EGR_DEST_STRLEN], ps[32];

	fprintf(f, "  - %s: %s\n", r->action == EGR_ALLOW ? "allow" : "deny",
		format_dest(&r->dest, d, sizeof(d)));
	if (r->ps.proto != EGR_UP_ANY)
		fprintf(f, "    ports: [%s]\n", format_portspec(&r->ps, ps, sizeof(ps)));
}

/* The items, one rule per destination with a port list. */
static void write_items(FILE *f, const struct item *it, size_t n)
{
	char d[EGR_DEST_STRLEN], ps[32];
	size_t i, j;

	for (i = 0; i < n; i = j) {
		fprintf(f, "  - allow: %s\n    ports:\n", format_dest(&it[i].dest, d, sizeof(d)));
		for (j = i; j < n && !memcmp(&it[j].dest, &it[i].dest, sizeof(it[i].dest)); j++) {
			fprintf(f, "      - %s  # %" PRIu64 " packets", format_portspec(&it[j].ps, ps,
									       sizeof(ps)),
				it[j].packets);
			if (it[j].naddr > 1)
				fprintf(f, ", %zu addresses", it[j].naddr);
			fputc('\n', f);
		}
	}
}

/* Observations no rule here can allow, as comments. */
static void write_left_out(FILE *f, const struct suggest_obs *o, size_t n)
{
	bool head = false;
	char a[64];
	size_t i;

	for (i = 0; i < n; i++) {
		struct egr_portspec ps;
		struct egr_dest d;
		char p[32];

		if (!o[i].denied_by && portspec_of(&o[i], &ps))
			continue;
		if (!head)
			fprintf(f, "  # observed, not suggested:\n");
		head = true;
		set_dest(&d, o[i].family, o[i].addr, o[i].family == 4 ? 32 : 128);
		format_dest(&d, a, sizeof(a));
		if (o[i].denied_by)
			fprintf(f, "  #   %s %s: %" PRIu64 " packets, denied by the rule \"%s\"\n", a,
				format_portspec(&ps, p, sizeof(p)), o[i].packets, o[i].denied_by);
		else if (o[i].ports_unknown)
			fprintf(f, "  #   %s protocol %u, fragments (no port known): %" PRIu64
				   " packets; only an address-only rule allows them\n",
				a, o[i].proto, o[i].packets);
		else
			fprintf(f, "  #   %s protocol %u: %" PRIu64
				   " packets; only an address-only rule allows it\n",
				a, o[i].proto, o[i].packets);
	}
}

int suggest_format(FILE *f, const struct egr_policy *p, const struct suggest_obs *o, size_t n,
		   const struct suggest_opts *opt)
{
	struct suggest_obs **s = calloc(n ? n : 1, sizeof(*s));
	struct item *it = calloc(n ? n : 1, sizeof(*it));
	uint64_t packets = 0;
	size_t i, ns = 0, ni;
	int err = 0;

	if (!s || !it) {
		free(s);
		free(it);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct egr_portspec ps;

		packets += o[i].packets;
		if (!o[i].denied_by && portspec_of(&o[i], &ps))
			s[ns++] = (struct suggest_obs *)&o[i];
	}
	qsort(s, ns, sizeof(*s), cmp_obs);
	ni = group(s, ns, opt, it);
	ni = drop_in_force(p, it, ni, &err);
	if (err) {
		free(s);
		free(it);
		return err;
	}
	qsort(it, ni, sizeof(*it), cmp_item);

	fprintf(f, "# egressctl suggest %s: the policy in force, with audit off, and an\n"
		   "# allow rule for what audit mode let through that the policy denies\n"
		   "# (%zu destinations and ports, %" PRIu64 " packets).\n"
		   "# Apply with: egressctl apply %s -f <this file>\n",
		opt->target, n, packets, opt->target);
	if (opt->not_recorded)
		fprintf(f, "# %" PRIu64 " more packets went to destinations not recorded: the\n"
			   "# audit map was full (%u entries; egressctl suggest %s --reset empties it).\n",
			opt->not_recorded, EGR_AUDIT_MAX, opt->target);
	fprintf(f, "default: %s\naudit: false\n", p->dflt == EGR_ALLOW ? "allow" : "deny");
	if (!p->n && !ni) {
		fprintf(f, "rules: []\n");
	} else {
		fprintf(f, "rules:\n");
		if (p->n)
			fprintf(f, "  # in force\n");
		for (i = 0; i < p->n; i++)
			write_rule(f, &p->rules[i]);
		if (ni)
			fprintf(f, "  # observed in audit mode\n");
		write_items(f, it, ni);
	}
	write_left_out(f, o, n);
	free(s);
	free(it);
	return ferror(f) ? -EIO : 0;
}
