// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl watch: what to do for each container (see watch.h). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "kernel/guard.h"
#include "kernel/kapply.h"
#include "kernel/kgrow.h"
#include "kernel/kpool.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "ops/attach.h"
#include "ops/cpolicy.h"
#include "ops/watch.h"
#include "runtime/docker.h"
#include "runtime/state.h"
#include "util/cgroup.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

uint64_t watch_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

#define EVENT_AGE_MAX_NS 60000000000ull /* older: the clocks disagree */

uint64_t watch_event_t0(uint64_t ev_ns)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME);

	if (!ev_ns || ev_ns > real || real - ev_ns > EVENT_AGE_MAX_NS || real - ev_ns > mono)
		return mono;
	return mono - (real - ev_ns);
}

/* Podman's API service can send a burst of old events from its events file
 * after a subscription: the full pass that follows the subscription lists
 * what they were about.
 */
#define REPLAY_SLACK_NS 2000000000ull

bool watch_event_replayed(uint64_t ev_ns, uint64_t subscribed)
{
	uint64_t now = clock_ns(CLOCK_REALTIME);

	return ev_ns && subscribed && now > ev_ns &&
	       now - ev_ns > watch_now_ns() - subscribed + REPLAY_SLACK_NS;
}

/* The engine's time of the event being handled by this thread (0: none),
 * for the enforcement line's event_time / enforced_time (-j).
 */
static __thread uint64_t event_wall_ns;
static __thread double event_delay_ms; /* from the event to its receipt */

static void json_time(json_t *j, const char *key, uint64_t ns)
{
	char when[48], frac[16];
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", gmtime_r(&sec, &tm));
	snprintf(frac, sizeof(frac), ".%06lluZ", (unsigned long long)(ns % 1000000000ull) / 1000);
	strncat(when, frac, sizeof(when) - strlen(when) - 1);
	json_object_set_new(j, key, json_string(when));
}

void watch_log(const struct watch_opts *o, const char *action, const char *id, const char *name,
	       double ms, const char *fmt, ...)
{
	char msg[1024], when[32], line[1600];
	struct tm tm;
	time_t now = time(NULL);
	size_t n = 0;
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
			json_object_set_new(j, o->pods ? "pod" : "container", json_string(name));
		if (ms >= 0)
			json_object_set_new(j, "ms", json_real(ms));
		if (ms >= 0 && event_wall_ns) {
			json_time(j, "event_time", event_wall_ns);
			json_time(j, "enforced_time", clock_ns(CLOCK_REALTIME));
			json_object_set_new(j, "received_ms", json_real(event_delay_ms));
		}
		s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		if (s)
			o->out(WATCH_LOG, s);
		free(s);
		json_decref(j);
		return;
	}
	if (id && *id && name && *name)
		n = snprintf(line, sizeof(line), "%s %s (%.12s): %s", action, name, id, msg);
	else if (id && *id)
		n = snprintf(line, sizeof(line), "%s %.12s: %s", action, id, msg);
	else
		snprintf(line, sizeof(line), "%s: %s", action, msg);
	if (id && *id && ms >= 0 && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " in %.1f ms", ms);
	o->out(WATCH_LOG, line);
}

static void out_warning(const char *line, void *ctx)
{
	const struct watch_opts *o = ctx;

	o->out(WATCH_WARN, line);
}

void watch_report(const struct watch_opts *o, struct egr_warn *warn, const char *err)
{
	if (warn) {
		warn_each(warn, out_warning, (void *)o);
		warn_free(warn);
	}
	if (err && *err)
		o->out(WATCH_ERR, err);
}

/* ---- preloaded instances ------------------------------------------------ */

#define POOL_FILLERS 2

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t th[POOL_FILLERS];
	unsigned int nth, want;
	bool stop, failed;
	const struct watch_opts *o;
} P = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void pool_kick(void)
{
	pthread_mutex_lock(&P.mu);
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.mu);
}

/* A loading failed: said once, until a load works again. */
static void pool_failed(const struct watch_opts *o, int ret, const char *err)
{
	char line[700];
	bool first;

	pthread_mutex_lock(&P.mu);
	first = !P.failed && ret < 0;
	P.failed = ret < 0;
	pthread_mutex_unlock(&P.mu);
	if (!first)
		return;
	snprintf(line, sizeof(line),
		 "preloading program instances: %s; containers are attached without them (slower)",
		 err);
	o->out(WATCH_WARN, line);
}

static void pool_reserve(const struct watch_opts *o)
{
	char err[512] = "";
	int ret = kpool_reserve(err, sizeof(err));

	pool_failed(o, ret, err);
	pool_kick();
}

static void *pool_filler(void *arg)
{
	const struct watch_opts *o = arg;
	char err[512];

	pthread_mutex_lock(&P.mu);
	while (!P.stop) {
		struct timespec ts;
		int ret;

		pthread_mutex_unlock(&P.mu);
		err[0] = '\0';
		ret = kpool_fill(P.want, err, sizeof(err));
		/* what libbpf allocated for the load goes back: RSS stays flat */
		malloc_trim(0);
		pool_failed(o, ret, err);
		pthread_mutex_lock(&P.mu);
		if (ret == 1 || P.stop)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ret < 0 ? 5 : 1;
		pthread_cond_timedwait(&P.cond, &P.mu, &ts);
	}
	pthread_mutex_unlock(&P.mu);
	return NULL;
}

int watch_pool_start(const struct watch_opts *o)
{
	unsigned int i;

	if (!o->preload)
		return 0;
	P.want = o->preload;
	P.o = o;
	for (i = 0; i < POOL_FILLERS && i < o->preload; i++) {
		if (pthread_create(&P.th[i], NULL, pool_filler, (void *)o))
			break;
		P.nth++;
	}
	return P.nth ? 0 : -EAGAIN;
}

void watch_pool_stop(void)
{
	unsigned int i;

	pthread_mutex_lock(&P.mu);
	P.stop = true;
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.mu);
	for (i = 0; i < P.nth; i++)
		pthread_join(P.th[i], NULL);
	P.nth = 0;
	if (P.want)
		kpool_drain(true);
}

/* ---- one container ------------------------------------------------------- */

static double ms_since(uint64_t t0)
{
	return (double)(watch_now_ns() - t0) / 1e6;
}

/* A container's cgroup v2 directory. */
struct ccg {
	char abs[4096]; /* absolute */
	char rel[2048]; /* below the cgroup v2 mount */
	uint64_t id;
};

static int container_cgroup(const struct docker_container *c, struct ccg *cg, char *err,
			    size_t errlen)
{
	char mnt[2048], path[2048];
	int ret;

	if (cgroup2_host_mount(mnt, sizeof(mnt))) {
		seterr(err, errlen, CGROUP2_MISSING);
		return -ENOENT;
	}
	ret = cgroup_of_pid(c->pid, path, sizeof(path));
	if (!ret)
		ret = cgroup_resolve(mnt, path, cg->abs, sizeof(cg->abs));
	if (!ret)
		ret = cgroup_id(cg->abs, &cg->id);
	if (ret) {
		seterr(err, errlen, "finding the cgroup v2 of container '%s': %s", c->name,
		       ret == -ENOENT ? "none (a cgroup v1 only host?)" : strerror(-ret));
		return ret;
	}
	snprintf(cg->rel, sizeof(cg->rel), "%s",
		 cg->abs[strlen(mnt)] ? cg->abs + strlen(mnt) : "/");
	return 0;
}

/* Attach to cg, saying what there is to say. */
static int attach(const struct watch_opts *o, const struct ccg *cg,
		  const struct egr_attach_opts *ao, bool *created)
{
	struct egr_warn warn = { 0 };
	char err[512];
	int ret = attach_cgroup(cg->abs, cg->rel, cg->id, ao, created, &warn, err, sizeof(err));

	watch_report(o, &warn, err);
	if (*created)
		pool_kick();
	return ret;
}

bool watch_guarded(const struct watch_opts *o, const char *rel)
{
	size_t n;

	if (!o->strict || !o->guard_cgroup)
		return false;
	n = strlen(o->guard_cgroup);
	while (n && o->guard_cgroup[n - 1] == '/')
		n--;
	return !strncmp(rel, o->guard_cgroup, n) && rel[n] == '/';
}

/* Guard entries "allowed" (unmanaged) put in while a full pass runs, by the
 * pass and by events (handled meanwhile): guard_sync() at its end keeps
 * these and drops the others. Noted only while a pass runs (active), from
 * before it lists the running containers: a container allowed before that
 * is listed, and handled by the pass.
 */
static struct {
	pthread_mutex_t mu;
	bool active;
	bool lost; /* one could not be noted (out of memory) */
	uint64_t *id;
	size_t n, cap;
} noted = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void noting(bool on)
{
	pthread_mutex_lock(&noted.mu);
	noted.active = on;
	noted.lost = false;
	noted.n = 0;
	pthread_mutex_unlock(&noted.mu);
}

/* Room for n more entries (under noted.mu): at least double the list, 16
 * to start with. 0 or -ENOMEM.
 */
static int noted_grow(size_t n)
{
	size_t cap = noted.cap ? 2 * noted.cap : 16;
	uint64_t *p;

	if (noted.cap - noted.n >= n)
		return 0;
	if (cap < noted.n + n)
		cap = noted.n + n;
	p = realloc(noted.id, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	noted.id = p;
	noted.cap = cap;
	return 0;
}

/* Room for n more entries, for the pass's own (it notes every container it
 * allows; events' entries take room too). 0 or -ENOMEM.
 */
static int noted_reserve(size_t n)
{
	int ret;

	pthread_mutex_lock(&noted.mu);
	ret = noted_grow(n);
	pthread_mutex_unlock(&noted.mu);
	return ret;
}

static void note_allowed(uint64_t cgid)
{
	pthread_mutex_lock(&noted.mu);
	if (noted.active) {
		if (noted_grow(1))
			noted.lost = true; /* this pass leaves the entries as they are */
		else
			noted.id[noted.n++] = cgid;
	}
	pthread_mutex_unlock(&noted.mu);
}

/* No policy: --unmanaged decides. Called under the lock. */
static int unmanaged(const struct watch_opts *o, const struct docker_container *c,
		     const struct ccg *cg, const char *event, uint64_t t0, bool quiet)
{
	struct egr_attach_opts ao = { .dflt = EGR_DENY, .preloaded = o->preload > 0 };
	bool created = false, strict = watch_guarded(o, cg->rel);
	char err[256] = "";
	int ret;

	if (o->strict && !strict) {
		/* outside the guarded cgroup: --strict is not for it */
		if (!quiet)
			watch_log(o, event, c->id, c->name, -1,
				  "no policy: outside the guarded cgroup %s, left alone",
				  o->guard_cgroup);
		return 0;
	}
	if (strict && !o->unmanaged_deny) {
		ret = guard_mark(cg->id, EGR_GUARD_ALLOW, err, sizeof(err));
		watch_report(o, NULL, err);
		if (!ret && !quiet)
			watch_log(o, event, c->id, c->name, ms_since(t0),
				  "no policy: unmanaged, allowed by the guard");
		if (!ret)
			note_allowed(cg->id);
		return ret;
	}
	if (strict) {
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
	ret = attach(o, cg, &ao, &created);
	if (!ret && (created || !quiet))
		watch_log(o, event, c->id, c->name, ms_since(t0),
			  "no policy: unmanaged, all egress denied (filter %s)",
			  created ? "attached" : "already attached");
	return ret;
}

/* The policy of a container: saved, from its annotations or labels, or
 * none; unreadable or bad: deny all (fail closed).
 */
static void policy_of(const struct watch_opts *o, const struct docker_container *c,
		      struct cpolicy *cp, bool *failed)
{
	/* as the hook reads them: annotations first */
	const struct label_set sets[] = { { c->annotations_json, "annotation" },
					  { c->labels_json, "label" } };
	size_t n = c->annotations_err ? 0 : 2;
	char err[512];
	int ret = cpolicy_load(c->id, sets, n, cp, err, sizeof(err));

	if (c->annotations_err && ret >= 0 && !cp->saved) {
		/* its policy may be in them: fail closed, as for a bad one */
		cpolicy_free(cp);
		snprintf(err, sizeof(err), "reading its annotations: %s", c->annotations_err);
		ret = -EIO;
	}

	*failed = ret < 0;
	if (!*failed)
		return;
	watch_log(o, "error", c->id, c->name, -1, "%s; egress stays denied", err);
	cpolicy_free(cp);
	memset(cp, 0, sizeof(*cp));
	cp->pol.dflt = EGR_DENY;
	cp->source = "deny-all (bad policy)";
}

/* When the steps of handling a container began (monotonic ns), for -vv. */
struct steps {
	uint64_t t0; /* the trigger was seen */
	uint64_t inspect; /* the container was inspected */
	uint64_t lock; /* the lock was taken */
};

/* The links, now that the policy is in (or, if that failed, is empty:
 * deny): a connect() never meets the empty policy of a new instance, which
 * its socket hooks would refuse for good (ECONNREFUSED), where the guard's
 * dropped SYN is only sent again.
 */
static int finish(const struct watch_opts *o, const struct docker_container *c,
		  const struct ccg *cg, bool created)
{
	char err[512] = "";
	int ret = attach_finish(cg->abs, cg->id, created, err, sizeof(err));

	if (ret && access(cg->abs, F_OK)) /* gone: its die event cleans up */
		pr_debug("%.12s: cgroup %s gone before the attach\n", c->id, cg->rel);
	else if (ret)
		watch_log(o, "error", c->id, c->name, -1, "attaching to cgroup %s: %s", cg->rel,
			  err[0] ? err : strerror(-ret));
	return ret;
}

/* Attach to cg and put cp in force unless it is; saved (unless it failed
 * to load), so that list and status name the container. Called under the
 * lock. *applied, *created: what it did.
 */
static int enforce(const struct watch_opts *o, const struct docker_container *c,
		   const struct ccg *cg, const struct cpolicy *cp, bool failed,
		   const struct steps *t, bool *created, bool *applied)
{
	struct egr_warn warn = { 0 };
	char err[512] = "";
	uint64_t t_attach;
	bool saving;
	int ret, fret;

	ret = cpolicy_attach(cg->abs, cg->rel, cg->id, cp, o->preload > 0, created, &warn, err,
			     sizeof(err));
	if (ret && access(cg->abs, F_OK)) {
		/* the cgroup went in the meantime (the container stopped):
		 * nothing to put in force, its die event cleans up
		 */
		warn_free(&warn);
		pr_debug("%.12s: cgroup %s gone before the attach\n", c->id, cg->rel);
		return ret;
	}
	watch_report(o, &warn, err);
	if (!ret && *created)
		pool_kick();
	t_attach = watch_now_ns();
	if (ret) {
		watch_log(o, "error", c->id, c->name, -1, "attaching to cgroup %s: %s", cg->rel,
			  strerror(-ret));
		return ret;
	}
	ret = cpolicy_apply(cg->id, cp, *created, failed ? NULL : c->id, c->name, applied, &saving,
			    err, sizeof(err));
	if (ret && saving)
		watch_report(o, NULL, err);
	else if (ret)
		watch_log(o, "error", c->id, c->name, -1, "%s; egress stays denied", err);
	fret = finish(o, c, cg, *created);
	if (fret) {
		*created = *applied = false;
		ret = fret;
	}
	pr_debug(
		"%.12s: received %.1f ms after the event, inspect %.1f ms, lock %.1f ms, attach %.1f ms, apply+save %.1f ms\n",
		c->id, event_delay_ms, (double)(t->inspect - t->t0) / 1e6 - event_delay_ms,
		(double)(t->lock - t->inspect) / 1e6, (double)(t_attach - t->lock) / 1e6,
		ms_since(t_attach));
	return ret;
}

/* Containers whose policy was put in force when their cgroup appeared
 * (watch_new_cgroup), on which cgroup and when: the start event's line then
 * says how long before (or after) the event that was. Bounded: when full,
 * the oldest goes. Written under egressctl's lock, before it is released,
 * so a start event that finds the policy in force finds the entry too.
 */
#define EARLY_MAX 64

static struct {
	pthread_mutex_t mu;
	struct {
		char id[65];
		char source[32]; /* the policy's source then ("label", "saved") */
		uint64_t cgid;
		uint64_t when; /* monotonic ns; 0: a free entry */
	} e[EARLY_MAX];
} E = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void early_put(const char *id, uint64_t cgid, const char *source, uint64_t when)
{
	unsigned int i, k = 0;

	pthread_mutex_lock(&E.mu);
	for (i = 0; i < EARLY_MAX; i++) {
		if (!strcmp(E.e[i].id, id)) { /* one per container: the latest */
			k = i;
			break;
		}
		if (E.e[i].when < E.e[k].when) /* a free one (0), else the oldest */
			k = i;
	}
	snprintf(E.e[k].id, sizeof(E.e[k].id), "%s", id);
	snprintf(E.e[k].source, sizeof(E.e[k].source), "%s", source);
	E.e[k].cgid = cgid;
	E.e[k].when = when;
	pthread_mutex_unlock(&E.mu);
}

/* When id's policy came in force on its new cgroup cgid (0: not so) and
 * its source then (source, 32 bytes); the entry is freed.
 */
static uint64_t early_take(const char *id, uint64_t cgid, char *source)
{
	uint64_t when = 0;
	unsigned int i;

	pthread_mutex_lock(&E.mu);
	for (i = 0; i < EARLY_MAX; i++) {
		if (!E.e[i].when || strcmp(E.e[i].id, id))
			continue;
		if (E.e[i].cgid == cgid) {
			when = E.e[i].when;
			memcpy(source, E.e[i].source, sizeof(E.e[i].source));
		}
		E.e[i].id[0] = '\0';
		E.e[i].when = 0;
	}
	pthread_mutex_unlock(&E.mu);
	return when;
}

/* One running container, its cgroup known: policy, lock, enforce, log. */
static int handle_running(const struct watch_opts *o, const struct docker_container *c,
			  const struct ccg *cg, const char *event, struct steps *t, bool quiet)
{
	struct cpolicy cp;
	bool created = false, applied = false, failed;
	int ret, lock;

	policy_of(o, c, &cp, &failed);
	/* An instance ready before the lock: loading one under it (the
	 * preloaded ones all taken) would hold up every other attach.
	 */
	if (o->preload && (cp.source || o->unmanaged_deny) && !kstate_pinned(cg->id))
		pool_reserve(o);
	lock = kstate_lock();
	if (lock < 0) {
		watch_log(o, "error", c->id, c->name, -1, "taking the lock: %s", strerror(-lock));
		ret = lock;
		goto out;
	}
	if (!cp.source) {
		ret = unmanaged(o, c, cg, event, t->t0, quiet);
		kstate_unlock(lock);
		goto out;
	}
	t->lock = watch_now_ns();
	ret = enforce(o, c, cg, &cp, failed, t, &created, &applied);
	if (!ret && (applied || created) && !strcmp(event, "cgroup"))
		early_put(c->id, cg->id, cp.source, watch_now_ns());
	kstate_unlock(lock);
	if (!ret && !applied && !created && !strcmp(event, "start")) {
		char source[32];
		uint64_t when = early_take(c->id, cg->id, source);

		/* In force since its cgroup appeared: before the start event
		 * (ms 0), or after it but before the event reached watch.
		 */
		if (when) {
			double d = ((double)when - (double)t->t0) / 1e6;

			watch_log(
				o, event, c->id, c->name, d > 0 ? d : 0,
				"enforced %s%s (%zu rule%s, default %s%s) on cgroup %s (attached as it was created, %.1f ms %s the start event)",
				source, failed ? "" : " policy", cp.pol.n, cp.pol.n == 1 ? "" : "s",
				cp.pol.dflt == EGR_ALLOW ? "allow" : "deny",
				cp.pol.audit ? ", audit" : "", cg->rel, d > 0 ? d : -d,
				d > 0 ? "after" : "before");
			goto out;
		}
	}
	if (!ret && (applied || created || !quiet))
		watch_log(o, event, c->id, c->name, ms_since(t->t0),
			  "%s %s%s (%zu rule%s, default %s%s) on cgroup %s%s",
			  applied ? "enforced" : "already in force:", cp.source,
			  failed ? "" : " policy", cp.pol.n, cp.pol.n == 1 ? "" : "s",
			  cp.pol.dflt == EGR_ALLOW ? "allow" : "deny",
			  cp.pol.audit ? ", audit" : "", cg->rel, created ? " (attached)" : "");
out:
	cpolicy_free(&cp);
	return ret;
}

/* --strict, a container under another parent (Podman's systemd manager:
 * machine.slice): the guard does not hold it back.
 */
static void outside_warning(const struct watch_opts *o, const struct docker_container *c,
			    const struct ccg *cg)
{
	char line[3072];

	snprintf(
		line, sizeof(line),
		"container %s: its cgroup %s is not under the guarded cgroup %s: --strict does not hold it back until its policy is in force (--guard-cgroup)",
		c->name, cg->rel, o->guard_cgroup);
	o->out(WATCH_WARN, line);
}

static int handle(const struct watch_opts *o, const char *id, const char *event, uint64_t t0,
		  bool quiet)
{
	struct steps t = { .t0 = t0 };
	struct docker_container c;
	struct ccg cg;
	char err[512];
	int ret;

	ret = docker_inspect(o->docker_host, id, &c, err, sizeof(err));
	if (ret == -ESRCH)
		return 0; /* removed in the meantime */
	if (ret) {
		watch_log(o, "error", id, NULL, -1, "%s", err);
		return ret;
	}
	ret = 0;
	if (c.running && c.pid > 0) {
		t.inspect = watch_now_ns();
		ret = container_cgroup(&c, &cg, err, sizeof(err));
		if (ret) {
			watch_log(o, "error", c.id, c.name, -1, "%s", err);
		} else {
			if (o->strict && !watch_guarded(o, cg.rel))
				outside_warning(o, &c, &cg);
			ret = handle_running(o, &c, &cg, event, &t, quiet);
		}
	}
	docker_container_free(&c);
	return ret < 0 ? ret : 0;
}

int watch_new_cgroup(const struct watch_opts *o, const char *id, const char *rel, uint64_t t0)
{
	struct steps t = { .t0 = t0 };
	struct docker_container c;
	char mnt[2048], err[512];
	struct ccg cg;
	int ret;

	if (cgroup2_host_mount(mnt, sizeof(mnt)))
		return -ENOENT;
	snprintf(cg.abs, sizeof(cg.abs), "%s%s", mnt, rel);
	snprintf(cg.rel, sizeof(cg.rel), "%s", rel);
	/* The engines answer once the container has started (Podman and
	 * Docker hold the container's lock through its start).
	 */
	ret = docker_inspect(o->docker_host, id, &c, err, sizeof(err));
	if (ret)
		return ret == -ESRCH ? 0 : ret; /* the start event tries again */
	if (strcmp(c.id, id)) { /* a container named like an id */
		docker_container_free(&c);
		return 0;
	}
	t.inspect = watch_now_ns();
	ret = cgroup_id(cg.abs, &cg.id);
	if (!ret)
		ret = handle_running(o, &c, &cg, "cgroup", &t, true);
	else if (ret == -ENOENT)
		ret = 0; /* gone already */
	docker_container_free(&c);
	return ret;
}

int watch_container(const struct watch_opts *o, const char *id, const char *event, uint64_t t0)
{
	return watch_event(o, id, event, t0, 0, t0);
}

int watch_event(const struct watch_opts *o, const char *id, const char *event, uint64_t t0,
		uint64_t ev_ns, uint64_t recv)
{
	int ret;

	event_wall_ns = ev_ns;
	event_delay_ms = recv > t0 ? (double)(recv - t0) / 1e6 : 0;
	ret = handle(o, id, event, t0, false);
	event_wall_ns = 0;
	return ret;
}

/* ---- cleanup ----------------------------------------------------------- */

struct clean_ctx {
	const struct watch_opts *o;
	const char *id, *name, *event;
};

static void cleaned(uint64_t cgid, const char *path, const char *id, const char *err, void *ctx)
{
	const struct clean_ctx *c = ctx;

	if (err) {
		watch_report(c->o, NULL, err);
		return;
	}
	if (c->id || id)
		watch_log(c->o, c->event, c->id ? c->id : id, c->name, -1,
			  "removed the pins of its old cgroup %s (id %llu)", path,
			  (unsigned long long)cgid);
	else
		watch_log(c->o, c->event, NULL, NULL, -1,
			  "removed the pins of cgroup %s (id %llu): the cgroup is gone", path,
			  (unsigned long long)cgid);
}

/* Detach pins: of container id (NULL: any), only stale ones unless all. */
static int clean_pins(const struct watch_opts *o, const char *id, const char *name, bool all,
		      const char *event)
{
	struct clean_ctx c = { o, id, name, event };

	return detach_stale(id, all, cleaned, &c);
}

int watch_cleanup_pins(const struct watch_opts *o)
{
	int lock = kstate_lock(), n;

	if (lock < 0)
		return lock;
	n = clean_pins(o, NULL, NULL, false, "cleanup");
	/* preloaded instances a killed watch left (a running one adopts them) */
	if (!o->preload)
		kpool_drain(false);
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

/* Strict mode: the guard, installed if it is not. */
static int strict_guard(const struct watch_opts *o)
{
	bool created = false;
	char err[512];
	int ret, lock = kstate_lock();

	if (lock < 0)
		return lock;
	ret = guard_install(o->guard_cgroup, &created, err, sizeof(err));
	kstate_unlock(lock);
	if (ret) {
		watch_log(o, "error", NULL, NULL, -1, "strict mode: %s", err);
		return ret;
	}
	if (created)
		watch_log(o, "guard", NULL, NULL, -1,
			  "installed on cgroup %s: containers without a policy in force are denied",
			  o->guard_cgroup);
	return 0;
}

/* Container id held (o->hold) for one step of a full pass: a handle for
 * unhold(), -1 where nothing holds, -2 when watch is stopping.
 */
static int hold(const struct watch_opts *o, const char *id)
{
	int h;

	if (!o->hold)
		return -1;
	h = o->hold(id);
	return h < 0 ? -2 : h;
}

static void unhold(const struct watch_opts *o, int h)
{
	if (h >= 0 && o->unhold)
		o->unhold(h);
}

/* Saved policies of containers removed while nobody watched. */
static void forget_removed(const struct watch_opts *o, char (*running)[65], size_t nrun)
{
	char(*saved)[65] = NULL, err[512];
	size_t nsaved = 0, i;

	if (state_list(&saved, &nsaved))
		return;
	for (i = 0; i < nsaved; i++) {
		struct docker_container c;
		int hd;

		if (id_in(saved[i], running, nrun))
			continue;
		hd = hold(o, saved[i]);
		if (hd == -2)
			break;
		if (docker_inspect(o->docker_host, saved[i], &c, err, sizeof(err)) == -ESRCH)
			watch_gone(o, saved[i], true);
		else
			docker_container_free(&c);
		unhold(o, hd);
	}
	free(saved);
}

/* Test hook: EGRESSCTL_TEST_PASS_HOLD=DIR holds a full pass after its
 * containers, before the guard's entries are synced: DIR/held is created,
 * then DIR/go waited for (at most 180 s). Events are handled meanwhile.
 */
static void test_pass_hold(void)
{
	const char *d = getenv("EGRESSCTL_TEST_PASS_HOLD");
	char path[4200];
	int i, fd;

	if (!d || !*d)
		return;
	snprintf(path, sizeof(path), "%s/held", d);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/go", d);
	for (i = 0; i < 1800 && access(path, F_OK); i++)
		usleep(100000);
}

/* The guard's entries, its "allowed" ones those noted since the pass began,
 * its own and the events' (under egressctl's lock). One not noted (out of
 * memory): the "allowed" entries are left as they are until the next pass.
 */
static void guard_sync_noted(void)
{
	pthread_mutex_lock(&noted.mu);
	if (noted.lost)
		guard_sync_keep();
	else
		guard_sync(noted.id, noted.n);
	pthread_mutex_unlock(&noted.mu);
}

int watch_reconcile(const struct watch_opts *o, const char *event, bool quiet)
{
	char(*running)[65] = NULL, err[512];
	size_t nrun = 0, i;
	int ret, lock;

	ret = o->strict ? strict_guard(o) : 0;
	if (ret)
		return ret;
	noting(true);
	ret = docker_list_running(o->docker_host, &running, &nrun, err, sizeof(err));
	if (ret) {
		noting(false);
		if (!quiet)
			watch_log(o, "error", NULL, NULL, -1, "%s", err);
		watch_cleanup_pins(o);
		return ret;
	}
	if (noted_reserve(nrun + 1)) {
		noting(false);
		free(running);
		return -ENOMEM;
	}
	for (i = 0; i < nrun; i++) {
		int hd = hold(o, running[i]);

		if (hd == -2) /* stopping */
			goto out;
		handle(o, running[i], event, watch_now_ns(), quiet);
		unhold(o, hd);
	}
	test_pass_hold();
	if (o->strict) {
		lock = kstate_lock();
		if (lock >= 0) {
			guard_sync_noted();
			kstate_unlock(lock);
		}
	}
	forget_removed(o, running, nrun);
	watch_cleanup_pins(o);
	if (!quiet)
		watch_log(o, "watch", NULL, NULL, -1, "reconciled %zu running container%s", nrun,
			  nrun == 1 ? "" : "s");
out:
	noting(false); /* done, or stopping */
	free(running);
	return 0;
}
