// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The socket hooks (cgroup/connect4, connect6, sendmsg4, sendmsg6) on real
 * connect() and sendto() calls. BPF_PROG_TEST_RUN does not run programs of
 * this type (ENOTSUPP), so a worker process makes the calls: it lives in a
 * cgroup of its own, where the hooks of a loaded instance are attached with
 * bpf_links (no pins), and in a network namespace of its own with no
 * interface up. There a call the hooks let through fails with ENETUNREACH
 * (no route) or EADDRNOTAVAIL (no IPv6 source address) and a refused one with ECONNREFUSED or EPERM: the verdict is
 * read from the errno and nothing is ever sent anywhere.
 *
 * The differential test holds the hooks, the egress program (test run on
 * the same destination as a packet) and the reference model against each
 * other on random policies; connect() of UDP and ping sockets, which sends
 * nothing, is always let through. Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "bpf/fix.h"
#include "bpf/pkt.h"
#include "kernel/kpolicy.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "lib/oracle.h"
#include "policy/compile.h"
#include "util/cgroup.h"

#define CAP 1024
#define WORKER_COMM "egr-sockt"

/* What the worker does. */
enum op { OP_TCP_CONNECT, OP_UDP_CONNECT, OP_UDP_SENDTO, OP_PING_CONNECT, OP_PING_SENDTO,
	  OP_KEEP_UDP };

struct req {
	int op;
	int v6sock; /* an AF_INET6 socket (IPv4 destinations as ::ffff:a.b.c.d) */
	struct sockaddr_storage ss;
	socklen_t len;
};

struct sfix {
	struct egressctl_bpf *skel;
	struct egr_kstate ks;
	int prog, links[4];
	char cg[512];
	uint64_t cgid;
	pid_t worker;
	int chan; /* socketpair to the worker */
};

/* The worker: into the cgroup, into an empty netns, then one call per
 * request; answers the errno (0: the call succeeded). OP_KEEP_UDP sends
 * the socket back too (SCM_RIGHTS), for its storage.
 */
static void worker(int chan, const char *cg)
{
	char path[600], pid[32];
	struct req r;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0 || unshare(CLONE_NEWNET))
		_exit(3);
	close(fd);
	prctl(PR_SET_NAME, WORKER_COMM);
	/* ping sockets for root, in this netns only */
	fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);
	if (fd < 0 || write(fd, "0 0", 3) < 0)
		_exit(3);
	close(fd);
	while (read(chan, &r, sizeof(r)) == sizeof(r)) {
		int fam = r.v6sock ? AF_INET6 : r.ss.ss_family, s, err = 0;
		int type = r.op == OP_TCP_CONNECT ? SOCK_STREAM : SOCK_DGRAM;
		bool ping = r.op == OP_PING_CONNECT || r.op == OP_PING_SENDTO;
		int proto = !ping ? 0 : fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		/* an echo request: type 8 (IPv4) or 128 (IPv6) */
		char buf[8] = { fam == AF_INET ? 8 : (char)128 };

		s = socket(fam, type, proto);
		if (s < 0)
			err = errno;
		else if (r.op == OP_UDP_SENDTO || r.op == OP_PING_SENDTO)
			err = sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&r.ss, r.len) < 0 ?
				      errno :
				      0;
		else
			err = connect(s, (struct sockaddr *)&r.ss, r.len) ? errno : 0;
		if (r.op == OP_KEEP_UDP && s >= 0) {
			char cbuf[CMSG_SPACE(sizeof(int))];
			struct iovec iov = { &err, sizeof(err) };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
					     .msg_controllen = sizeof(cbuf) };
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &s, sizeof(int));
			if (sendmsg(chan, &mh, 0) < 0)
				_exit(4);
		} else if (write(chan, &err, sizeof(err)) != sizeof(err)) {
			_exit(4);
		}
		if (s >= 0)
			close(s);
	}
	_exit(0);
}

static int setup_env(void **state, bool no_set_retval)
{
	static const char *const progs[4] = { "egr_connect4", "egr_connect6", "egr_sendmsg4",
					      "egr_sendmsg6" };
	static const enum bpf_attach_type types[4] = { BPF_CGROUP_INET4_CONNECT,
						       BPF_CGROUP_INET6_CONNECT,
						       BPF_CGROUP_UDP4_SENDMSG,
						       BPF_CGROUP_UDP6_SENDMSG };
	struct egr_attach_opts o = { .dflt = EGR_DENY, .max_rules = CAP };
	struct sfix *f = calloc(1, sizeof(*f));
	char err[256] = "", mnt[256];
	int sv[2], cgfd, i, ret;

	assert_non_null(f);
	if (no_set_retval)
		setenv("EGRESSCTL_TEST_NO_SET_RETVAL", "1", 1);
	ret = kstate_load(&o, "/bpf-test-sock", 0, &f->skel, &f->ks, err, sizeof(err));
	unsetenv("EGRESSCTL_TEST_NO_SET_RETVAL");
	if (ret)
		fail_msg("%s", err);
	f->prog = bpf_program__fd(f->skel->progs.egr_egress);
	assert_int_equal(cgroup2_host_mount(mnt, sizeof(mnt)), 0);
	snprintf(f->cg, sizeof(f->cg), "%s/egr-bpft-sock-%d", mnt, (int)getpid());
	assert_int_equal(mkdir(f->cg, 0755), 0);
	assert_int_equal(cgroup_id(f->cg, &f->cgid), 0);
	cgfd = open(f->cg, O_RDONLY | O_DIRECTORY);
	assert_true(cgfd >= 0);
	for (i = 0; i < 4; i++) {
		int pfd = bpf_program__fd(bpf_object__find_program_by_name(f->skel->obj, progs[i]));

		f->links[i] = bpf_link_create(pfd, cgfd, types[i], NULL);
		assert_true(f->links[i] >= 0);
	}
	close(cgfd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	f->worker = fork();
	assert_true(f->worker >= 0);
	if (!f->worker) {
		close(sv[0]);
		worker(sv[1], f->cg);
	}
	close(sv[1]);
	f->chan = sv[0];
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_env(state, false);
}

static int setup_eperm(void **state)
{
	return setup_env(state, true);
}

static int teardown(void **state)
{
	struct sfix *f = *state;
	int i, st;

	close(f->chan);
	waitpid(f->worker, &st, 0);
	for (i = 0; i < 4; i++)
		close(f->links[i]);
	rmdir(f->cg);
	egressctl_bpf__destroy(f->skel);
	free(f);
	return 0;
}

/* One call by the worker: its errno, 0 on success. */
static int call(struct sfix *f, int op, int family, const char *dst, uint16_t port, bool v6sock)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)0;
	struct sockaddr_in6 *sin6;
	struct req r;
	int err;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.v6sock = v6sock;
	sin = (struct sockaddr_in *)&r.ss;
	sin6 = (struct sockaddr_in6 *)&r.ss;
	if (family == 4 && !v6sock) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, dst, &sin->sin_addr), 1);
		r.len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (family == 4) {
			sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
			assert_int_equal(inet_pton(AF_INET, dst, &sin6->sin6_addr.s6_addr[12]), 1);
		} else {
			assert_int_equal(inet_pton(AF_INET6, dst, &sin6->sin6_addr), 1);
		}
		r.len = sizeof(*sin6);
	}
	assert_int_equal(write(f->chan, &r, sizeof(r)), sizeof(r));
	assert_int_equal(read(f->chan, &err, sizeof(err)), sizeof(err));
	return err;
}

/* What the hooks said: 1 let through (no route, or no IPv6 source address,
 * follows), 0 refused.
 */
static int verdict_of(int err, int op, const char *what)
{
	if (err == ENETUNREACH || err == EADDRNOTAVAIL) /* IPv6 with no address */
		return 1;
	if (err == EPERM || (err == ECONNREFUSED && op == OP_TCP_CONNECT))
		return 0;
	fail_msg("%s: unexpected errno %d (%s)", what, err, strerror(err));
	return -1;
}

static int run_pkt(struct sfix *f, const struct pktspec *s)
{
	return fix_run(f->prog, s);
}

static struct egr_counter stat_of(struct sfix *f, int k)
{
	struct egr_counter st[EGR_STAT_MAX];

	assert_int_equal(kstate_stats(&f->ks, st), 0);
	return st[k];
}

/* A denied TCP connect: ECONNREFUSED where the program may set it, EPERM
 * with the test hook (and on kernels without bpf_set_retval). UDP and
 * ping: EPERM. Loopback always passes.
 */
static void test_errno(void **state, bool forced_eperm)
{
	struct sfix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	int tcp = forced_eperm || !kstate_have_set_retval() ? EPERM : ECONNREFUSED;

	apply_ks(&f->ks, &p);
	assert_int_equal(call(f, OP_TCP_CONNECT, 4, "198.18.7.1", 443, false), tcp);
	assert_int_equal(call(f, OP_TCP_CONNECT, 6, "2001:db8::7", 443, false), tcp);
	assert_int_equal(call(f, OP_TCP_CONNECT, 4, "198.18.7.1", 443, true), tcp);
	/* connect() of UDP and ping sockets sends nothing: let be (no route) */
	assert_int_equal(call(f, OP_UDP_CONNECT, 4, "198.18.7.1", 53, false), ENETUNREACH);
	assert_int_equal(call(f, OP_PING_CONNECT, 4, "198.18.7.1", 0, false), ENETUNREACH);
	assert_int_equal(call(f, OP_UDP_SENDTO, 4, "198.18.7.1", 53, false), EPERM);
	assert_int_equal(call(f, OP_UDP_SENDTO, 4, "198.18.7.1", 53, true), EPERM);
	assert_int_equal(call(f, OP_UDP_SENDTO, 6, "2001:db8::7", 53, false), EPERM);
	/* no hook runs for a ping socket's sendto(): egress judges it */
	assert_int_equal(call(f, OP_PING_SENDTO, 4, "198.18.7.1", 0, false), ENETUNREACH);
	/* loopback: let through (the empty netns has no route even there) */
	assert_int_equal(call(f, OP_TCP_CONNECT, 4, "127.0.0.1", 443, false), ENETUNREACH);
	assert_int_equal(call(f, OP_TCP_CONNECT, 6, "::1", 443, false), EADDRNOTAVAIL);
	assert_int_equal(call(f, OP_UDP_SENDTO, 4, "127.0.0.9", 53, true), ENETUNREACH);
	/* 0.0.0.0 and :: mean this host (the kernel sends by lo): let through */
	assert_int_equal(verdict_of(call(f, OP_TCP_CONNECT, 4, "0.0.0.0", 443, false),
				    OP_TCP_CONNECT, "connect 0.0.0.0"), 1);
	assert_int_equal(verdict_of(call(f, OP_TCP_CONNECT, 4, "0.0.0.0", 443, true),
				    OP_TCP_CONNECT, "connect ::ffff:0.0.0.0"), 1);
	assert_int_equal(verdict_of(call(f, OP_TCP_CONNECT, 6, "::", 443, false),
				    OP_TCP_CONNECT, "connect ::"), 1);
	assert_int_not_equal(call(f, OP_UDP_SENDTO, 4, "0.0.0.0", 53, false), EPERM);
	/* allowed: let through */
	add_rule(&p, "allow", "198.18.7.0/24", "tcp:443");
	apply_ks(&f->ks, &p);
	assert_int_equal(call(f, OP_TCP_CONNECT, 4, "198.18.7.1", 443, false), ENETUNREACH);
	assert_int_equal(call(f, OP_TCP_CONNECT, 4, "198.18.7.1", 443, true), ENETUNREACH);
	assert_int_equal(call(f, OP_TCP_CONNECT, 4, "198.18.7.1", 444, false), tcp);
	policy_free(&p);
}

static void test_errno_set_retval(void **state)
{
	test_errno(state, false);
}

static void test_errno_forced_eperm(void **state)
{
	test_errno(state, true);
}

/* Per-name counts in egr_comm. */
static struct egr_comm_count comm_of(struct sfix *f, const char *comm)
{
	struct egr_comm_count v;
	struct egr_comm_key k;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	strncpy(k.comm, comm, sizeof(k.comm) - 1);
	bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.egr_comm), &k, &v);
	return v;
}

static int on_ev(void *ctx, void *data, size_t len)
{
	if (len >= sizeof(struct egr_event))
		memcpy(ctx, data, sizeof(struct egr_event));
	return 1;
}

/* A refused call counts one denied packet of 0 bytes, one refused call,
 * one hit of its rule and one for its process name, and its event names
 * the process.
 */
static void test_counts_and_events(void **state)
{
	struct sfix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_evcfg ev = { .enabled = 1, .rate = 1000, .burst = 1000 };
	struct egr_counter d0, r0, d1, r1;
	struct egr_comm_count c0, c1;
	struct egr_live_rule *lr;
	struct egr_event e;
	struct ring_buffer *rb;
	uint32_t k = 0;
	size_t n;

	add_rule(&p, "deny", "198.18.9.0/24", "udp:53");
	apply_ks(&f->ks, &p);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->skel->maps.egr_evcfg), &k, &ev, 0), 0);
	rb = ring_buffer__new(bpf_map__fd(f->skel->maps.egr_events), on_ev, &e, NULL);
	assert_non_null(rb);
	d0 = stat_of(f, EGR_STAT_DENIED);
	r0 = stat_of(f, EGR_STAT_REFUSED);
	c0 = comm_of(f, WORKER_COMM);
	assert_int_equal(call(f, OP_UDP_SENDTO, 4, "198.18.9.9", 53, false), EPERM);
	d1 = stat_of(f, EGR_STAT_DENIED);
	r1 = stat_of(f, EGR_STAT_REFUSED);
	c1 = comm_of(f, WORKER_COMM);
	assert_int_equal(d1.packets - d0.packets, 1);
	assert_int_equal(d1.bytes - d0.bytes, 0);
	assert_int_equal(r1.packets - r0.packets, 1);
	assert_int_equal(c1.denied - c0.denied, 1);
	assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(lr[0].hits, 1);

	memset(&e, 0, sizeof(e));
	assert_int_equal(ring_buffer__poll(rb, 1000), 1);
	assert_int_equal(e.hook, EGR_HOOK_SENDMSG);
	assert_int_equal(e.verdict, EGR_DENY);
	assert_int_equal(e.rule, lr[0].id);
	assert_int_equal(e.pid, f->worker);
	assert_int_equal(e.tgid, f->worker);
	assert_string_equal(e.comm, WORKER_COMM);
	assert_int_equal(e.cgroup_id, f->cgid);
	assert_int_not_equal(e.cookie, 0);
	assert_int_equal(e.family, 4);
	assert_int_equal(e.proto, IPPROTO_UDP);
	assert_int_equal(e.dport, 53);
	assert_int_equal(e.len, 0);
	assert_memory_equal(e.dst, "\xc6\x12\x09\x09", 4);
	free(lr);

	/* the default, TCP over IPv6: a connect event */
	memset(&e, 0, sizeof(e));
	assert_int_not_equal(call(f, OP_TCP_CONNECT, 6, "2001:db8::5", 8443, false), ENETUNREACH);
	assert_int_equal(ring_buffer__poll(rb, 1000), 1);
	assert_int_equal(e.hook, EGR_HOOK_CONNECT);
	assert_int_equal(e.rule, EGR_RULE_DEFAULT);
	assert_int_equal(e.family, 6);
	assert_int_equal(e.proto, IPPROTO_TCP);
	assert_int_equal(e.dport, 8443);
	assert_int_equal(e.pid, f->worker);

	/* audit: let through, counted for the name only */
	assert_int_equal(kpolicy_set_cfg(&f->ks, -1, 1), 0);
	d0 = stat_of(f, EGR_STAT_DENIED);
	c0 = comm_of(f, WORKER_COMM);
	assert_int_equal(call(f, OP_UDP_SENDTO, 4, "198.18.9.9", 53, false), ENETUNREACH);
	assert_int_equal(call(f, OP_TCP_CONNECT, 4, "198.18.9.9", 80, false), ENETUNREACH);
	c1 = comm_of(f, WORKER_COMM);
	assert_int_equal(stat_of(f, EGR_STAT_DENIED).packets, d0.packets);
	assert_int_equal(c1.audit - c0.audit, 2);
	assert_int_equal(c1.denied, c0.denied);
	ring_buffer__free(rb);
	policy_free(&p);
}

/* The caller is remembered in the socket's storage (for the events of its
 * later packets, judged at egress), also for a UDP connect(), which the
 * hooks do not judge.
 */
static void test_owner(void **state)
{
	struct sfix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct egr_sk_state st;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct req r = { .op = OP_KEEP_UDP };
	int err, fd;

	apply_ks(&f->ks, &p);
	inet_pton(AF_INET, "198.18.9.9", &sin.sin_addr);
	memcpy(&r.ss, &sin, sizeof(sin));
	r.len = sizeof(sin);
	iov.iov_base = &err;
	iov.iov_len = sizeof(err);
	assert_int_equal(write(f->chan, &r, sizeof(r)), sizeof(r));
	assert_int_equal(recvmsg(f->chan, &mh, 0), sizeof(err));
	assert_int_equal(err, ENETUNREACH); /* a UDP connect() is let be */
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(fd));
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.egr_sk), &fd, &st), 0);
	assert_int_equal(st.owner_pid, f->worker);
	assert_int_equal(st.owner_tgid, f->worker);
	assert_string_equal(st.owner_comm, WORKER_COMM);
	close(fd);
	policy_free(&p);
}

/* Random policies: for each random destination, the hooks (TCP connect,
 * UDP connect and sendto, ping connect; IPv4 ones also as ::ffff:a.b.c.d
 * from an AF_INET6 socket), the egress program on the same destination as
 * a packet, and the reference model agree.
 */
static void test_differential(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	struct sfix *f = *state;
	int round, k, calls = 0, pkts = 0, refused = 0;

	srand(16);
	for (round = 0; round < 150; round++) {
		struct egr_policy p;
		struct egr_compiled c;
		char err[256];

		fix_rand_policy(&p);
		if (compile_policy(&p, &c, err, sizeof(err))) {
			policy_free(&p);
			continue;
		}
		apply_ks(&f->ks, &p);
		for (k = 0; k < 30; k++) {
			struct egr_tpkt t;
			struct pktspec s = { 0 };
			const char *dst;
			int ref, urule, ops[3], nops = 0, i, v6s;
			uint16_t port;

			fix_rand_pkt(&t, &dst, protos[rand() % 3]);
			ref = policy_eval_ref(&p, &t, &urule);
			s.family = t.family;
			s.dst = dst;
			s.proto = t.proto;
			s.dport = t.dport;
			if (run_pkt(f, &s) != ref)
				fail_msg("round %d: egress on %s proto %u port %u: %d, model %d",
					 round, dst, t.proto, t.dport, !ref, ref);
			pkts++;
			if (t.proto == IPPROTO_TCP) {
				ops[nops++] = OP_TCP_CONNECT;
			} else if (t.proto == IPPROTO_UDP) {
				ops[nops++] = OP_UDP_CONNECT;
				ops[nops++] = OP_UDP_SENDTO;
			} else {
				ops[nops++] = OP_PING_CONNECT;
			}
			/* a ping socket's "port" means nothing: any will do */
			port = t.dport ? t.dport : (uint16_t)rand();
			for (i = 0; i < nops; i++) {
				for (v6s = 0; v6s <= (t.family == 4 && ops[i] != OP_PING_CONNECT &&
						       ops[i] != OP_PING_SENDTO);
				     v6s++) {
					int e = call(f, ops[i], t.family, dst, port, v6s);
					char what[128];

					snprintf(what, sizeof(what), "round %d op %d %s%s port %u",
						 round, ops[i], v6s ? "::ffff:" : "", dst, port);
					/* connect() of UDP and ping sockets is let be */
					int want = ops[i] == OP_UDP_CONNECT ||
							   ops[i] == OP_PING_CONNECT ?
						   1 :
						   ref;

					if (verdict_of(e, ops[i], what) != want)
						fail_msg("%s: hooks %d, want %d", what, !want,
							 want);
					refused += !want;
					calls++;
				}
			}
		}
		compiled_free(&c);
		policy_free(&p);
	}
	fprintf(stderr, "# differential: %d packets, %d calls (%d refused)\n", pkts, calls,
		refused);
	assert_true(calls > 5000 && refused > 1000 && calls - refused > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_errno_set_retval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errno_forced_eperm, setup_eperm, teardown),
		cmocka_unit_test_setup_teardown(test_counts_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_differential, setup, teardown),
	};

	if (geteuid()) {
		fprintf(stderr, "test_sock: needs root (loads BPF programs, makes cgroups)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("bpf_sock", tests, NULL, NULL);
}
