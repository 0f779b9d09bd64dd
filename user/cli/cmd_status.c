// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl status: what is attached where, its counters, the kernel's
 * features, the packet-socket guard and the strict-mode guard.
 */
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
#include "cli/guard_view.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "kernel/lsm.h"
#include "kernel/kpool.h"
#include "kernel/vethguard.h"
#include "runtime/label.h"
#include "util/cgroup.h"
#include "util/log.h"

static const char status_usage[] =
	"Usage: egressctl status [-j|--json]\n"
	"\n"
	"Show what is attached where, map usage, packet counters and kernel features.\n";

static const char *const stat_names[EGR_STAT_MAX] = {
	[EGR_STAT_ALLOWED] = "allowed",	    [EGR_STAT_DENIED] = "denied",
	[EGR_STAT_AUDIT] = "audit",	    [EGR_STAT_LOOPBACK] = "loopback",
	[EGR_STAT_INBOUND] = "inbound",	    [EGR_STAT_MALFORMED] = "malformed",
	[EGR_STAT_NOPOLICY] = "nopolicy",   [EGR_STAT_NDP] = "ndp",
	[EGR_STAT_REFUSED] = "refused",	    [EGR_STAT_AUDIT_FULL] = "audit_unrecorded",
};

/* DNS counters (egr_stats) in status, by name. */
static const char *const dns_stat_names[EGR_STAT_MAX] = {
	[EGR_STAT_DNS_QUERIES] = "queries",	    [EGR_STAT_DNS_ANSWERS] = "answers",
	[EGR_STAT_DNS_UNTRUSTED] = "untrusted",	    [EGR_STAT_DNS_MISMATCH] = "mismatch",
	[EGR_STAT_DNS_MALFORMED] = "malformed",	    [EGR_STAT_DNS_TRUNCATED] = "truncated",
	[EGR_STAT_DNS_LEARNED] = "learned",	    [EGR_STAT_DNS_CAPACITY] = "capacity",
	[EGR_STAT_DNS_EVICTED] = "evicted",	    [EGR_STAT_DNS_FORGED] = "forged",
};

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
		snprintf(why, sizeof(why), "NOT blocked: BPF LSM unavailable (%s), veth guard not loaded (egressctl attach <target> loads it)",
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
	c = json_object();
	for (k = 0; k < EGR_STAT_MAX; k++)
		if (dns_stat_names[k])
			json_object_set_new(c, dns_stat_names[k],
					    json_integer((json_int_t)st[k].packets));
	json_object_set_new(c, "max_learned", json_integer(ks->meta.max_learned));
	json_object_set_new(o, "dns", c);
	json_object_set_new(o, "names", json_integer(ks->meta.nnames));
	return o;
}

static void status_dns(const struct egr_counter st[EGR_STAT_MAX])
{
	printf("  dns: %llu queries, %llu answers learned from (ignored: %llu untrusted, %llu not the question asked, %llu malformed, %llu truncated), %llu addresses learned, %llu not (capacity), %llu evicted, %llu forged answers dropped\n",
	       (unsigned long long)st[EGR_STAT_DNS_QUERIES].packets,
	       (unsigned long long)st[EGR_STAT_DNS_ANSWERS].packets,
	       (unsigned long long)st[EGR_STAT_DNS_UNTRUSTED].packets,
	       (unsigned long long)st[EGR_STAT_DNS_MISMATCH].packets,
	       (unsigned long long)st[EGR_STAT_DNS_MALFORMED].packets,
	       (unsigned long long)st[EGR_STAT_DNS_TRUNCATED].packets,
	       (unsigned long long)st[EGR_STAT_DNS_LEARNED].packets,
	       (unsigned long long)st[EGR_STAT_DNS_CAPACITY].packets,
	       (unsigned long long)st[EGR_STAT_DNS_EVICTED].packets,
	       (unsigned long long)st[EGR_STAT_DNS_FORGED].packets);
}

static void status_text(const struct egr_kstate *ks, int alive,
			const struct egr_counter st[EGR_STAT_MAX])
{
	char label[300];
	int k;

	target_label(ks, label, sizeof(label));
	printf("\n%s (id %llu)\n", label, (unsigned long long)ks->cgid);
	if (!alive && kstate_link_missing(ks))
		printf("  NOT ENFORCING: its link is missing (an interrupted command); repair it with: egressctl attach cgroup:%s (or remove it: egressctl detach cgid:%llu)\n",
		       ks->meta.path, (unsigned long long)ks->cgid);
	else if (!alive)
		printf("  DEFUNCT: the cgroup is gone (egressctl detach --gone removes it)\n");

	printf("  rules %u/%u, prefixes v4 %u v6 %u, names %u\n", ks->meta.nrules,
	       ks->meta.max_rules, ks->meta.nprefix[0], ks->meta.nprefix[1], ks->meta.nnames);
	if (ks->meta.nnames || st[EGR_STAT_DNS_ANSWERS].packets)
		status_dns(st);
	for (k = 0; k < EGR_STAT_MAX; k++) {
		if (!stat_names[k] || (!st[k].packets && k > EGR_STAT_AUDIT))
			continue;
		if (k == EGR_STAT_REFUSED)
			printf("  %-9s %llu connect()/sendmsg() calls (in denied as 0 bytes)\n",
			       stat_names[k], (unsigned long long)st[k].packets);
		else
			printf("  %-9s %llu packets, %llu bytes\n", stat_names[k],
			       (unsigned long long)st[k].packets, (unsigned long long)st[k].bytes);
	}
}

/* One attached target (ids[i]) in status: text, or an object in targets.
 * 1 when it is defunct (its cgroup is gone), else 0.
 */
static int status_target(uint64_t id, json_t *targets)
{
	struct egr_counter st[EGR_STAT_MAX];
	struct egr_kstate ks;
	int alive, k;

	k = kstate_open(id, &ks);
	if (k) {
		const char *why = k == -EPROTONOSUPPORT ?
					  "attached by an egressctl with another map layout: to upgrade, egressctl detach cgid:<id>, then egressctl attach and egressctl apply again" :
					  "pins not made by egressctl";

		if (targets)
			json_array_append_new(targets, json_pack("{s:I, s:s}", "cgroup_id",
								 (json_int_t)id, "error", why));
		else
			printf("\ncgroup id %llu: %s\n", (unsigned long long)id, why);
		return 0;
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
	k = !alive && !kstate_link_missing(&ks);
	kstate_close(&ks);
	return k;
}

/* watch --preload's instances: not targets, but kernel memory. */
static void status_pool(json_t *j)
{
	struct kpool_info pi;

	kpool_info(&pi);
	if (j) {
		json_object_set_new(j, "preloaded",
				    json_pack("{s:i, s:i, s:I}", "instances", (int)pi.entries,
					      "orphans", (int)pi.orphans, "memlock_bytes",
					      (json_int_t)pi.memlock));
		return;
	}
	if (!pi.entries)
		return;
	printf("preloaded program instances (watch --preload): %u, %llu kB each", pi.entries,
	       (unsigned long long)pi.memlock / 1024);
	if (pi.orphans)
		printf("; %u of a watch that is gone (egressctl detach --gone removes them)",
		       pi.orphans);
	putchar('\n');
}

int cmd_status(int argc, char **argv)
{
	struct utsname u;
	json_t *j = NULL, *targets = NULL;
	uint64_t *ids = NULL;
	size_t n = 0, i;
	char mnt[4096] = "";
	bool json = false;
	int done, defunct = 0;

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
	if (json)
		json_object_set_new(j, "guard", guard_view_json());
	else
		guard_view_print();
	kstate_clean_stale();
	status_pool(j);
	kstate_list(&ids, &n);
	if (!json)
		printf("%zu target%s attached\n", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		defunct += status_target(ids[i], targets);
	free(ids);
	if (json) {
		json_object_set_new(j, "targets", targets);
		json_object_set_new(j, "defunct", json_integer(defunct));
		return print_json(j);
	}
	if (defunct)
		printf("\n" DEFUNCT_NOTE "\n", defunct, defunct == 1 ? " is" : "s are");
	return 0;
}
