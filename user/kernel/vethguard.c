// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The veth guard (kernel/vethguard.h): the packet-socket guard's program
 * (prog_veth, pinned by kernel/lsm.c) on the host end of each veth of a
 * target's network namespace, at ingress: frames the container sends.
 * Attached by a tcx link (Linux 6.6+), pinned as veth-<cgroup id>-<ifindex>;
 * where the kernel has no tcx, by a classic tc filter on a clsact qdisc,
 * recorded by pinning the program as veth-<cgroup id>-<ifindex>-tc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl_lsm.h"
#include "kernel/kmap.h"
#include "kernel/pindir.h"
#include "kernel/vethguard.h"
#include "util/cgroup.h"

#define PROG_PIN "prog_veth"
#define PROG_NAME "egr_veth_guard"
#define TC_SUFFIX "-tc"
#define MAX_IFS 64

/* uapi values newer than the build host's headers (Linux 6.6). */
#define EGR_TCX_INGRESS 46
#define EGR_LINK_TYPE_TCX 11

/* The classic tc filter's identity on a veth (one per device). */
#define TC_HANDLE 0xe9e5
#define TC_PRIO 0x4547

static int pin_get(const char *name)
{
	return pindir_open(EGR_PKTGUARD_DIR, name);
}

static void unlink_pin(const char *name)
{
	char path[512];

	pindir_path(EGR_PKTGUARD_DIR, name, path, sizeof(path));
	unlink(path);
}

/*
 * Test hook (README "Tests"): EGRESSCTL_TEST_NO_TCX=1 makes this process
 * attach as on a kernel without tcx (classic tc), so both ways are tested
 * on any kernel.
 */
static bool tcx_forbidden(void)
{
	const char *s = getenv("EGRESSCTL_TEST_NO_TCX");

	return s && *s && strcmp(s, "0");
}

struct ifl {
	int index, link; /* link: IFLA_LINK, the peer's index in its namespace */
	bool veth;
};

/* Links of the current network namespace, by RTM_GETLINK dump. */
static int dump_links(struct ifl *out, int max)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = { .nh = { .nlmsg_len = sizeof(req),
			  .nlmsg_type = RTM_GETLINK,
			  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			  .nlmsg_seq = 1 },
		  .ifi = { .ifi_family = AF_UNSPEC } };
	static char buf[32768];
	int fd, n = 0, done = 0, rounds;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		n = -errno;
		goto out;
	}
	for (rounds = 0; !done && rounds < 1024; rounds++) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			n = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nh);
			struct rtattr *rta;
			int alen;

			if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type != RTM_NEWLINK || n >= max)
				continue;
			out[n] = (struct ifl){ .index = ifi->ifi_index };
			alen = (int)IFLA_PAYLOAD(nh);
			for (rta = IFLA_RTA(ifi); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
				if (rta->rta_type == IFLA_LINK && RTA_PAYLOAD(rta) >= 4)
					memcpy(&out[n].link, RTA_DATA(rta), 4);
				if (rta->rta_type == IFLA_LINKINFO) {
					struct rtattr *ia = RTA_DATA(rta);
					int ilen = (int)RTA_PAYLOAD(rta);

					for (; RTA_OK(ia, ilen); ia = RTA_NEXT(ia, ilen))
						if (ia->rta_type == IFLA_INFO_KIND &&
						    RTA_PAYLOAD(ia) >= 5 &&
						    !strncmp(RTA_DATA(ia), "veth", 5))
							out[n].veth = true;
				}
			}
			n++;
		}
	}
out:
	close(fd);
	return n;
}

/* dump_links() in the network namespace ns, on a thread of its own: setns()
 * moves only the calling thread, and this one ends there.
 */
struct ns_dump {
	int ns, max, n;
	struct ifl *out;
};

static void *dump_in_ns(void *arg)
{
	struct ns_dump *d = arg;

	d->n = setns(d->ns, CLONE_NEWNET) ? -errno : dump_links(d->out, d->max);
	return NULL;
}

/* Is the file ns the network namespace of this thread? 1 yes, 0 no. */
static int same_netns(int ns)
{
	struct stat a, b;

	if (fstat(ns, &a) || stat("/proc/thread-self/ns/net", &b))
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * The host-side peers of the target's veths: fills peers[] (indexes in our
 * namespace), returns how many, or -errno. -EEXIST when the target shares
 * our network namespace.
 */
static int target_peers(const char *cgpath, int *peers, int max)
{
	struct ifl in[MAX_IFS], host[MAX_IFS];
	struct ns_dump d = { .max = MAX_IFS, .out = in };
	char nspath[64];
	pthread_t th;
	int pid, nhost, i, j, n = 0, err;

	pid = cgroup_pid_below(cgpath, 2); /* a pod: its containers' cgroups */
	if (pid < 0)
		return pid;
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", pid);
	d.ns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (d.ns < 0)
		return -errno;
	err = same_netns(d.ns);
	if (err) {
		err = err > 0 ? -EEXIST : err;
		goto out;
	}
	err = -pthread_create(&th, NULL, dump_in_ns, &d);
	if (err)
		goto out;
	pthread_join(th, NULL);
	nhost = dump_links(host, MAX_IFS);
	err = d.n < 0 ? d.n : nhost < 0 ? nhost : 0;
	if (err)
		goto out;
	/* A veth inside whose peer is a veth here pointing back at it. */
	for (i = 0; i < d.n; i++) {
		if (!in[i].veth || !in[i].link)
			continue;
		for (j = 0; j < nhost; j++)
			if (host[j].index == in[i].link && host[j].veth &&
			    host[j].link == in[i].index && n < max)
				peers[n++] = host[j].index;
	}
	err = n;
out:
	close(d.ns);
	return err;
}

static bool is_tc_pin(const char *name)
{
	size_t n = strlen(name), k = strlen(TC_SUFFIX);

	return n > k && !strcmp(name + n - k, TC_SUFFIX);
}

/* Is fd a pin of our program? */
static bool our_prog(int fd)
{
	return kmap_prog_is(fd, BPF_PROG_TYPE_SCHED_CLS, PROG_NAME);
}

/* The classic tc filter of ours on ifindex: its program id, 0 when it (or
 * the device) is gone, -errno otherwise.
 */
static int tc_prog_id(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = TC_HANDLE, .priority = TC_PRIO);
	int err = bpf_tc_query(&hook, &q);

	if (err == -ENOENT || err == -ENODEV || err == -EINVAL)
		return 0;
	return err ? err : (int)q.prog_id;
}

/* The interface a veth pin guards; 0 when its device (or filter) is gone
 * (defunct), -errno when it is not a pin of ours.
 */
static int pin_ifindex(const char *name, int ifindex)
{
	struct bpf_link_info li = { 0 };
	struct bpf_prog_info pi = { 0 };
	uint32_t len = sizeof(li), plen = sizeof(pi), tcx[2];
	int fd = pin_get(name), pfd, ret = -EPROTO;

	if (fd < 0)
		return fd;
	if (is_tc_pin(name)) {
		/* The pinned program, attached by a tc filter we can look up. */
		if (our_prog(fd) && !bpf_obj_get_info_by_fd(fd, &pi, &plen)) {
			ret = tc_prog_id(ifindex);
			ret = ret == (int)pi.id ? ifindex : ret > 0 ? 0 : ret;
		}
	} else if (!bpf_obj_get_info_by_fd(fd, &li, &len) && li.type == EGR_LINK_TYPE_TCX) {
		/* bpf_link_info.tcx = { ifindex, attach_type }: the union's start */
		memcpy(tcx, &li.raw_tracepoint, sizeof(tcx));
		pfd = bpf_prog_get_fd_by_id(li.prog_id);
		if (pfd >= 0) {
			if (our_prog(pfd))
				ret = (int)tcx[0];
			close(pfd);
		}
	}
	close(fd);
	return ret;
}

/* Remove a veth pin; a classic tc filter is detached first. */
static void release_pin(const char *name, int ifindex)
{
	if (is_tc_pin(name)) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = TC_HANDLE, .priority = TC_PRIO);

		bpf_tc_detach(&hook, &o);
	}
	unlink_pin(name);
}

/* For each veth pin: cgroup id, ifindex. cb returns non-zero to stop. */
static int for_each_pin(int (*cb)(const char *name, uint64_t cgid, int ifindex, void *ctx),
			void *ctx)
{
	struct dirent *de;
	DIR *d = opendir(EGR_PKTGUARD_DIR);
	int ret = 0;

	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		unsigned long long cg;
		int ifx;

		if (strncmp(de->d_name, VGUARD_PREFIX, strlen(VGUARD_PREFIX)) ||
		    sscanf(de->d_name, VGUARD_PREFIX "%llu-%d", &cg, &ifx) != 2)
			continue;
		ret = cb(de->d_name, cg, ifx, ctx);
	}
	closedir(d);
	return ret;
}

enum veth_mode {
	VETH_COUNT, /* count the live attachments of cgid; change nothing */
	VETH_RELEASE, /* remove every attachment of cgid */
	VETH_PRUNE, /* remove the attachments whose veth is gone, of any cgroup */
};

struct veth_q {
	enum veth_mode mode;
	uint64_t cgid;
	int live;
};

static int veth_cb(const char *name, uint64_t cgid, int ifindex, void *ctx)
{
	struct veth_q *q = ctx;
	int at;

	if (q->mode != VETH_PRUNE && cgid != q->cgid)
		return 0;
	at = pin_ifindex(name, ifindex);
	if (at < 0) /* not a pin of ours: leave it alone */
		return 0;
	if (q->mode == VETH_RELEASE || (q->mode == VETH_PRUNE && !at))
		release_pin(name, ifindex);
	else if (at)
		q->live++;
	return 0;
}

int vguard_count(uint64_t cgid)
{
	struct veth_q q = { .mode = VETH_COUNT, .cgid = cgid };

	for_each_pin(veth_cb, &q);
	return q.live;
}

int vguard_release(uint64_t cgid)
{
	struct veth_q q = { .mode = VETH_RELEASE, .cgid = cgid };

	return for_each_pin(veth_cb, &q);
}

void vguard_prune(void)
{
	struct veth_q q = { .mode = VETH_PRUNE };

	for_each_pin(veth_cb, &q);
}

/* A classic tc filter (no tcx here): clsact on ifindex, our program, the
 * program pinned as the record. 0 or -errno.
 */
static int attach_tc(int prog, int ifindex, const char *name)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = TC_HANDLE, .priority = TC_PRIO,
			    .prog_fd = prog, .flags = BPF_TC_F_REPLACE);
	char path[256];
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	err = bpf_tc_attach(&hook, &o);
	if (err)
		return err;
	pindir_path(EGR_PKTGUARD_DIR, name, path, sizeof(path));
	if (bpf_obj_pin(prog, path)) {
		err = -errno;
		o.prog_fd = o.prog_id = 0;
		o.flags = 0;
		bpf_tc_detach(&hook, &o);
	}
	return err;
}

/* A tcx link on ifindex, pinned as name. 0, -EOPNOTSUPP when the kernel
 * has no tcx, or -errno.
 */
static int attach_tcx(int prog, int ifindex, const char *name)
{
	char path[256];
	int lfd, err = 0;

	if (tcx_forbidden())
		return -EOPNOTSUPP;
	lfd = bpf_link_create(prog, ifindex, EGR_TCX_INGRESS, NULL);
	if (lfd < 0) /* an attach type the kernel does not know: no tcx */
		return errno == EINVAL ? -EOPNOTSUPP : -errno;
	pindir_path(EGR_PKTGUARD_DIR, name, path, sizeof(path));
	if (bpf_obj_pin(lfd, path))
		err = -errno;
	close(lfd);
	return err;
}

/* One host-side veth: attached already, or by tcx, else by tc. */
static int attach_one(int prog, uint64_t cgid, int ifindex)
{
	char name[64], tc[sizeof(name) + sizeof(TC_SUFFIX)];
	int err;

	snprintf(name, sizeof(name), VGUARD_PREFIX "%" PRIu64 "-%d", cgid, ifindex);
	snprintf(tc, sizeof(tc), "%s" TC_SUFFIX, name);
	if (pin_ifindex(name, ifindex) == ifindex || pin_ifindex(tc, ifindex) == ifindex)
		return 0;
	unlink_pin(name); /* defunct ones */
	unlink_pin(tc);
	err = attach_tcx(prog, ifindex, name);
	if (err == -EOPNOTSUPP)
		err = attach_tc(prog, ifindex, tc);
	return err;
}

int vguard_attach(const char *cgpath, uint64_t cgid)
{
	int peers[MAX_IFS], n, i, prog, err = 0;

	n = target_peers(cgpath, peers, MAX_IFS);
	if (n <= 0)
		return n ? n : -ENODEV;
	prog = pin_get(PROG_PIN);
	if (prog < 0)
		return prog;
	for (i = 0; i < n && !err; i++)
		err = attach_one(prog, cgid, peers[i]);
	close(prog);
	return err ? err : n;
}
