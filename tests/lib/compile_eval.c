// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The compiled walk in C: what bpf/egressctl.bpf.c does with the tries and
 * rule slices, done on struct egr_compiled (keep the two in sync). A test
 * oracle (oracle.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "egressctl.h"
#include "lib/oracle.h"
#include "policy/compile.h"

static void mask_addr(uint8_t *out, const uint8_t *in, unsigned int plen)
{
	unsigned int i;

	memset(out, 0, 16);
	for (i = 0; i < 16 && plen; i++) {
		unsigned int bits = plen >= 8 ? 8 : plen;

		out[i] = in[i] & (uint8_t)(0xff << (8 - bits));
		plen -= bits;
	}
}

static int cmp_cprefix(const void *key, const void *elem)
{
	return compile_dest_cmp(key, &((const struct egr_cprefix *)elem)->dest);
}

/* What an LPM lookup with prefixlen = maxlen returns: the longest prefix of
 * length <= maxlen that contains dst.
 */
static const struct egr_cprefix *lpm_lookup(const struct egr_compiled *c, int f,
					    const uint8_t *dst, int maxlen)
{
	struct egr_dest key = { .family = f ? 6 : 4 };
	int l;

	for (l = maxlen; l >= 0; l--) {
		const struct egr_cprefix *hit;

		key.plen = l;
		mask_addr(key.addr, dst, l);
		if (!c->npfx[f])
			return NULL;
		hit = bsearch(&key, c->pfx[f], c->npfx[f], sizeof(*hit), cmp_cprefix);
		if (hit)
			return hit;
	}
	return NULL;
}

int compile_eval(const struct egr_compiled *c, const struct egr_tpkt *pkt, uint32_t *rule_id)
{
	int f = pkt->family == 6;
	int plen = f ? 128 : 32;
	int step;

	for (step = 0; step < EGR_MAX_WALK; step++) {
		const struct egr_cprefix *cp = lpm_lookup(c, f, pkt->dst, plen);
		unsigned int j;

		if (!cp)
			break;
		for (j = 0; j < cp->count && j < EGR_MAX_PREFIX_RULES; j++) {
			const struct egr_rule *r = &c->rules[cp->first + j];

			if (compile_rule_matches(r, pkt->proto, pkt->flags, pkt->dport)) {
				*rule_id = r->id;
				return r->action;
			}
		}
		if (!cp->dest.plen)
			break;
		plen = cp->dest.plen - 1;
	}
	*rule_id = EGR_RULE_DEFAULT;
	return c->dflt;
}
