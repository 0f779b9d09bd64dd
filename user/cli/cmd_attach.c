// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl attach / detach */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "cli/guard_view.h"
#include "kernel/kpolicy.h"
#include "kernel/kpool.h"
#include "kernel/kstate.h"
#include "ops/attach.h"
#include "runtime/state.h"
#include "util/log.h"

static const char attach_usage[] =
	"Usage: egressctl attach <target> [--default deny|allow] [--audit] [--max-rules N]\n"
	"                        [--max-learned N]\n"
	"\n"
	"Attach the egress filter to a target's cgroup. Enforcement starts at once:\n"
	"with no rules, the default decides (deny unless --default allow).\n"
	"Attaching an attached target changes nothing (but --default/--audit, if given).\n"
	"For a container target the policy is also saved in the state directory\n"
	"($EGRESSCTL_STATE_DIR, default /var/lib/egressctl) after every change, so\n"
	"`egressctl watch` re-applies it when the container restarts.\n"
	"\n"
	"  --default deny|allow  verdict when no rule matches (default: deny)\n"
	"  --audit               count and report would-be drops, drop nothing;\n"
	"                        collect them for `egressctl suggest`\n"
	"  --max-rules N         initial capacity: rules and prefixes per family\n"
	"                        (default 16384, 64..4194304); a change that needs\n"
	"                        more grows it, without detaching\n"
	"  --max-learned N       addresses learned from DNS answers for name rules, the\n"
	"                        oldest going first (default 16384, 64..1048576); fixed\n"
	"                        at first attach\n";

static const char detach_usage[] =
	"Usage: egressctl detach <target>\n"
	"       egressctl detach --gone\n"
	"\n"
	"Detach the filter and delete the target's policy and pins. For a container,\n"
	"its saved policy (in the state directory) is deleted too, so `egressctl\n"
	"watch` no longer re-applies it.\n"
	"\n"
	"  --gone   remove every defunct target: pins left by cgroups that are gone\n"
	"           (containers stopped or removed while attached; saved policies stay)\n";

/* attach's options: 0, or the command's exit status + 1. */
static int attach_args(int argc, char **argv, struct egr_attach_opts *o, int *dflt, int *audit)
{
	static const struct option opts[] = { { "default", required_argument, NULL, 'd' },
					      { "audit", no_argument, NULL, 'a' },
					      { "max-rules", required_argument, NULL, 'm' },
					      { "max-learned", required_argument, NULL, 'l' },
					      HELP_OPT,
					      { 0 } };
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!strcmp(optarg, "deny"))
				*dflt = EGR_DENY;
			else if (!strcmp(optarg, "allow"))
				*dflt = EGR_ALLOW;
			else {
				pr_err("bad --default '%s': use deny or allow\n", optarg);
				return 2;
			}
			break;
		case 'a':
			*audit = 1;
			break;
		case 'm':
			errno = 0;
			o->max_rules = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || o->max_rules < EGR_MIN_MAX_RULES ||
			    o->max_rules > EGR_MAX_MAX_RULES) {
				pr_err("bad --max-rules '%s': use %d-%u\n", optarg, EGR_MIN_MAX_RULES,
				       EGR_MAX_MAX_RULES);
				return 2;
			}
			break;
		case 'l':
			errno = 0;
			o->max_learned = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || o->max_learned < EGR_MIN_MAX_LEARNED ||
			    o->max_learned > EGR_MAX_MAX_LEARNED) {
				pr_err("bad --max-learned '%s': use %d-%u\n", optarg,
				       EGR_MIN_MAX_LEARNED, EGR_MAX_MAX_LEARNED);
				return 2;
			}
			break;
		default:
			return usage(attach_usage, c != 'h') + 1;
		}
	}
	if (optind + 1 != argc)
		return usage(attach_usage, true) + 1;
	if (*dflt >= 0)
		o->dflt = *dflt;
	o->audit = *audit > 0;
	return 0;
}

/* After the attach, under the lock: the default and audit flag of a target
 * attached before, and a container's saved policy.
 */
static int after_attach(const struct egr_target *t, bool created, int dflt, int audit)
{
	struct egr_kstate ks;
	char err[512] = "";
	int ret = 0;

	if (!created && (dflt >= 0 || audit >= 0)) {
		ret = kstate_open(t->cgid, &ks);
		if (!ret) {
			ret = kpolicy_set_cfg(&ks, dflt, audit);
			kstate_close(&ks);
		}
		if (ret)
			pr_err("%s: changing the default: %s\n", t->label, strerror(-ret));
	}
	if (!ret && t->container) {
		/* A container's policy outlives its cgroup: save what is in force. */
		ret = kstate_open(t->cgid, &ks);
		if (!ret) {
			ret = state_save_kernel(&ks, t->id, t->name, "cli", err, sizeof(err));
			kstate_close(&ks);
			pr_err_line(err);
		}
	}
	return ret;
}

int cmd_attach(int argc, char **argv)
{
	struct egr_attach_opts o = { .dflt = EGR_DENY };
	struct egr_warn warn = { 0 };
	struct egr_target t;
	char err[512];
	int dflt = -1, audit = -1, lock, ret;
	bool created;

	ret = attach_args(argc, argv, &o, &dflt, &audit);
	if (ret)
		return ret - 1;
	if (need_root())
		return 1;
	if (target_resolve(argv[optind], egr_g.docker_host, &t, err, sizeof(err))) {
		pr_err("%s\n", err);
		return 1;
	}
	if (!t.cgpath[0]) {
		pr_err("attach needs a live cgroup: use cgroup:<path>, pid:<pid> or a container\n");
		return 1;
	}
	if (t.container && t.privileged)
		pr_warn("container '%s' is privileged: root in it can detach the filter; egressctl does not protect it\n",
			t.name);
	if (t.container && !strcmp(t.netmode, "host"))
		pr_warn("container '%s' uses the host network: its traffic is filtered, but it shares the host's sockets and addresses\n",
			t.name);
	lock = kstate_lock();
	if (lock < 0) {
		pr_err("taking the lock: %s\n", strerror(-lock));
		return 1;
	}
	ret = attach_cgroup(t.cgpath, t.rel, t.cgid, &o, &created, &warn, err, sizeof(err));
	pr_warnings(&warn);
	pr_err_line(err);
	if (!ret)
		ret = after_attach(&t, created, dflt, audit);
	if (!ret)
		printf("%s %s (cgroup %s, id %llu)\n", created ? "attached to" : "already attached to",
		       t.label, t.rel, (unsigned long long)t.cgid);
	if (!ret && !created) {
		struct egr_kstate ks;

		if (!kstate_open(t.cgid, &ks)) {
			warn_dot_doh(&ks, t.label);
			kstate_close(&ks);
		}
	}
	kstate_unlock(lock);
	if (ret)
		return 1;
	guard_view_note(t.rel, false);
	note_defunct();
	return 0;
}

static int detach(uint64_t cgid)
{
	char err[512];
	int ret = detach_cgroup(cgid, err, sizeof(err));

	pr_err_line(err);
	return ret;
}

/* Detach the defunct pins of a container's earlier cgroups (their path at
 * attach names the container id). Returns how many were removed.
 */
static int detach_old_cgroups(const char *id, bool even_live)
{
	uint64_t *ids;
	size_t n, i;
	int done = 0;

	if (kstate_list(&ids, &n))
		return 0;
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;
		bool old;

		if (kstate_open(ids[i], &ks))
			continue;
		old = strstr(ks.meta.path, id) && (even_live || !kstate_link_alive(&ks));
		kstate_close(&ks);
		if (old && !detach(ids[i]))
			done++;
	}
	free(ids);
	return done;
}

/* detach --gone: every target whose cgroup is gone. */
static int detach_gone(void)
{
	uint64_t *ids = NULL;
	size_t n = 0, i;
	int lock = kstate_lock(), done = 0, failed = 0;

	if (lock < 0) {
		pr_err("taking the lock: %s\n", strerror(-lock));
		return 1;
	}
	kstate_clean_stale();
	kstate_list(&ids, &n);
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;
		bool gone;

		if (kstate_open(ids[i], &ks))
			continue;
		gone = !kstate_link_alive(&ks) && !kstate_link_missing(&ks);
		kstate_close(&ks);
		if (!gone)
			continue;
		if (detach(ids[i])) {
			failed++;
			continue;
		}
		printf("detached cgid:%llu (its cgroup is gone)\n", (unsigned long long)ids[i]);
		done++;
	}
	n = (size_t)kpool_drain(false);
	if (n)
		printf("removed %zu preloaded program instance%s of a watch that is gone\n", n,
		       n == 1 ? "" : "s");
	kstate_unlock(lock);
	free(ids);
	if (!done && !failed)
		puts("no defunct targets");
	return failed ? 1 : 0;
}

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = { { "gone", no_argument, NULL, 'g' }, HELP_OPT,
					      { 0 } };
	struct egr_target t;
	char err[512];
	bool gone = false;
	int c, lock, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'g') {
			gone = true;
			continue;
		}
		return usage(detach_usage, c != 'h');
	}
	if (optind + !gone != argc)
		return usage(detach_usage, true);
	if (need_root())
		return 1;
	if (gone)
		return detach_gone();
	ret = target_resolve(argv[optind], egr_g.docker_host, &t, err, sizeof(err));
	if (ret == -ESRCH && t.container && t.id[0]) {
		/* A stopped container: the pins of its old cgroup (if still
		 * there) and its saved policy.
		 */
		int n, st;

		lock = kstate_lock();
		n = lock < 0 ? 0 : detach_old_cgroups(t.id, true);
		kstate_unlock(lock);
		st = state_delete(t.id);
		if (n || !st) {
			printf("detached %s (not running)%s\n", t.name,
			       st ? "" : "; deleted its saved policy");
			return 0;
		}
	}
	if (ret) {
		pr_err("%s\n", err);
		return 1;
	}
	lock = kstate_lock();
	if (lock < 0) {
		pr_err("taking the lock: %s\n", strerror(-lock));
		return 1;
	}
	kstate_clean_stale();
	ret = detach(t.cgid);
	/* A container restarted while attached left pins on its old cgroup. */
	if (t.container && detach_old_cgroups(t.id, false) > 0 && ret == -ENOENT)
		ret = 0;
	/* Forget a container's policy: watch will not re-apply it. */
	if (t.container && (!ret || ret == -ENOENT) && !state_delete(t.id) && ret == -ENOENT)
		ret = 0;
	kstate_unlock(lock);
	if (ret == -ENOENT) {
		pr_err("%s is not attached\n", t.label);
		return 1;
	}
	if (ret)
		return 1;
	printf("detached from %s\n", t.label);
	if (t.cgpath[0])
		guard_view_note(t.rel, true);
	note_defunct();
	return 0;
}
