// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl events: stream denied and audited packets, read by the engine
 * of user/obs/events.h, one line (or JSON object) each. It stops on SIGINT,
 * SIGTERM, SIGHUP, --count, --timeout or a closed stdout; without a target
 * it follows the attached cgroups (RESCAN_NS).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "obs/events.h"
#include "obs/metrics.h"
#include "policy/addr.h"
#include "runtime/label.h"
#include "util/cgroup.h"
#include "util/clock.h"
#include "util/log.h"

#define POLL_MS 100
#define RESCAN_NS 1000000000ll /* look for newly attached cgroups */
#define MAX_RATE 1000000u

static const char events_usage[] =
	"Usage: egressctl events [<target>] [-j|--json] [--rate N] [--burst N]\n"
	"                        [--count N] [--timeout SECONDS]\n"
	"\n"
	"Stream denied packets and refused connect()/sendmsg() calls, and what audit\n"
	"mode let through, of one target or of every attached one (targets attached\n"
	"later are picked up): time, target or container, process (pid, name),\n"
	"protocol, destination address and port, verdict, and the rule that decided\n"
	"(or 'default'); -j adds the source, cgroup, hook, socket cookie and more.\n"
	"Events are rate-limited in the kernel per cgroup by a token bucket; what it\n"
	"suppresses is counted (egressctl_events_suppressed_total), and verdicts\n"
	"never depend on it. The kernel produces events only while a reader runs;\n"
	"one reader per cgroup (another one is refused, or skipped when watching\n"
	"every target).\n"
	"\n"
	"  -j, --json           one JSON object per line\n"
	"  --rate N             events per second per cgroup (1-1000000; default: as\n"
	"                       set, initially 100); stays set after exit\n"
	"  --burst N            token bucket size (1-1000000; initially 200)\n"
	"  -n, --count N        stop after N events\n"
	"  -t, --timeout SECS   stop after SECS seconds (decimals allowed)\n"
	"Stops on SIGINT/SIGTERM too; exit status 0.\n";

/* Container names of event cgroups other than the targets' own. */
#define EV_CGNAMES 16

struct cgname {
	uint64_t cgid;
	char name[128]; /* "" none */
};

/* What the command keeps: its options, what it printed, how writing went. */
struct evout {
	struct cgname names[EV_CGNAMES];
	unsigned int next_name;
	bool json;
	uint64_t printed, max;
	int64_t real_off; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	int out_err; /* errno of a failed write to stdout, 0: none */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
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

/* The container an event's cgroup belongs to, or NULL: the target's name
 * for its own cgroup, else looked up by the cgroup id (a child cgroup of
 * an attached parent), remembered for the next events.
 */
static const char *container_of(struct evout *es, struct events_target *w, uint64_t cgid)
{
	struct cgname *c;
	char path[256];
	size_t i;

	if (!cgid || cgid == w->ks.cgid)
		return strncmp(w->label, "cgroup:", 7) ? w->label : NULL;
	for (i = 0; i < EV_CGNAMES; i++)
		if (es->names[i].cgid == cgid)
			return es->names[i].name[0] ? es->names[i].name : NULL;
	c = &es->names[es->next_name++ % EV_CGNAMES];
	c->cgid = cgid;
	c->name[0] = '\0';
	if (!cgroup_path_of_id(cgid, path, sizeof(path)))
		container_of_path(path, c->name, sizeof(c->name));
	return c->name[0] ? c->name : NULL;
}

static const char *hook_name(uint8_t hook)
{
	return hook == EGR_HOOK_CONNECT ? "connect" : hook == EGR_HOOK_SENDMSG ? "sendmsg" : "packet";
}

static int event_json(struct events_target *w, const struct egr_event *e, struct evout *es,
		      const char *container, const char *proto, const char *rule,
		      const char *name)
{
	char when[64], sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], comm[49];
	bool ports = has_ports(e), known = e->pid != 0;
	json_t *o;
	char *s;

	iso_time((int64_t)e->ts_ns + es->real_off, when, sizeof(when));
	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->src, sa, sizeof(sa));
	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->dst, da, sizeof(da));
	metrics_comm_text(e->comm, comm, sizeof(comm));
	o = json_pack("{s:s, s:I, s:s, s:o, s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:i, s:s, s:o, "
		      "s:o, s:s, s:o, s:s, s:s, s:o, s:i, s:b}",
		      "time", when, "ts_ns", (json_int_t)e->ts_ns, "target", w->label, "container",
		      container ? json_string(container) : json_null(), "cgroup", w->cgroup,
		      "cgroup_id", (json_int_t)(e->cgroup_id ? e->cgroup_id : w->ks.cgid), "hook",
		      hook_name(e->hook), "pid", known ? json_integer(e->pid) : json_null(), "tgid",
		      known ? json_integer(e->tgid) : json_null(), "comm",
		      known ? json_string(comm) : json_null(), "cookie",
		      e->cookie ? json_integer((json_int_t)e->cookie) : json_null(), "family",
		      e->family, "proto", proto, "src",
		      e->hook == EGR_HOOK_PACKET ? json_string(sa) : json_null(), "sport",
		      ports && e->hook == EGR_HOOK_PACKET ? json_integer(e->sport) : json_null(),
		      "dst", da, "dport", ports ? json_integer(e->dport) : json_null(), "verdict",
		      e->verdict == EGR_EV_AUDIT ? "audit" : "denied", "rule", rule, "rule_id",
		      e->rule == EGR_RULE_DEFAULT ? json_null() : json_integer(e->rule), "len",
		      (int)e->len, "fragment", !!(e->pktflags & EGR_PKT_FRAGMENT));
	if (o)
		json_object_set_new(o, "name", name ? json_string(name) : json_null());
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	return 0;
}

/* 12:00:01 web pid 4242 curl tcp 198.18.0.9:443 denied by rule 7 "deny ..."
 * (with " (api.example.com)" after the address when a name rule learned it)
 */
static void print_line(struct events_target *w, const struct egr_event *e, struct evout *es,
		       const char *container, const char *proto, const char *rule,
		       const char *name)
{
	time_t secs = ((int64_t)e->ts_ns + es->real_off) / 1000000000ll;
	char when[16], dst[64], da[INET6_ADDRSTRLEN], who[80], comm[49];
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	endpoint(e, e->dst, e->dport, dst, sizeof(dst), da, sizeof(da));
	if (e->pid)
		snprintf(who, sizeof(who), "pid %u %s", e->tgid,
			 metrics_comm_text(e->comm, comm, sizeof(comm)));
	else
		snprintf(who, sizeof(who), "pid ?");
	printf("%s %s %s %s%s %s%s%s%s %s", when, container ? container : w->label, who, proto,
	       e->pktflags & EGR_PKT_FRAGMENT ? " fragment" : "", dst, name ? " (" : "",
	       name ? name : "", name ? ")" : "", e->verdict == EGR_EV_AUDIT ? "would be denied" : "denied");
	if (e->rule == EGR_RULE_DEFAULT)
		printf(" by default");
	else
		printf(" by rule %u \"%s\"", e->rule, rule);
	printf("%s\n", e->verdict == EGR_EV_AUDIT ? " (audit)" : "");
}

static int print_event(struct events_target *w, const struct egr_event *e, void *ctx)
{
	struct evout *es = ctx;
	char rb[EGR_DEST_STRLEN + 64], pb[16], nb[EGR_DEST_STRLEN];
	const char *rule = events_rule_text(w, e->rule, rb, sizeof(rb));
	const char *name = events_learned_name(w, e, nb, sizeof(nb));
	const char *proto = e->pktflags & EGR_PKT_PROTO_UNKNOWN ?
				    "unknown" :
				    proto_name(e->proto, pb, sizeof(pb));
	const char *container = container_of(es, w, e->cgroup_id);

	if (es->json) {
		if (event_json(w, e, es, container, proto, rule, name))
			return -ENOMEM;
	} else {
		print_line(w, e, es, container, proto, rule, name);
	}
	if (ferror(stdout)) {
		es->out_err = errno ? errno : EIO;
		return -EPIPE;
	}
	if (++es->printed >= es->max && es->max)
		return -ECANCELED; /* stop polling; the rest stays in the buffer */
	return 0;
}

static void say(const char *line, void *ctx)
{
	(void)ctx;
	pr_err("%s\n", line);
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

static void summary(const struct events_reader *r, const struct evout *es)
{
	uint64_t sup = 0, lost = 0;

	events_totals(r, &sup, &lost);
	pr_info("events: %" PRIu64 " printed; meanwhile %" PRIu64
		" suppressed (rate limit), %" PRIu64 " lost (ring buffer full)\n",
		es->printed, sup, lost);
}

/* The command line: 0, or the command's exit status + 1. */
struct evargs {
	struct events_opts eo;
	const char *spec;
	int64_t deadline; /* 0: none; else ns, relative until started */
};

static int parse_args(int argc, char **argv, struct evargs *a, struct evout *es)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      { "rate", required_argument, NULL, 'r' },
					      { "burst", required_argument, NULL, 'b' },
					      { "count", required_argument, NULL, 'n' },
					      { "timeout", required_argument, NULL, 't' },
					      HELP_OPT,
					      { 0 } };
	uint32_t count = 0;
	double secs;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "jn:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			es->json = true;
			break;
		case 'r':
			if (parse_u32("--rate", optarg, 1, MAX_RATE, &a->eo.rate))
				return 2;
			break;
		case 'b':
			if (parse_u32("--burst", optarg, 1, MAX_RATE, &a->eo.burst))
				return 2;
			break;
		case 'n':
			if (parse_u32("--count", optarg, 1, UINT32_MAX, &count))
				return 2;
			es->max = count;
			break;
		case 't':
			errno = 0;
			secs = strtod(optarg, &end);
			if (errno || *end || !*optarg || !isfinite(secs) || secs <= 0 ||
			    secs > 1e7) {
				pr_err("events: bad --timeout '%s': use seconds > 0\n", optarg);
				return 2;
			}
			a->deadline = (int64_t)(secs * 1e9);
			break;
		default:
			return usage(events_usage, c != 'h') + 1;
		}
	}
	if (argc - optind > 1)
		return usage(events_usage, true) + 1;
	if (optind < argc)
		a->spec = argv[optind];
	return 0;
}

/* Poll until a signal, the deadline, --count or a write error; 0 or 1. */
static int run(struct events_reader *r, const struct evargs *a, struct evout *es)
{
	int64_t last_scan = clock_ns(CLOCK_MONOTONIC);
	int err;

	while (!stop_sig && !es->out_err && (!es->max || es->printed < es->max)) {
		int64_t now = clock_ns(CLOCK_MONOTONIC);
		int wait = POLL_MS;

		if (a->deadline && now >= a->deadline)
			break;
		if (a->deadline && (a->deadline - now) / 1000000 < wait)
			wait = (a->deadline - now) / 1000000 + 1;
		if (!a->spec && now - last_scan >= RESCAN_NS) {
			if (events_follow(r))
				return 1;
			last_scan = now;
		}
		es->real_off = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
		err = events_poll(r, wait);
		if (err == -EINTR || err == -ECANCELED || err == -EPIPE || err >= 0)
			continue;
		pr_err("events: reading the ring buffers: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

/* The target named, or every attached one (followed); 0 or 1. */
static int start(struct events_reader *r, const char *spec)
{
	struct egr_target t;
	struct egr_kstate ks;

	if (!spec) {
		if (events_follow(r))
			return 1;
		if (!events_count(r))
			pr_warn("events: no target attached yet; waiting\n");
		return 0;
	}
	if (open_target(spec, &t, &ks))
		return 1;
	return events_add(r, &ks) ? 1 : 0;
}

int cmd_events(int argc, char **argv)
{
	struct evout es = { 0 };
	struct evargs a = { .eo = { .on_event = print_event, .on_error = say, .ctx = &es } };
	struct sigaction sa = { .sa_handler = on_signal };
	struct events_reader *r;
	int ret = parse_args(argc, argv, &a, &es);

	if (ret)
		return ret - 1;
	if (need_root())
		return 1;
	if (a.deadline)
		a.deadline += clock_ns(CLOCK_MONOTONIC);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: the poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout ends the loop instead */
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = events_open(&a.eo);
	if (!r) {
		pr_err("events: %s\n", strerror(ENOMEM));
		return 1;
	}
	ret = start(r, a.spec);
	if (!ret) {
		ret = run(r, &a, &es);
		if (es.out_err && es.out_err != EPIPE) {
			pr_err("events: writing to stdout: %s\n", strerror(es.out_err));
			ret = 1;
		}
		summary(r, &es);
	}
	events_close(r);
	return ret;
}
