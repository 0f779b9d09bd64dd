// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reader engine of `egressctl events` (see events.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/kmap.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "obs/events.h"
#include "policy/name.h"
#include "obs/metrics.h"
#include "runtime/label.h"
#include "util/clock.h"
#include "util/log.h"

#define RULES_MAX_AGE_NS 1000000000ll /* re-read the policy for rule texts */
#define RULES_MIN_AGE_NS 50000000ll /* ... at most this often on a miss */

struct events_reader {
	struct events_opts o;
	struct events_target **w;
	size_t n;
	uint64_t *busy; /* cgroups another reader has (said once) */
	size_t nbusy;
	struct ring_buffer *rb;
};

static void __attribute__((format(printf, 2, 3))) say(struct events_reader *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o.on_error(line, r->o.ctx);
}

static int cmp_id(const void *pa, const void *pb)
{
	const struct egr_live_rule *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

/* A capacity growth swaps in another instance (kgrow.c) with the same
 * ring buffer: keep reading it, but read the rules from the new one.
 */
static void follow_swap(struct events_target *w)
{
	struct egr_kstate ks;
	int fd = kstate_open_pin(&w->ks, "egr_meta");
	uint32_t id = fd >= 0 ? kmap_id(fd) : 0;

	if (fd >= 0)
		close(fd);
	if (!id || id == kmap_id(w->ks.meta_fd) || kstate_open(w->ks.cgid, &ks))
		return;
	kstate_close(&w->ks);
	w->ks = ks;
}

static int refresh_rules(struct events_target *w)
{
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	struct egr_live_rule *r;
	size_t n;
	int err;

	follow_swap(w);
	err = kpolicy_read_ex(&w->ks, NULL, &r, &n, false);

	w->rules_at = clock_ns(CLOCK_MONOTONIC);
	w->rules_cost = w->rules_at - t0;
	if (err)
		return err;
	qsort(r, n, sizeof(*r), cmp_id);
	free(w->rules);
	w->rules = r;
	w->nrules = n;
	return 0;
}

const char *events_rule_text(struct events_target *w, uint32_t id, char *buf, size_t len)
{
	struct egr_live_rule key = { .id = id }, *r;
	int64_t age;

	if (id == EGR_RULE_DEFAULT)
		return "default";
	/* a big policy is re-read less often: at most 5% of the time */
	age = clock_ns(CLOCK_MONOTONIC) - w->rules_at - 20 * w->rules_cost;
	r = bsearch(&key, w->rules, w->nrules, sizeof(key), cmp_id);
	if ((!r && age > RULES_MIN_AGE_NS) || age > RULES_MAX_AGE_NS) {
		refresh_rules(w);
		r = bsearch(&key, w->rules, w->nrules, sizeof(key), cmp_id);
	}
	if (!r) {
		snprintf(buf, len, "rule #%u (removed)", id);
		return buf;
	}
	return metrics_rule_text(&r->rule, buf, len);
}

const char *events_learned_name(struct events_target *w, const struct egr_event *e, char *buf,
				size_t len)
{
	struct egr_learn_key key = { .family = e->family };
	struct egr_live_rule k, *r;
	struct egr_learned v;
	size_t i;

	memcpy(key.addr, e->dst, 16);
	if (!w->ks.meta.nnames || bpf_map_lookup_elem(w->ks.learn_fd, &key, &v))
		return NULL;
	for (i = 0; i < EGR_LEARN_REFS; i++) {
		if (!v.ref[i].inc)
			continue;
		k.id = v.ref[i].id;
		r = bsearch(&k, w->rules, w->nrules, sizeof(k), cmp_id);
		if (!r && clock_ns(CLOCK_MONOTONIC) - w->rules_at > RULES_MIN_AGE_NS) {
			refresh_rules(w);
			r = bsearch(&k, w->rules, w->nrules, sizeof(k), cmp_id);
		}
		if (r && dest_is_name(&r->rule.dest)) {
			snprintf(buf, len, "%s", dest_name(&r->rule.dest));
			return buf;
		}
	}
	return NULL;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct events_target *w = ctx;

	if (len < sizeof(struct egr_event))
		return 0;
	return w->r->o.on_event(w, data, w->r->o.ctx);
}

/* Write egr_evcfg[0] whole; under the map's spin lock where supported. */
static int set_evcfg(struct events_target *w, bool enable, uint32_t rate, uint32_t burst)
{
	struct egr_evcfg cfg;
	uint32_t k = 0;

	memset(&cfg, 0, sizeof(cfg));
	if (bpf_map_lookup_elem(w->evcfg_fd, &k, &cfg))
		return -errno;
	cfg.enabled = enable;
	if (enable) {
		if (rate)
			cfg.rate = rate;
		if (burst)
			cfg.burst = burst;
		if (!cfg.rate)
			cfg.rate = EGR_EV_DEFAULT_RATE;
		if (!cfg.burst)
			cfg.burst = EGR_EV_DEFAULT_BURST;
		cfg.tokens_ns = 0; /* last_ns 0: the bucket starts full */
		cfg.last_ns = 0;
	}
	memset(&cfg.lock, 0, sizeof(cfg.lock));
	if (!bpf_map_update_elem(w->evcfg_fd, &k, &cfg, BPF_F_LOCK))
		return 0;
	if (errno != EINVAL)
		return -errno;
	return bpf_map_update_elem(w->evcfg_fd, &k, &cfg, BPF_ANY) ? -errno : 0;
}

static void watch_free(struct events_target *w)
{
	if (!w)
		return;
	if (w->enabled)
		set_evcfg(w, false, 0, 0);
	if (w->evcfg_fd >= 0)
		close(w->evcfg_fd);
	if (w->events_fd >= 0)
		close(w->events_fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd); /* after enabled is cleared */
	kstate_close(&w->ks);
	free(w->rules);
	free(w);
}

static bool watching(const struct events_reader *r, uint64_t cgid)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->w[i]->ks.cgid == cgid)
			return true;
	return false;
}

/* (Re)build the one ring_buffer over every watched cgroup's egr_events
 * (libbpf cannot take a ring out of one). What the old one holds is read
 * first.
 */
static int rb_build(struct events_reader *r)
{
	size_t i;
	int err;

	if (r->rb) {
		ring_buffer__consume(r->rb);
		ring_buffer__free(r->rb);
		r->rb = NULL;
	}
	for (i = 0; i < r->n; i++) {
		struct events_target *w = r->w[i];

		if (!r->rb) {
			r->rb = ring_buffer__new(w->events_fd, on_event, w, NULL);
			err = r->rb ? 0 : -errno;
		} else {
			err = ring_buffer__add(r->rb, w->events_fd, on_event, w);
		}
		if (err) {
			say(r, "events: %s: reading the ring buffer: %s", w->label, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Start watching an opened target (takes ks). 0 or -errno (said; -EBUSY,
 * another reader has it, only unless quiet_busy).
 */
static int watch_add(struct events_reader *r, struct egr_kstate *ks, bool quiet_busy)
{
	struct events_target *w = calloc(1, sizeof(*w)), **nw;
	int err;

	if (!w) {
		kstate_close(ks);
		return -ENOMEM;
	}
	w->lock_fd = -1;
	w->ks = *ks;
	w->r = r;
	w->evcfg_fd = w->events_fd = -1;
	target_label(&w->ks, w->label, sizeof(w->label));
	snprintf(w->cgroup, sizeof(w->cgroup), "%.*s", (int)sizeof(w->ks.meta.path) - 1,
		 w->ks.meta.path);
	/* A ring buffer has one consumer position, and a reader that stops
	 * turns events off: a second reader would steal and then cut off the
	 * first one's events. The lock goes with the process, however it
	 * ends, and with the attachment (a re-attach makes a new directory).
	 */
	w->lock_fd = open(w->ks.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->lock_fd < 0 || flock(w->lock_fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (err != -EBUSY)
			say(r, "events: %s: opening %s: %s", w->label, w->ks.dir, strerror(-err));
		else if (!quiet_busy)
			say(r, "events: %s: another `egressctl events` is reading it", w->label);
		goto fail;
	}
	w->evcfg_fd = kstate_open_pin(&w->ks, "egr_evcfg");
	w->events_fd = kstate_open_pin(&w->ks, "egr_events");
	if (w->evcfg_fd < 0 || w->events_fd < 0) {
		err = w->evcfg_fd < 0 ? w->evcfg_fd : w->events_fd;
		say(r, "events: %s: opening the event maps: %s", w->label, strerror(-err));
		goto fail;
	}
	w->events_id = kmap_id(w->events_fd);
	nw = realloc(r->w, (r->n + 1) * sizeof(*nw));
	if (!nw) {
		err = -ENOMEM;
		goto fail;
	}
	r->w = nw;
	err = r->rb ? ring_buffer__add(r->rb, w->events_fd, on_event, w) : 0;
	if (err) {
		say(r, "events: %s: reading the ring buffer: %s", w->label, strerror(-err));
		goto fail;
	}
	r->w[r->n++] = w; /* rule texts are read at the first event */
	kstate_stats(&w->ks, w->st0);
	err = set_evcfg(w, true, r->o.rate, r->o.burst);
	if (err) {
		say(r, "events: %s: enabling events: %s", w->label, strerror(-err));
		return err;
	}
	w->enabled = true;
	pr_debug("events: watching %s\n", w->label);
	return 0;
fail:
	watch_free(w);
	return err;
}

/* Cgroups another reader has: said once, then retried quietly. */
static bool busy_seen(const struct events_reader *r, uint64_t cgid)
{
	size_t i;

	for (i = 0; i < r->nbusy; i++)
		if (r->busy[i] == cgid)
			return true;
	return false;
}

static void busy_add(struct events_reader *r, uint64_t cgid)
{
	uint64_t *b;

	if (busy_seen(r, cgid))
		return;
	b = realloc(r->busy, (r->nbusy + 1) * sizeof(*b));
	if (b) {
		r->busy = b;
		r->busy[r->nbusy++] = cgid;
	}
}

/* Is w's cgroup still attached with the maps w reads? */
static bool watch_current(const struct events_target *w)
{
	int fd = kstate_open_pin(&w->ks, "egr_events");
	bool same;

	if (fd < 0)
		return false;
	same = kmap_id(fd) == w->events_id;
	close(fd);
	return same;
}

/* Follow the attached cgroups: drop watches of detached (or re-attached)
 * ones, watch every attached live cgroup not watched yet. 0 or -errno.
 */
int events_follow(struct events_reader *r)
{
	bool dropped = false;
	uint64_t *ids;
	size_t n, i, k;

	for (i = k = 0; i < r->n; i++) {
		if (watch_current(r->w[i])) {
			r->w[k++] = r->w[i];
			continue;
		}
		pr_debug("events: %s is gone\n", r->w[i]->label);
		/* its maps are not the pinned ones any more: leave them be */
		r->w[i]->enabled = false;
		dropped = true;
		if (r->rb)
			ring_buffer__consume(r->rb);
		watch_free(r->w[i]);
	}
	r->n = k;
	if (dropped && r->rb) {
		ring_buffer__free(r->rb); /* its rings are gone with the watches */
		r->rb = NULL;
	}
	if (kstate_list(&ids, &n))
		return 0;
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;

		if (watching(r, ids[i]) || kstate_open(ids[i], &ks))
			continue;
		if (!kstate_link_alive(&ks)) {
			kstate_close(&ks); /* defunct: nothing can come */
			continue;
		}
		if (watch_add(r, &ks, busy_seen(r, ids[i])) == -EBUSY)
			busy_add(r, ids[i]);
	}
	free(ids);
	return !r->rb && r->n ? rb_build(r) : 0;
}

struct events_reader *events_open(const struct events_opts *o)
{
	struct events_reader *r = calloc(1, sizeof(*r));

	if (r)
		r->o = *o;
	return r;
}

void events_close(struct events_reader *r)
{
	size_t i;

	if (!r)
		return;
	ring_buffer__free(r->rb);
	for (i = 0; i < r->n; i++)
		watch_free(r->w[i]); /* clears enabled */
	free(r->w);
	free(r->busy);
	free(r);
}

int events_add(struct events_reader *r, struct egr_kstate *ks)
{
	int err = watch_add(r, ks, false);

	return err ? err : rb_build(r);
}

size_t events_count(const struct events_reader *r)
{
	return r->n;
}

int events_poll(struct events_reader *r, int timeout_ms)
{
	if (!r->rb) {
		usleep(timeout_ms * 1000);
		return 0;
	}
	return ring_buffer__poll(r->rb, timeout_ms);
}

void events_totals(const struct events_reader *r, uint64_t *suppressed, uint64_t *lost)
{
	size_t i;

	*suppressed = *lost = 0;
	for (i = 0; i < r->n; i++) {
		const struct egr_counter *st0 = r->w[i]->st0;
		struct egr_counter st[EGR_STAT_MAX];

		if (kstate_stats(&r->w[i]->ks, st))
			continue;
		*suppressed +=
			st[EGR_STAT_EV_SUPPRESSED].packets - st0[EGR_STAT_EV_SUPPRESSED].packets;
		*lost += st[EGR_STAT_EV_LOST].packets - st0[EGR_STAT_EV_LOST].packets;
	}
}
