/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * egressctl ABI: the only header shared by the BPF program (bpf/) and
 * userspace (user/, tests/). Fixed-width __u* types only, explicit padding,
 * byte order stated per field. Any change here changes the pinned-map
 * layout: bump EGR_ABI_VERSION.
 *
 * Policy layout in the kernel, per attached cgroup (one program instance and
 * one set of maps each, pinned under EGR_PIN_ROOT/<cgroup id>/):
 *
 *   egr_ctl[0]          struct egr_ctl .generation: policy generation; its
 *                       low bit is the live slot (0/1)
 *   egr_ctl[1 + slot]   struct egr_ctl .dflt/.flags: default, audit
 *   egr_v4[EGR_TRIE_IDX(slot, shard)]
 *                       LPM trie: struct egr_lpm_v4 -> struct egr_prefix
 *   egr_v6[EGR_TRIE_IDX(slot, shard)]
 *                       LPM trie: struct egr_lpm_v6 -> struct egr_prefix
 *   egr_rules[i]        struct egr_rule; slot s owns [s * cap, (s + 1) * cap)
 *   egr_hits[rule id]   per-CPU __u64 hit counter, stable across edits
 *   egr_stats[EGR_STAT_*] per-CPU struct egr_counter
 *   egr_meta[0]         struct egr_meta (userspace bookkeeping only)
 *   egr_free[i]         __u32 free rule ids (stack, userspace only)
 *
 * Domain-name rules (allow rules only) and what the kernel learns for them
 * from DNS answers (README, "Domain names"):
 *
 *   egr_names           LPM trie, both slots: struct egr_lpm_name ->
 *                       struct egr_prefix (.plen: key bytes in use); a
 *                       slice of egr_rules like an address prefix
 *   egr_nlive[s * cap + id]
 *                       __u32 incarnation of name rule id in slot s, 0 when
 *                       id is not a name rule there; unique per instance
 *                       (egr_meta.next_inc), so a learned address never
 *                       outlives the rule (or a reuse of its id)
 *   egr_dnsq            LRU hash: queries the cgroup sent to a trusted
 *                       resolver, struct egr_dnsq_key -> struct egr_dnsq
 *   egr_learn           hash: struct egr_learn_key -> struct egr_learned,
 *                       the name rules (id, incarnation, ports, expiry) an
 *                       answer allowed an address for
 *   egr_lring[i]        struct egr_lslot: FIFO of learned addresses; the
 *                       oldest goes when the table is full
 *
 * An address a name rule learned is consulted only when the walk below ends
 * in the default and the default is deny: learned addresses sit just above
 * the default, so every matching address rule (a deny in particular) wins.
 *
 * Each slot's prefixes are split over EGR_SHARDS tries per family by the top
 * bit of the address (EGR_SHARD_OF); prefixes of length 0 are in every
 * shard. A packet only ever looks in the shard of its destination, where
 * every prefix that can contain it is. (The shards let apply fill tries in
 * parallel: each trie takes one lock per update.)
 *
 * Judging a packet: look up its destination in the live slot's trie; the
 * entry found is the longest prefix holding rules. Scan that prefix's rules
 * (deny rules first, so deny wins a tie); the first rule whose protocol and
 * port match decides. If none matches, look up again with prefixlen =
 * entry's plen - 1 (the next shorter prefix holding rules), and so on. When
 * no prefix is left, the slot's default decides.
 *
 * apply fills the inactive slot (its empty tries, its half of egr_rules,
 * its egr_ctl entry), adds 1 to the generation (the flip: the other slot is
 * live from the next packet on), and only then empties the old slot. A
 * single live edit (allow/deny/remove) writes a prefix's new rule slice into
 * unused space of the live half, replaces that one trie entry, then adds 2
 * to the generation (same slot). Every change to what a packet may be judged
 * by ends with such a bump. egr_ctl is mmap()able; userspace writes the
 * generation with one atomic 8-byte store.
 *
 * Readers (the program) work like a seqlock reader: read the generation
 * (hence the slot), judge, read the slot's default/flags, and read the
 * generation again; if it moved, judge again (bounded). So a packet that
 * started on a slot being emptied after a flip never uses a half-emptied
 * policy, and apply needs no wait for running programs. (The reader relies
 * on loads not being reordered with loads, as on x86-64.)
 *
 * Verdict cache: a socket's egr_sk storage keeps its last judged packet's
 * destination, protocol, port, packet flags and the verdict, tagged with the
 * generation it was judged under. A packet with the same key under the same
 * generation reuses it; any change to the policy bumps the generation and so
 * invalidates every cache at once. Writers of one socket's entry (packets
 * of the socket on several CPUs) exclude each other with a compare-and-swap
 * on .seq; a reader accepts the entry only if .seq was even and unchanged
 * across its reads.
 */
#ifndef EGRESSCTL_H
#define EGRESSCTL_H

#ifndef __bpf__
#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */
#endif

#define EGR_ABI_VERSION 4
#define EGR_MAGIC 0x45475231u /* "EGR1" */

#define EGR_PIN_ROOT "/sys/fs/bpf/egressctl"

/* Trie shards per family and slot: by the address's top bit. */
#define EGR_SHARDS 2
#define EGR_SHARD_OF(first_byte) ((first_byte) >> 7)
#define EGR_TRIE_IDX(slot, shard) ((slot) * EGR_SHARDS + (shard))

/* Verdicts, rule actions and the slot default. */
#define EGR_DENY 0
#define EGR_ALLOW 1

/* egr_rule.proto: 0 = any protocol, else an IPPROTO_* number. "icmp" is
 * stored as IPPROTO_ICMP in the IPv4 trie and IPPROTO_ICMPV6 in the IPv6 one.
 */
#define EGR_PROTO_ANY 0

/* egr_rule.flags */
#define EGR_RF_PORTS 0x01 /* port_lo..port_hi is a constraint */

/* egr_slot_cfg.flags */
#define EGR_SF_AUDIT 0x01 /* count would-deny as audit, let it pass */
#define EGR_SF_NAMES 0x02 /* the slot has name rules: record queries, learn */

/* Limits. The walk bound covers every IPv6 prefix length (0..128), so the
 * walk is exact for any policy; rules per prefix are bounded by the
 * compiler (one prefix with more port rules than this is refused).
 */
#define EGR_MAX_WALK 129
#define EGR_MAX_PREFIX_RULES 32
#define EGR_DEFAULT_MAX_RULES 16384
#define EGR_MIN_MAX_RULES 64
#define EGR_MAX_MAX_RULES (1u << 22)

/* What the parser could not establish about a packet (struct egr_pkt in
 * bpf/parsing.bpf.h, struct egr_tpkt in tests/lib/oracle.h). A rule that
 * needs an unknown field matches if it is a deny rule and never if it is an
 * allow rule, so uncertainty can only drop a packet.
 */
#define EGR_PKT_PROTO_UNKNOWN 0x01 /* L4 protocol not known */
#define EGR_PKT_PORTS_UNKNOWN 0x02 /* ports not known (fragment, short header) */
#define EGR_PKT_FRAGMENT 0x04	   /* IPv4 MF/offset or IPv6 fragment header */

/* Special rule ids reported in events/debug: */
#define EGR_RULE_DEFAULT 0xffffffffu

/* egr_stats indices. */
enum egr_stat {
	EGR_STAT_ALLOWED = 0, /* passed by a rule or the default */
	EGR_STAT_DENIED = 1,  /* dropped */
	EGR_STAT_AUDIT = 2,   /* would have been dropped, passed (audit) */
	EGR_STAT_LOOPBACK = 3, /* passed: destination is loopback */
	EGR_STAT_INBOUND = 4, /* passed: reply on a connection from outside */
	EGR_STAT_MALFORMED = 5, /* dropped: header could not be read */
	EGR_STAT_NOPOLICY = 6, /* dropped: policy maps missing (fail closed) */
	EGR_STAT_EV_SENT = 7, /* events written to egr_events (packets field) */
	EGR_STAT_EV_SUPPRESSED = 8, /* events over the rate limit, not sent */
	EGR_STAT_EV_LOST = 9, /* events lost: ring buffer full */
	EGR_STAT_NDP = 10, /* passed: IPv6 neighbour discovery, link scope */
	/* Socket hooks: connect()/sendmsg() calls refused. Each is also counted
	 * in EGR_STAT_DENIED as one packet of 0 bytes (the SYN or datagram
	 * that was never built), so the denied counter covers both paths.
	 */
	EGR_STAT_REFUSED = 11,
	/* audit mode: packets to a destination egr_audit had no room for */
	EGR_STAT_AUDIT_FULL = 12,
	/* DNS (name rules; packets = answers or addresses, bytes unused) */
	EGR_STAT_DNS_QUERIES = 13,   /* queries recorded (to a trusted resolver) */
	EGR_STAT_DNS_ANSWERS = 14,   /* answers accepted: trusted, matching, well formed */
	EGR_STAT_DNS_UNTRUSTED = 15, /* ignored: no query of this socket with that id,
				      * or from another source or device */
	EGR_STAT_DNS_MISMATCH = 16,  /* ignored: the question is not the one asked */
	EGR_STAT_DNS_MALFORMED = 17, /* ignored: the message does not parse */
	EGR_STAT_DNS_TRUNCATED = 18, /* ignored: TC set, larger than EGR_DNS_MSG_MAX,
				      * or a TCP answer not whole in one segment */
	EGR_STAT_DNS_LEARNED = 19,   /* addresses learned or refreshed */
	EGR_STAT_DNS_CAPACITY = 20,  /* addresses not learned: over max_per_name, or a
				      * rule reference pushed out (EGR_LEARN_REFS) */
	EGR_STAT_DNS_EVICTED = 21,   /* learned addresses dropped, oldest first, to
				      * make room (--max-learned) */
	EGR_STAT_DNS_FORGED = 22,    /* dropped: the cgroup sent from its resolver's
				      * address and port 53 */
	EGR_STAT_MAX = 23,
};

/* Denied/audited packet events, egr_events ring buffer. Rate-limited per
 * cgroup by a token bucket (egr_evcfg); the verdict never depends on it.
 */
#define EGR_EVENTS_RINGBUF (256 * 1024)
#define EGR_EV_DEFAULT_RATE 100	 /* events per second */
#define EGR_EV_DEFAULT_BURST 200

struct egr_event {
	__u64 ts_ns;	 /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 cgroup_id; /* packets: the socket's cgroup; socket hooks: the caller's */
	__u32 rule;	 /* deciding rule id or EGR_RULE_DEFAULT */
	__u32 len;	 /* packet bytes; 0 at the socket hooks (nothing was built) */
	__u8 family;	 /* 4 or 6 */
	__u8 proto;
	__u8 verdict;	 /* EGR_DENY, or EGR_EV_AUDIT */
	__u8 pktflags;	 /* EGR_PKT_* */
	__u16 sport;	 /* host order; 0 at the socket hooks */
	__u16 dport;
	__u8 src[16];	 /* network order; IPv4 in the first 4 bytes; zero at the hooks */
	__u8 dst[16];
	/* Who (issue 16): the process that called connect()/sendmsg(), or
	 * for a packet the one that last did on its socket (egr_sk_state's
	 * owner). pid 0: not known (a socket no hook ran for).
	 */
	__u64 cookie;	 /* socket cookie (bpf_get_socket_cookie), 0 unknown */
	__u32 pid;	 /* thread id */
	__u32 tgid;	 /* process id */
	char comm[16];
	__u8 hook;	 /* EGR_HOOK_* */
	__u8 pad[7];
};

#define EGR_EV_AUDIT 2

/* egr_event.hook: where the verdict was made. */
#define EGR_HOOK_PACKET 0  /* cgroup_skb/egress */
#define EGR_HOOK_CONNECT 1 /* cgroup/connect4, cgroup/connect6 */
#define EGR_HOOK_SENDMSG 2 /* cgroup/sendmsg4, cgroup/sendmsg6 */

/* egr_evcfg[0]: event settings and the token bucket (under .lock; a map
 * update from userspace leaves .lock alone).
 */
struct egr_evcfg {
	struct bpf_spin_lock lock;
	__u32 enabled; /* a reader is attached: emit events */
	__u32 rate;    /* tokens per second */
	__u32 burst;   /* bucket size */
	__u64 tokens_ns; /* bucket level, in ns of rate (tokens * 1e9 / rate) */
	__u64 last_ns;
};

/* LPM trie keys; addr in network byte order, prefixlen in host order. */
struct egr_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct egr_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Name trie key. data[0] is the slot; then the name, lowercase and
 * reversed byte-wise: "api.example.com" is "moc.elpmaxe.ipa" followed by
 * '\0' (exact), "*.example.com" is "moc.elpmaxe." (any name that ends in
 * ".example.com"). prefixlen = 8 * bytes of data in use.
 */
#define EGR_NAME_MAX 253	/* characters of a name, without a final dot */
#define EGR_NAME_KEY_MAX 256
#define EGR_NAME_WALK 128	/* name trie entries one name can match */

struct egr_lpm_name {
	__u32 prefixlen;
	__u8 data[EGR_NAME_KEY_MAX];
};

/* LPM trie value: the rules of exactly this prefix (name tries: .plen is
 * the entry's key bytes in use). Host byte order.
 */
struct egr_prefix {
	__u32 first; /* absolute index of the first rule in egr_rules */
	__u16 count; /* 1..EGR_MAX_PREFIX_RULES, deny rules first */
	__u8 plen;   /* this entry's own prefix length */
	__u8 pad;
};

/* One rule of a prefix. Host byte order. */
struct egr_rule {
	__u32 id;      /* index into egr_hits; stable while the rule exists */
	__u16 port_lo; /* with EGR_RF_PORTS: first port, inclusive */
	__u16 port_hi; /* with EGR_RF_PORTS: last port, inclusive */
	__u8 proto;    /* EGR_PROTO_ANY or IPPROTO_* */
	__u8 action;   /* EGR_ALLOW or EGR_DENY */
	__u8 flags;    /* EGR_RF_* */
	__u8 pad;
};

/* egr_ctl[0] uses .generation (never 0; low bit = live slot); egr_ctl[1 + s]
 * uses .dflt and .flags of slot s, written whole by one map update. Host
 * byte order.
 */
struct egr_ctl {
	__u32 slot;  /* unused in the map; kgen_slot_cfg() reports the slot here */
	__u32 dflt;  /* slot entries: EGR_ALLOW or EGR_DENY */
	__u32 flags; /* slot entries: EGR_SF_* */
	__u32 pad;
	__u64 generation; /* entry 0: bumped by every change */
	__u64 learn; /* entry 0: bumped (by the program) when a learned address
		      * could change a verdict; cached default denies carry it */
	__u64 lhead; /* entry 0: egr_lring sequence numbers handed out */
	__u32 min_ttl; /* slot entries: learned addresses stay at least this
			* many seconds */
	__u32 max_per_name; /* slot entries: addresses learned per answer */
};

#define EGR_CTL_ACTIVE 0
#define EGR_CTL_ENTRIES 3

/* Times a packet is judged again when the generation moved under it; past
 * that it is dropped as unjudged (EGR_STAT_NOPOLICY).
 */
#define EGR_MAX_JUDGE 3

struct egr_counter {
	__u64 packets;
	__u64 bytes;
};

/* egr_sk socket storage value: the inbound mark (sockops) and the verdict
 * cache (egress program). Only the program of the socket's own cgroup
 * touches it.
 */
#define EGR_SK_INBOUND 0x01 /* TCP connection accepted from outside */

struct egr_sk_state {
	__u32 flags;	  /* EGR_SK_* */
	__u32 seq;	  /* cache writes: odd while one is under way */
	__u64 generation; /* cached under this generation; 0 = nothing cached */
	__u32 rule;	  /* cached: deciding rule id or EGR_RULE_DEFAULT */
	__u8 family;	  /* cached key: family, protocol, EGR_PKT_* flags, */
	__u8 proto;	  /*   destination port (host order) and address */
	__u8 pktflags;
	__u8 action;	  /* cached: EGR_ACT_* */
	__u16 dport;
	__u16 pad;
	__u8 dst[16];
	__u32 pad2;
	/* Owner (issue 16): written by the socket hooks at every connect()
	 * and sendmsg() with an address, read by the egress program for the
	 * events of later packets. owner_pid 0: no hook ran for this socket.
	 */
	__u32 owner_pid;  /* thread id */
	__u32 owner_tgid; /* process id */
	char owner_comm[16];
	/* Name rules (learned addresses). A cached verdict of the default
	 * (via EGR_VIA_DEFAULT) holds while egr_ctl[0].learn is still .learn;
	 * one of a learned address (EGR_VIA_LEARNED) also only until .expires.
	 * A TCP socket allowed by a learned address keeps the grant: its
	 * later packets to grant_dst:grant_dport pass while that name rule
	 * (grant_id at incarnation grant_inc) is in force, after the address
	 * expired or was evicted.
	 */
	__u64 learn;
	__u64 expires;	  /* bpf_ktime_get_coarse_ns() */
	__u32 grant_id;
	__u32 grant_inc;  /* 0: no grant */
	__u8 grant_dst[16];
	__u16 grant_dport;
	__u8 grant_family;
	__u8 via;	  /* cached: EGR_VIA_* */
	__u32 pad3;
};

/* How a verdict was reached (walk_ctx.via, egr_sk_state.via). */
#define EGR_VIA_RULE 0	  /* an address rule */
#define EGR_VIA_DEFAULT 1 /* the slot's default */
#define EGR_VIA_LEARNED 2 /* an address a name rule learned (allow) */
#define EGR_VIA_GRANT 3	  /* the socket's grant (allow) */

/* egr_sk_state.action: what the cached verdict does with the packet. */
#define EGR_ACT_ALLOW 1 /* passed by a rule or the default */
#define EGR_ACT_DENY 2	/* dropped */
#define EGR_ACT_AUDIT 3 /* would be dropped; passed (audit mode) */

/* Userspace-only bookkeeping, egr_meta[0]. Written under the lock. */
struct egr_meta {
	__u32 magic;     /* EGR_MAGIC */
	__u32 abi;       /* EGR_ABI_VERSION */
	__u32 max_rules; /* capacity: rule ids, rules per slot, prefixes */
	__u32 next_id;   /* rule ids below this have been handed out */
	__u32 nfree;     /* entries on the egr_free stack */
	__u32 used[2];   /* rules written into each slot's half (live and garbage) */
	__u32 nrules;    /* live rules in the active slot */
	__u32 nprefix[2]; /* live trie entries in the active slot: [0] v4, [1] v6 */
	__u32 dirty;     /* a change is under way; if its process died, the
			  * next change rebuilds this bookkeeping from the live slot */
	__u64 cgroup_id;
	__u64 created;   /* CLOCK_REALTIME seconds at attach */
	__u64 free_hash; /* of egr_free[0, nfree) as the last apply wrote it; 0:
			  * unknown (changed by live edits) */
	char path[256];  /* cgroup path at attach, for display */
	__u32 next_inc;  /* name rule incarnations below this were handed out */
	__u32 nnames;    /* live name trie entries in the active slot */
	__u32 max_learned; /* capacity of egr_learn / egr_lring (attach) */
	__u32 flags;     /* EGR_MF_*: how the instance was loaded (kept when it grows) */
};

/* --- DNS: queries, answers, learned addresses (bpf/dns.bpf.h) --- */

#define EGR_DNS_PORT 53
#define EGR_DNS_MSG_MAX 8192	/* larger answers are not learned from */
#define EGR_DNSQ_MAX 4096	/* queries awaiting their answer, per cgroup */
#define EGR_DNS_CHAIN 8		/* names of a CNAME chain followed */
#define EGR_DNS_ADDRS 256	/* addresses taken from one answer */
#define EGR_DNS_RRS 512		/* answer records read */

#define EGR_DEFAULT_MIN_TTL 60
#define EGR_MAX_MIN_TTL 86400
#define EGR_MAX_TTL 86400	/* a record's TTL is cut to this */
#define EGR_DEFAULT_MAX_PER_NAME 64
#define EGR_MAX_MAX_PER_NAME EGR_DNS_ADDRS
#define EGR_DEFAULT_MAX_LEARNED 16384
#define EGR_MIN_MAX_LEARNED 64
#define EGR_MAX_MAX_LEARNED (1u << 20)
#define EGR_LEARN_REFS 6	/* name rules one learned address holds */

/* Docker's embedded DNS server, answering on the container's loopback. */
#define EGR_DOCKER_DNS 0x7f00000bu /* 127.0.0.11, host order */

/* egr_dnsq: key by the sending socket (bpf_get_socket_cookie(), the same
 * at egress and ingress), the DNS id and the L4 protocol.
 */
struct egr_dnsq_key {
	__u64 cookie;
	__u16 id;   /* network order, as in the message */
	__u8 proto; /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 pad[5];
};

#define EGR_DQ_LOOPBACK 0x01 /* asked Docker's embedded DNS (127.0.0.11) */

struct egr_dnsq {
	__u8 family;
	__u8 flags;	 /* EGR_DQ_* */
	__u16 qtype;	 /* host order */
	__u16 qlen;	 /* bytes of qname, its final 0 included */
	__u16 pad;
	__u8 resolver[16]; /* the query's destination (after any NAT) */
	__u8 resolver2[16]; /* the socket's (before NAT), or resolver again */
	__u8 qname[EGR_NAME_KEY_MAX]; /* the question name as sent (wire form) */
};

struct egr_learn_key {
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes */
};

/* One name rule an address was learned for. */
struct egr_lref {
	__u32 id;	/* rule id */
	__u32 inc;	/* its incarnation (egr_nlive); 0: unused */
	__u64 expires;	/* bpf_ktime_get_coarse_ns() */
	__u16 port_lo;	/* the rule's ports, as struct egr_rule */
	__u16 port_hi;
	__u8 proto;	/* ICMPv6 for an IPv6 address under an icmp rule */
	__u8 flags;	/* EGR_RF_* */
	__u16 pad;
};

struct egr_learned {
	struct bpf_spin_lock lock; /* writers of ref[] take it */
	__u32 seq; /* odd while a writer changes ref[]: readers (the judge)
		    * take no lock, they read again if it moved */
	__u64 ring_seq; /* its egr_lring entry: egr_lring[ring_seq % cap] */
	struct egr_lref ref[EGR_LEARN_REFS];
};

struct egr_lslot {
	struct egr_learn_key key;
	__u32 pad;
	__u64 seq; /* 0: empty */
};

/* egr_meta.flags */
#define EGR_MF_NO_SET_RETVAL 0x01 /* socket hooks refuse with EPERM only (test hook
				   * EGRESSCTL_TEST_NO_SET_RETVAL, or no bpf_set_retval) */
#define EGR_MF_NO_CACHE 0x02	  /* benchmarks: no verdict cache */
#define EGR_MF_SWAP 0x04	  /* this instance is being swapped in (kgrow.c): until the
				   * flag is gone, its links may still run the old one */

/* egr_comm: refused (and, in audit mode, would-be refused) connect() and
 * sendmsg() calls per process name, counted by the socket hooks. At most
 * EGR_COMM_MAX names; once full, further names count under one overflow
 * key that no process name can be (comm[0] == 0, comm[15] == 1), put in
 * by userspace at load.
 */
#define EGR_COMM_MAX 64

struct egr_comm_key {
	char comm[16];
};

struct egr_comm_count {
	__u64 denied; /* calls refused */
	__u64 audit;  /* calls audit mode let through that would be refused */
};

/* egr_audit: what audit mode let through that the policy denies, collected
 * by the egress program per destination, protocol and port (no reader
 * needed), for `egressctl suggest`. At most EGR_AUDIT_MAX destinations;
 * packets to further ones are counted in EGR_STAT_AUDIT_FULL. Emptied by
 * `suggest --reset` (userspace deletes).
 */
#define EGR_AUDIT_MAX 4096

struct egr_audit_key {
	__u8 family;   /* 4 or 6 */
	__u8 proto;
	__u8 pktflags; /* EGR_PKT_*: ports unknown (fragments) are their own entries */
	__u8 pad;
	__u16 dport;   /* host order; 0 without ports */
	__u16 pad2;
	__u8 dst[16];  /* network order; IPv4 in the first 4 bytes */
};

struct egr_audit_val {
	__u64 packets;
	__u64 first_ns; /* bpf_ktime_get_coarse_ns() of the first and the last */
	__u64 last_ns;
	__u32 rule;	/* the deciding rule id or EGR_RULE_DEFAULT (the last packet's) */
	__u32 pad;
};

/* egr_anames: in audit mode, the name a DNS answer the cgroup received gave
 * an address (the question's name: what the application asked; through a
 * CNAME chain, the addresses at its end), for `egressctl suggest`. Filled
 * by the ingress program from answers to queries the cgroup sent (any
 * resolver: audit mode lets every query out). LRU, EGR_AUDIT_MAX addresses,
 * keyed by struct egr_learn_key.
 */
struct egr_aname {
	__u64 ns; /* bpf_ktime_get_coarse_ns() of the answer */
	char name[EGR_NAME_KEY_MAX]; /* lowercase, dotted, no final dot, NUL-padded */
};


/* EGR_PIN_ROOT "/egr_managed": hash map, cgroup id (__u64) -> this. */
#define EGR_MANAGED_PIN EGR_PIN_ROOT "/egr_managed"
#define EGR_MANAGED_MAX 65536

struct egr_managed {
	__u32 flags; /* reserved, 0 */
	__u32 pad;
};

#endif /* EGRESSCTL_H */
