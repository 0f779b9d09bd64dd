// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl list: read back what is in force from pinned state */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "kernel/kgen.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "policy/addr.h"
#include "runtime/label.h"
#include "util/log.h"

static const char list_usage[] =
	"Usage: egressctl list [<target>] [-j|--json]\n"
	"\n"
	"Show the rules in force (read back from the kernel) with their hit counts,\n"
	"for one target or every attached one.\n";

static int list_one(const struct egr_kstate *ks, json_t *arr)
{
	struct egr_live_rule *lr;
	struct egr_policy pol;
	size_t n, i;
	char label[300], d[64], ps[32];
	int err = kpolicy_read(ks, &pol, &lr, &n);

	if (err) {
		pr_err("reading the policy of cgroup id %llu: %s\n", (unsigned long long)ks->cgid,
		       strerror(-err));
		return 1;
	}
	if (arr) {
		json_t *o = target_json(ks), *rules = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(
				rules, json_pack("{s:s, s:s, s:s, s:I, s:I}", "action",
						 lr[i].rule.action == EGR_ALLOW ? "allow" : "deny",
						 "dest", format_dest(&lr[i].rule.dest, d, sizeof(d)),
						 "ports",
						 format_portspec(&lr[i].rule.ps, ps, sizeof(ps)), "id",
						 (json_int_t)lr[i].id, "hits", (json_int_t)lr[i].hits));
		json_object_set_new(o, "rules", rules);
		json_array_append_new(arr, o);
	} else {
		target_label(ks, label, sizeof(label));
		printf("%s (id %llu): default %s, audit %s, %zu rule%s\n", label,
		       (unsigned long long)ks->cgid, pol.dflt == EGR_ALLOW ? "allow" : "deny",
		       pol.audit ? "on" : "off", n, n == 1 ? "" : "s");
		if (n)
			printf("  %-6s %-43s %-15s %s\n", "ACTION", "DEST", "PORTS", "HITS");
		for (i = 0; i < n; i++)
			printf("  %-6s %-43s %-15s %llu\n",
			       lr[i].rule.action == EGR_ALLOW ? "allow" : "deny",
			       format_dest(&lr[i].rule.dest, d, sizeof(d)),
			       format_portspec(&lr[i].rule.ps, ps, sizeof(ps)),
			       (unsigned long long)lr[i].hits);
	}
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
