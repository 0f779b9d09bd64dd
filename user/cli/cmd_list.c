// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl list: read back what is in force from pinned state */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "kernel/kgen.h"
#include "kernel/knames.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "runtime/label.h"
#include "util/log.h"

static const char list_usage[] =
	"Usage: egressctl list [<target>] [-j|--json]\n"
	"\n"
	"Show the rules in force (read back from the kernel) with their hit counts,\n"
	"for one target or every attached one.\n";

/* What the live name rules hold now: per learned reference in force, its
 * address and seconds left (sorted by rule id, then address).
 */
struct held {
	uint32_t id;
	uint8_t family;
	uint8_t addr[16];
	uint64_t left_ms;
};

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static int read_held(const struct egr_kstate *ks, struct held **out, size_t *nout,
		     size_t *naddr)
{
	struct klearned *l;
	struct egr_ctl cfg;
	struct held *h;
	uint64_t now = klearn_now();
	size_t n, i, k, m = 0;
	int err;

	*out = NULL;
	*nout = *naddr = 0;
	err = kgen_slot_cfg(ks, &cfg);
	if (!err)
		err = klearn_read(ks, &l, &n);
	if (err)
		return err;
	h = calloc(n * EGR_LEARN_REFS + 1, sizeof(*h));
	if (!h) {
		free(l);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		bool any = false;

		for (k = 0; k < EGR_LEARN_REFS; k++) {
			const struct egr_lref *r = &l[i].ref[k];
			uint32_t inc;

			if (!r->inc || r->expires <= now || r->id >= ks->meta.max_rules ||
			    knlive_get(ks, cfg.slot, r->id, &inc) || inc != r->inc)
				continue;
			h[m].id = r->id;
			h[m].family = l[i].key.family;
			memcpy(h[m].addr, l[i].key.addr, 16);
			h[m++].left_ms = (r->expires - now) / 1000000;
			any = true;
		}
		*naddr += any;
	}
	free(l);
	qsort(h, m, sizeof(*h), cmp_held);
	*out = h;
	*nout = m;
	return 0;
}

static const char *held_addr(const struct held *h, char *buf, size_t len)
{
	return inet_ntop(h->family == 4 ? AF_INET : AF_INET6, h->addr, buf, len);
}

static json_t *held_json(const struct held *h, size_t nh, uint32_t id)
{
	json_t *a = json_array();
	char buf[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < nh; i++)
		if (h[i].id == id)
			json_array_append_new(a, json_pack("{s:s, s:I}", "addr",
							   held_addr(&h[i], buf, sizeof(buf)),
							   "ttl", (json_int_t)(h[i].left_ms / 1000)));
	return a;
}

static void held_text(const struct held *h, size_t nh, uint32_t id)
{
	char buf[INET6_ADDRSTRLEN];
	size_t i, k = 0;

	for (i = 0; i < nh; i++) {
		if (h[i].id != id)
			continue;
		printf("%s%s (%llu s)", k % 4 ? ", " : k ? "\n         " : "         learned: ",
		       held_addr(&h[i], buf, sizeof(buf)), (unsigned long long)h[i].left_ms / 1000);
		k++;
	}
	if (k)
		putchar('\n');
}

static int list_one(const struct egr_kstate *ks, json_t *arr)
{
	struct egr_live_rule *lr;
	struct egr_policy pol;
	struct held *h = NULL;
	size_t n, i, nh = 0, naddr = 0;
	char label[300], d[EGR_DEST_STRLEN], ps[32];
	int err = kpolicy_read(ks, &pol, &lr, &n);

	if (!err && ks->meta.nnames)
		err = read_held(ks, &h, &nh, &naddr);
	if (err) {
		pr_err("reading the policy of cgroup id %llu: %s\n", (unsigned long long)ks->cgid,
		       strerror(-err));
		return 1;
	}
	if (arr) {
		json_t *o = target_json(ks), *rules = json_array();

		for (i = 0; i < n; i++) {
			json_t *r = json_pack("{s:s, s:s, s:s, s:I, s:I}", "action",
					      lr[i].rule.action == EGR_ALLOW ? "allow" : "deny",
					      "dest", format_dest(&lr[i].rule.dest, d, sizeof(d)),
					      "ports", format_portspec(&lr[i].rule.ps, ps, sizeof(ps)),
					      "id", (json_int_t)lr[i].id, "hits",
					      (json_int_t)lr[i].hits);

			if (dest_is_name(&lr[i].rule.dest))
				json_object_set_new(r, "learned", held_json(h, nh, lr[i].id));
			json_array_append_new(rules, r);
		}
		json_object_set_new(o, "rules", rules);
		json_object_set_new(o, "learned_addresses", json_integer(naddr));
		json_array_append_new(arr, o);
	} else {
		target_label(ks, label, sizeof(label));
		printf("%s (id %llu): default %s, audit %s, %zu rule%s\n", label,
		       (unsigned long long)ks->cgid, pol.dflt == EGR_ALLOW ? "allow" : "deny",
		       pol.audit ? "on" : "off", n, n == 1 ? "" : "s");
		if (n)
			printf("  %-6s %-43s %-15s %s\n", "ACTION", "DEST", "PORTS", "HITS");
		for (i = 0; i < n; i++) {
			printf("  %-6s %-43s %-15s %llu\n",
			       lr[i].rule.action == EGR_ALLOW ? "allow" : "deny",
			       format_dest(&lr[i].rule.dest, d, sizeof(d)),
			       format_portspec(&lr[i].rule.ps, ps, sizeof(ps)),
			       (unsigned long long)lr[i].hits);
			if (dest_is_name(&lr[i].rule.dest))
				held_text(h, nh, lr[i].id);
		}
	}
	free(h);
	free(lr);
	policy_free(&pol);
	return 0;
}

int cmd_list(int argc, char **argv)
{
	json_t *arr = NULL;
	uint64_t *ids = NULL;
	size_t n = 0, i;
	bool json = false;
	int done, ret = 0;

	if (parse_json_opt(argc, argv, list_usage, &json, &done))
		return done;
	if (argc - optind > 1)
		return usage(list_usage, true);
	if (need_root())
		return 1;
	if (json)
		arr = json_array();
	if (optind < argc) {
		struct egr_target t;
		struct egr_kstate ks;

		if (open_target(argv[optind], &t, &ks)) {
			json_decref(arr);
			return 1;
		}
		ret = list_one(&ks, arr);
		kstate_close(&ks);
	} else {
		kstate_list(&ids, &n);
		for (i = 0; i < n; i++) {
			struct egr_kstate ks;

			if (kstate_open(ids[i], &ks))
				continue;
			if (!arr && i)
				putchar('\n');
			ret |= list_one(&ks, arr);
			kstate_close(&ks);
		}
		free(ids);
		note_defunct();
	}
	if (arr)
		ret |= print_json(arr);
	return ret;
}
