// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl watch: what to do for each container (see watch.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <jansson.h>
#include "kernel/guard.h"
#include "kernel/kstate.h"
#include "ops/watch.h"
#include "policy/addr.h"
#include "policy/policy_file.h"
#include "runtime/docker.h"
#include "runtime/state.h"
#include "runtime/target.h"
#include "util/cgroup.h"
#include "util/log.h"

#define LABEL_PREFIX "egressctl."

uint64_t watch_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void watch_log(const struct watch_opts *o, const char *action, const char *id, const char *name,
	       double ms, const char *fmt, ...)
{
	char msg[1024], when[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->json) {
		json_t *j = json_pack("{s:s, s:s}", "event", action, "message", msg);
		char *s;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		json_object_set_new(j, "time", json_string(when));
		if (id && *id)
			json_object_set_new(j, "id", json_string(id));
		if (name && *name)
			json_object_set_new(j, "container", json_string(name));
		if (ms >= 0)
			json_object_set_new(j, "ms", json_real(ms));
		s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else if (id && *id) {
		if (name && *name)
			printf("%s %s (%.12s): %s", action, name, id, msg);
		else
			printf("%s %.12s: %s", action, id, msg);
		if (ms >= 0)
			printf(" in %.1f ms", ms);
		putchar('\n');
	} else {
		printf("%s: %s\n", action, msg);
	}
	fflush(stdout);
}

/* ---- label policies ------------------------------------------------------ */

/* "198.18.5.0/24, 198.18.6.1 udp:53 tcp:443" -> rules with action. */
static int parse_rule_list(const char *key, const char *text, int action, struct egr_policy *p,
			   char *err, size_t errlen)
{
	char *copy = strdup(text), *rule, *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (rule = strtok_r(copy, ",", &save); rule && !ret; rule = strtok_r(NULL, ",", &save)) {
		char *tok, *save2 = NULL, e[256];
		struct egr_portspec ps[16];
		struct egr_dest d[2];
		int nd, nps = 0, i, j;

		tok = strtok_r(rule, " \t\n", &save2);
		if (!tok)
			continue; /* "a, , b" or a trailing comma */
		nd = parse_dests(tok, d, e, sizeof(e));
		if (nd < 0) {
			snprintf(err, errlen, "label %s: %s", key, e);
			ret = -EINVAL;
			break;
		}
		while ((tok = strtok_r(NULL, " \t\n", &save2))) {
			if (nps == (int)(sizeof(ps) / sizeof(ps[0]))) {
				snprintf(err, errlen, "label %s: too many port specs in one rule",
					 key);
				ret = -EINVAL;
				break;
			}
			if (parse_portspec(tok, &ps[nps], e, sizeof(e))) {
				snprintf(err, errlen, "label %s: %s", key, e);
				ret = -EINVAL;
				break;
			}
			nps++;
		}
		for (i = 0; i < nd && !ret; i++) {
			for (j = 0; j < (nps ? nps : 1) && !ret; j++) {
				struct egr_urule r = { .action = action, .dest = d[i] };

				if (nps)
					r.ps = ps[j];
				if (policy_add(p, &r))
					ret = -ENOMEM;
			}
		}
	}
	free(copy);
	return ret;
}

int watch_label_policy(const char *labels_json, struct egr_policy *p, char *err, size_t errlen)
{
	const char *key;
	json_t *j, *v;
	bool found = false;
	int ret = 0;

	memset(p, 0, sizeof(*p));
	if (!labels_json)
		return 0;
	j = json_loads(labels_json, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return 0;
	}
	/* The document first: allow/deny/default/audit labels add to it. */
	v = json_object_get(j, LABEL_PREFIX "policy");
	if (v) {
		const char *doc = json_string_value(v);

		found = true;
		ret = policy_parse_buf(doc ? doc : "", doc ? strlen(doc) : 0,
				       "label " LABEL_PREFIX "policy", p, err, errlen);
		if (ret)
			goto out;
	}
	json_object_foreach(j, key, v)
	{
		const char *val = json_string_value(v);
		char qv[80], qk[80];

		if (strncmp(key, LABEL_PREFIX, strlen(LABEL_PREFIX)))
			continue;
		found = true;
		if (!val)
			val = "";
		if (!strcmp(key, LABEL_PREFIX "policy")) {
			continue;
		} else if (!strcmp(key, LABEL_PREFIX "allow")) {
			ret = parse_rule_list(key, val, EGR_ALLOW, p, err, errlen);
		} else if (!strcmp(key, LABEL_PREFIX "deny")) {
			ret = parse_rule_list(key, val, EGR_DENY, p, err, errlen);
		} else if (!strcmp(key, LABEL_PREFIX "default")) {
			if (strcmp(val, "deny") && strcmp(val, "allow")) {
				snprintf(err, errlen, "label %s: '%s': use deny or allow", key,
					 quote_text(val, qv, sizeof(qv)));
				ret = -EINVAL;
			}
			p->dflt = !strcmp(val, "allow") ? EGR_ALLOW : EGR_DENY;
			p->has_dflt = true;
		} else if (!strcmp(key, LABEL_PREFIX "audit")) {
			if (strcmp(val, "true") && strcmp(val, "false")) {
				snprintf(err, errlen, "label %s: '%s': use true or false", key,
					 quote_text(val, qv, sizeof(qv)));
				ret = -EINVAL;
			}
			p->audit = !strcmp(val, "true");
			p->has_audit = true;
		} else {
			snprintf(
				err, errlen,
				"unknown label %s (use %spolicy, %sallow, %sdeny, %sdefault, %saudit)",
				quote_text(key, qk, sizeof(qk)), LABEL_PREFIX, LABEL_PREFIX, LABEL_PREFIX, LABEL_PREFIX,
				LABEL_PREFIX);
			ret = -EINVAL;
		}
		if (ret)
			break;
	}
out:
	json_decref(j);
	if (ret) {
		policy_free(p);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	if (!found)
		return 0;
	if (!p->has_dflt)
		p->dflt = EGR_DENY;
	return 1;
}

/* ---- one container ------------------------------------------------------- */

static double ms_since(uint64_t t0)
{
	return (double)(watch_now_ns() - t0) / 1e6;
}

static int container_cgroup(const struct docker_container *c, char *abs, size_t abslen, char *rel,
			    size_t rellen, uint64_t *cgid, char *err, size_t errlen)
{
	char mnt[2048], path[2048];
	int ret;

	if (cgroup2_host_mount(mnt, sizeof(mnt))) {
		snprintf(err, errlen, CGROUP2_MISSING);
		return -ENOENT;
	}
	ret = cgroup_of_pid(c->pid, path, sizeof(path));
	if (!ret)
		ret = cgroup_resolve(mnt, path, abs, abslen);
	if (!ret)
		ret = cgroup_id(abs, cgid);
	if (ret) {
		snprintf(err, errlen, "finding the cgroup v2 of container '%s': %s", c->name,
			 ret == -ENOENT ? "none (a cgroup v1 only host?)" : strerror(-ret));
		return ret;
	}
	snprintf(rel, rellen, "%s", abs[strlen(mnt)] ? abs + strlen(mnt) : "/");
	return 0;
}

static bool rule_in(const struct egr_urule *r, const struct egr_urule *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (urule_equal(r, &v[i]))
			return true;
	return false;
}

/* Is exactly pol in force? */
static bool in_force(const struct egr_kstate *ks, const struct egr_policy *pol)
{
	struct egr_live_rule *lr = NULL;
	struct egr_policy k;
	size_t n = 0, i;
	bool same;

	if (kpolicy_read(ks, &k, &lr, &n))
		return false;
	same = k.dflt == pol->dflt && k.audit == pol->audit && n <= pol->n;
	for (i = 0; same && i < n; i++)
		same = rule_in(&lr[i].rule, pol->rules, pol->n);
	for (i = 0; same && i < pol->n; i++) {
		size_t j;

		same = false;
		for (j = 0; j < n && !same; j++)
			same = urule_equal(&pol->rules[i], &lr[j].rule);
	}
	free(lr);
	policy_free(&k);
	return same;
}

struct handled {
	uint64_t cgid;
	bool allow; /* unmanaged, allowed by the guard */
};

/* No policy: --unmanaged decides. Called under the lock. */
static int unmanaged(const struct watch_opts *o, const struct docker_container *c, const char *abs,
		     const char *rel, uint64_t cgid, const char *event, uint64_t t0, bool quiet,
		     struct handled *h)
{
	struct egr_attach_opts ao = { .dflt = EGR_DENY };
	bool created = false;
	int ret;

	if (o->strict && !o->unmanaged_deny) {
		ret = guard_mark(cgid, EGR_GUARD_ALLOW);
		if (!ret && !quiet)
			watch_log(o, event, c->id, c->name, ms_since(t0),
				  "no policy: unmanaged, allowed by the guard");
		h->allow = !ret;
		return ret;
	}
	if (o->strict) {
		if (!quiet)
			watch_log(o, event, c->id, c->name, -1,
				  "no policy: unmanaged, all egress denied by the guard");
		return 0;
	}
	if (!o->unmanaged_deny) {
		if (!quiet)
			watch_log(o, event, c->id, c->name, -1, "no policy: left alone");
		return 0;
	}
	ret = kstate_attach(abs, rel, cgid, &ao, &created);
	if (!ret && (created || !quiet))
		watch_log(o, event, c->id, c->name, ms_since(t0),
			  "no policy: unmanaged, all egress denied (filter %s)",
			  created ? "attached" : "already attached");
	return ret;
}

static int handle(const struct watch_opts *o, const char *id, const char *event, uint64_t t0,
		  bool quiet, struct handled *h)
{
	struct egr_attach_opts ao = { .dflt = EGR_DENY };
	struct docker_container c;
	struct egr_state st = { 0 };
	struct egr_policy pol = { 0 };
	struct egr_kstate ks;
	char err[512], abs[4096], rel[2048];
	const char *source = NULL;
	bool created = false, saved = false, applied = false, failed = false;
	uint64_t cgid, t_inspect, t_lock, t_attach;
	int ret, lock;

	memset(h, 0, sizeof(*h));
	ret = docker_inspect(o->docker_host, id, &c, err, sizeof(err));
	if (ret == -ESRCH)
		return 0; /* removed in the meantime */
	if (ret) {
		watch_log(o, "error", id, NULL, -1, "%s", err);
		return ret;
	}
	if (!c.running || c.pid <= 0)
		goto out_c;
	t_inspect = watch_now_ns();
	ret = container_cgroup(&c, abs, sizeof(abs), rel, sizeof(rel), &cgid, err, sizeof(err));
	if (ret) {
		watch_log(o, "error", c.id, c.name, -1, "%s", err);
		goto out_c;
	}
	h->cgid = cgid;

	ret = state_load(c.id, &st, err, sizeof(err));
	if (!ret) {
		pol = st.pol;
		memset(&st.pol, 0, sizeof(st.pol));
		source = "saved";
		saved = true;
		ao.max_rules = st.max_rules;
	} else if (ret == -ENOENT) {
		ret = watch_label_policy(c.labels_json, &pol, err, sizeof(err));
		if (ret > 0)
			source = "label";
		else if (ret < 0)
			failed = true;
	} else {
		failed = true;
	}
	if (failed) {
		/* Fail closed: attached, nothing allowed. */
		watch_log(o, "error", c.id, c.name, -1, "%s; egress stays denied", err);
		memset(&pol, 0, sizeof(pol));
		pol.dflt = EGR_DENY;
		source = "deny-all (bad policy)";
	}
	lock = kstate_lock();
	if (lock < 0) {
		ret = lock;
		watch_log(o, "error", c.id, c.name, -1, "taking the lock: %s", strerror(-ret));
		goto out_pol;
	}
	if (!source) {
		ret = unmanaged(o, &c, abs, rel, cgid, event, t0, quiet, h);
		goto out_unlock;
	}
	t_lock = watch_now_ns();
	ret = kstate_attach(abs, rel, cgid, &ao, &created);
	t_attach = watch_now_ns();
	if (!ret)
		ret = kstate_open(cgid, &ks);
	if (ret) {
		watch_log(o, "error", c.id, c.name, -1, "attaching to cgroup %s: %s", rel,
			  strerror(-ret));
		goto out_unlock;
	}
	if (created || !in_force(&ks, &pol)) {
		ret = kpolicy_apply(&ks, &pol, err, sizeof(err));
		if (ret)
			watch_log(o, "error", c.id, c.name, -1,
				  "applying its %s policy: %s; egress stays denied", source, err);
		applied = !ret;
	}
	/* Label policies are saved so that list/status name the container. */
	if (!ret && !failed && (!saved || strcmp(st.name, c.name)))
		ret = state_save_kernel(&ks, c.id, c.name, saved ? st.source : "label");
	kstate_close(&ks);
	pr_debug("%.12s: inspect %.1f ms, lock %.1f ms, attach %.1f ms, apply+save %.1f ms\n", c.id,
		 (double)(t_inspect - t0) / 1e6, (double)(t_lock - t_inspect) / 1e6,
		 (double)(t_attach - t_lock) / 1e6, ms_since(t_attach));
	if (!ret && (applied || created || !quiet))
		watch_log(o, event, c.id, c.name, ms_since(t0),
			  "%s %s%s (%zu rule%s, default %s%s) on cgroup %s%s",
			  applied ? "enforced" : "already in force:", source,
			  failed ? "" : " policy", pol.n, pol.n == 1 ? "" : "s",
			  pol.dflt == EGR_ALLOW ? "allow" : "deny", pol.audit ? ", audit" : "", rel,
			  created ? " (attached)" : "");
out_unlock:
	kstate_unlock(lock);
out_pol:
	policy_free(&pol);
	state_free(&st);
out_c:
	docker_container_free(&c);
	return ret < 0 ? ret : 0;
}

int watch_container(const struct watch_opts *o, const char *id, const char *event, uint64_t t0)
{
	struct handled h;

	return handle(o, id, event, t0, false, &h);
}

/* ---- cleanup ----------------------------------------------------------- */

/* The cgroup a target was attached to is gone (or re-created). */
static bool pin_stale(const struct egr_kstate *ks)
{
	char mnt[2048], path[2400];
	struct stat sb;

	if (!kstate_link_alive(ks))
		return true;
	if (cgroup2_host_mount(mnt, sizeof(mnt)))
		return false;
	snprintf(path, sizeof(path), "%s%s", mnt, ks->meta.path);
	/* A removed cgroup's link stays attached while sockets hold it. */
	return stat(path, &sb) || (uint64_t)sb.st_ino != ks->cgid;
}

/* Detach pins: of container id (NULL: any), only stale ones unless all. */
static int clean_pins(const struct watch_opts *o, const char *id, const char *name, bool all,
		      const char *event)
{
	uint64_t *ids = NULL;
	size_t n = 0, i;
	int cleaned = 0;

	if (kstate_list(&ids, &n))
		return 0;
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;
		char pid[65], path[256];
		bool match, stale;

		if (kstate_open(ids[i], &ks))
			continue; /* not ours: never touched */
		match = !state_id_of_path(ks.meta.path, pid) && (!id || !strcmp(pid, id));
		stale = match && (all || pin_stale(&ks));
		snprintf(path, sizeof(path), "%s", ks.meta.path);
		if (!id && !match)
			stale = pin_stale(&ks);
		kstate_close(&ks);
		if (!stale || kstate_detach(ids[i]))
			continue;
		cleaned++;
		if (id || match)
			watch_log(o, event, id ? id : pid, name, -1,
				  "removed the pins of its old cgroup %s (id %llu)", path,
				  (unsigned long long)ids[i]);
		else
			watch_log(o, event, NULL, NULL, -1,
				  "removed the pins of cgroup %s (id %llu): the cgroup is gone",
				  path, (unsigned long long)ids[i]);
	}
	free(ids);
	return cleaned;
}

int watch_cleanup_pins(const struct watch_opts *o)
{
	int lock = kstate_lock(), n;

	if (lock < 0)
		return lock;
	n = clean_pins(o, NULL, NULL, false, "cleanup");
	kstate_unlock(lock);
	return n;
}

int watch_gone(const struct watch_opts *o, const char *id, bool destroyed)
{
	struct egr_state st;
	char name[256] = "", err[64];
	int lock;

	if (!state_load(id, &st, err, sizeof(err))) {
		snprintf(name, sizeof(name), "%s", st.name);
		state_free(&st);
	} else if (!destroyed) {
		struct docker_container c;
		char e[256];

		if (!docker_inspect(o->docker_host, id, &c, e, sizeof(e))) {
			snprintf(name, sizeof(name), "%s", c.name);
			docker_container_free(&c);
		}
	}
	lock = kstate_lock();
	if (lock < 0)
		return lock;
	clean_pins(o, id, name, destroyed, destroyed ? "destroy" : "die");
	if (destroyed && !state_delete(id))
		watch_log(o, "destroy", id, name, -1,
			  "container removed: its saved policy is deleted");
	kstate_unlock(lock);
	return 0;
}

/* ---- full pass --------------------------------------------------------- */

static bool id_in(const char *id, char (*ids)[65], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return true;
	return false;
}

int watch_reconcile(const struct watch_opts *o, const char *event, bool quiet)
{
	char(*running)[65] = NULL, (*saved)[65] = NULL, err[512];
	uint64_t *allow = NULL;
	size_t nrun = 0, nsaved = 0, nallow = 0, i;
	int ret, lock;

	if (o->strict) {
		bool created = false;

		lock = kstate_lock();
		if (lock < 0)
			return lock;
		ret = guard_install(o->guard_cgroup, &created, err, sizeof(err));
		kstate_unlock(lock);
		if (ret) {
			watch_log(o, "error", NULL, NULL, -1, "strict mode: %s", err);
			return ret;
		}
		if (created)
			watch_log(
				o, "guard", NULL, NULL, -1,
				"installed on cgroup %s: containers without a policy in force are denied",
				o->guard_cgroup);
	}
	ret = docker_list_running(o->docker_host, &running, &nrun, err, sizeof(err));
	if (ret) {
		if (!quiet)
			watch_log(o, "error", NULL, NULL, -1, "%s", err);
		watch_cleanup_pins(o);
		return ret;
	}
	allow = calloc(nrun + 1, sizeof(*allow));
	if (!allow) {
		free(running);
		return -ENOMEM;
	}
	for (i = 0; i < nrun; i++) {
		struct handled h;

		handle(o, running[i], event, watch_now_ns(), quiet, &h);
		if (h.allow)
			allow[nallow++] = h.cgid;
	}
	if (o->strict) {
		lock = kstate_lock();
		if (lock >= 0) {
			guard_sync(allow, nallow);
			kstate_unlock(lock);
		}
	}
	/* Saved policies of containers removed while nobody watched. */
	if (!state_list(&saved, &nsaved)) {
		for (i = 0; i < nsaved; i++) {
			struct docker_container c;

			if (id_in(saved[i], running, nrun))
				continue;
			if (docker_inspect(o->docker_host, saved[i], &c, err, sizeof(err)) ==
			    -ESRCH)
				watch_gone(o, saved[i], true);
			else
				docker_container_free(&c);
		}
	}
	watch_cleanup_pins(o);
	if (!quiet)
		watch_log(o, "watch", NULL, NULL, -1, "reconciled %zu running container%s", nrun,
			  nrun == 1 ? "" : "s");
	free(saved);
	free(running);
	free(allow);
	return 0;
}
