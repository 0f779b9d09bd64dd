// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl suggest: a policy file from what audit mode observed. Reads
 * the policy in force and egr_audit (user/kernel/kaudit.h), judges every
 * observation again by the policy in force now (user/kernel/kexplain.h),
 * and writes the file (user/policy/suggest.h), with the name a DNS answer
 * gave a destination where audit mode saw one.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "kernel/kaudit.h"
#include "kernel/kexplain.h"
#include "kernel/kread.h"
#include "obs/metrics.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "policy/suggest.h"
#include "util/log.h"

static const char suggest_usage[] =
	"Usage: egressctl suggest <target> [-o FILE] [--group N] [--group6 N] [--reset]\n"
	"\n"
	"Write a policy file (for apply -f) from what audit mode observed: the policy\n"
	"in force with audit off, plus an allow rule for each destination, protocol\n"
	"and port that audit mode let through and the policy denies by its default,\n"
	"with packet counts. The kernel collects them while the target is in audit\n"
	"mode (attach --audit), whether or not anything reads events. A destination\n"
	"that a DNS answer the target received named becomes a rule for that name.\n"
	"  -o, --output FILE  write FILE (atomically) instead of stdout\n"
	"  --group N          IPv4 addresses on the same port sharing their first N\n"
	"                     bits (8-32) become one prefix, never shorter than /N\n"
	"  --group6 N         the same for IPv6 (16-128)\n"
	"  --reset            then forget what was observed (start a new observation)\n";

static int parse_bound(const char *opt, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi) {
		pr_err("suggest: bad %s '%s': use %d-%d\n", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

/* The name of an observation's destination, when a DNS answer gave it
 * before the first packet went there (the map keeps the last answer for an
 * address), it is a valid exact name (it came from an answer the workload
 * asked for: any resolver in audit mode) and the port is not DNS's (the
 * resolver stays an address rule: name rules learn only from one the
 * policy allows). 0 or -ENOMEM.
 */
static int name_of(const struct kaudit_entry *e, struct suggest_obs *x)
{
	char canon[EGR_NAME_BUF], err[256];

	x->name = NULL;
	if (!e->name[0] || x->ports_unknown || e->name_ns > e->v.first_ns ||
	    ((x->proto == IPPROTO_UDP || x->proto == IPPROTO_TCP) && x->dport == EGR_DNS_PORT) ||
	    name_parse(e->name, canon, err, sizeof(err)) || canon[0] == '*' || strcmp(canon, e->name))
		return 0;
	x->name = name_intern(canon);
	return x->name ? 0 : -ENOMEM;
}

/* The observations, each judged again by the policy in force now: those
 * it allows by now are left out; denied_by names a deny rule that decides.
 */
static int observations(const struct egr_kstate *ks, const struct kaudit_entry *e, size_t n,
			struct suggest_obs *o, char (*texts)[128], size_t *no)
{
	size_t i;

	*no = 0;
	for (i = 0; i < n; i++) {
		struct kx_pkt p = { .family = e[i].k.family,
				    .proto = e[i].k.proto,
				    .flags = e[i].k.pktflags,
				    .dport = e[i].k.dport };
		struct suggest_obs *x = &o[*no];
		struct kx_result r;
		int ret;

		memcpy(p.dst, e[i].k.dst, 16);
		ret = kexplain(ks, &p, &r);
		if (ret)
			return ret;
		if (r.verdict == EGR_ALLOW)
			continue; /* the policy allows it by now */
		memset(x, 0, sizeof(*x));
		x->family = p.family;
		memcpy(x->addr, p.dst, 16);
		x->proto = p.proto;
		x->dport = p.dport;
		x->ports_unknown = p.flags & (EGR_PKT_PORTS_UNKNOWN | EGR_PKT_PROTO_UNKNOWN);
		x->packets = e[i].v.packets;
		ret = name_of(&e[i], x);
		if (ret)
			return ret;
		if (r.reason == KX_RULE)
			x->denied_by = metrics_rule_text(&r.rule, texts[*no], sizeof(texts[0]));
		(*no)++;
	}
	return 0;
}

/* Write to path atomically (a temporary file renamed into place). */
static FILE *open_out(const char *path, char *tmp, size_t len)
{
	int fd;

	snprintf(tmp, len, "%s.tmp-%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_err("suggest: cannot write %s: %s\n", tmp, strerror(errno));
		return NULL;
	}
	return fdopen(fd, "w");
}

static int close_out(FILE *f, const char *path, const char *tmp, bool ok)
{
	bool err = fflush(f) || fsync(fileno(f)) || ferror(f);

	if (fclose(f))
		err = true;
	if (ok && !err && !rename(tmp, path))
		return 0;
	if (ok)
		pr_err("suggest: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
	unlink(tmp);
	return 1;
}

struct sgargs {
	const char *spec, *out;
	struct suggest_opts so;
	bool reset;
};

static int run(const struct sgargs *a, const struct egr_target *t, const struct egr_kstate *ks)
{
	struct egr_counter st[EGR_STAT_MAX];
	struct egr_live_rule *lr = NULL;
	struct kaudit_entry *e = NULL;
	struct suggest_obs *o = NULL;
	struct egr_policy p = { 0 };
	char (*texts)[128] = NULL, tmp[4200];
	struct sgargs x = *a;
	size_t nl = 0, ne = 0, no = 0;
	FILE *f = stdout;
	int ret;

	ret = kpolicy_read(ks, &p, &lr, &nl);
	if (!ret)
		ret = kaudit_read(ks, &e, &ne);
	if (!ret)
		ret = kstate_stats(ks, st);
	o = calloc(ne ? ne : 1, sizeof(*o));
	texts = calloc(ne ? ne : 1, sizeof(*texts));
	if (!ret && (!o || !texts))
		ret = -ENOMEM;
	if (!ret)
		ret = observations(ks, e, ne, o, texts, &no);
	if (ret) {
		pr_err("%s: reading the kernel: %s\n", t->label, strerror(-ret));
		goto out;
	}
	x.so.not_recorded = st[EGR_STAT_AUDIT_FULL].packets;
	if (a->out && !(f = open_out(a->out, tmp, sizeof(tmp)))) {
		ret = 1;
		goto out;
	}
	ret = suggest_format(f, &p, o, no, &x.so);
	if (a->out)
		ret = close_out(f, a->out, tmp, !ret);
	else if (ret || fflush(stdout))
		ret = 1;
	if (!ret && a->reset) {
		ret = kaudit_reset(ks, e, ne);
		if (ret)
			pr_err("%s: emptying what audit mode observed: %s\n", t->label, strerror(-ret));
	}
	if (!ret && a->out)
		pr_info("suggest: wrote %s (%zu destinations and ports observed)\n", a->out, ne);
out:
	policy_free(&p);
	free(lr);
	free(e);
	free(o);
	free(texts);
	return ret ? 1 : 0;
}

int cmd_suggest(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
					      { "group", required_argument, NULL, 'g' },
					      { "group6", required_argument, NULL, 'G' },
					      { "reset", no_argument, NULL, 'r' },
					      HELP_OPT,
					      { 0 } };
	struct sgargs a = { 0 };
	struct egr_target t;
	struct egr_kstate ks;
	int c, ret, lock = -1;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o')
			a.out = optarg;
		else if (c == 'g' && parse_bound("--group", optarg, 8, 32, &a.so.group4))
			return 1;
		else if (c == 'G' && parse_bound("--group6", optarg, 16, 128, &a.so.group6))
			return 1;
		else if (c == 'r')
			a.reset = true;
		else if (c != 'g' && c != 'G')
			return usage(suggest_usage, c != 'h');
	}
	if (optind + 1 != argc)
		return usage(suggest_usage, true);
	a.spec = a.so.target = argv[optind];
	if (need_root())
		return 1;
	if (a.reset) {
		lock = kstate_lock();
		if (lock < 0) {
			pr_err("taking the lock: %s\n", strerror(-lock));
			return 1;
		}
	}
	if (open_target(a.spec, &t, &ks)) {
		kstate_unlock(lock);
		return 1;
	}
	ret = run(&a, &t, &ks);
	kstate_close(&ks);
	kstate_unlock(lock);
	return ret;
}
