// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl allow / deny / remove / apply: live policy edits */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "kernel/kapply.h"
#include "kernel/kgrow.h"
#include "kernel/kpolicy.h"
#include "kernel/kstate.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "policy/policy_file.h"
#include "runtime/state.h"
#include "util/log.h"
#include "util/thread.h"

static const char allow_usage[] =
	"Usage: egressctl allow <target> <dest> [<portspec>...]\n"
	"       egressctl deny  <target> <dest> [<portspec>...]\n"
	"\n"
	"Add rules to an attached target's policy, live.\n"
	"  <dest>      IPv4/IPv6 address or CIDR; 'any' = 0.0.0.0/0 and ::/0; or (allow\n"
	"              only) a domain name: api.example.com, *.example.com, whose\n"
	"              addresses are learned from the target's DNS answers\n"
	"  <portspec>  tcp, udp, icmp, tcp:443, udp:53, tcp:8000-8999;\n"
	"              none = every protocol and port; several = several rules\n";

static const char remove_usage[] =
	"Usage: egressctl remove <target> <dest> [<portspec>...]\n"
	"\n"
	"Remove exactly the rules with that destination and port spec (allow or\n"
	"deny), live. Fails, changing nothing, if one of them is not in force.\n";

static const char apply_usage[] =
	"Usage: egressctl apply <target> -f|--file <file>\n"
	"\n"
	"Replace the whole policy (default, audit, rules) atomically from a YAML or\n"
	"JSON file; a missing 'default:' means deny. Each packet is judged by the\n"
	"old policy or the new one, never a mix. A policy bigger than the target's\n"
	"capacity grows it (a bigger instance is swapped in; never detached).\n";

/* A container's policy outlives its cgroup: save what is in force. */
static int save_state(const struct egr_target *t, const struct egr_kstate *ks)
{
	char err[512] = "";
	int ret = state_save_kernel(ks, t->id, t->name, "cli", err, sizeof(err));

	pr_err_line(err);
	return ret;
}

/* Could this allow make the DoT/DoH warning true (a name, or tcp:443/853
 * somewhere)? Only then is the policy read back for it.
 */
static bool edit_may_open_dns(const struct egr_policy *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct egr_urule *u = &p->rules[i];

		if (dest_is_name(&u->dest) || u->ps.proto == EGR_UP_ANY ||
		    (u->ps.proto == EGR_UP_TCP &&
		     (!u->ps.has_ports || (u->ps.lo <= 853 && u->ps.hi >= 443))))
			return true;
	}
	return false;
}

static int edit(int argc, char **argv, int action, const char *text)
{
	static const struct option opts[] = { HELP_OPT, { 0 } };
	struct egr_policy p;
	struct egr_target t;
	struct egr_kstate ks;
	char err[512];
	int c, lock, ret;
	uint32_t cap;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1)
		return usage(text, c != 'h');
	if (argc - optind < 2)
		return usage(text, true);
	/* Parse everything before touching anything. */
	if (parse_rule_args(argc - optind - 1, argv + optind + 1, action, &p))
		return 1;
	if (need_root()) {
		policy_free(&p);
		return 1;
	}
	/* The bookkeeping is read under the lock. */
	lock = kstate_lock();
	if (lock < 0) {
		pr_err("taking the lock: %s\n", strerror(-lock));
		policy_free(&p);
		return 1;
	}
	if (open_target(argv[optind], &t, &ks)) {
		kstate_unlock(lock);
		policy_free(&p);
		return 1;
	}
	cap = ks.meta.max_rules;
	if (action < 0)
		ret = kpolicy_remove(&ks, p.rules, p.n, err, sizeof(err));
	else
		ret = kpolicy_add(&ks, p.rules, p.n, err, sizeof(err));
	if (ret)
		pr_err("%s: %s\n", t.label, err);
	else if (t.container)
		ret = save_state(&t, &ks);
	if (!ret && ks.meta.max_rules != cap)
		pr_warn("%s: the policy was full: capacity grown from %u to %u rules\n", t.label,
			cap, ks.meta.max_rules);
	if (!ret && action == EGR_ALLOW && edit_may_open_dns(&p))
		warn_dot_doh(&ks, t.label);
	kstate_unlock(lock);
	kstate_close(&ks);
	policy_free(&p);
	return ret ? 1 : 0;
}

int cmd_allow(int argc, char **argv)
{
	return edit(argc, argv, EGR_ALLOW, allow_usage);
}

int cmd_deny(int argc, char **argv)
{
	return edit(argc, argv, EGR_DENY, allow_usage);
}

int cmd_remove(int argc, char **argv)
{
	return edit(argc, argv, -1, remove_usage);
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = { { "file", required_argument, NULL, 'f' },
					      HELP_OPT,
					      { 0 } };
	struct egr_prefetch *pf = NULL;
	const char *file = NULL;
	uint32_t cap;
	struct egr_policy p = { 0 };
	struct egr_target t;
	struct egr_kstate ks;
	char err[512];
	int c, lock = -1, ret;

	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		if (c == 'f')
			file = optarg;
		else
			return usage(apply_usage, c != 'h');
	}
	if (optind + 1 != argc || !file)
		return usage(apply_usage, true);
	if (need_root())
		return 1;
	/* Memory is freed back at exit, not on the way: giving it back means a
	 * TLB flush on the CPU of every helper thread (user/util/thread.h).
	 */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	helpers_start();
	/* The bookkeeping is read under the lock. */
	lock = kstate_lock();
	if (lock < 0) {
		pr_err("taking the lock: %s\n", strerror(-lock));
		return 1;
	}
	if (open_target(argv[optind], &t, &ks)) {
		kstate_unlock(lock);
		return 1;
	}
	/* Read the live policy (for rule ids) while the file is parsed. */
	ret = kpolicy_prefetch(&ks, &pf);
	if (ret) {
		pr_err("%s: reading the policy: %s\n", t.label, strerror(-ret));
		goto out;
	}
	cap = ks.meta.max_rules;
	ret = policy_parse_file(file, &p, err, sizeof(err));
	if (ret) {
		pr_err("%s\n", err);
		kpolicy_prefetch_cancel(pf);
		goto out;
	}
	if (!p.has_dflt)
		p.dflt = EGR_DENY;
	ret = kpolicy_apply_grow(&ks, &p, pf, err, sizeof(err));
	helpers_done();
	if (ret)
		pr_err("%s: %s\n", t.label, err);
	else if (t.container)
		ret = save_state(&t, &ks);
	if (!ret) {
		struct egr_warn w = { 0 };

		names_dot_doh_warn(&p, t.label, &w);
		pr_warnings(&w);
		if (ks.meta.max_rules != cap)
			printf("applied %zu rules to %s (default %s%s; capacity grown from %u to %u)\n",
			       p.n, t.label, p.dflt == EGR_ALLOW ? "allow" : "deny",
			       p.audit ? ", audit" : "", cap, ks.meta.max_rules);
		else
			printf("applied %zu rules to %s (default %s%s)\n", p.n, t.label,
			       p.dflt == EGR_ALLOW ? "allow" : "deny", p.audit ? ", audit" : "");
	}
out:
	kstate_unlock(lock);
	kstate_close(&ks);
	policy_free(&p);
	return ret ? 1 : 0;
}
