// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl: per-cgroup egress filter. One instance of this object is loaded
 * per attached cgroup; its maps hold that cgroup's policy. The layout and the
 * judging algorithm are described in include/egressctl.h; the userspace
 * reference of the same algorithm is compile_eval() in
 * tests/lib/compile_eval.c (keep the two in sync: tests/bpf/ checks them
 * against each other).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "egressctl.h"
#include "parsing.bpf.h"

#define SK_PASS 1
#define SK_DROP 0

struct egr_inner_v4 {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); /* template; real tries are sized at attach */
	/* sizes, not types: the tries are created by userspace without BTF */
	__uint(key_size, sizeof(struct egr_lpm_v4));
	__uint(value_size, sizeof(struct egr_prefix));
};

struct egr_inner_v6 {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct egr_lpm_v6));
	__uint(value_size, sizeof(struct egr_prefix));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2 * EGR_SHARDS);
	__type(key, __u32);
	__array(values, struct egr_inner_v4);
} egr_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2 * EGR_SHARDS);
	__type(key, __u32);
	__array(values, struct egr_inner_v6);
} egr_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * EGR_DEFAULT_MAX_RULES); /* set at attach */
	__type(key, __u32);
	__type(value, struct egr_rule);
} egr_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EGR_DEFAULT_MAX_RULES); /* set at attach */
	__type(key, __u32);
	__type(value, __u64);
} egr_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EGR_STAT_MAX);
	__type(key, __u32);
	__type(value, struct egr_counter);
} egr_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, EGR_CTL_ENTRIES);
	__type(key, __u32);
	__type(value, struct egr_ctl);
} egr_ctl SEC(".maps");

/* Userspace bookkeeping; never read here, pinned with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egr_meta);
} egr_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EGR_DEFAULT_MAX_RULES); /* set at attach */
	__type(key, __u32);
	__type(value, __u32);
} egr_free SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct egr_sk_state);
} egr_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egr_evcfg);
} egr_evcfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EGR_EVENTS_RINGBUF);
} egr_events SEC(".maps");

/* Set at load by benchmarks only (bench/prog_ns.c): no verdict cache. */
const volatile __u32 egr_no_cache = 0;

struct walk_ctx {
	struct egr_pkt pkt;
	__u64 gen;     /* generation this judgement started under */
	__u32 slot;
	__u32 plen;    /* next lookup's prefix length */
	__u32 first;   /* the prefix found: its first rule */
	__u32 verdict; /* EGR_ALLOW / EGR_DENY when decided */
	__u32 rule;    /* deciding rule id, or EGR_RULE_DEFAULT */
	__u32 state;   /* EGR_WALK_* */
	__u32 audit;   /* the slot is in audit mode */
	/* name rules (bpf/dns.bpf.h) */
	__u32 grant_id, grant_inc; /* in: the socket's grant (inc 0: none) */
	__u32 via;     /* out: EGR_VIA_* */
	__u32 inc;     /* out, learned or grant: the rule's incarnation */
	__u64 expires; /* out, learned: until when */
};

enum {
	EGR_WALK_MORE = 0,
	EGR_WALK_RULE,
	EGR_WALK_DEFAULT,
	EGR_WALK_FAIL,
};

#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#define barrier() asm volatile("" ::: "memory")

/* The generation (low bit: the live slot), or 0 when the map is missing. */
static __always_inline __u64 read_gen(void)
{
	__u32 k = EGR_CTL_ACTIVE;
	struct egr_ctl *g = bpf_map_lookup_elem(&egr_ctl, &k);

	return g ? READ_ONCE(g->generation) : 0;
}

/* Does rule r match packet p? Unknown fields match deny rules and never
 * allow rules, so uncertainty can only ever drop a packet.
 */
static __always_inline bool rule_match(const struct egr_rule *r, const struct egr_pkt *p)
{
	bool deny = r->action == EGR_DENY;

	if (r->proto == EGR_PROTO_ANY)
		return true;
	if (p->flags & PKT_PROTO_UNKNOWN)
		return deny;
	if (r->proto != p->proto)
		return false;
	if (!(r->flags & EGR_RF_PORTS))
		return true;
	if (p->flags & PKT_PORTS_UNKNOWN)
		return deny;
	return p->dport >= r->port_lo && p->dport <= r->port_hi;
}

__noinline int egr_judge(struct walk_ctx *out);

/* The judge's part of c, before egr_judge() copies all of it. */
static __always_inline void walk_init(struct walk_ctx *c)
{
	c->gen = 0;
	c->slot = 0;
	c->plen = 0;
	c->first = 0;
	c->verdict = 0;
	c->rule = EGR_RULE_DEFAULT;
	c->state = 0;
	c->audit = 0;
	c->grant_id = 0;
	c->grant_inc = 0;
	c->via = EGR_VIA_RULE;
	c->inc = 0;
	c->expires = 0;
}

#include "dns.bpf.h"

static __always_inline struct egr_prefix *lookup_prefix(struct walk_ctx *c)
{
	__u32 idx = EGR_TRIE_IDX(c->slot, EGR_SHARD_OF(c->pkt.dst[0]));
	void *trie;

	if (c->pkt.family == 4) {
		struct egr_lpm_v4 k = { .prefixlen = c->plen };

		__builtin_memcpy(k.addr, c->pkt.dst, 4);
		trie = bpf_map_lookup_elem(&egr_v4, &idx);
		if (!trie)
			return (void *)-1L;
		return bpf_map_lookup_elem(trie, &k);
	} else {
		struct egr_lpm_v6 k = { .prefixlen = c->plen };

		__builtin_memcpy(k.addr, c->pkt.dst, 16);
		trie = bpf_map_lookup_elem(&egr_v6, &idx);
		if (!trie)
			return (void *)-1L;
		return bpf_map_lookup_elem(trie, &k);
	}
}

/* One rule of the prefix found: does it decide? (bpf_loop callback: the
 * verifier checks it once, not once per rule.)
 */
static long rule_step(__u32 j, void *data)
{
	struct walk_ctx *c = data;
	struct egr_rule *r;
	__u32 idx = c->first + j;

	r = bpf_map_lookup_elem(&egr_rules, &idx);
	if (!r) {
		c->state = EGR_WALK_FAIL;
		return 1;
	}
	if (!rule_match(r, &c->pkt))
		return 0;
	c->verdict = r->action;
	c->rule = r->id;
	c->state = EGR_WALK_RULE;
	return 1;
}

/* One step of the walk: the longest prefix of length <= c->plen. */
static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct egr_prefix *pv;
	__u32 count, plen;

	pv = lookup_prefix(c);
	if (pv == (void *)-1L) {
		c->state = EGR_WALK_FAIL;
		return 1;
	}
	if (!pv) {
		c->state = EGR_WALK_DEFAULT;
		return 1;
	}
	count = pv->count;
	plen = pv->plen;
	c->first = pv->first;
	if (count > EGR_MAX_PREFIX_RULES)
		count = EGR_MAX_PREFIX_RULES;
	bpf_loop(count, rule_step, c, 0);
	if (c->state != EGR_WALK_MORE)
		return 1;
	if (plen == 0) {
		c->state = EGR_WALK_DEFAULT;
		return 1;
	}
	c->plen = plen - 1;
	return 0;
}

/* Judge the packet once, under the generation read first: walk, read the
 * slot's default and flags, then check that the generation did not move
 * meanwhile. If it did, the slot may have been changed under the walk:
 * judge again (up to EGR_MAX_JUDGE times, then the packet is unjudged).
 */
static long judge(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	struct egr_ctl *cfg;
	__u32 k;

	c->gen = read_gen();
	if (!c->gen) {
		c->state = EGR_WALK_FAIL;
		return 1;
	}
	c->slot = c->gen & 1;
	c->plen = c->pkt.family == 4 ? 32 : 128;
	c->rule = EGR_RULE_DEFAULT;
	c->state = EGR_WALK_MORE;
	c->via = EGR_VIA_RULE;
	bpf_loop(EGR_MAX_WALK, walk_step, c, 0);
	if (c->state != EGR_WALK_RULE && c->state != EGR_WALK_DEFAULT) {
		c->state = EGR_WALK_FAIL;
		return 1;
	}
	k = 1 + c->slot;
	cfg = bpf_map_lookup_elem(&egr_ctl, &k);
	if (!cfg) {
		c->state = EGR_WALK_FAIL;
		return 1;
	}
	if (c->state == EGR_WALK_DEFAULT) {
		c->verdict = READ_ONCE(cfg->dflt);
		c->via = EGR_VIA_DEFAULT;
		if (c->verdict == EGR_DENY && (READ_ONCE(cfg->flags) & EGR_SF_NAMES))
			egr_judge_learned(c);
	}
	c->audit = READ_ONCE(cfg->flags) & EGR_SF_AUDIT;
	if (read_gen() == c->gen)
		return 1;
	c->state = EGR_WALK_MORE; /* judge again */
	return 0;
}

static __always_inline void count(__u32 stat, __u32 bytes)
{
	struct egr_counter *ctr = bpf_map_lookup_elem(&egr_stats, &stat);

	if (ctr) {
		ctr->packets++;
		ctr->bytes += bytes;
	}
}

/* Token bucket, one per cgroup: may this packet's event be sent? */
static __always_inline bool ev_token(struct egr_evcfg *ec)
{
	__u64 now = bpf_ktime_get_ns(), cost, max, t;
	bool ok = false;

	cost = 1000000000ULL / ec->rate;
	max = cost * ec->burst;
	bpf_spin_lock(&ec->lock);
	t = ec->tokens_ns + (now - ec->last_ns);
	if (t > max)
		t = max;
	if (t >= cost) {
		t -= cost;
		ok = true;
	}
	ec->tokens_ns = t;
	ec->last_ns = now;
	bpf_spin_unlock(&ec->lock);
	return ok;
}

/* An event for a denied (or audited) packet or call, filled from the walk;
 * NULL when none is sent (no reader, over the rate limit, ring buffer
 * full). The caller adds who sent it and submits it with ev_submit().
 * Never changes the verdict.
 */
static __always_inline struct egr_event *ev_reserve(const struct walk_ctx *c, __u8 verdict,
						    __u32 len, __u8 hook)
{
	struct egr_evcfg *ec;
	struct egr_event *e;
	__u32 k = 0;

	ec = bpf_map_lookup_elem(&egr_evcfg, &k);
	if (!ec || !ec->enabled || !ec->rate)
		return NULL; /* no reader: costs one array lookup */
	if (!ev_token(ec)) {
		count(EGR_STAT_EV_SUPPRESSED, 0);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&egr_events, sizeof(*e), 0);
	if (!e) {
		count(EGR_STAT_EV_LOST, 0);
		return NULL;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->rule = c->rule;
	e->len = len;
	e->family = c->pkt.family;
	e->proto = c->pkt.proto;
	e->verdict = verdict;
	e->pktflags = c->pkt.flags;
	e->sport = c->pkt.sport;
	e->dport = c->pkt.dport;
	e->hook = hook;
	__builtin_memcpy(e->src, c->pkt.src, 16);
	__builtin_memcpy(e->dst, c->pkt.dst, 16);
	return e;
}

static __always_inline void ev_submit(struct egr_event *e)
{
	bpf_ringbuf_submit(e, 0);
	count(EGR_STAT_EV_SENT, 0);
}

/* A packet's event: the owner its socket's storage remembers. */
static __always_inline void emit_event(struct __sk_buff *skb, const struct walk_ctx *c,
				       const struct egr_sk_state *st, __u8 verdict, __u32 len)
{
	struct egr_event *e = ev_reserve(c, verdict, len, EGR_HOOK_PACKET);

	if (!e)
		return;
	e->cgroup_id = bpf_skb_cgroup_id(skb);
	e->cookie = bpf_get_socket_cookie(skb);
	if (st) {
		e->pid = st->owner_pid;
		e->tgid = st->owner_tgid;
		__builtin_memcpy(e->comm, st->owner_comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		e->tgid = 0;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	}
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	ev_submit(e);
}

/* The SYN-ACK a listener sends for a connection from outside. */
static __always_inline bool tcp_synack(struct bpf_sock *sk, const struct egr_pkt *p)
{
	if (p->proto != IPPROTO_TCP || (p->flags & (PKT_PORTS_UNKNOWN | PKT_PROTO_UNKNOWN)))
		return false;
	if (sk->state != BPF_TCP_LISTEN && sk->state != BPF_TCP_NEW_SYN_RECV)
		return false;
	return (p->tcpflags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK);
}

/* Any packet of a TCP socket the sockops program saw accepted. */
static __always_inline bool tcp_inbound(struct bpf_sock *sk, const struct egr_sk_state *st,
					const struct egr_pkt *p)
{
	if (!(st->flags & EGR_SK_INBOUND) || p->proto != IPPROTO_TCP ||
	    (p->flags & (PKT_PORTS_UNKNOWN | PKT_PROTO_UNKNOWN)))
		return false;
	sk = bpf_sk_fullsock(sk);
	return sk && sk->protocol == IPPROTO_TCP && sk->type == 1 /* SOCK_STREAM */;
}

/* A TCP stream socket (a full socket: NULL is not). */
static __always_inline bool sk_tcp_stream(struct bpf_sock *sk)
{
	if (sk)
		sk = bpf_sk_fullsock(sk);
	return sk && sk->protocol == IPPROTO_TCP && sk->type == 1 /* SOCK_STREAM */;
}

/* Was this packet's key judged last on this socket, under generation gen?
 * Then *action and *rule are that judgement. A verdict of the default holds
 * while no address was learned since (learn), one of a learned address
 * until it expires too.
 */
static __always_inline bool cache_hit(const struct egr_sk_state *st, const struct egr_pkt *p,
				      __u64 gen, __u64 learn, __u8 *action, __u32 *rule)
{
	const __u32 *a = (const __u32 *)st->dst, *b = (const __u32 *)p->dst;
	__u32 seq = READ_ONCE(st->seq);
	__u8 via;

	barrier();
	if ((seq & 1) || st->generation != gen || st->family != p->family ||
	    st->proto != p->proto || st->pktflags != p->flags || st->dport != p->dport ||
	    a[0] != b[0])
		return false;
	if (p->family == 6 && (a[1] != b[1] || a[2] != b[2] || a[3] != b[3]))
		return false;
	via = st->via;
	if ((via == EGR_VIA_DEFAULT || via == EGR_VIA_LEARNED) && st->learn != learn)
		return false;
	if (via == EGR_VIA_LEARNED && bpf_ktime_get_coarse_ns() >= st->expires)
		return false;
	*action = st->action;
	*rule = st->rule;
	barrier();
	return READ_ONCE(st->seq) == seq;
}

static __always_inline void cache_store(struct egr_sk_state *st, const struct walk_ctx *c,
					__u64 learn, __u8 action)
{
	__u32 seq = READ_ONCE(st->seq);

	/* Another CPU is writing this socket's entry: leave it to that one. */
	if ((seq & 1) || __sync_val_compare_and_swap(&st->seq, seq, seq + 1) != seq)
		return;
	st->generation = c->gen;
	st->learn = learn;
	st->expires = c->expires;
	st->via = c->via;
	st->family = c->pkt.family;
	st->proto = c->pkt.proto;
	st->pktflags = c->pkt.flags;
	st->dport = c->pkt.dport;
	__builtin_memcpy(st->dst, c->pkt.dst, 16);
	st->rule = c->rule;
	st->action = action;
	barrier();
	*(volatile __u32 *)&st->seq = seq + 2;
}


/* Judging is a global function too: verified once, whatever the caller's
 * paths to it. bpf_loop() wants its context on this function's stack.
 */
__noinline int egr_judge(struct walk_ctx *out)
{
	struct walk_ctx c;

	if (!out)
		return -1;
	__builtin_memcpy(&c, out, sizeof(c));
	bpf_loop(EGR_MAX_JUDGE, judge, &c, 0);
	__builtin_memcpy(out, &c, sizeof(c));
	return 0;
}

#include "audit.bpf.h"

/* A TCP socket allowed by a learned address keeps a grant on it. */
static __always_inline bool grant_applies(const struct egr_sk_state *st, const struct egr_pkt *p)
{
	return st->grant_inc && p->proto == IPPROTO_TCP && st->grant_family == p->family &&
	       st->grant_dport == p->dport && dns_addr_eq(st->grant_dst, p->dst);
}

/* stream: the socket is a TCP stream socket (the caller checked). */
static __always_inline void grant_take(struct egr_sk_state *st, struct walk_ctx *c)
{
	if (c->via != EGR_VIA_LEARNED || c->pkt.proto != IPPROTO_TCP ||
	    (c->pkt.flags & PKT_PORTS_UNKNOWN))
		return;
	st->grant_id = c->rule;
	st->grant_inc = c->inc;
	st->grant_family = c->pkt.family;
	st->grant_dport = c->pkt.dport;
	__builtin_memcpy(st->grant_dst, c->pkt.dst, 16);
	c->via = EGR_VIA_GRANT; /* cached without an expiry */
}

/* The verdict for c->pkt: the one cached in the socket's storage (cst;
 * NULL: no cache), else judged in full and cached there. A TCP stream
 * socket keeps a grant on an address a name rule learned (grant_take()):
 * sk is the packet's socket (egress), or NULL and stream says whether it
 * is one (socket hooks). The socket hooks (sock.bpf.h) go through
 * here too. 0, or -1: unjudged (a missing map, an unfinished walk).
 */
static __always_inline int verdict_of(struct walk_ctx *c, struct egr_sk_state *cst,
				      struct bpf_sock *sk, bool stream, __u8 *action)
{
	struct egr_ctl *g0 = dns_ctl0();
	__u64 gen, learn;

	if (!g0)
		return -1;
	gen = READ_ONCE(g0->generation);
	learn = READ_ONCE(g0->learn);
	if (cst && cache_hit(cst, &c->pkt, gen, learn, action, &c->rule))
		return 0;
	walk_init(c);
	if (cst && grant_applies(cst, &c->pkt)) {
		c->grant_id = cst->grant_id;
		c->grant_inc = cst->grant_inc;
	}
	if (egr_judge(c) || (c->state != EGR_WALK_RULE && c->state != EGR_WALK_DEFAULT))
		return -1;
	if (c->verdict == EGR_ALLOW)
		*action = EGR_ACT_ALLOW;
	else
		*action = c->audit ? EGR_ACT_AUDIT : EGR_ACT_DENY;
	if (cst) {
		if (c->via == EGR_VIA_LEARNED && (sk ? sk_tcp_stream(sk) : stream))
			grant_take(cst, c);
		cache_store(cst, c, learn, *action);
	}
	return 0;
}

static __always_inline int egr_parse(struct __sk_buff *skb, struct egr_pkt *p)
{
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, p);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(skb, p);
	return -1;
}

SEC("cgroup_skb/egress")
int egr_egress(struct __sk_buff *skb)
{
	struct walk_ctx c;
	struct egr_sk_state *st = NULL, *cst;
	struct bpf_sock *sk;
	__u32 len = skb->len;
	__u8 action;
	int err;

	/* Only the packet is zeroed here: the rest of c is set on the way
	 * to the judge, which the cached path does not take.
	 */
	__builtin_memset(&c.pkt, 0, sizeof(c.pkt));
	c.rule = EGR_RULE_DEFAULT;
	err = egr_parse(skb, &c.pkt);
	if (err) {
		count(EGR_STAT_MALFORMED, len);
		return SK_DROP;
	}
	unmap_v4mapped(&c.pkt);
	if (dns_egress_early(skb, &c)) {
		count(EGR_STAT_DENIED, len);
		return SK_DROP;
	}
	if (is_loopback(skb, &c.pkt)) {
		count(EGR_STAT_LOOPBACK, len);
		return SK_PASS;
	}
	if (is_ndp(&c.pkt)) {
		count(EGR_STAT_NDP, len);
		return SK_PASS;
	}
	sk = skb->sk;
	if (sk) {
		if (tcp_synack(sk, &c.pkt)) {
			count(EGR_STAT_INBOUND, len);
			return SK_PASS;
		}
		/* NULL unless sk is a full socket */
		st = bpf_sk_storage_get(&egr_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (st && tcp_inbound(sk, st, &c.pkt)) {
			count(EGR_STAT_INBOUND, len);
			return SK_PASS;
		}
	}
	cst = egr_no_cache ? NULL : st;
	if (verdict_of(&c, cst, sk, false, &action))
		goto fail;
	if (c.rule != EGR_RULE_DEFAULT) {
		__u64 *hits = bpf_map_lookup_elem(&egr_hits, &c.rule);

		if (hits)
			(*hits)++;
	}
	if (action == EGR_ACT_ALLOW) {
		count(EGR_STAT_ALLOWED, len);
		dns_egress_query(skb, &c.pkt);
		return SK_PASS;
	}
	if (action == EGR_ACT_AUDIT) {
		count(EGR_STAT_AUDIT, len);
		audit_record(&c);
		emit_event(skb, &c, st, EGR_EV_AUDIT, len);
		dns_egress_query(skb, &c.pkt);
		return SK_PASS;
	}
	count(EGR_STAT_DENIED, len);
	emit_event(skb, &c, st, EGR_DENY, len);
	return SK_DROP;
fail:
	/* A missing map or an unfinished walk: never pass an unjudged packet. */
	count(EGR_STAT_NOPOLICY, len);
	return SK_DROP;
}

/* DNS answers: learned from before the socket sees them (bpf/dns.bpf.h).
 * Always passes.
 */
SEC("cgroup_skb/ingress")
int egr_ingress(struct __sk_buff *skb)
{
	egr_dns_ingress(skb);
	return SK_PASS;
}

/* Marks sockets accepted from outside so replies on them pass. */
SEC("sockops")
int egr_sockops(struct bpf_sock_ops *ops)
{
	struct egr_sk_state *st;
	struct bpf_sock *sk;

	if (ops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	sk = ops->sk;
	if (!sk)
		return 1;
	st = bpf_sk_storage_get(&egr_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (st)
		st->flags |= EGR_SK_INBOUND;
	return 1;
}

#include "sock.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
