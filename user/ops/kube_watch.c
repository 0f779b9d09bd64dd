// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * watch --kubernetes (see kube_watch.h). The filter goes on the pod's
 * cgroup, not on each container's: the annotation is the pod's, the pod's
 * containers share one network namespace, the kubelet makes the pod's
 * cgroup before the first container starts, and a restarted container's
 * new cgroup is again below it, so its policy holds without watch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/guard.h"
#include "kernel/kapply.h"
#include "kernel/kgrow.h"
#include "kernel/kstate.h"
#include "ops/attach.h"
#include "ops/cpolicy.h"
#include "ops/kube_watch.h"
#include "ops/watch.h"
#include "policy/addr.h"
#include "runtime/docker_labels.h"
#include "runtime/kube.h"
#include "util/cgroup.h"
#include "util/log.h"

#define RETRY_NS 500000000ull /* a pod whose cgroup is not there yet */
#define CLEANUP_NS 10000000000ull /* pins of cgroups that are gone */
#define FAILED_NS 5000000000ull /* a pod whose policy could not be put in force */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 8000
#define RELIST_GAP_NS 1000000000ull /* at most one list a second */

/* What watch knows of a pod of this node. */
struct kpod {
	struct kube_pod pod; /* the last event's */
	char label[320]; /* namespace/name */
	char rel[2048]; /* its cgroup, once found */
	uint64_t cgid; /* 0: not found yet */
	uint64_t hash; /* of the annotations last handled (0: none yet) */
	uint64_t next_try; /* monotonic ns: when to look for its cgroup again */
	bool done; /* handled: its policy in force, or left to --unmanaged */
	bool attached; /* watch attached a filter to cgid */
	bool allowed; /* entered as allowed in the guard */
	bool waiting; /* "waiting for the pod's cgroup" said */
	bool from_procs; /* its cgroup was last found from its containers' processes */
	bool veths; /* attached while a container of it ran (its veths findable) */
	bool listed; /* in the last list */
};

struct kw {
	const struct watch_opts *o;
	struct kpod *pods;
	size_t n, cap;
	uint64_t next_cleanup;
	struct kube_cgindex idx;
	bool idx_built;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h | 1; /* never 0 */
}

static struct kpod *find(struct kw *w, const char *uid, bool add)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (!strcmp(w->pods[i].pod.uid, uid))
			return &w->pods[i];
	if (!add)
		return NULL;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 32;
		struct kpod *p = realloc(w->pods, cap * sizeof(*p));

		if (!p)
			return NULL;
		w->pods = p;
		w->cap = cap;
	}
	memset(&w->pods[w->n], 0, sizeof(w->pods[0]));
	return &w->pods[w->n++];
}

static void forget(struct kw *w, struct kpod *k)
{
	kube_pod_free(&k->pod);
	*k = w->pods[--w->n];
}

/* The host's process cgroups, read once per round of events. */
static const struct kube_cgindex *index_of(struct kw *w)
{
	if (!w->idx_built) {
		kube_cgindex_free(&w->idx);
		w->idx_built = !kube_cgindex_build(&w->idx);
	}
	return w->idx_built ? &w->idx : NULL;
}

static double ms_since(uint64_t t0)
{
	return (double)(watch_now_ns() - t0) / 1e6;
}

/* Attach to the pod's cgroup and put pol in force unless it is. Under the
 * lock. 0 or -errno (err).
 */
static int enforce(const char *abs, const char *rel, uint64_t cgid, const struct egr_policy *pol,
		   bool *created, bool *applied, struct egr_warn *warn, char *err, size_t errlen)
{
	/* attached once its policy is in (attach_finish()) */
	struct egr_attach_opts ao = { .dflt = EGR_DENY, .no_links = true };
	struct egr_kstate ks;
	char ferr[512];
	int ret, fret;

	ret = attach_cgroup(abs, rel, cgid, &ao, created, warn, err, errlen);
	if (ret)
		return ret;
	ret = kstate_open(cgid, &ks);
	if (ret)
		seterr(err, errlen, "opening the filter of cgroup %s: %s", rel, strerror(-ret));
	if (!ret && (*created || !cpolicy_in_force(&ks, pol))) {
		ret = kpolicy_apply_grow(&ks, pol, NULL, err, errlen);
		*applied = !ret;
	}
	kstate_close(&ks); /* also after a failed open */
	/* the links: its policy whole, or (failed) empty: deny */
	fret = attach_finish(abs, cgid, *created, ferr, sizeof(ferr));
	if (fret && !ret)
		seterr(err, errlen, "%s", ferr);
	if (fret) {
		*created = *applied = false;
		ret = ret ?: fret;
	}
	return ret;
}

/* The filter watch attached goes (the pod has no policy now, or is gone);
 * with the guard's entry. Under the lock.
 */
static void drop_filter(struct kw *w, struct kpod *k, const char *event)
{
	char err[512] = "";

	if (k->attached && !detach_cgroup(k->cgid, err, sizeof(err)))
		watch_log(w->o, event, k->pod.uid, k->label, -1,
			  "its filter on cgroup %s is removed", k->rel);
	else
		watch_report(w->o, NULL, err);
	if (k->allowed)
		guard_unmark(k->cgid);
	k->attached = k->allowed = false;
}

/* No policy: --unmanaged decides (as for containers). Under the lock. */
static void unmanaged(struct kw *w, struct kpod *k, const char *abs, const char *event, uint64_t t0)
{
	const struct watch_opts *o = w->o;
	bool strict = watch_guarded(o, k->rel), created = false, applied = false;
	struct egr_policy none = { .dflt = EGR_DENY };
	struct egr_warn warn = { 0 };
	char err[512] = "";

	if (o->strict && !strict) {
		drop_filter(w, k, event);
		watch_log(o, event, k->pod.uid, k->label, -1,
			  "no policy: outside the guarded cgroup %s, left alone", o->guard_cgroup);
		return;
	}
	if (strict) {
		drop_filter(w, k, event);
		if (o->unmanaged_deny) {
			watch_log(o, event, k->pod.uid, k->label, -1,
				  "no policy: unmanaged, all egress denied by the guard");
			return;
		}
		if (!guard_mark(k->cgid, EGR_GUARD_ALLOW, err, sizeof(err))) {
			k->allowed = true;
			watch_log(o, event, k->pod.uid, k->label, ms_since(t0),
				  "no policy: unmanaged, allowed by the guard");
		}
		watch_report(o, NULL, err);
		return;
	}
	if (!o->unmanaged_deny) {
		drop_filter(w, k, event);
		watch_log(o, event, k->pod.uid, k->label, -1, "no policy: left alone");
		return;
	}
	if (enforce(abs, k->rel, k->cgid, &none, &created, &applied, &warn, err, sizeof(err))) {
		watch_report(o, &warn, err);
		return;
	}
	watch_report(o, &warn, NULL);
	k->attached = true;
	watch_log(o, event, k->pod.uid, k->label, ms_since(t0),
		  "no policy: unmanaged, all egress denied (filter %s)",
		  created ? "attached" : "already attached");
}

/* The pod's cgroup: 0 when found (k->rel, k->cgid, abs), else 1 (retried). */
static int locate(struct kw *w, struct kpod *k, const char *mnt, char *abs, size_t len,
		  const char *event)
{
	enum kube_cg_how how = KUBE_CG_NAME;
	char rel[2048], err[512] = "";
	uint64_t cgid;
	int ret;

	ret = kube_pod_cgroup(&k->pod, mnt, index_of(w), rel, sizeof(rel), &how, err, sizeof(err));
	if (!ret) {
		snprintf(abs, len, "%s%s", mnt, rel);
		ret = cgroup_id(abs, &cgid);
	}
	if (ret) {
		if (ret == -EXDEV)
			watch_log(w->o, "error", k->pod.uid, k->label, -1, "%s", err);
		else if (!k->waiting)
			watch_log(w->o, event, k->pod.uid, k->label, -1,
				  "waiting for the pod's cgroup");
		k->waiting = true;
		k->next_try = watch_now_ns() + RETRY_NS;
		return 1;
	}
	if (k->cgid && k->cgid != cgid)
		k->done = k->attached = k->allowed = false; /* a new cgroup */
	if (k->cgid != cgid)
		pr_debug("pod %s: cgroup %s (%s)\n", k->label, rel,
			 how == KUBE_CG_PROCESS ? "from its containers' processes" :
						  "by the kubelet's naming");
	snprintf(k->rel, sizeof(k->rel), "%s", rel);
	k->cgid = cgid;
	k->waiting = false;
	k->from_procs = how == KUBE_CG_PROCESS;
	return 0;
}

/* A pod attached before its containers ran: once they run, attach again
 * (nothing changes but what was missing), so that the packet-socket guard
 * finds the pod's veths from their processes.
 */
static void cover_veths(struct kw *w, struct kpod *k, const char *abs)
{
	struct egr_attach_opts ao = { .dflt = EGR_DENY };
	struct egr_warn warn = { 0 };
	char err[512] = "";
	bool created = false;
	int lock = kstate_lock();

	if (lock < 0)
		return;
	attach_cgroup(abs, k->rel, k->cgid, &ao, &created, &warn, err, sizeof(err));
	kstate_unlock(lock);
	watch_report(w->o, &warn, err);
	k->veths = true;
}

/* Bring one pod in line; t0: when its event came (monotonic ns). */
static void handle(struct kw *w, struct kpod *k, const char *event, uint64_t t0)
{
	const struct watch_opts *o = w->o;
	uint64_t hash = fnv(k->pod.annotations_json);
	struct egr_policy pol = { 0 };
	struct egr_warn warn = { 0 };
	char mnt[2048], abs[4200], err[512] = "";
	bool created = false, applied = false, failed = false;
	const char *source = "annotation";
	int ret, lock;

	if (!strcmp(k->pod.phase, "Succeeded") || !strcmp(k->pod.phase, "Failed"))
		return; /* nothing runs in it any more */
	if (cgroup2_host_mount(mnt, sizeof(mnt))) {
		watch_log(o, "error", k->pod.uid, k->label, -1, "%s", CGROUP2_MISSING);
		return;
	}
	if (locate(w, k, mnt, abs, sizeof(abs), event))
		return;
	if (k->done && k->hash == hash) {
		if (k->attached && !k->veths && k->from_procs)
			cover_veths(w, k, abs);
		return;
	}
	if (o->strict && !watch_guarded(o, k->rel) && !k->done) {
		char line[3072];

		snprintf(
			line, sizeof(line),
			"pod %s: its cgroup %s is not under the guarded cgroup %s: --strict does not hold it back until its policy is in force (--guard-cgroup)",
			k->label, k->rel, o->guard_cgroup);
		o->out(WATCH_WARN, line);
	}
	ret = label_policy(k->pod.annotations_json, KUBE_ANNOTATION_PREFIX, "annotation", &pol, err,
			   sizeof(err));
	if (ret < 0 && k->done && k->attached) {
		/* A bad edit of a running pod's policy: the one in force stays. */
		watch_log(o, "error", k->pod.uid, k->label, -1,
			  "%s; the policy in force stays unchanged", err);
		k->hash = hash;
		goto out;
	}
	if (ret < 0) {
		watch_log(o, "error", k->pod.uid, k->label, -1, "%s; egress stays denied", err);
		memset(&pol, 0, sizeof(pol));
		pol.dflt = EGR_DENY;
		source = "deny-all (bad policy)";
		failed = true;
		ret = 1;
	}
	lock = kstate_lock();
	if (lock < 0) {
		watch_log(o, "error", k->pod.uid, k->label, -1, "taking the lock: %s",
			  strerror(-lock));
		goto out;
	}
	if (!ret) {
		unmanaged(w, k, abs, event, t0);
		kstate_unlock(lock);
		k->done = true;
		k->hash = hash;
		goto out;
	}
	if (k->allowed) {
		guard_unmark(k->cgid);
		k->allowed = false;
	}
	ret = enforce(abs, k->rel, k->cgid, &pol, &created, &applied, &warn, err, sizeof(err));
	kstate_unlock(lock);
	watch_report(o, &warn, NULL);
	if (created || !ret)
		k->attached = true;
	if (ret) {
		watch_log(o, "error", k->pod.uid, k->label, -1,
			  "putting its %s policy in force on cgroup %s: %s; %s", source, k->rel,
			  err,
			  k->attached		   ? "egress stays denied" :
			  watch_guarded(o, k->rel) ? "held by the guard" :
						     "NOT filtered");
		k->next_try = watch_now_ns() + FAILED_NS; /* tried again (tick) */
		goto out;
	}
	k->done = true;
	k->hash = hash;
	k->veths = k->from_procs;
	watch_log(o, event, k->pod.uid, k->label, ms_since(t0),
		  "%s %s%s (%zu rule%s, default %s%s) on cgroup %s%s",
		  applied ? "enforced" : "already in force:", source, failed ? "" : " policy",
		  pol.n, pol.n == 1 ? "" : "s", pol.dflt == EGR_ALLOW ? "allow" : "deny",
		  pol.audit ? ", audit" : "", k->rel, created ? " (attached)" : "");
out:
	policy_free(&pol);
}

/* A deleted pod: its filter and guard entry go. */
static void deleted(struct kw *w, struct kpod *k, const char *event)
{
	int lock = k->attached || k->allowed ? kstate_lock() : -1;

	if (lock >= 0) {
		drop_filter(w, k, event);
		kstate_unlock(lock);
	}
	watch_log(w->o, event, k->pod.uid, k->label, -1, "pod deleted");
	forget(w, k);
}

static int on_pod(const char *type, const struct kube_pod *p, void *ctx)
{
	struct kw *w = ctx;
	uint64_t t0 = watch_now_ns();
	bool gone = !strcmp(type, "DELETED");
	struct kpod *k = find(w, p->uid, !gone);
	char event[16];
	size_t i;

	for (i = 0; type[i] && i < sizeof(event) - 1; i++)
		event[i] = (char)(type[i] | 0x20); /* "ADDED" -> "added" */
	event[i] = '\0';
	if (!k)
		return 0;
	if (gone) {
		deleted(w, k, event);
		return 0;
	}
	kube_pod_free(&k->pod);
	k->pod = *p;
	k->pod.annotations_json = p->annotations_json ? strdup(p->annotations_json) : NULL;
	if (p->annotations_json && !k->pod.annotations_json) {
		/* not "no policy": that would let it out */
		watch_log(w->o, "error", p->uid, k->label, -1, "out of memory reading the pod");
		return 0;
	}
	snprintf(k->label, sizeof(k->label), "%s/%s", p->ns, p->name);
	k->listed = true;
	/* its containers may have started (a list reads /proc once: before) */
	if (strcmp(type, "LISTED"))
		w->idx_built = false;
	handle(w, k, event, t0);
	return 0;
}

/* About once a second: pods whose cgroup was not there yet, stale pins. */
static void tick(void *ctx)
{
	struct kw *w = ctx;
	uint64_t now = watch_now_ns();
	bool rebuilt = false;
	size_t i;

	for (i = 0; i < w->n; i++) {
		struct kpod *k = &w->pods[i];

		/* no cgroup yet, or its policy could not be put in force */
		if ((!k->cgid || (!k->done && k->next_try)) && now >= k->next_try) {
			if (!rebuilt)
				w->idx_built = false;
			rebuilt = true;
			handle(w, k, "retry", now);
		}
	}
	if (now >= w->next_cleanup) {
		watch_cleanup_pins(w->o);
		w->next_cleanup = now + CLEANUP_NS;
	}
}

/* After a list: pods that were not in it are gone; the guard's allowed
 * entries are ours.
 */
static void after_list(struct kw *w)
{
	uint64_t *allow = calloc(w->n + 1, sizeof(*allow));
	size_t i = 0, n = 0;
	int lock;

	while (i < w->n) {
		if (!w->pods[i].listed) {
			deleted(w, &w->pods[i], "deleted");
			continue;
		}
		w->pods[i].listed = false;
		if (allow && w->pods[i].allowed)
			allow[n++] = w->pods[i].cgid;
		i++;
	}
	if (w->o->strict && allow) {
		lock = kstate_lock();
		if (lock >= 0) {
			guard_sync(allow, n);
			kstate_unlock(lock);
		}
	}
	free(allow);
	watch_cleanup_pins(w->o);
}

/* Sleep ms, ticking, unless *stop. */
static void pause_ms(struct kw *w, unsigned int ms, volatile int *stop)
{
	unsigned int t;

	for (t = 0; t < ms && !*stop; t += 100) {
		usleep(100000);
		if (t % 1000 == 0)
			tick(w);
	}
}

int watch_kubernetes(const struct watch_opts *o, struct kube_conn *k, volatile int *stop)
{
	struct kw w = { .o = o };
	bool need_list = true, failing = false;
	unsigned int backoff = BACKOFF_MIN_MS;
	uint64_t last_list = 0;
	int ret = 0, last_ret = 0;
	char err[512];

	while (!*stop) {
		if (need_list) {
			while (!*stop && last_list && watch_now_ns() - last_list < RELIST_GAP_NS)
				usleep(50000);
			last_list = watch_now_ns();
			w.idx_built = false;
			ret = kube_list(k, on_pod, &w, err, sizeof(err));
			if (!ret) {
				if (failing)
					watch_log(o, "watch", NULL, NULL, -1,
						  "connected to %s again", k->api);
				failing = false;
				last_ret = 0;
				backoff = BACKOFF_MIN_MS;
				after_list(&w);
				watch_log(o, "watch", NULL, NULL, -1,
					  "listed %zu pod%s of node %s (resourceVersion %s)", w.n,
					  w.n == 1 ? "" : "s", k->node, k->rv);
				need_list = false;
			}
		}
		if (!need_list && !*stop)
			ret = kube_watch(k, on_pod, tick, &w, stop, err, sizeof(err));
		if (*stop)
			break;
		if (!ret)
			continue; /* the server ended the watch: resume from k->rv */
		if (ret == -ESTALE) {
			watch_log(o, "watch", NULL, NULL, -1, "%s: listing again", err);
			need_list = true;
			continue;
		}
		/* Unreachable, refused, broken: what is in force stays; retry.
		 * One line per kind of failure, not one per attempt.
		 */
		if (ret != last_ret)
			watch_log(o, "error", NULL, NULL, -1, "%s; retrying (every %u s at most)",
				  err, BACKOFF_MAX_MS / 1000);
		last_ret = ret;
		failing = true;
		need_list = true; /* events may have been missed */
		pause_ms(&w, backoff, stop);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	while (w.n)
		forget(&w, &w.pods[w.n - 1]);
	free(w.pods);
	kube_cgindex_free(&w.idx);
	return 0;
}
