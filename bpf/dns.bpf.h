/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Domain-name rules: what the program learns from DNS answers, and how the
 * judge uses it (include/egressctl.h has the maps, README "Domain names"
 * the semantics, docs/security.md the trust model).
 *
 * Egress (dns_egress_early(), dns_egress_query()):
 *  - a query the cgroup sends to a resolver it may use (an address the
 *    policy allows on port 53, or Docker's embedded DNS at 127.0.0.11) is
 *    recorded in egr_dnsq under (socket cookie, id, protocol), with the
 *    resolver's address and the question;
 *  - a packet the cgroup sends FROM such a resolver's address and port 53
 *    is dropped: the cgroup pretending to be its resolver (a bound or
 *    transparent socket, a raw packet looped back or bounced off the
 *    gateway).
 * Ingress (dns_ingress()): an answer counts only if it matches a recorded
 * query of the receiving socket (id, protocol, resolver address, source
 * port 53, the question), came in over loopback exactly when the resolver
 * is Docker's 127.0.0.11 (AF_PACKET injection on lo bypasses every egress
 * hook), and parses. Its addresses are then inserted into egr_learn, for
 * the name rules that match a name of its CNAME chain, before the answer
 * reaches the socket: the application cannot connect before the address
 * is allowed. Ingress never drops.
 * Judge (dns_judge_learned()): only when the address walk ended in a
 * default deny.
 *
 * Included by bpf/egressctl.bpf.c after struct walk_ctx, read_gen(),
 * rule_match() and walk_init().
 */
#ifndef DNS_BPF_H
#define DNS_BPF_H

#include "dns_parse.bpf.h"

/* Set at load (kstate_load()): the policy and learned-address capacity. */
const volatile __u32 egr_cap = EGR_DEFAULT_MAX_RULES;
const volatile __u32 egr_learn_cap = EGR_DEFAULT_MAX_LEARNED;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * EGR_DEFAULT_MAX_RULES); /* set at attach */
	__type(key, struct egr_lpm_name);
	__type(value, struct egr_prefix);
} egr_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * EGR_DEFAULT_MAX_RULES); /* set at attach */
	__type(key, __u32);
	__type(value, __u32);
} egr_nlive SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EGR_DNSQ_MAX);
	__type(key, struct egr_dnsq_key);
	__type(value, struct egr_dnsq);
} egr_dnsq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EGR_DEFAULT_MAX_LEARNED + 64); /* set at attach */
	__type(key, struct egr_learn_key);
	__type(value, struct egr_learned);
} egr_learn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EGR_DEFAULT_MAX_LEARNED); /* set at attach */
	__type(key, __u32);
	__type(value, struct egr_lslot);
} egr_lring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EGR_AUDIT_MAX);
	__type(key, struct egr_learn_key);
	__type(value, struct egr_aname);
} egr_anames SEC(".maps");

/* Work areas: ingress answers (egr_dscr), egress queries (egr_qscr). */
#define DNS_MATCH_MAX 16 /* name trie entries matched by a chain */
#define DNS_CREF_MAX 16 /* rules they hold, as learned references */

struct dns_match {
	__u32 first;
	__u16 count;
	__u8 chain;
	__u8 pad;
};

struct dns_cref {
	struct egr_lref ref;
	__u32 chain;
	__u32 pad;
};

/* struct egr_learned, byte for byte, without the lock's type: a work
 * area (per-CPU) may not hold a bpf_spin_lock.
 */
struct dns_learned_raw {
	__u32 lock;
	__u32 seq;
	__u64 ring_seq;
	struct egr_lref ref[EGR_LEARN_REFS];
};
_Static_assert(sizeof(struct dns_learned_raw) == sizeof(struct egr_learned),
	       "dns_learned_raw must mirror egr_learned");

struct egr_dns_work {
	struct egr_dns_parse p;
	struct egr_lpm_name key;
	__u32 nmatch, ncref;
	struct dns_match match[DNS_MATCH_MAX];
	struct dns_cref cref[DNS_CREF_MAX];
	struct dns_learned_raw val; /* a new egr_learn value */
	struct egr_dnsq q; /* a new egr_dnsq value; ingress: the query */
	struct egr_dnsq_key qk;
	struct egr_pkt pkt; /* ingress: the answer's headers */
	/* the learn loop */
	__u32 slot, min_ttl, max_per_name, learned, changed, ai, kmatch, nref;
	__u32 flags; /* the live slot's EGR_SF_* */
	struct egr_aname an; /* audit mode: the question's name, for egr_anames */
	__u32 cref_end[EGR_DNS_CHAIN]; /* crefs of chain names 0..k (crefs are in chain order) */
	__u64 now;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egr_dns_work);
} egr_dscr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egr_dns_work);
} egr_qscr SEC(".maps");

struct dns_wctx {
	struct egr_dns_work *w;
	struct egr_learned *v; /* dns_merge_one(): the entry */
	__u32 revived, over;
};

static __always_inline void dns_count(__u32 stat, __u32 n)
{
	struct egr_counter *ctr = bpf_map_lookup_elem(&egr_stats, &stat);

	if (ctr)
		ctr->packets += n;
}

static __always_inline struct egr_ctl *dns_ctl0(void)
{
	__u32 k = EGR_CTL_ACTIVE;

	return bpf_map_lookup_elem(&egr_ctl, &k);
}

/* The live slot's configuration if it has name rules (answers teach them)
 * or is in audit mode (answers name addresses for suggest), else NULL.
 */
static __always_inline struct egr_ctl *dns_slot_cfg(__u32 *slot)
{
	__u64 gen = read_gen();
	struct egr_ctl *cfg;
	__u32 k;

	if (!gen)
		return NULL;
	k = 1 + (gen & 1);
	cfg = bpf_map_lookup_elem(&egr_ctl, &k);
	if (!cfg || !(READ_ONCE(cfg->flags) & (EGR_SF_NAMES | EGR_SF_AUDIT)))
		return NULL;
	*slot = gen & 1;
	return cfg;
}

/* An IPv4-mapped source (::ffff:a.b.c.d) as IPv4, as queries are. */
static __always_inline void unmap_v4mapped_src(struct egr_pkt *p)
{
	__u32 *w = (__u32 *)p->src;

	if (w[0] || w[1] || w[2] != bpf_htonl(0xffff))
		return;
	p->family = 4;
	w[0] = w[3];
	w[3] = 0;
	w[2] = 0;
}

static __always_inline bool dns_is_docker(const struct egr_pkt *p, const __u8 *a)
{
	return p->family == 4 && a[0] == 127 && a[1] == 0 && a[2] == 0 && a[3] == 11;
}

static __always_inline bool dns_addr_eq(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* Is the incarnation of name rule id in slot inc? */
static __always_inline bool dns_rule_live(__u32 slot, __u32 id, __u32 inc)
{
	__u32 k, *v;

	if (!inc || id >= egr_cap)
		return false;
	k = slot * egr_cap + id;
	v = bpf_map_lookup_elem(&egr_nlive, &k);
	return v && *v == inc;
}

/* --- the judge: learned addresses, just above a default deny --- */

static __always_inline bool dns_ref_match(const struct egr_lref *r, const struct egr_pkt *p)
{
	if (r->proto == EGR_PROTO_ANY)
		return true;
	if (p->flags & PKT_PROTO_UNKNOWN || r->proto != p->proto)
		return false;
	if (!(r->flags & EGR_RF_PORTS))
		return true;
	if (p->flags & PKT_PORTS_UNKNOWN)
		return false;
	return p->dport >= r->port_lo && p->dport <= r->port_hi;
}

/*
 * The walk of c ended in the default, deny, of a slot with name rules: does
 * the socket's grant (c->grant_*, TCP) or an address learned for a rule in
 * force allow the packet? Then c says allow, by that rule (hits), via
 * EGR_VIA_GRANT or EGR_VIA_LEARNED (until c->expires).
 */
__noinline int egr_judge_learned(struct walk_ctx *c)
{
	struct egr_learn_key key = {};
	__u32 i, t, seq, torn;
	struct egr_learned *v;
	struct egr_lref r;
	__u64 now;

	if (!c)
		return 0;
	if (c->grant_inc && dns_rule_live(c->slot, c->grant_id, c->grant_inc)) {
		c->verdict = EGR_ALLOW;
		c->rule = c->grant_id;
		c->via = EGR_VIA_GRANT;
		c->inc = c->grant_inc;
		return 0;
	}
	key.family = c->pkt.family;
	__builtin_memcpy(key.addr, c->pkt.dst, 16);
	v = bpf_map_lookup_elem(&egr_learn, &key);
	if (!v)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	/* Each reference is read whole between two reads of .seq (a writer
	 * holds it odd); one read while a writer was at work is not used,
	 * and the references are read again, once.
	 */
	for (t = 0; t < 2; t++) {
		torn = 0;
		for (i = 0; i < EGR_LEARN_REFS; i++) {
			seq = READ_ONCE(v->seq);
			barrier();
			r = v->ref[i];
			barrier();
			if ((seq & 1) || READ_ONCE(v->seq) != seq) {
				torn = 1;
				continue;
			}
			if (!r.inc || r.expires <= now || !dns_ref_match(&r, &c->pkt) ||
			    !dns_rule_live(c->slot, r.id, r.inc))
				continue;
			c->verdict = EGR_ALLOW;
			c->rule = r.id;
			c->via = EGR_VIA_LEARNED;
			c->inc = r.inc;
			c->expires = r.expires;
			return 0;
		}
		if (!torn)
			return 0;
	}
	return 0;
}

/* --- egress: queries recorded, forgeries dropped --- */

/* Could this packet be DNS (a query, or a forged answer)? Cheap. */
static __always_inline bool dns_candidate(const struct egr_pkt *p)
{
	if ((p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) ||
	    (p->flags & (PKT_PORTS_UNKNOWN | PKT_PROTO_UNKNOWN)))
		return false;
	return p->sport == EGR_DNS_PORT || p->dport == EGR_DNS_PORT || dns_is_docker(p, p->dst);
}

/* Offset and length of the DNS message in the packet (TCP: after the
 * 2-byte length, which must be what the segment holds); -1 if none.
 */
static __always_inline int dns_payload(struct __sk_buff *skb, const struct egr_pkt *p, __u32 *len)
{
	__u32 off = p->l4off;
	__u8 b[2];

	if (p->proto == IPPROTO_UDP) {
		off += 8;
	} else {
		if (load(skb, off + 12, b, 1))
			return -1;
		off += (b[0] >> 4) * 4;
		if (load(skb, off, b, 2))
			return -1;
		if (off + 2 + (((__u32)b[0] << 8) | b[1]) != skb->len)
			return -1; /* not one whole message in this segment */
		off += 2;
	}
	if (off + 12 > skb->len)
		return -1;
	*len = skb->len - off;
	return off;
}

/* Copy len bytes at off into the work area's message (len >= 1). */
static __always_inline int dns_copy(struct __sk_buff *skb, __u32 off, __u32 len,
				    struct egr_dns_parse *s)
{
	if (len > EGR_DNS_MSG_MAX || len < 12)
		return -1;
	s->mlen = len;
	return bpf_skb_load_bytes(skb, off, s->msg, len & (2 * EGR_DNS_MSG_MAX - 1));
}

/* Record the query p carries (to a trusted resolver: loopback says which
 * kind). Anything that is not a plain query is left alone.
 */
__noinline int egr_dns_record(struct __sk_buff *skb, struct egr_pkt *p, __u32 loopback)
{
	struct egr_dnsq_key qk = {};
	struct egr_dns_work *w;
	struct egr_dnsq *q;
	struct bpf_sock *sk;
	__u32 z = 0, len = 0, slot;
	int off, e;

	if (!skb || !p || !dns_slot_cfg(&slot))
		return 0;
	off = dns_payload(skb, p, &len);
	if (off < 0 || len > 512 + 2 * EGR_NAME_KEY_MAX)
		return 0; /* a query is small; a bigger one is not recorded */
	w = bpf_map_lookup_elem(&egr_qscr, &z);
	if (!w || dns_copy(skb, off, len, &w->p))
		return 0;
	/* QR 0, opcode 0 (QUERY), one question */
	if ((w->p.msg[2] & 0xf8) || dns_u16(&w->p, 4) != 1)
		return 0;
	e = egr_dns_expand(&w->p, 12, 0);
	if (e < 0 || e + 4 > w->p.mlen || dns_u16(&w->p, e + 2) != DNS_C_IN)
		return 0;
	q = &w->q;
	__builtin_memset(q, 0, sizeof(*q));
	__builtin_memcpy(q->qname, w->p.chain[0], EGR_NAME_KEY_MAX);
	q->qlen = w->p.x_olen;
	q->qtype = dns_u16(&w->p, e);
	q->family = p->family;
	q->flags = loopback ? EGR_DQ_LOOPBACK : 0;
	__builtin_memcpy(q->resolver, p->dst, 16);
	__builtin_memcpy(q->resolver2, p->dst, 16);
	sk = skb->sk;
	if (sk && !loopback) {
		/* a connected socket's own peer: the address before any NAT
		 * (a service address DNATed to a resolver), which the answer
		 * comes back from
		 */
		if (p->family == 4 && sk->family == 2 /* AF_INET */) {
			__u32 a = sk->dst_ip4;

			if (a)
				__builtin_memcpy(q->resolver2, &a, 4);
		}
	}
	qk.cookie = bpf_get_socket_cookie(skb);
	qk.id = (__u16)w->p.msg[0] | ((__u16)w->p.msg[1] << 8);
	qk.proto = p->proto;
	if (!bpf_map_update_elem(&egr_dnsq, &qk, q, BPF_ANY))
		dns_count(EGR_STAT_DNS_QUERIES, 1);
	return 0;
}

/*
 * Before the loopback pass: a query to Docker's embedded DNS is recorded
 * (Docker has already DNATed port 53 to its own); a packet from a
 * resolver's address and port 53 (Docker's, or one the policy allows on
 * port 53 of that protocol) is a forgery: returns 1, drop it. c is the
 * packet being judged; only its pkt is used (and restored).
 */
static __always_inline int dns_egress_early(struct __sk_buff *skb, struct walk_ctx *c)
{
	struct egr_pkt *p = &c->pkt;
	struct egr_ctl *cfg;
	__u8 dst[16];
	__u16 dport;
	__u32 slot, flags;
	bool forged;

	if (!dns_candidate(p))
		return 0;
	cfg = dns_slot_cfg(&slot);
	if (!cfg)
		return 0;
	flags = READ_ONCE(cfg->flags);
	/* Forging matters only where answers teach name rules: never in
	 * audit mode, which learns nothing and drops nothing.
	 */
	if (p->sport == EGR_DNS_PORT && (flags & EGR_SF_NAMES) && !(flags & EGR_SF_AUDIT)) {
		if (dns_is_docker(p, p->src)) {
			forged = true;
		} else {
			/* judge (src, port 53) as if it were the destination */
			__builtin_memcpy(dst, p->dst, 16);
			dport = p->dport;
			__builtin_memcpy(p->dst, p->src, 16);
			p->dport = EGR_DNS_PORT;
			walk_init(c);
			forged = !egr_judge(c) && c->state == EGR_WALK_RULE &&
				 c->verdict == EGR_ALLOW;
			__builtin_memcpy(p->dst, dst, 16);
			p->dport = dport;
			c->rule = EGR_RULE_DEFAULT;
			c->via = EGR_VIA_RULE;
			c->state = EGR_WALK_MORE;
		}
		if (forged) {
			dns_count(EGR_STAT_DNS_FORGED, 1);
			return 1;
		}
	}
	if (dns_is_docker(p, p->dst))
		egr_dns_record(skb, p, 1);
	return 0;
}

/* After the verdict: a query to port 53 the policy lets out is recorded. */
static __always_inline void dns_egress_query(struct __sk_buff *skb, struct egr_pkt *p)
{
	if (p->dport == EGR_DNS_PORT && dns_candidate(p) && !dns_is_docker(p, p->dst))
		egr_dns_record(skb, p, 0);
}

/* --- ingress: answers judged and learned from --- */

/* The name trie entries matching chain name k (exact, then wildcards of
 * ever shorter suffixes), appended to w->match.
 */
static long dns_rev_byte(__u64 j, void *data)
{
	struct egr_dns_work *w = ((struct dns_wctx *)data)->w;
	__u32 k = w->kmatch & (EGR_DNS_CHAIN - 1), n = w->p.clen[k];

	if (j >= n)
		return 1;
	w->key.data[(1 + j) & DNS_NAME_MASK] = w->p.chain[k][(n - 1 - j) & DNS_NAME_MASK];
	return 0;
}

static long dns_walk_step(__u64 j, void *data)
{
	struct egr_dns_work *w = ((struct dns_wctx *)data)->w;
	struct egr_prefix *v;
	__u32 n = w->nmatch;

	v = bpf_map_lookup_elem(&egr_names, &w->key);
	if (!v || n >= DNS_MATCH_MAX)
		return 1;
	w->match[n & (DNS_MATCH_MAX - 1)].first = v->first;
	w->match[n & (DNS_MATCH_MAX - 1)].count = v->count;
	w->match[n & (DNS_MATCH_MAX - 1)].chain = w->kmatch;
	w->nmatch = n + 1;
	if (v->plen <= 1)
		return 1;
	w->key.prefixlen = v->plen * 8 - 1; /* the next shorter entry */
	return 0;
}

static long dns_match_chain(__u64 k, void *data)
{
	struct egr_dns_work *w = ((struct dns_wctx *)data)->w;
	__u32 n;

	if (k >= w->p.nchain)
		return 1;
	w->kmatch = k;
	n = w->p.clen[k & (EGR_DNS_CHAIN - 1)];
	w->key.data[0] = w->slot;
	bpf_loop(EGR_NAME_MAX, dns_rev_byte, data, 0);
	w->key.data[(1 + n) & DNS_NAME_MASK] = 0;
	w->key.prefixlen = 8 * (n + 2);
	bpf_loop(EGR_NAME_WALK, dns_walk_step, data, 0);
	return 0;
}

/* The rules of the matched entries as learned references (w->cref). */
static long dns_cref_of(__u64 m, void *data)
{
	struct egr_dns_work *w = ((struct dns_wctx *)data)->w;
	struct dns_match *mt;
	__u32 j, idx, n;

	if (m >= w->nmatch)
		return 1;
	mt = &w->match[m & (DNS_MATCH_MAX - 1)];
	for (j = 0; j < EGR_MAX_PREFIX_RULES; j++) {
		struct egr_rule *r;
		struct dns_cref *cr;
		__u32 k, *inc;

		if (j >= mt->count)
			break;
		idx = mt->first + j;
		r = bpf_map_lookup_elem(&egr_rules, &idx);
		if (!r || r->action != EGR_ALLOW || r->id >= egr_cap)
			continue;
		k = w->slot * egr_cap + r->id;
		inc = bpf_map_lookup_elem(&egr_nlive, &k);
		n = w->ncref;
		if (!inc || !*inc || n >= DNS_CREF_MAX)
			continue;
		cr = &w->cref[n & (DNS_CREF_MAX - 1)];
		cr->ref.id = r->id;
		cr->ref.inc = *inc;
		cr->ref.port_lo = r->port_lo;
		cr->ref.port_hi = r->port_hi;
		cr->ref.proto = r->proto;
		cr->ref.flags = r->flags;
		cr->chain = mt->chain;
		w->ncref = n + 1;
	}
	w->cref_end[mt->chain & (EGR_DNS_CHAIN - 1)] = w->ncref;
	return 0;
}

/* Take a ring slot for key: the address that held it goes if it still
 * does (the oldest learned address, FIFO). Returns the slot's sequence.
 */
__noinline __u64 egr_dns_ring_take(struct egr_dns_work *w, struct egr_learn_key *key)
{
	struct egr_lslot *ls;
	struct egr_learned *old;
	struct egr_ctl *g;
	__u64 seq;
	__u32 k;

	g = dns_ctl0();
	if (!w || !key || !g)
		return 0;
	seq = __sync_fetch_and_add(&g->lhead, 1) + 1;
	k = seq % egr_learn_cap;
	ls = bpf_map_lookup_elem(&egr_lring, &k);
	if (!ls)
		return 0;
	if (ls->seq) {
		old = bpf_map_lookup_elem(&egr_learn, &ls->key);
		if (old && old->ring_seq == ls->seq && !bpf_map_delete_elem(&egr_learn, &ls->key)) {
			dns_count(EGR_STAT_DNS_EVICTED, 1);
			w->changed = 1;
		}
	}
	__builtin_memcpy(&ls->key, key, sizeof(*key));
	ls->seq = seq;
	return seq;
}

/* Merge reference nr into v's (under its lock): the same rule's expiry
 * moves on; a new rule takes a free or expired place, or else the place of
 * the reference that expires first (*over counts those).
 */
static __always_inline void dns_merge_ref(struct egr_learned *v, const struct egr_lref *nr,
					  __u64 now, __u32 *revived, __u32 *over)
{
	__u32 m, at = EGR_LEARN_REFS;
	__u64 first = ~0ULL;

#pragma unroll
	for (m = 0; m < EGR_LEARN_REFS; m++) {
		struct egr_lref *e = &v->ref[m];

		if (e->inc == nr->inc && e->id == nr->id) {
			if (e->expires <= now)
				*revived = 1;
			if (e->expires < nr->expires)
				e->expires = nr->expires;
			return;
		}
	}
	*revived = 1;
#pragma unroll
	for (m = 0; m < EGR_LEARN_REFS; m++) {
		struct egr_lref *e = &v->ref[m];

		if (!e->inc || e->expires <= now) {
			*e = *nr;
			return;
		}
	}
#pragma unroll
	for (m = 0; m < EGR_LEARN_REFS; m++) {
		if (v->ref[m].expires < first) {
			first = v->ref[m].expires;
			at = m;
		}
	}
	if (at < EGR_LEARN_REFS) {
		v->ref[at] = *nr;
		(*over)++;
	}
}

/* One reference of w->val into the entry c->v, under its lock. */
static long dns_merge_one(__u64 j, void *data)
{
	struct dns_wctx *c = data;
	struct egr_dns_work *w = c->w;
	struct egr_learned *v = c->v;

	if (j >= w->nref || j >= EGR_LEARN_REFS || !v)
		return 1;
	bpf_spin_lock(&v->lock);
	WRITE_ONCE(v->seq, v->seq + 1);
	barrier();
	dns_merge_ref(v, &w->val.ref[j], w->now, &c->revived, &c->over);
	barrier();
	WRITE_ONCE(v->seq, v->seq + 1);
	bpf_spin_unlock(&v->lock);
	return 0;
}

/* Learn one address of the answer for the references of its chain. */
static long dns_learn_addr(__u64 i, void *data)
{
	struct egr_dns_work *w = ((struct dns_wctx *)data)->w;
	struct dns_wctx mc = { .w = w };
	struct egr_learn_key key = {};
	struct egr_dns_addr *a;
	__u64 expires, ttl;
	__u32 j, nref;

	if (i >= w->p.naddr)
		return 1;
	a = &w->p.addr[i & (EGR_DNS_ADDRS - 1)];
	nref = w->cref_end[a->owner & (EGR_DNS_CHAIN - 1)];
	if (!nref)
		return 0;
	if (nref > EGR_LEARN_REFS)
		nref = EGR_LEARN_REFS;
	if (w->learned >= w->max_per_name) {
		dns_count(EGR_STAT_DNS_CAPACITY, 1);
		return 0;
	}
	w->learned++;
	ttl = a->ttl > EGR_MAX_TTL ? EGR_MAX_TTL : a->ttl;
	if (ttl < w->min_ttl)
		ttl = w->min_ttl;
	expires = w->now + ttl * 1000000000ULL;
	key.family = a->family;
	__builtin_memcpy(key.addr, a->addr, 16);

	/* its references: the crefs of the chain up to its owner */
	__builtin_memset(&w->val, 0, sizeof(w->val));
	for (j = 0; j < EGR_LEARN_REFS; j++) {
		if (j >= nref)
			break;
		w->val.ref[j] = w->cref[j].ref;
		w->val.ref[j].expires = expires;
		if (w->val.ref[j].proto == IPPROTO_ICMP && a->family == 6)
			w->val.ref[j].proto = IPPROTO_ICMPV6;
	}
	w->nref = nref;

	mc.v = bpf_map_lookup_elem(&egr_learn, &key);
	if (!mc.v) {
		w->val.ring_seq = egr_dns_ring_take(w, &key);
		if (!bpf_map_update_elem(&egr_learn, &key, &w->val, BPF_NOEXIST)) {
			w->changed = 1;
			return 0;
		}
		mc.v = bpf_map_lookup_elem(&egr_learn, &key); /* another CPU was first */
		if (!mc.v) {
			dns_count(EGR_STAT_DNS_CAPACITY, 1);
			return 0;
		}
	}
	mc.v->ring_seq = egr_dns_ring_take(w, &key);
	bpf_loop(EGR_LEARN_REFS, dns_merge_one, &mc, 0);
	if (mc.revived)
		w->changed = 1;
	if (mc.over)
		dns_count(EGR_STAT_DNS_CAPACITY, mc.over);
	return 0;
}

/* The answer in w->p (trusted, parsed): learn its addresses. */
__noinline int egr_dns_learn(struct egr_dns_work *w)
{
	struct dns_wctx c = { .w = w };
	struct egr_ctl *g;
	__u32 k;

	if (!w)
		return 0;
	w->nmatch = 0;
	w->ncref = 0;
	__builtin_memset(w->cref_end, 0, sizeof(w->cref_end));
	bpf_loop(EGR_DNS_CHAIN, dns_match_chain, &c, 0);
	if (!w->nmatch)
		return 0;
	bpf_loop(DNS_MATCH_MAX, dns_cref_of, &c, 0);
	if (!w->ncref)
		return 0;
	/* cref_end[k]: crefs of chain names 0..k (dns_cref_of() set where each
	 * matched name's end; names without a match take the one before)
	 */
	for (k = 1; k < EGR_DNS_CHAIN; k++)
		if (w->cref_end[k] < w->cref_end[k - 1])
			w->cref_end[k] = w->cref_end[k - 1];
	w->learned = 0;
	w->changed = 0;
	w->now = bpf_ktime_get_coarse_ns();
	bpf_loop(EGR_DNS_ADDRS, dns_learn_addr, &c, 0);
	dns_count(EGR_STAT_DNS_LEARNED, w->learned);
	g = dns_ctl0();
	if (w->changed && g)
		__sync_fetch_and_add(&g->learn, 1);
	return 0;
}

/* Audit mode: the question's name for one address of the answer. */
static long dns_aname_one(__u64 i, void *data)
{
	struct egr_dns_work *w = ((struct dns_wctx *)data)->w;
	struct egr_learn_key key = {};
	struct egr_dns_addr *a;

	if (i >= w->p.naddr)
		return 1;
	a = &w->p.addr[i & (EGR_DNS_ADDRS - 1)];
	key.family = a->family;
	__builtin_memcpy(key.addr, a->addr, 16);
	bpf_map_update_elem(&egr_anames, &key, &w->an, BPF_ANY);
	return 0;
}

/* Audit mode: remember which name each address of the answer was for. */
__noinline int egr_dns_audit_names(struct egr_dns_work *w)
{
	struct dns_wctx c = { .w = w };

	if (!w)
		return 0;
	w->an.ns = bpf_ktime_get_coarse_ns();
	__builtin_memcpy(w->an.name, w->p.chain[0], sizeof(w->an.name));
	bpf_loop(EGR_DNS_ADDRS, dns_aname_one, &c, 0);
	return 0;
}

/* Is the answer's source the recorded resolver, on the right device? */
static __always_inline bool dns_trusted(struct __sk_buff *skb, const struct egr_pkt *p,
					const struct egr_dnsq *q)
{
	bool lo = skb->ingress_ifindex == 1; /* LOOPBACK_IFINDEX */

	if (p->family != q->family || p->sport != EGR_DNS_PORT)
		return false;
	if (!dns_addr_eq(p->src, q->resolver) && !dns_addr_eq(p->src, q->resolver2))
		return false;
	return (q->flags & EGR_DQ_LOOPBACK) ? lo : !lo;
}

/* TCP: the segment must start at the next byte the socket expects. */
static __always_inline bool dns_tcp_in_order(struct __sk_buff *skb, const struct egr_pkt *p)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp;
	__u8 b[4];
	__u32 seq;

	if (!sk)
		return false;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return false;
	tp = bpf_tcp_sock(sk);
	if (!tp || load(skb, p->l4off + 4, b, 4))
		return false;
	seq = ((__u32)b[0] << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
	return seq == tp->rcv_nxt;
}

/* The trusted answer copied into w->p (its query in w->q): check it, and
 * learn from it.
 */
static __always_inline int dns_judge_answer(struct egr_dns_work *w)
{
	if (!w)
		return 0;
	/* QR 1, opcode 0, TC 0; RCODE 0 (NXDOMAIN &c: nothing to learn) */
	if ((w->p.msg[2] & 0xfa) != 0x80 || dns_u16(&w->p, 4) != 1) {
		dns_count((w->p.msg[2] & 0x02) ? EGR_STAT_DNS_TRUNCATED : EGR_STAT_DNS_MALFORMED,
			  1);
		return 0;
	}
	egr_dns_answer(&w->p);
	if (w->p.err) {
		dns_count(EGR_STAT_DNS_MALFORMED, 1);
		return 0;
	}
	/* the question is the one asked (name, type, class) */
	if (w->p.clen[0] != w->q.qlen || !dns_name_eq(w->p.chain[0], w->q.qname) ||
	    w->p.qtype != w->q.qtype || w->p.qclass != DNS_C_IN) {
		dns_count(EGR_STAT_DNS_MISMATCH, 1);
		return 0;
	}
	dns_count(EGR_STAT_DNS_ANSWERS, 1);
	if (w->p.msg[3] & 0x0f)
		return 0; /* RCODE */
	/* Audit mode notes names for suggest and learns nothing: no verdict
	 * depends on it, and what it learned would outlive audit mode.
	 */
	if (w->flags & EGR_SF_AUDIT) {
		egr_dns_audit_names(w);
		return 0;
	}
	if (!(w->flags & EGR_SF_NAMES))
		return 0;
	return egr_dns_learn(w);
}

/* The IP and UDP/TCP header of a received packet, for answers only: an
 * IPv6 packet with extension headers is not one (the socket gets it, it
 * is not learned from).
 */
static __always_inline int dns_in_parse(struct __sk_buff *skb, struct egr_pkt *p)
{
	__u8 ports[4];

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (load(skb, 0, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
			return -1;
		p->family = 4;
		p->proto = ip.protocol;
		p->l4off = ip.ihl * 4;
		__builtin_memcpy(p->src, &ip.saddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (load(skb, 0, &ip6, sizeof(ip6)) || ip6.version != 6)
			return -1;
		p->family = 6;
		p->proto = ip6.nexthdr;
		p->l4off = sizeof(ip6);
		__builtin_memcpy(p->src, &ip6.saddr, 16);
		unmap_v4mapped_src(p);
	} else {
		return -1;
	}
	if ((p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) || load(skb, p->l4off, ports, 4))
		return -1;
	p->sport = ((__u16)ports[0] << 8) | ports[1];
	p->dport = ((__u16)ports[2] << 8) | ports[3];
	return 0;
}

__noinline int egr_dns_ingress(struct __sk_buff *skb)
{
	struct egr_dns_work *w;
	struct egr_ctl *cfg;
	struct egr_dnsq *q;
	struct egr_pkt *p;
	__u32 z = 0, len = 0, slot = 0;
	__u8 hdr[2];
	int off;

	if (!skb)
		return 0;
	cfg = dns_slot_cfg(&slot);
	w = bpf_map_lookup_elem(&egr_dscr, &z);
	if (!cfg || !w)
		return 0;
	p = &w->pkt;
	__builtin_memset(p, 0, sizeof(*p));
	if (dns_in_parse(skb, p) || p->sport != EGR_DNS_PORT)
		return 0;
	if (p->proto == IPPROTO_TCP) {
		/* segments without data (handshake, ACKs) */
		if (load(skb, p->l4off + 12, hdr, 1) || p->l4off + (hdr[0] >> 4) * 4 >= skb->len)
			return 0;
	}
	off = dns_payload(skb, p, &len);
	if (off < 0) {
		dns_count(EGR_STAT_DNS_TRUNCATED, 1);
		return 0;
	}
	if (load(skb, off, hdr, 2))
		return 0;
	__builtin_memset(&w->qk, 0, sizeof(w->qk));
	w->qk.cookie = bpf_get_socket_cookie(skb);
	w->qk.id = (__u16)hdr[0] | ((__u16)hdr[1] << 8);
	w->qk.proto = p->proto;
	q = bpf_map_lookup_elem(&egr_dnsq, &w->qk);
	if (!q || !dns_trusted(skb, p, q) ||
	    (p->proto == IPPROTO_TCP && !dns_tcp_in_order(skb, p))) {
		dns_count(EGR_STAT_DNS_UNTRUSTED, 1);
		return 0;
	}
	/* the query is answered, whatever the answer says */
	__builtin_memcpy(&w->q, q, sizeof(w->q));
	bpf_map_delete_elem(&egr_dnsq, &w->qk);
	if (len > EGR_DNS_MSG_MAX) {
		dns_count(EGR_STAT_DNS_TRUNCATED, 1);
		return 0;
	}
	if (dns_copy(skb, off, len, &w->p)) {
		dns_count(EGR_STAT_DNS_MALFORMED, 1);
		return 0;
	}
	w->slot = slot;
	w->flags = READ_ONCE(cfg->flags);
	w->min_ttl = cfg->min_ttl;
	w->max_per_name = cfg->max_per_name;
	return dns_judge_answer(w);
}

#endif /* DNS_BPF_H */
