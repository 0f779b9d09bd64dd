// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl watch: follow Docker events, keep policies in force (watch.c). */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "cli/guard_view.h"
#include "kernel/guard.h"
#include "kernel/kstate.h"
#include "ops/kube_watch.h"
#include "ops/watch.h"
#include "runtime/cgfollow.h"
#include "runtime/docker.h"
#include "runtime/kube.h"
#include "runtime/state.h"
#include "util/cgroup.h"
#include "util/dl_curl.h"
#include "util/log.h"

static const char watch_usage[] =
	"Usage: egressctl watch [--strict] [--unmanaged allow|deny] [--once] [-j|--json]\n"
	"                       [--guard-cgroup PATH] [--resync SECONDS] [--preload N]\n"
	"                       [--no-follow-cgroups]\n"
	"       egressctl watch --kubernetes [--node NAME] [--kube-api URL]\n"
	"                       [--kube-token FILE] [--kube-ca FILE] [--strict]\n"
	"                       [--unmanaged allow|deny] [-j] [--guard-cgroup PATH]\n"
	"       egressctl watch --guard-only [--guard-cgroup PATH]\n"
	"       egressctl watch --guard-status [-j|--json]\n"
	"       egressctl watch --remove-guard\n"
	"\n"
	"Keep containers' policies in force: follow the engine's event stream\n"
	"(Docker's or Podman's, on the --docker-host socket) and, when a container\n"
	"with a saved policy (set with attach/allow/deny/apply on the container) or\n"
	"an annotation or label policy (egressctl.policy, egressctl.allow,\n"
	"egressctl.deny, egressctl.default, egressctl.audit; annotations first)\n"
	"starts, attach the filter to its new cgroup and apply the policy; when it\n"
	"is removed, delete its saved policy\n"
	"and pins. At startup (and every --resync seconds) every running container\n"
	"is checked. One line per action, with the time from the start event to\n"
	"enforcement.\n"
	"Runs in the foreground; SIGTERM/SIGINT stop it.\n"
	"\n"
	"  --strict              install the guard on the engine's parent cgroup: a\n"
	"                        container's egress is denied until watch has put its\n"
	"                        policy in force (also while watch is not running).\n"
	"                        The guard stays pinned after watch exits.\n"
	"  --unmanaged allow|deny  containers with no policy (default: allow); deny\n"
	"                        drops all their egress but loopback\n"
	"  --guard-cgroup PATH   the guarded cgroup, below the cgroup v2 mount\n"
	"                        (default /docker: Docker's cgroupfs driver;\n"
	"                        /libpod_parent for Podman: its cgroupfs manager;\n"
	"                        /kubepods.slice, else /kubepods, with --kubernetes)\n"
	"  --once                reconcile once and exit\n"
	"  --resync SECONDS      full reconcile period (default 60; 0: never)\n"
	"  --preload N           keep N program instances loaded and verified ahead\n"
	"                        of need, so that an attach takes one instead of\n"
	"                        loading its own (default 4; 0: none). They are\n"
	"                        pinned as pool-* under /sys/fs/bpf/egressctl,\n"
	"                        removed when watch exits\n"
	"  --no-follow-cgroups   Podman: its start events alone. By default (its start\n"
	"                        events arrive up to 250 ms late) watch also follows\n"
	"                        the creation of containers' cgroups under Podman's\n"
	"                        parent cgroup (--guard-cgroup, else /libpod_parent)\n"
	"                        and puts a container's policy in force there as\n"
	"                        soon as Podman answers for it. (--follow-cgroups,\n"
	"                        the default with Podman: for Docker, a warning;\n"
	"                        with --kubernetes, neither goes.)\n"
	"  -j, --json            log, warnings and errors as JSON objects, one per line\n"
	"  --guard-only          install the guard (if missing) and exit: for boot,\n"
	"                        before the engine starts (systemd ExecStartPre)\n"
	"  --guard-status        show the guard and its counters\n"
	"  --remove-guard        detach and unpin the guard\n"
	"\n"
	"Kubernetes (a DaemonSet, contrib/kubernetes/egressctl.yaml):\n"
	"  --kubernetes          follow this node's pods in the Kubernetes API instead\n"
	"                        of an engine's events; a pod's policy is in its\n"
	"                        annotations (egressctl.io/policy, egressctl.io/allow,\n"
	"                        egressctl.io/deny, egressctl.io/default,\n"
	"                        egressctl.io/audit) and is put in force on the pod's\n"
	"                        cgroup, which holds all its containers\n"
	"  --node NAME           this node (default $NODE_NAME)\n"
	"  --kube-api URL        the API server (default https://\n"
	"                        $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)\n"
	"  --kube-token FILE     bearer token, read at every connection (default\n"
	"                        /var/run/secrets/kubernetes.io/serviceaccount/token)\n"
	"  --kube-ca FILE        the API server's CA (default ca.crt next to the\n"
	"                        token)\n"
	"\n"
	"Saved policies live in $EGRESSCTL_STATE_DIR (default /var/lib/egressctl).\n";

#define QUEUE_LEN 1024
#define WORKERS 3 /* events handled at once (one container's in order) */
#define CG_WORKERS 2 /* new cgroups handled at once (cg_worker) */
#define RESYNC_DELAY_NS 500000000ull /* after (re)subscribing to events */
#define DIE_CLEANUP_NS 2000000000ull /* second look at a dead container's pins */

struct ev {
	char action[16];
	char id[65];
	uint64_t t; /* when it happened (monotonic ns) */
	uint64_t wall; /* the engine's time of it (realtime ns; 0: none) */
	uint64_t recv; /* when watch received it (monotonic ns) */
	char cg[96]; /* "cgroup": the new cgroup's directory name */
};

/* The events waiting, oldest first; the containers being handled (busy).
 * A worker takes the oldest event whose container no other worker has, so
 * one container's events are handled in order and different containers'
 * at once. A full reconcile (the main thread) holds one container at a
 * time the same way (hold()): events go on being handled meanwhile.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct ev q[QUEUE_LEN];
	size_t len;
	char busy[WORKERS + CG_WORKERS + 1][65]; /* + the reconcile's */
	bool overflow;
	uint64_t resync_at; /* 0: none due */
	uint64_t subscribed; /* monotonic ns of the last subscription */
	uint64_t cleanup_at; /* 0: none due */
	bool docker_ok;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int on_event(const char *action, const char *id, uint64_t time_ns, void *ctx)
{
	struct ev *e;

	(void)ctx;
	if (strcmp(action, "start") && strcmp(action, "die") && strcmp(action, "destroy") &&
	    strcmp(action, "rename"))
		return 0;
	pthread_mutex_lock(&W.mu);
	if (watch_event_replayed(time_ns, W.subscribed)) {
		/* the full pass after subscribing has it */
		pr_debug("%.12s: %s from before the subscription: a replay, dropped\n", id, action);
	} else if (W.len == QUEUE_LEN) {
		W.overflow = true; /* a full reconcile catches up */
	} else {
		e = &W.q[W.len++];
		snprintf(e->action, sizeof(e->action), "%s", action);
		snprintf(e->id, sizeof(e->id), "%s", id);
		e->t = watch_event_t0(time_ns);
		e->wall = time_ns;
		e->recv = watch_now_ns();
	}
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.mu);
	return 0;
}

/* The cgroup directory whose new subdirectories are containers' cgroups
 * (below the cgroup v2 mount): the guarded one, else the engine's parent.
 */
static char follow_rel[2048];

/* New cgroups waiting (oldest first), handled by CG_WORKERS threads of
 * their own: an engine may answer the inspect of a container only once it
 * has started (Podman holds the container's lock until then), and that
 * wait must not hold up start events. A container's cgroup event and its
 * start event may then run at once: egressctl's lock orders them, and
 * the second finds the policy in force.
 */
#define CG_QUEUE_LEN 256
#define CG_STALE_NS 10000000000ull /* older: the start event has done it */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct ev q[CG_QUEUE_LEN];
	size_t len;
} C = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void on_cgroup(const char *id, const char *name, void *ctx)
{
	struct ev *e;

	(void)ctx;
	pthread_mutex_lock(&C.mu);
	if (C.len < CG_QUEUE_LEN) { /* full: the start event does it */
		e = &C.q[C.len++];
		memset(e, 0, sizeof(*e));
		snprintf(e->action, sizeof(e->action), "cgroup");
		snprintf(e->id, sizeof(e->id), "%s", id);
		snprintf(e->cg, sizeof(e->cg), "%s", name);
		e->t = e->recv = watch_now_ns();
	}
	pthread_cond_signal(&C.cond);
	pthread_mutex_unlock(&C.mu);
}

static void timed_wait(uint64_t ms);
static bool busy(const char *id);

/* A slot for container id (under W.mu), once no other thread has it (its
 * die or destroy is then handled in order); -1 if watch stops meanwhile.
 */
static int slot_for(const char *id)
{
	unsigned int slot;

	while (busy(id)) {
		if (stop_flag)
			return -1;
		timed_wait(200);
	}
	if (stop_flag)
		return -1;
	/* one slot per thread that can hold one: always one free */
	for (slot = 0; slot < sizeof(W.busy) / sizeof(W.busy[0]) - 1 && W.busy[slot][0]; slot++)
		;
	snprintf(W.busy[slot], sizeof(W.busy[slot]), "%s", id);
	return (int)slot;
}

static void slot_free(int slot)
{
	W.busy[slot][0] = '\0';
	pthread_cond_broadcast(&W.cond);
}

/* watch_opts' hold and unhold: for the full reconcile. */
static int hold(const char *id)
{
	int slot;

	pthread_mutex_lock(&W.mu);
	slot = slot_for(id);
	pthread_mutex_unlock(&W.mu);
	return slot;
}

static void unhold(int slot)
{
	pthread_mutex_lock(&W.mu);
	slot_free(slot);
	pthread_mutex_unlock(&W.mu);
}

static void *cg_worker(void *arg)
{
	const struct watch_opts *o = arg;
	struct docker_container c;
	char rel[2200], err[512];
	struct timespec ts;
	struct ev e;
	int ret, slot;

	pthread_mutex_lock(&C.mu);
	while (!stop_flag) {
		if (!C.len) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 200000000;
			ts.tv_sec += ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&C.cond, &C.mu, &ts);
			continue;
		}
		e = C.q[0];
		memmove(&C.q[0], &C.q[1], (C.len - 1) * sizeof(C.q[0]));
		C.len--;
		pthread_mutex_unlock(&C.mu);
		/* The engine answers once the container has started: waited
		 * for here, holding no slot, so that neither start events nor
		 * a full reconcile wait behind it. Then, in a slot, asked
		 * again (at once now) and put in force.
		 */
		ret = docker_inspect(o->docker_host, e.id, &c, err, sizeof(err));
		if (!ret)
			docker_container_free(&c);
		pthread_mutex_lock(&W.mu);
		if (ret || stop_flag || watch_now_ns() - e.t >= CG_STALE_NS) {
			pthread_mutex_unlock(&W.mu);
			pthread_mutex_lock(&C.mu);
			continue; /* the start event does it */
		}
		slot = slot_for(e.id);
		pthread_mutex_unlock(&W.mu);
		if (slot < 0) {
			pthread_mutex_lock(&C.mu);
			continue;
		}
		snprintf(rel, sizeof(rel), "%s/%s", follow_rel, e.cg);
		watch_new_cgroup(o, e.id, rel, e.t);
		unhold(slot);
		pthread_mutex_lock(&C.mu);
	}
	pthread_mutex_unlock(&C.mu);
	return NULL;
}

/* The followed directory, absolute. */
static char follow_abs[4200];

/* Follow follow_abs: an inotify descriptor, or -1 (said once, at -v). */
static int follow_open(void)
{
	static bool said;
	char err[512];
	int fd = cgfollow_open(follow_abs, err, sizeof(err));

	if (fd < 0 && !said) {
		pr_info("%s: the start events alone (tried again every second)\n", err);
		said = true;
	}
	return fd;
}

/* New containers' cgroups, as they appear (runtime/cgfollow.h): their
 * policies in force ahead of the start events. arg: the descriptor opened
 * before watch said it follows (-1: none yet). Where the directory does
 * not exist (yet), tried again every second; the start events remain.
 * Events lost to an inotify queue overflow are left to the start events.
 */
static void *cgroups_thread(void *arg)
{
	int fd = (int)(intptr_t)arg, i;

	while (!stop_flag) {
		if (fd < 0) {
			for (i = 0; i < 10 && !stop_flag; i++)
				usleep(100000);
			fd = follow_open();
			continue;
		}
		if (cgfollow_read(fd, 200, on_cgroup, NULL) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *events_thread(void *arg)
{
	const struct watch_opts *o = arg;
	char err[512];
	int ret, i;

	while (!stop_flag) {
		/* Subscribed first, then listed: whatever starts after the
		 * subscription is an event, whatever ran before is listed.
		 */
		pthread_mutex_lock(&W.mu);
		W.resync_at = watch_now_ns() + RESYNC_DELAY_NS;
		W.subscribed = watch_now_ns();
		pthread_mutex_unlock(&W.mu);
		ret = docker_events(o->docker_host, on_event, NULL, &stop_flag, err, sizeof(err));
		if (stop_flag)
			break;
		pthread_mutex_lock(&W.mu);
		if (W.docker_ok)
			watch_log(o, "error", NULL, NULL, -1, "%s (%s); retrying every second", err,
				  strerror(-ret));
		W.docker_ok = false;
		pthread_mutex_unlock(&W.mu);
		for (i = 0; i < 10 && !stop_flag; i++)
			usleep(100000);
	}
	return NULL;
}

static void timed_wait(uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	ts.tv_sec += (time_t)(ms / 1000) + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_cond_timedwait(&W.cond, &W.mu, &ts);
}

static bool busy(const char *id)
{
	unsigned int i;

	for (i = 0; i < sizeof(W.busy) / sizeof(W.busy[0]); i++)
		if (!strcmp(W.busy[i], id))
			return true;
	return false;
}

/* The oldest event no worker has the container of, taken off the queue
 * (under W.mu); its worker slot in *slot. false: none.
 */
static bool take_event(struct ev *e, unsigned int *slot)
{
	size_t i;
	int ret;

	for (i = 0; i < W.len; i++) {
		if (busy(W.q[i].id))
			continue;
		*e = W.q[i];
		memmove(&W.q[i], &W.q[i + 1], (W.len - i - 1) * sizeof(W.q[0]));
		W.len--;
		ret = slot_for(e->id); /* not busy: -1 only when stopping */
		if (ret < 0) {
			W.q[W.len++] = *e; /* not handled: watch stops */
			return false;
		}
		*slot = (unsigned int)ret;
		return true;
	}
	return false;
}

static void *worker(void *arg)
{
	const struct watch_opts *o = arg;
	unsigned int slot;
	struct ev e;

	pthread_mutex_lock(&W.mu);
	while (!stop_flag) {
		if (!take_event(&e, &slot)) {
			timed_wait(200);
			continue;
		}
		pthread_mutex_unlock(&W.mu);
		if (!strcmp(e.action, "start") || !strcmp(e.action, "rename"))
			watch_event(o, e.id, e.action, e.t, e.wall, e.recv);
		else
			watch_gone(o, e.id, !strcmp(e.action, "destroy"));
		pthread_mutex_lock(&W.mu);
		slot_free((int)slot);
		if (!strcmp(e.action, "die"))
			W.cleanup_at = watch_now_ns() + DIE_CLEANUP_NS;
	}
	pthread_mutex_unlock(&W.mu);
	return NULL;
}

/* Following new cgroups (Podman's, unless --no-follow-cgroups): the
 * threads for new cgroups and the inotify watch, in place before watch says
 * it follows (Podman only: Docker's start events reach watch within ms of
 * the start, and the extra inspects only cost it: measured, p99 84 ms
 * without, 355-770 ms with). true if the follower thread runs; the workers
 * started in cwk, *ncwk.
 */
static bool follow_start(const struct watch_opts *o, bool podman, pthread_t *cwk,
			 unsigned int *ncwk, pthread_t *cth)
{
	pthread_condattr_t ca;
	char mnt[2048];
	size_t n;
	int fd;

	if (!podman) {
		if (o->follow_cgroups)
			o->out(WATCH_WARN,
			       "--follow-cgroups is for Podman: following Docker's start events alone");
		return false;
	}
	if (cgroup2_host_mount(mnt, sizeof(mnt)))
		return false;
	snprintf(follow_rel, sizeof(follow_rel), "%s",
		 o->guard_cgroup ? o->guard_cgroup : "/libpod_parent");
	n = strlen(follow_rel);
	while (n && follow_rel[n - 1] == '/')
		follow_rel[--n] = '\0';
	snprintf(follow_abs, sizeof(follow_abs), "%s%s", mnt, follow_rel);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&C.cond, &ca);
	pthread_condattr_destroy(&ca);
	for (*ncwk = 0; *ncwk < CG_WORKERS; (*ncwk)++)
		if (pthread_create(&cwk[*ncwk], NULL, cg_worker, (void *)o))
			break;
	if (!*ncwk)
		return false;
	fd = follow_open(); /* -1: the thread tries again every second */
	if (!pthread_create(cth, NULL, cgroups_thread, (void *)(intptr_t)fd))
		return true;
	if (fd >= 0)
		close(fd);
	return false;
}

static int run(const struct watch_opts *o, unsigned int resync_s)
{
	pthread_condattr_t ca;
	bool podman = docker_engine(o->docker_host) == ENGINE_PODMAN;
	pthread_t th, cth, wk[WORKERS], cwk[CG_WORKERS];
	unsigned int ncwk = 0;
	bool follow = false;
	uint64_t next_resync = 0;
	unsigned int nwk = 0, i;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&W.cond, &ca);
	W.docker_ok = true;
	if (pthread_create(&th, NULL, events_thread, (void *)o)) {
		pr_err("watch: cannot start the event thread\n");
		return 1;
	}
	for (i = 0; i < WORKERS; i++)
		nwk += !pthread_create(&wk[nwk], NULL, worker, (void *)o);
	if (!o->no_follow_cgroups)
		follow = follow_start(o, podman, cwk, &ncwk, &cth);
	if (watch_pool_start(o))
		o->out(WATCH_WARN, "cannot start the threads that preload program instances");
	watch_log(o, "watch", NULL, NULL, -1, "following %s (%s)%s, unmanaged containers %s",
		  docker_socket(o->docker_host), podman ? "Podman" : "Docker",
		  o->strict ? ", strict" : "", o->unmanaged_deny ? "denied" : "allowed");
	pthread_mutex_lock(&W.mu);
	while (!stop_flag) {
		uint64_t now = watch_now_ns();

		if (W.overflow || (W.resync_at && now >= W.resync_at) ||
		    (next_resync && now >= next_resync)) {
			bool first = W.resync_at && now >= W.resync_at, quiet;
			int ret;

			W.overflow = false;
			if (first)
				W.resync_at = 0;
			/* While Docker is unreachable, one error line is
			 * enough. Events are handled meanwhile (o->hold).
			 */
			quiet = !first || !W.docker_ok;
			pthread_mutex_unlock(&W.mu);
			ret = watch_reconcile(o, first ? "startup" : "resync", quiet);
			pthread_mutex_lock(&W.mu);
			if (!ret && !W.docker_ok && first)
				watch_log(o, "watch", NULL, NULL, -1, "connected to %s",
					  docker_socket(o->docker_host));
			if (first)
				W.docker_ok = !ret;
			next_resync = resync_s ? watch_now_ns() + resync_s * 1000000000ull : 0;
			continue;
		}
		if (W.cleanup_at && now >= W.cleanup_at) {
			W.cleanup_at = 0;
			pthread_mutex_unlock(&W.mu);
			watch_cleanup_pins(o); /* egressctl's lock orders it */
			pthread_mutex_lock(&W.mu);
			continue;
		}
		timed_wait(200);
	}
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.mu);
	for (i = 0; i < nwk; i++)
		pthread_join(wk[i], NULL);
	pthread_join(th, NULL);
	if (follow)
		pthread_join(cth, NULL);
	pthread_mutex_lock(&C.mu);
	pthread_cond_broadcast(&C.cond);
	pthread_mutex_unlock(&C.mu);
	for (i = 0; i < ncwk; i++)
		pthread_join(cwk[i], NULL);
	watch_pool_stop();
	watch_log(o, "watch", NULL, NULL, -1, "stopped%s", o->strict ? " (the guard stays)" : "");
	return 0;
}

static int guard_status(bool json)
{
	if (json) {
		json_t *g = guard_view_json();

		return print_json(json_pack("{s:o}", "guard", g));
	}
	return guard_view_print() ? 1 : 0;
}

/* The guard, under the lock. 0 or 1 (error printed). */
static int install_guard(const struct watch_opts *o, bool verbose)
{
	char err[512];
	bool created = false;
	int lock = kstate_lock(), ret;

	ret = lock < 0 ? lock : guard_install(o->guard_cgroup, &created, err, sizeof(err));
	kstate_unlock(lock);
	if (ret) {
		pr_err("strict mode: %s\n", lock < 0 ? strerror(-ret) : err);
		return 1;
	}
	if (created || verbose)
		watch_log(o, "guard", NULL, NULL, -1,
			  "%s on cgroup %s: containers without a policy in force are denied",
			  created ? "installed" : "already installed", o->guard_cgroup);
	return 0;
}

static bool json_lines; /* -j: stderr's lines are JSON objects too */

/* A warning of the same text was given before (a daemon repeats itself
 * once per container otherwise): FNV-1a of the texts given, bounded. A
 * warning about one container (it names its cgroup) is given for each.
 */
static bool warned_before(const char *line)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t seen[256];
	static size_t nseen;
	uint64_t h = 1469598103934665603ull;
	bool found = false;
	size_t i;

	for (; *line; line++)
		h = (h ^ (unsigned char)*line) * 1099511628211ull;
	pthread_mutex_lock(&mu);
	for (i = 0; i < nseen && !found; i++)
		found = seen[i] == h;
	if (!found && nseen < sizeof(seen) / sizeof(seen[0]))
		seen[nseen++] = h;
	pthread_mutex_unlock(&mu);
	return found;
}

/* watch's lines: log lines on stdout, what the steps below say on stderr
 * (each warning text once); with -j, both as JSON objects.
 */
static void out_line(enum watch_line kind, const char *line)
{
	const char *event = kind == WATCH_WARN ? "warning" : "error";
	char when[32];
	struct tm tm;
	time_t now;
	json_t *j;
	char *s;

	if (kind == WATCH_LOG) {
		printf("%s\n", line);
		fflush(stdout);
		return;
	}
	if (kind == WATCH_WARN && warned_before(line))
		return;
	if (!json_lines) {
		if (kind == WATCH_WARN)
			pr_warn("%s\n", line);
		else
			pr_err("%s\n", line);
		return;
	}
	now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	j = json_pack("{s:s, s:s, s:s}", "event", event, "message", line, "time", when);
	s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (s)
		fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(j);
}

enum watch_mode {
	M_WATCH,
	M_ONCE,
	M_STATUS,
	M_REMOVE,
	M_GUARD_ONLY
};

/* watch --kubernetes's options */
static struct {
	bool on, given;
	const char *node, *api, *token, *ca;
} K;

/* watch's options: 0, or the command's exit status + 1. */
static int watch_args(int argc, char **argv, struct watch_opts *o, enum watch_mode *mode,
		      unsigned long *resync)
{
	enum {
		O_STRICT = 256,
		O_UNMANAGED,
		O_ONCE,
		O_GUARD_CG,
		O_RESYNC,
		O_STATUS,
		O_REMOVE,
		O_GUARD_ONLY,
		O_KUBE,
		O_NODE,
		O_KAPI,
		O_KTOKEN,
		O_KCA,
		O_PRELOAD,
		O_FOLLOW,
		O_NO_FOLLOW
	};
	static const struct option opts[] = {
		{ "strict", no_argument, NULL, O_STRICT },
		{ "unmanaged", required_argument, NULL, O_UNMANAGED },
		{ "once", no_argument, NULL, O_ONCE },
		{ "guard-cgroup", required_argument, NULL, O_GUARD_CG },
		{ "resync", required_argument, NULL, O_RESYNC },
		{ "preload", required_argument, NULL, O_PRELOAD },
		{ "follow-cgroups", no_argument, NULL, O_FOLLOW },
		{ "no-follow-cgroups", no_argument, NULL, O_NO_FOLLOW },
		{ "guard-status", no_argument, NULL, O_STATUS },
		{ "remove-guard", no_argument, NULL, O_REMOVE },
		{ "guard-only", no_argument, NULL, O_GUARD_ONLY },
		{ "kubernetes", no_argument, NULL, O_KUBE },
		{ "node", required_argument, NULL, O_NODE },
		{ "kube-api", required_argument, NULL, O_KAPI },
		{ "kube-token", required_argument, NULL, O_KTOKEN },
		{ "kube-ca", required_argument, NULL, O_KCA },
		{ "json", no_argument, NULL, 'j' },
		HELP_OPT,
		{ 0 }
	};
	bool once = false, status = false, remove = false, guard_only = false;
	unsigned long n;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case O_STRICT:
			o->strict = true;
			break;
		case O_UNMANAGED:
			if (strcmp(optarg, "allow") && strcmp(optarg, "deny")) {
				pr_err("bad --unmanaged '%s': use allow or deny\n", optarg);
				return 2;
			}
			o->unmanaged_deny = !strcmp(optarg, "deny");
			break;
		case O_ONCE:
			once = true;
			break;
		case O_GUARD_CG:
			if (optarg[0] != '/' || strstr(optarg, "..")) {
				pr_err("bad --guard-cgroup '%s': an absolute path below the cgroup v2 mount\n",
				       optarg);
				return 2;
			}
			o->guard_cgroup = optarg;
			break;
		case O_RESYNC:
			errno = 0;
			*resync = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || *resync > 86400) {
				pr_err("bad --resync '%s': use 0-86400 seconds\n", optarg);
				return 2;
			}
			break;
		case O_PRELOAD:
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || n > 64) {
				pr_err("bad --preload '%s': use 0-64 instances\n", optarg);
				return 2;
			}
			o->preload = (unsigned int)n;
			break;
		case O_FOLLOW:
			o->follow_cgroups = true;
			o->no_follow_cgroups = false;
			break;
		case O_NO_FOLLOW:
			o->no_follow_cgroups = true;
			o->follow_cgroups = false;
			break;
		case O_STATUS:
			status = true;
			break;
		case O_REMOVE:
			remove = true;
			break;
		case O_GUARD_ONLY:
			guard_only = true;
			break;
		case 'j':
			o->json = true;
			json_lines = true;
			log_set_json(true); /* what the CLI's own lines say too */
			break;
		case O_KUBE:
			K.on = true;
			break;
		case O_NODE:
			K.node = optarg;
			K.given = true;
			break;
		case O_KAPI:
			K.api = optarg;
			K.given = true;
			break;
		case O_KTOKEN:
			K.token = optarg;
			K.given = true;
			break;
		case O_KCA:
			K.ca = optarg;
			K.given = true;
			break;
		default:
			return usage(watch_usage, c != 'h') + 1;
		}
	}
	if (optind != argc || status + remove + guard_only > 1)
		return usage(watch_usage, true) + 1;
	if (K.given && !K.on) {
		pr_err("--node, --kube-api, --kube-token and --kube-ca go with --kubernetes\n");
		return 2;
	}
	if (K.on && (once || status || remove || guard_only || *resync != 60)) {
		pr_err("--kubernetes watches: --once, --resync, --guard-only, --guard-status and --remove-guard do not go with it\n");
		return 2;
	}
	if (K.on && (o->follow_cgroups || o->no_follow_cgroups)) {
		pr_err("--kubernetes watches pods: --follow-cgroups and --no-follow-cgroups are for Podman\n");
		return 2;
	}
	*mode = status	   ? M_STATUS :
		remove	   ? M_REMOVE :
		guard_only ? M_GUARD_ONLY :
		once	   ? M_ONCE :
			     M_WATCH;
	return 0;
}

static int remove_guard(void)
{
	int lock = kstate_lock(), ret;

	ret = lock < 0 ? lock : guard_remove();
	kstate_unlock(lock);
	if (ret == -ENOENT) {
		pr_err("no guard installed\n");
		return 1;
	}
	if (ret) {
		pr_err("removing " EGR_GUARD_DIR ": %s\n", strerror(-ret));
		return 1;
	}
	puts("guard removed: containers without a filter have unfiltered egress again");
	return 0;
}

/* The kubelet's parent cgroup: /kubepods.slice (systemd driver) if it
 * exists, else /kubepods (cgroupfs driver).
 */
static const char *kubepods(void)
{
	char mnt[2048], path[2200];

	if (!cgroup2_host_mount(mnt, sizeof(mnt))) {
		snprintf(path, sizeof(path), "%s/kubepods.slice", mnt);
		if (!access(path, F_OK))
			return "/kubepods.slice";
	}
	return "/kubepods";
}

/* watch --kubernetes, libcurl loaded, k checked. */
static int run_kube(const struct watch_opts *o, struct kube_conn *k)
{
	int ret = cgroup_host_namespace();

	if (ret < 0)
		out_line(
			WATCH_WARN,
			"cannot enter the host's cgroup namespace (hostPID and CAP_SYS_ADMIN needed): pods' cgroups are found by the kubelet's naming only");
	else if (ret > 0)
		watch_log(
			o, "watch", NULL, NULL, -1,
			"entered the cgroup namespace of pid 1, to read the cgroups of the pods' processes");
	watch_log(o, "watch", NULL, NULL, -1,
		  "following the pods of node %s at %s%s, unmanaged pods %s", k->node, k->api,
		  o->strict ? ", strict" : "", o->unmanaged_deny ? "denied" : "allowed");
	watch_kubernetes(o, k, &stop_flag);
	watch_log(o, "watch", NULL, NULL, -1, "stopped%s", o->strict ? " (the guard stays)" : "");
	return 0;
}

/* Reconcile once, or follow the event stream; with libcurl loaded. */
static int watch(struct watch_opts *o, bool once, unsigned long resync)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kube_conn k;
	char err[512];
	int ret;

	char mnt[2048];

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A daemon of a dozen threads: two malloc arenas, not one per
	 * thread, keep its RSS flat.
	 */
	mallopt(M_ARENA_MAX, 2);
	/* The cgroup mount is found once and cached: before any thread. */
	cgroup2_host_mount(mnt, sizeof(mnt));
	/* Kubernetes mode attaches without preloaded instances; what a killed
	 * watch preloaded is removed by its cleanup.
	 */
	if (K.on)
		o->preload = 0;
	/* libcurl before any thread: docker.c's load is not thread-safe. */
	if (dl_curl_load(err, sizeof(err))) {
		pr_err("%s\n", err);
		return 1;
	}
	/* Bad options before any change. */
	if (K.on && kube_conn_init(&k, K.api, K.token, K.ca, K.node, err, sizeof(err))) {
		pr_err("%s\n", err);
		return 1;
	}
	if (curl_dl.global_init(CURL_GLOBAL_ALL)) {
		pr_err("initializing libcurl failed\n");
		return 1;
	}
	/* Strict: the guard first, and no watch without it. */
	if (o->strict && install_guard(o, false)) {
		curl_dl.global_cleanup();
		return 1;
	}
	if (once) {
		o->preload = 0; /* and what a killed watch preloaded is removed */
		ret = watch_reconcile(o, "startup", false);
		curl_dl.global_cleanup();
		return ret ? 1 : 0;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!K.on) { /* a full reconcile holds one container at a time */
		o->hold = hold;
		o->unhold = unhold;
	}
	ret = K.on ? run_kube(o, &k) : run(o, (unsigned int)resync);
	curl_dl.global_cleanup();
	return ret;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o = { .out = out_line, .preload = 4 };
	enum watch_mode mode = M_WATCH;
	unsigned long resync = 60;
	int ret = watch_args(argc, argv, &o, &mode, &resync);

	if (ret)
		return ret - 1;
	if (need_root())
		return 1;
	o.docker_host = egr_g.docker_host;
	/* The engine's parent cgroup (its cgroupfs layout), when guarding. */
	if (!o.guard_cgroup && K.on)
		o.guard_cgroup = kubepods();
	if (!o.guard_cgroup && (o.strict || mode == M_GUARD_ONLY))
		o.guard_cgroup = docker_engine(o.docker_host) == ENGINE_PODMAN ? "/libpod_parent" :
										 "/docker";
	o.pods = K.on;
	switch (mode) {
	case M_STATUS:
		return guard_status(o.json);
	case M_REMOVE:
		return remove_guard();
	case M_GUARD_ONLY:
		return install_guard(&o, true);
	default:
		return watch(&o, mode == M_ONCE, resync);
	}
}
