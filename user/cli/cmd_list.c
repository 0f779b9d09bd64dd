// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl list / status: read back what is in force from pinned state */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/magic.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "kernel/kgen.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "kernel/lsm.h"
#include "kernel/vethguard.h"
#include "policy/addr.h"
#include "runtime/label.h"
#include "util/cgroup.h"
#include "util/log.h"

static const char list_usage[] =
	"Usage: egressctl list [<target>] [-j|--json]\n"
	"\n"
	"Show the rules in force (read back from the kernel) with their hit counts,\n"
	"for one target or every attached one.\n";

static const char status_usage[] =
	"Usage: egressctl status [-j|--json]\n"
	"\n"
	"Show what is attached where, map usage, packet counters and kernel features.\n";

static const char *const stat_names[EGR_STAT_MAX] = {
	[EGR_STAT_ALLOWED] = "allowed",	    [EGR_STAT_DENIED] = "denied",
	[EGR_STAT_AUDIT] = "audit",	    [EGR_STAT_LOOPBACK] = "loopback",
	[EGR_STAT_INBOUND] = "inbound",	    [EGR_STAT_MALFORMED] = "malformed",
	[EGR_STAT_NOPOLICY] = "nopolicy",   [EGR_STAT_NDP] = "ndp",
};

static json_t *target_json(const struct egr_kstate *ks)
{
	struct egr_ctl cfg = { 0 };
	char label[300];

	target_label(ks, label, sizeof(label));
	kgen_slot_cfg(ks, &cfg);
	return json_pack("{s:s, s:s, s:I, s:s, s:b}", "target", label, "cgroup", ks->meta.path,
			 "cgroup_id", (json_int_t)ks->cgid, "default",
			 cfg.dflt == EGR_ALLOW ? "allow" : "deny", "audit",
			 !!(cfg.flags & EGR_SF_AUDIT));
}

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

static int print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));

	json_decref(j);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int parse_json_opt(int argc, char **argv, const char *text, bool *json, int *done)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, HELP_OPT,
					      { 0 } };
	int c;

	*done = -1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			*json = true;
			continue;
		}
		*done = usage(text, c != 'h');
		return 1;
	}
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
	}
	if (arr)
		ret |= print_json(arr);
	return ret;
}

static bool have_btf(void)
{
	return !access("/sys/kernel/btf/vmlinux", R_OK);
}

static bool bpffs_mounted(void)
{
	struct statfs st;

	return !statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC;
}

/* The packet-socket guard (kernel/lsm.h): what blocks packet sockets, and
 * every target it does not cover. "packet_sockets" in json.
 */
static void status_lsm(json_t *j)
{
	struct egr_lsm_info li;
	json_t *uncovered = json_array();
	uint64_t *ids = NULL, refused = 0;
	size_t n = 0, i, k;
	char why[400], reason[160];

	lsm_info(&li);
	lsm_reason(&li, reason, sizeof(reason));
	for (k = 0; k < EGR_LSM_STAT_MAX; k++)
		refused += li.refused[k];
	kstate_list(&ids, &n);
	for (i = 0; i < n && li.state != EGR_LSM_ACTIVE; i++)
		if (vguard_count(ids[i]) <= 0)
			json_array_append_new(uncovered, json_integer((json_int_t)ids[i]));
	free(ids);
	if (li.state == EGR_LSM_ACTIVE)
		snprintf(why, sizeof(why), "blocked (BPF LSM), %llu refused",
			 (unsigned long long)refused);
	else if (li.foreign)
		snprintf(why, sizeof(why), "NOT blocked: %s holds pins not made by egressctl",
			 EGR_PKTGUARD_DIR);
	else if (!li.guard_loaded)
		snprintf(why, sizeof(why), "NOT blocked: BPF LSM unavailable (%s), veth guard not loaded (attach loads it)",
			 reason);
	else
		snprintf(why, sizeof(why),
			 "BPF LSM unavailable (%s); blocked at the veth of %zu of %zu targets, "
			 "%llu frames dropped",
			 reason, n - json_array_size(uncovered), n,
			 (unsigned long long)li.refused[EGR_LSM_STAT_VETH]);
	if (j) {
		json_object_set_new(
			json_object_get(j, "kernel"), "packet_sockets",
			json_pack("{s:b, s:s, s:b, s:b, s:s, s:I, s:o}", "bpf_lsm",
				  li.state == EGR_LSM_ACTIVE, "bpf_lsm_state", lsm_state_name(li.state),
				  "veth_guard", li.guard_loaded, "bpf_lsm_listed",
				  li.state == EGR_LSM_ACTIVE || li.state == EGR_LSM_REFUSED, "text", why, "refused", (json_int_t)refused, "uncovered_cgroup_ids",
				  uncovered));
		return;
	}
	printf("packet sockets: %s\n", why);
	for (i = 0; i < json_array_size(uncovered); i++)
		printf("packet sockets NOT blocked for cgroup id %llu (no BPF LSM, no veth)\n",
		       (unsigned long long)json_integer_value(json_array_get(uncovered, i)));
	json_decref(uncovered);
}

static json_t *status_json(const struct egr_kstate *ks, int alive,
			   const struct egr_counter st[EGR_STAT_MAX])
{
	json_t *o = target_json(ks), *c = json_object();
	int k;

	json_object_set_new(o, "attached", json_boolean(alive));
	json_object_set_new(o, "rules", json_integer(ks->meta.nrules));
	json_object_set_new(o, "prefixes_v4", json_integer(ks->meta.nprefix[0]));
	json_object_set_new(o, "prefixes_v6", json_integer(ks->meta.nprefix[1]));
	json_object_set_new(o, "capacity", json_integer(ks->meta.max_rules));
	for (k = 0; k < EGR_STAT_MAX; k++)
		if (stat_names[k])
			json_object_set_new(c, stat_names[k],
					    json_pack("{s:I, s:I}", "packets",
						      (json_int_t)st[k].packets, "bytes",
						      (json_int_t)st[k].bytes));
	json_object_set_new(o, "counters", c);
	return o;
}

static void status_text(const struct egr_kstate *ks, int alive,
			const struct egr_counter st[EGR_STAT_MAX])
{
	char label[300];
	int k;

	target_label(ks, label, sizeof(label));
	printf("\n%s (id %llu)\n", label, (unsigned long long)ks->cgid);
	if (!alive && kstate_link_missing(ks))
		printf("  NOT ENFORCING: its link is missing (an interrupted command); run attach to repair it, or detach\n");
	else if (!alive)
		printf("  DEFUNCT: the cgroup is gone; remove with: egressctl detach cgid:%llu\n",
		       (unsigned long long)ks->cgid);

	printf("  rules %u/%u, prefixes v4 %u v6 %u\n", ks->meta.nrules, ks->meta.max_rules,
	       ks->meta.nprefix[0], ks->meta.nprefix[1]);
	for (k = 0; k < EGR_STAT_MAX; k++)
		if (stat_names[k] && (st[k].packets || k <= EGR_STAT_AUDIT))
			printf("  %-9s %llu packets, %llu bytes\n", stat_names[k],
			       (unsigned long long)st[k].packets, (unsigned long long)st[k].bytes);
}

/* One attached target (ids[i]) in status: text, or an object in targets. */
static void status_target(uint64_t id, json_t *targets)
{
	struct egr_counter st[EGR_STAT_MAX];
	struct egr_kstate ks;
	int alive, k;

	k = kstate_open(id, &ks);
	if (k) {
		const char *why = k == -EPROTONOSUPPORT ?
					  "attached by an egressctl with another map layout: detach and attach again to upgrade" :
					  "pins not made by egressctl";

		if (targets)
			json_array_append_new(targets, json_pack("{s:I, s:s}", "cgroup_id",
								 (json_int_t)id, "error", why));
		else
			printf("\ncgroup id %llu: %s\n", (unsigned long long)id, why);
		return;
	}
	if (ks.meta.dirty) {
		/* an interrupted change: repair the counts first */
		int lock = kstate_lock();

		kstate_close(&ks);
		if (!kstate_open(id, &ks) && ks.meta.dirty)
			kpolicy_recover(&ks);
		kstate_unlock(lock);
	}
	alive = kstate_link_alive(&ks);
	kstate_stats(&ks, st);
	if (targets)
		json_array_append_new(targets, status_json(&ks, alive, st));
	else
		status_text(&ks, alive, st);
	kstate_close(&ks);
}

int cmd_status(int argc, char **argv)
{
	struct utsname u;
	json_t *j = NULL, *targets = NULL;
	uint64_t *ids = NULL;
	size_t n = 0, i;
	char mnt[4096] = "";
	bool json = false;
	int done;

	if (parse_json_opt(argc, argv, status_usage, &json, &done))
		return done;
	if (optind != argc)
		return usage(status_usage, true);
	if (need_root())
		return 1;
	uname(&u);
	cgroup2_host_mount(mnt, sizeof(mnt));
	if (json) {
		j = json_pack("{s:s, s:{s:s, s:b, s:b, s:s}}", "version", EGR_VERSION, "kernel",
			      "release", u.release, "btf", have_btf(), "bpffs", bpffs_mounted(),
			      "cgroup2", mnt);
		targets = json_array();
	} else {
		printf("egressctl %s, kernel %s, BTF %s, bpffs %s, cgroup v2 at %s\n", EGR_VERSION,
		       u.release, have_btf() ? "yes" : "no", bpffs_mounted() ? "mounted" : "not mounted",
		       mnt[0] ? mnt : "(none)");
	}
	status_lsm(j);
	kstate_clean_stale();
	kstate_list(&ids, &n);
	if (!json)
		printf("%zu target%s attached\n", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		status_target(ids[i], targets);
	free(ids);
	if (json) {
		json_object_set_new(j, "targets", targets);
		return print_json(j);
	}
	return 0;
}
