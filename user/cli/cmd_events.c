// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl events: stream denied and audited packets.
 *
 * Each attached cgroup has its own egr_events ring buffer; the program
 * writes to it only while egr_evcfg.enabled is set, through a per-cgroup
 * token bucket (rate, burst), counting what it suppressed. This reader sets
 * enabled on every watched cgroup at start (and the bucket, with --rate and
 * --burst), polls all the ring buffers with one libbpf ring_buffer, and
 * clears enabled again when it stops (SIGINT, SIGTERM, SIGHUP, --count,
 * --timeout, a closed stdout). Without a target it follows the attached
 * cgroups (RESCAN_NS): new ones are watched, detached or re-attached ones
 * (new maps) dropped, and the ring_buffer rebuilt.
 *
 * The deciding rule's id is turned into its text by reading the policy
 * (kpolicy_read_ex(), without the hit counters); the copy is re-read when
 * an id is not in it, or when it is older than RULES_MAX_AGE_NS (live edits
 * may give a removed rule's id to a new rule), plus 20 times what the last
 * read took, so a huge policy costs at most 5% of the reader's time.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "kernel/kmap.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "obs/metrics.h"
#include "runtime/label.h"
#include "util/log.h"

#define POLL_MS 100
#define RESCAN_NS 1000000000ll /* look for newly attached cgroups */
#define RULES_MAX_AGE_NS 1000000000ll /* re-read the policy for rule texts */
#define RULES_MIN_AGE_NS 50000000ll /* ... at most this often on a miss */
#define MAX_RATE 1000000u

static const char events_usage[] =
	"Usage: egressctl events [<target>] [-j|--json] [--rate N] [--burst N]\n"
	"                        [--count N] [--timeout SECONDS]\n"
	"\n"
	"Stream denied packets, and those audit mode let through, of one target or\n"
	"of every attached one (targets attached later are picked up): time, target,\n"
	"cgroup, protocol, source and destination address and port, verdict, and the\n"
	"rule that decided (or 'default'). Events are rate-limited in the kernel per\n"
	"cgroup by a token bucket; what it suppresses is counted\n"
	"(egressctl_events_suppressed_total), and verdicts never depend on it. The\n"
	"kernel produces events only while a reader runs; one reader per cgroup\n"
	"(another one is refused, or skipped when watching every target).\n"
	"\n"
	"  -j, --json           one JSON object per line\n"
	"  --rate N             events per second per cgroup (1-1000000; default: as\n"
	"                       set, initially 100); stays set after exit\n"
	"  --burst N            token bucket size (1-1000000; initially 200)\n"
	"  -n, --count N        stop after N events\n"
	"  -t, --timeout SECS   stop after SECS seconds (decimals allowed)\n"
	"Stops on SIGINT/SIGTERM too; exit status 0.\n";

struct watch {
	struct egr_kstate ks;
	char label[300];
	char cgroup[256];
	int evcfg_fd, events_fd;
	int lock_fd; /* the pin directory, flock()ed: one reader per cgroup */
	uint32_t events_id; /* the egr_events map's id: a re-attach makes a new one */
	bool enabled;
	struct egr_live_rule *rules; /* sorted by id */
	size_t nrules;
	int64_t rules_at; /* CLOCK_MONOTONIC ns of the read, 0: never */
	int64_t rules_cost; /* how long that read took, ns */
	struct egr_counter st0[EGR_STAT_MAX];
	struct evstate *es;
};

struct evstate {
	struct watch **w;
	size_t n;
	uint64_t *busy; /* cgroups another reader has (warned about) */
	size_t nbusy;
	struct ring_buffer *rb;
	bool json;
	uint32_t rate, burst; /* 0: keep */
	uint64_t printed, max;
	int64_t real_off; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	int out_err; /* errno of a failed write to stdout, 0: none */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int cmp_id(const void *pa, const void *pb)
{
	const struct egr_live_rule *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

static int refresh_rules(struct watch *w)
{
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	struct egr_live_rule *r;
	size_t n;
	int err = kpolicy_read_ex(&w->ks, NULL, &r, &n, false);

	w->rules_at = now_ns(CLOCK_MONOTONIC);
	w->rules_cost = w->rules_at - t0;
	if (err)
		return err;
	qsort(r, n, sizeof(*r), cmp_id);
	free(w->rules);
	w->rules = r;
	w->nrules = n;
	return 0;
}

static const char *rule_text(struct watch *w, uint32_t id, char *buf, size_t len)
{
	struct egr_live_rule key = { .id = id }, *r;
	int64_t age;

	if (id == EGR_RULE_DEFAULT)
		return "default";
	/* a big policy is re-read less often: at most 5% of the time */
	age = now_ns(CLOCK_MONOTONIC) - w->rules_at - 20 * w->rules_cost;
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

static const char *proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	snprintf(buf, len, "proto-%u", proto);
	return buf;
}

static bool has_ports(const struct egr_event *e)
{
	return (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP) &&
	       !(e->pktflags & (EGR_PKT_PORTS_UNKNOWN | EGR_PKT_PROTO_UNKNOWN));
}

/* "1.2.3.4:80", "[2001:db8::1]:80", or the bare address without a port. */
static void endpoint(const struct egr_event *e, const uint8_t *addr, uint16_t port, char *buf,
		     size_t len, char *bare, size_t barelen)
{
	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, addr, bare, barelen);
	if (!has_ports(e))
		snprintf(buf, len, "%s", bare);
	else if (e->family == 4)
		snprintf(buf, len, "%s:%u", bare, port);
	else
		snprintf(buf, len, "[%s]:%u", bare, port);
}

static void iso_time(int64_t real_ns, char *buf, size_t len)
{
	time_t s = real_ns / 1000000000ll;
	struct tm tm;
	char t[32];

	gmtime_r(&s, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06lldZ", t, (long long)(real_ns % 1000000000ll) / 1000);
}

static int print_event(struct watch *w, const struct egr_event *e)
{
	struct evstate *es = w->es;
	char when[64], src[64], dst[64], sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], pb[16];
	char rb[128], cgshown[300];
	const char *verdict = e->verdict == EGR_EV_AUDIT ? "audit" : "denied";
	const char *rule = rule_text(w, e->rule, rb, sizeof(rb));
	const char *proto = e->pktflags & EGR_PKT_PROTO_UNKNOWN ?
				    "unknown" :
				    proto_name(e->proto, pb, sizeof(pb));

	iso_time((int64_t)e->ts_ns + es->real_off, when, sizeof(when));
	endpoint(e, e->src, e->sport, src, sizeof(src), sa, sizeof(sa));
	endpoint(e, e->dst, e->dport, dst, sizeof(dst), da, sizeof(da));
	if (es->json) {
		json_t *o;
		char *s;

		o = json_pack("{s:s, s:I, s:s, s:s, s:I, s:i, s:s, s:s, s:o, s:s, s:o, s:s, "
			      "s:s, s:o, s:i, s:b}",
			      "time", when, "ts_ns", (json_int_t)e->ts_ns, "target", w->label,
			      "cgroup", w->cgroup, "cgroup_id", (json_int_t)w->ks.cgid, "family",
			      e->family, "proto", proto, "src", sa, "sport",
			      has_ports(e) ? json_integer(e->sport) : json_null(), "dst", da,
			      "dport", has_ports(e) ? json_integer(e->dport) : json_null(),
			      "verdict", verdict, "rule", rule, "rule_id",
			      e->rule == EGR_RULE_DEFAULT ? json_null() : json_integer(e->rule),
			      "len", (int)e->len, "fragment", !!(e->pktflags & EGR_PKT_FRAGMENT));
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!s)
			return -ENOMEM;
		puts(s);
		free(s);
	} else {
		cgshown[0] = '\0';
		if (strncmp(w->label, "cgroup:", 7) || strcmp(w->label + 7, w->cgroup))
			snprintf(cgshown, sizeof(cgshown), " (cgroup %s)", w->cgroup);
		printf("%s %s%s %s%s %s -> %s %s [%s] %u bytes\n", when, w->label, cgshown, proto,
		       e->pktflags & EGR_PKT_FRAGMENT ? " fragment" : "", src, dst, verdict, rule,
		       e->len);
	}
	if (ferror(stdout)) {
		es->out_err = errno ? errno : EIO;
		return -EPIPE;
	}
	if (++es->printed >= es->max && es->max)
		return -ECANCELED; /* stop polling; the rest stays in the buffer */
	return 0;
}

static int on_event(void *ctx, void *data, size_t len)
{
	if (len < sizeof(struct egr_event))
		return 0;
	return print_event(ctx, data);
}

/* Write egr_evcfg[0] whole; under the map's spin lock where supported. */
static int set_evcfg(struct watch *w, bool enable, uint32_t rate, uint32_t burst)
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

static void watch_free(struct watch *w)
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

static bool watching(const struct evstate *es, uint64_t cgid)
{
	size_t i;

	for (i = 0; i < es->n; i++)
		if (es->w[i]->ks.cgid == cgid)
			return true;
	return false;
}

/* (Re)build the one ring_buffer over every watched cgroup's egr_events
 * (libbpf cannot take a ring out of one). What the old one holds is read
 * first.
 */
static int rb_build(struct evstate *es)
{
	size_t i;
	int err;

	if (es->rb) {
		ring_buffer__consume(es->rb);
		ring_buffer__free(es->rb);
		es->rb = NULL;
	}
	for (i = 0; i < es->n; i++) {
		struct watch *w = es->w[i];

		if (!es->rb) {
			es->rb = ring_buffer__new(w->events_fd, on_event, w, NULL);
			err = es->rb ? 0 : -errno;
		} else {
			err = ring_buffer__add(es->rb, w->events_fd, on_event, w);
		}
		if (err) {
			pr_err("events: %s: reading the ring buffer: %s\n", w->label,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Start watching an opened target (takes ks). 0 or -errno (printed; -EBUSY,
 * another reader has it, only unless quiet_busy).
 */
static int watch_add(struct evstate *es, struct egr_kstate *ks, bool quiet_busy)
{
	struct watch *w = calloc(1, sizeof(*w)), **nw;
	int err;

	if (!w) {
		kstate_close(ks);
		return -ENOMEM;
	}
	w->lock_fd = -1;
	w->ks = *ks;
	w->es = es;
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
			pr_err("events: %s: opening %s: %s\n", w->label, w->ks.dir, strerror(-err));
		else if (!quiet_busy)
			pr_err("events: %s: another `egressctl events` is reading it\n", w->label);
		goto fail;
	}
	w->evcfg_fd = kstate_open_pin(&w->ks, "egr_evcfg");
	w->events_fd = kstate_open_pin(&w->ks, "egr_events");
	if (w->evcfg_fd < 0 || w->events_fd < 0) {
		err = w->evcfg_fd < 0 ? w->evcfg_fd : w->events_fd;
		pr_err("events: %s: opening the event maps: %s\n", w->label, strerror(-err));
		goto fail;
	}
	w->events_id = kmap_id(w->events_fd);
	nw = realloc(es->w, (es->n + 1) * sizeof(*nw));
	if (!nw) {
		err = -ENOMEM;
		goto fail;
	}
	es->w = nw;
	err = es->rb ? ring_buffer__add(es->rb, w->events_fd, on_event, w) : 0;
	if (err) {
		pr_err("events: %s: reading the ring buffer: %s\n", w->label, strerror(-err));
		goto fail;
	}
	es->w[es->n++] = w; /* rule texts are read at the first event */
	kstate_stats(&w->ks, w->st0);
	err = set_evcfg(w, true, es->rate, es->burst);
	if (err) {
		pr_err("events: %s: enabling events: %s\n", w->label, strerror(-err));
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
static bool busy_seen(const struct evstate *es, uint64_t cgid)
{
	size_t i;

	for (i = 0; i < es->nbusy; i++)
		if (es->busy[i] == cgid)
			return true;
	return false;
}

static void busy_add(struct evstate *es, uint64_t cgid)
{
	uint64_t *b;

	if (busy_seen(es, cgid))
		return;
	b = realloc(es->busy, (es->nbusy + 1) * sizeof(*b));
	if (b) {
		es->busy = b;
		es->busy[es->nbusy++] = cgid;
	}
}

/* Is w's cgroup still attached with the maps w reads? */
static bool watch_current(const struct watch *w)
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
static int rescan(struct evstate *es)
{
	bool dropped = false;
	uint64_t *ids;
	size_t n, i, k;

	for (i = k = 0; i < es->n; i++) {
		if (watch_current(es->w[i])) {
			es->w[k++] = es->w[i];
			continue;
		}
		pr_debug("events: %s is gone\n", es->w[i]->label);
		/* its maps are not the pinned ones any more: leave them be */
		es->w[i]->enabled = false;
		dropped = true;
		if (es->rb)
			ring_buffer__consume(es->rb);
		watch_free(es->w[i]);
	}
	es->n = k;
	if (dropped && es->rb) {
		ring_buffer__free(es->rb); /* its rings are gone with the watches */
		es->rb = NULL;
	}
	if (kstate_list(&ids, &n))
		return 0;
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;

		if (watching(es, ids[i]) || kstate_open(ids[i], &ks))
			continue;
		if (!kstate_link_alive(&ks)) {
			kstate_close(&ks); /* defunct: nothing can come */
			continue;
		}
		if (watch_add(es, &ks, busy_seen(es, ids[i])) == -EBUSY)
			busy_add(es, ids[i]);
	}
	free(ids);
	return !es->rb && es->n ? rb_build(es) : 0;
}

static int parse_u32(const char *opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !*s || *s == '-' || v < lo || v > hi) {
		pr_err("events: bad %s '%s': use %u-%u\n", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void summary(const struct evstate *es)
{
	uint64_t sup = 0, lost = 0;
	size_t i;

	for (i = 0; i < es->n; i++) {
		const struct egr_counter *st0 = es->w[i]->st0;
		struct egr_counter st[EGR_STAT_MAX];

		if (kstate_stats(&es->w[i]->ks, st))
			continue;
		sup += st[EGR_STAT_EV_SUPPRESSED].packets - st0[EGR_STAT_EV_SUPPRESSED].packets;
		lost += st[EGR_STAT_EV_LOST].packets - st0[EGR_STAT_EV_LOST].packets;
	}
	pr_info("events: %" PRIu64 " printed; meanwhile %" PRIu64
		" suppressed (rate limit), %" PRIu64 " lost (ring buffer full)\n",
		es->printed, sup, lost);
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "rate", required_argument, NULL, 'r' },
					      { "burst", required_argument, NULL, 'b' },
					      { "count", required_argument, NULL, 'n' },
					      { "timeout", required_argument, NULL, 't' },
					      HELP_OPT,
					      { 0 } };
	struct evstate es = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t deadline = 0, last_scan;
	const char *spec = NULL;
	uint32_t count = 0;
	double secs;
	char *end;
	int c, err = 0, ret = 0;
	size_t i;

	while ((c = getopt_long(argc, argv, "jn:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			es.json = true;
			break;
		case 'r':
			if (parse_u32("--rate", optarg, 1, MAX_RATE, &es.rate))
				return 1;
			break;
		case 'b':
			if (parse_u32("--burst", optarg, 1, MAX_RATE, &es.burst))
				return 1;
			break;
		case 'n':
			if (parse_u32("--count", optarg, 1, UINT32_MAX, &count))
				return 1;
			es.max = count;
			break;
		case 't':
			errno = 0;
			secs = strtod(optarg, &end);
			if (errno || *end || !*optarg || !isfinite(secs) || secs <= 0 ||
			    secs > 1e7) {
				pr_err("events: bad --timeout '%s': use seconds > 0\n", optarg);
				return 1;
			}
			deadline = (int64_t)(secs * 1e9);
			break;
		case 'h':
			return usage(events_usage, false);
		default:
			return usage(events_usage, true);
		}
	}
	if (argc - optind > 1)
		return usage(events_usage, true);
	if (optind < argc)
		spec = argv[optind];
	if (need_root())
		return 1;
	if (deadline)
		deadline += now_ns(CLOCK_MONOTONIC);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: the poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout ends the loop instead */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (spec) {
		struct egr_target t;
		struct egr_kstate ks;

		if (open_target(spec, &t, &ks))
			return 1;
		if (watch_add(&es, &ks, false) || rb_build(&es)) {
			ret = 1;
			goto out;
		}
	} else {
		if (rescan(&es)) {
			ret = 1;
			goto out;
		}
		if (!es.n)
			pr_warn("events: no target attached yet; waiting\n");
	}
	last_scan = now_ns(CLOCK_MONOTONIC);

	while (!stop_sig && !es.out_err && (!es.max || es.printed < es.max)) {
		int64_t now = now_ns(CLOCK_MONOTONIC);
		int wait = POLL_MS;

		if (deadline && now >= deadline)
			break;
		if (deadline && (deadline - now) / 1000000 < wait)
			wait = (deadline - now) / 1000000 + 1;
		if (!spec && now - last_scan >= RESCAN_NS) {
			if (rescan(&es)) {
				ret = 1;
				break;
			}
			last_scan = now;
		}
		es.real_off = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
		if (!es.rb) {
			usleep(wait * 1000);
			continue;
		}
		err = ring_buffer__poll(es.rb, wait);
		if (err == -EINTR || err == -ECANCELED || err == -EPIPE || err >= 0)
			continue;
		pr_err("events: reading the ring buffers: %s\n", strerror(-err));
		ret = 1;
		break;
	}
	if (es.out_err && es.out_err != EPIPE) {
		pr_err("events: writing to stdout: %s\n", strerror(es.out_err));
		ret = 1;
	}
	summary(&es);
out:
	ring_buffer__free(es.rb);
	for (i = 0; i < es.n; i++)
		watch_free(es.w[i]); /* clears enabled */
	free(es.w);
	free(es.busy);
	return ret;
}
