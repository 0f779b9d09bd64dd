/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The test oracles: two evaluators of a policy, for the tests only (the
 * shipped binary does not link them). compile_eval() (compile_eval.c)
 * models the BPF program's walk over a compiled policy; policy_eval_ref()
 * (refeval.c) is the documented semantics written down as plainly as
 * possible. tests/unit/test_compile.c, tests/bpf/test_prog.c and
 * tests/fuzz/fuzz_compile_diff.c hold each against the other and the
 * program.
 */
#ifndef EGR_TESTS_ORACLE_H
#define EGR_TESTS_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include "policy/compile.h"
#include "policy/rule.h"

/* A packet as the evaluators see it; mirrors struct egr_pkt in
 * bpf/parsing.bpf.h after unmap_v4mapped().
 */
struct egr_tpkt {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;	/* IPPROTO_* */
	uint8_t flags;	/* EGR_PKT_* */
	uint16_t dport; /* host order */
	uint8_t dst[16];
};

/* Judge pkt by walking c exactly as bpf/egressctl.bpf.c does. Returns
 * EGR_ALLOW or EGR_DENY; *rule_id is the deciding egr_rule.id or
 * EGR_RULE_DEFAULT. Loopback and inbound-TCP exemptions are not applied.
 */
int compile_eval(const struct egr_compiled *c, const struct egr_tpkt *pkt, uint32_t *rule_id);

/* Judge pkt straight from the documented semantics, without compiling:
 * among the rules whose prefix contains dst and whose protocol/port
 * match, the longest prefix decides, deny wins a tie, else the default.
 * Unknown fields (EGR_PKT_*) match deny rules and never allow rules.
 * *urule is the index of the deciding rule in p->rules, or -1.
 */
int policy_eval_ref(const struct egr_policy *p, const struct egr_tpkt *pkt, int *urule);

/* Does a rule's protocol/ports match pkt (shared by both evaluators)? */
bool urule_matches_pkt(const struct egr_urule *r, const struct egr_tpkt *pkt);

#endif /* EGR_TESTS_ORACLE_H */
