// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cmd_util.h"
#include "kernel/kgen.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "kernel/kread.h"
#include "runtime/label.h"
#include "util/log.h"

struct egr_globals egr_g;

int need_root(void)
{
	if (geteuid() == 0)
		return 0;
	pr_err("must be run as root (needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)\n");
	return 1;
}

int open_target(const char *spec, struct egr_target *t, struct egr_kstate *ks)
{
	char err[512];
	int ret;

	if (target_resolve(spec, egr_g.docker_host, t, err, sizeof(err))) {
		pr_err("%s\n", err);
		return 1;
	}
	ret = kstate_open(t->cgid, ks);
	if (ret == -ENOENT) {
		pr_err("%s is not attached (run: egressctl attach %s)\n", t->label, spec);
		return 1;
	}
	if (ret == -EPROTONOSUPPORT) {
		char msg[512];

		kstate_other_layout(t->label, ks->meta.abi, spec, msg, sizeof(msg));
		pr_err("%s\n", msg);
		return 1;
	}
	if (ret == -EPROTO) {
		pr_err("%s: the pins in " EGR_PIN_ROOT "/%llu were not made by this egressctl; refusing to touch them\n",
		       t->label, (unsigned long long)t->cgid);
		return 1;
	}
	if (ret) {
		pr_err("%s: opening pinned state: %s\n", t->label, strerror(-ret));
		return 1;
	}
	return 0;
}

int parse_rule_args(int argc, char **argv, int action, struct egr_policy *out)
{
	struct egr_dest d[2];
	char err[512];
	int nd, i, j;

	memset(out, 0, sizeof(*out));
	if (argc < 1) {
		pr_err("missing destination\n");
		return 1;
	}
	nd = parse_dests(argv[0], d, err, sizeof(err));
	if (nd < 0) {
		pr_err("%s\n", err);
		return 1;
	}
	if (action == EGR_DENY && dest_is_name(&d[0])) {
		name_deny_error(dest_name(&d[0]), err, sizeof(err));
		pr_err("%s\n", err);
		return 1;
	}
	for (i = 0; i < nd; i++) {
		for (j = 1; j < argc || (j == 1 && argc == 1); j++) {
			struct egr_urule r = { .action = action, .dest = d[i] };

			if (j < argc && parse_portspec(argv[j], &r.ps, err, sizeof(err))) {
				pr_err("%s\n", err);
				policy_free(out);
				return 1;
			}
			if (policy_add(out, &r)) {
				pr_err("out of memory\n");
				policy_free(out);
				return 1;
			}
		}
	}
	return 0;
}

int usage(const char *text, bool misuse)
{
	fputs(text, misuse ? stderr : stdout);
	return misuse ? 1 : 0;
}

int target_ids(char *const *specs, size_t n, uint64_t **ids)
{
	size_t i;

	*ids = NULL;
	if (!n)
		return 0;
	*ids = calloc(n, sizeof(**ids));
	if (!*ids) {
		pr_err("metrics: %s\n", strerror(ENOMEM));
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct egr_target t;
		struct egr_kstate ks;

		if (open_target(specs[i], &t, &ks)) {
			free(*ids);
			*ids = NULL;
			return 1;
		}
		(*ids)[i] = t.cgid;
		kstate_close(&ks);
	}
	return 0;
}

static void pr_warning(const char *line, void *ctx)
{
	(void)ctx;
	pr_warn("%s\n", line);
}

void pr_warnings(struct egr_warn *w)
{
	warn_each(w, pr_warning, NULL);
	warn_free(w);
}

void warn_dot_doh(const struct egr_kstate *ks, const char *label)
{
	struct egr_warn w = { 0 };
	struct egr_live_rule *lr;
	struct egr_policy p;
	size_t n;

	if (!ks->meta.nnames || kpolicy_read_ex(ks, &p, &lr, &n, false))
		return;
	names_dot_doh_warn(&p, label, &w);
	pr_warnings(&w);
	free(lr);
	policy_free(&p);
}

void pr_err_line(const char *err)
{
	if (err && *err)
		pr_err("%s\n", err);
}

json_t *target_json(const struct egr_kstate *ks)
{
	struct egr_ctl cfg = { 0 };
	char label[300];

	target_label(ks, label, sizeof(label));
	kgen_slot_cfg(ks, &cfg);
	return json_pack("{s:s, s:s, s:I, s:s, s:b, s:{s:I, s:I}}", "target", label, "cgroup",
			 ks->meta.path, "cgroup_id", (json_int_t)ks->cgid, "default",
			 cfg.dflt == EGR_ALLOW ? "allow" : "deny", "audit",
			 !!(cfg.flags & EGR_SF_AUDIT), "dns", "min_ttl", (json_int_t)cfg.min_ttl,
			 "max_per_name", (json_int_t)cfg.max_per_name);
}

int print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));

	json_decref(j);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

int parse_json_opt(int argc, char **argv, const char *text, bool *json, int *done)
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

void note_defunct(void)
{
	uint64_t *ids = NULL;
	size_t n = 0, i;
	int defunct = 0;

	kstate_list(&ids, &n);
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;

		if (kstate_open(ids[i], &ks))
			continue;
		defunct += !kstate_link_alive(&ks) && !kstate_link_missing(&ks);
		kstate_close(&ks);
	}
	free(ids);
	if (defunct)
		pr_warn(DEFUNCT_NOTE "\n", defunct, defunct == 1 ? " is" : "s are");
}
