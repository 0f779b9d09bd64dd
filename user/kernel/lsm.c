// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The packet-socket guard (include/egressctl_lsm.h): load and pin
 * bpf/lsm.bpf.c once per host (BPF LSM hooks when the kernel allows them,
 * the veth guard program always), attach the veth guard to each managed
 * target's veths, report. The base pins are made in a temporary directory
 * that is renamed into place last (kernel/pindir.h).
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
#include "egressctl.h"
#include "lsm.skel.h"
#include "kernel/lsm.h"
#include "kernel/pindir.h"
#include "kernel/registry.h"
#include "util/err.h"

#define LSM_LIST "/sys/kernel/security/lsm"
#define PROG_PIN "prog_veth"
#define STATS_PIN "egr_lsm_stats"
#define INFO_PIN "egr_pg_info"
#define VETH_PREFIX "veth-"
#define MAX_IFS 64

/* uapi values newer than the build host's headers (Linux 6.6). */
#define EGR_TCX_INGRESS 46
#define EGR_LINK_TYPE_TCX 11

static const struct {
	const char *pin; /* link pin name */
	const char *prog; /* the program's kernel name (at most 15 chars) */
} hooks[] = {
	{ "link_socket_create", "egr_sock_create" },
	{ "link_socket_sendmsg", "egr_sock_send" },
	{ "link_file_receive", "egr_file_recv" },
};
#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))

/* Everything we may pin in EGR_PKTGUARD_DIR (and "veth-*"). */
static const char *const pg_pin_names[] = { "link_socket_create", "link_socket_sendmsg",
					    "link_file_receive", PROG_PIN, STATS_PIN, INFO_PIN };
static const struct pinset pg_pins = {
	pg_pin_names, sizeof(pg_pin_names) / sizeof(pg_pin_names[0]), VETH_PREFIX
};

bool lsm_list_has_bpf(const char *list)
{
	const char *p = list;

	while (p && *p) {
		size_t n = strcspn(p, ",\n");

		if (n == 3 && !strncmp(p, "bpf", 3))
			return true;
		p += n;
		p += strspn(p, ",\n");
	}
	return false;
}

static bool bpf_lsm_active(void)
{
	char buf[512];
	ssize_t n;
	int fd = open(LSM_LIST, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return lsm_list_has_bpf(buf);
}

static int pin_get(const char *name)
{
	return pindir_open(EGR_PKTGUARD_DIR, name);
}

/* Is prog_fd's program of type type and named name? */
static bool prog_is(int prog_fd, uint32_t type, const char *name)
{
	struct bpf_prog_info pi = { 0 };
	uint32_t len = sizeof(pi);

	return !bpf_obj_get_info_by_fd(prog_fd, &pi, &len) && pi.type == type &&
	       !strncmp(pi.name, name, sizeof(pi.name));
}

/* 0 if the pin is a link of ours running program prog (LSM); -ENOENT if
 * there is no pin; -EPROTO for anything else.
 */
static int check_lsm_link(const char *pin, const char *prog)
{
	struct bpf_link_info li = { 0 };
	uint32_t len = sizeof(li);
	int fd, pfd, ret = -EPROTO;

	fd = pin_get(pin);
	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : -EPROTO;
	if (!bpf_obj_get_info_by_fd(fd, &li, &len) && li.type == BPF_LINK_TYPE_TRACING &&
	    li.tracing.attach_type == BPF_LSM_MAC) {
		pfd = bpf_prog_get_fd_by_id(li.prog_id);
		if (pfd >= 0) {
			if (prog_is(pfd, BPF_PROG_TYPE_LSM, prog))
				ret = 0;
			close(pfd);
		}
	}
	close(fd);
	return ret;
}

/* The base pins: 0 ours (*lsm tells whether the LSM hooks are there);
 * -ENOENT none; -EPROTO foreign or broken.
 */
static int check_base(bool *lsm)
{
	size_t i, have = 0;
	int fd, ret;
	bool ok;

	*lsm = false;
	if (access(EGR_PKTGUARD_DIR, F_OK))
		return -ENOENT;
	fd = pin_get(PROG_PIN);
	if (fd < 0)
		return -EPROTO;
	ok = prog_is(fd, BPF_PROG_TYPE_SCHED_CLS, "egr_veth_guard");
	close(fd);
	if (!ok)
		return -EPROTO;
	fd = pin_get(INFO_PIN);
	if (fd < 0)
		return -EPROTO;
	{
		struct egr_pg_info info;
		uint32_t k = 0;

		ok = !bpf_map_lookup_elem(fd, &k, &info) && info.magic == EGR_MAGIC;
		close(fd);
		if (!ok)
			return -EPROTO;
	}
	for (i = 0; i < NHOOKS; i++) {
		ret = check_lsm_link(hooks[i].pin, hooks[i].prog);
		if (ret == -EPROTO)
			return -EPROTO;
		have += !ret;
	}
	if (have && have != NHOOKS)
		return -EPROTO;
	*lsm = have == NHOOKS;
	return 0;
}

static void unlink_pin(const char *name)
{
	char path[512];

	pindir_path(EGR_PKTGUARD_DIR, name, path, sizeof(path));
	unlink(path);
}

/* Open and load the object; with_lsm false leaves the LSM programs out. */
static struct lsm_bpf *load_obj(bool with_lsm, int *err)
{
	struct lsm_bpf *skel = lsm_bpf__open();
	int regfd;

	if (!skel) {
		*err = -errno;
		return NULL;
	}
	if (!with_lsm) {
		bpf_program__set_autoload(skel->progs.egr_sock_create, false);
		bpf_program__set_autoload(skel->progs.egr_sock_send, false);
		bpf_program__set_autoload(skel->progs.egr_file_recv, false);
	}
	regfd = registry_open();
	if (regfd < 0) {
		*err = regfd;
		goto fail;
	}
	*err = bpf_map__reuse_fd(skel->maps.egr_managed, regfd);
	close(regfd);
	if (*err)
		goto fail;
	*err = lsm_bpf__load(skel);
	if (!*err)
		return skel;
fail:
	lsm_bpf__destroy(skel);
	return NULL;
}

static bool pktguard_tag(const char *tag)
{
	return !strcmp(tag, "pktguard");
}

/* The object with its LSM hooks attached (links), when the kernel has BPF
 * LSM and lets them load; else NULL and *err why not.
 */
static struct lsm_bpf *load_with_lsm(struct bpf_link **links, int *err)
{
	struct lsm_bpf *skel;
	size_t i;

	*err = -EOPNOTSUPP;
	if (!bpf_lsm_active())
		return NULL;
	skel = load_obj(true, err);
	if (!skel)
		return NULL;
	{
		struct bpf_program *progs[NHOOKS] = { skel->progs.egr_sock_create,
						      skel->progs.egr_sock_send,
						      skel->progs.egr_file_recv };

		for (i = 0; i < NHOOKS && !*err; i++) {
			links[i] = bpf_program__attach_lsm(progs[i]);
			if (!links[i])
				*err = -errno;
		}
	}
	if (!*err)
		return skel;
	for (i = 0; i < NHOOKS; i++)
		bpf_link__destroy(links[i]);
	memset(links, 0, NHOOKS * sizeof(*links));
	lsm_bpf__destroy(skel);
	return NULL;
}

/* Pin what there is into tmp: info, stats, the veth program, the hooks. */
static int pin_base(struct lsm_bpf *skel, struct bpf_link **links,
		    const struct egr_pg_info *info, const char *tmp)
{
	char path[256];
	uint32_t k = 0;
	size_t i;
	int err;

	err = bpf_map_update_elem(bpf_map__fd(skel->maps.egr_pg_info), &k, info, BPF_ANY) ?
		      -errno :
		      0;
	pindir_path(tmp, INFO_PIN, path, sizeof(path));
	err = err ?: bpf_map__pin(skel->maps.egr_pg_info, path);
	pindir_path(tmp, STATS_PIN, path, sizeof(path));
	err = err ?: bpf_map__pin(skel->maps.egr_lsm_stats, path);
	pindir_path(tmp, PROG_PIN, path, sizeof(path));
	err = err ?: bpf_program__pin(skel->progs.egr_veth_guard, path);
	for (i = 0; i < NHOOKS && !err && links[0]; i++) {
		pindir_path(tmp, hooks[i].pin, path, sizeof(path));
		err = bpf_link__pin(links[i], path);
	}
	return err;
}

/* Load, attach the LSM hooks if possible, pin. 0 or -errno. */
static int make_base(void)
{
	struct bpf_link *links[NHOOKS] = { 0 };
	struct egr_pg_info info = { .magic = EGR_MAGIC };
	struct lsm_bpf *skel;
	char tmp[160];
	size_t i;
	int err;

	skel = load_with_lsm(links, &err);
	info.lsm_err = skel ? 0 : err;
	pindir_clean_stale(pktguard_tag, &pg_pins);
	if (!skel) {
		skel = load_obj(false, &err);
		if (!skel)
			return err;
	}
	err = pindir_make_tmp("pktguard", tmp, sizeof(tmp));
	if (err)
		goto out;
	err = pin_base(skel, links, &info, tmp);
	if (!err)
		err = pindir_commit(tmp, EGR_PKTGUARD_DIR, &pg_pins);
	else
		pindir_remove(tmp, &pg_pins);
out:
	for (i = 0; i < NHOOKS; i++)
		bpf_link__destroy(links[i]);
	lsm_bpf__destroy(skel);
	return err;
}

/* ---- the target's veths --------------------------------------------------- */

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

/* The first process of the cgroup, or -ESRCH. */
static int cgroup_pid(const char *cgpath)
{
	char path[4200];
	FILE *f;
	int pid = -ESRCH;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgpath);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -ESRCH;
	fclose(f);
	return pid;
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

	pid = cgroup_pid(cgpath);
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

/* The interface a pinned tcx link is attached to; 0 when its device is
 * gone (defunct), -errno when it is not a tcx link of our program.
 */
static int veth_link_ifindex(const char *name)
{
	struct bpf_link_info li = { 0 };
	uint32_t len = sizeof(li), tcx[2];
	int fd = pin_get(name), pfd, ret = -EPROTO;

	if (fd < 0)
		return fd;
	if (!bpf_obj_get_info_by_fd(fd, &li, &len) && li.type == EGR_LINK_TYPE_TCX) {
		/* bpf_link_info.tcx = { ifindex, attach_type }: the union's start */
		memcpy(tcx, &li.raw_tracepoint, sizeof(tcx));
		pfd = bpf_prog_get_fd_by_id(li.prog_id);
		if (pfd >= 0) {
			if (prog_is(pfd, BPF_PROG_TYPE_SCHED_CLS, "egr_veth_guard"))
				ret = (int)tcx[0];
			close(pfd);
		}
	}
	close(fd);
	return ret;
}

/* For each veth pin: cgroup id, ifindex. cb returns non-zero to stop. */
static int for_each_veth_pin(int (*cb)(const char *name, uint64_t cgid, int ifindex, void *ctx),
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

		if (strncmp(de->d_name, VETH_PREFIX, strlen(VETH_PREFIX)) ||
		    sscanf(de->d_name, VETH_PREFIX "%llu-%d", &cg, &ifx) != 2)
			continue;
		ret = cb(de->d_name, cg, ifx, ctx);
	}
	closedir(d);
	return ret;
}

enum veth_mode {
	VETH_COUNT, /* count the live links of cgid; change nothing */
	VETH_RELEASE, /* unpin every link of cgid */
	VETH_PRUNE, /* unpin the links whose veth is gone, of any cgroup */
};

struct veth_q {
	enum veth_mode mode;
	uint64_t cgid;
	int live;
};

static int veth_cb(const char *name, uint64_t cgid, int ifindex, void *ctx)
{
	struct veth_q *q = ctx;
	int at = veth_link_ifindex(name);

	(void)ifindex;
	if (q->mode != VETH_PRUNE && cgid != q->cgid)
		return 0;
	if (at < 0) /* not a link of ours: leave it alone */
		return 0;
	if (q->mode == VETH_RELEASE || (q->mode == VETH_PRUNE && !at))
		unlink_pin(name);
	else if (at)
		q->live++;
	return 0;
}

int lsm_target_guarded(uint64_t cgid)
{
	struct veth_q q = { .mode = VETH_COUNT, .cgid = cgid };

	for_each_veth_pin(veth_cb, &q);
	return q.live;
}

int lsm_release(uint64_t cgid)
{
	struct veth_q q = { .mode = VETH_RELEASE, .cgid = cgid };

	return for_each_veth_pin(veth_cb, &q);
}

/* Attach the veth guard to the host end of each of the target's veths. */
static int guard_veths(const char *cgpath, uint64_t cgid)
{
	int peers[MAX_IFS], n, i, prog, err = 0, made = 0;

	n = target_peers(cgpath, peers, MAX_IFS);
	if (n <= 0)
		return n ? n : -ENODEV;
	prog = pin_get(PROG_PIN);
	if (prog < 0)
		return prog;
	for (i = 0; i < n && !err; i++) {
		char name[64], path[256];
		int lfd;

		snprintf(name, sizeof(name), VETH_PREFIX "%" PRIu64 "-%d", cgid, peers[i]);
		if (veth_link_ifindex(name) == peers[i]) {
			made++;
			continue; /* already there */
		}
		unlink_pin(name); /* a defunct one */
		lfd = bpf_link_create(prog, peers[i], EGR_TCX_INGRESS, NULL);
		if (lfd < 0) {
			err = -errno;
			break;
		}
		snprintf(path, sizeof(path), EGR_PKTGUARD_DIR "/%s", name);
		if (bpf_obj_pin(lfd, path))
			err = -errno;
		else
			made++;
		close(lfd);
	}
	close(prog);
	return err ? err : made;
}

/* The base pins, made if missing: 0 (*lsm: with the LSM hooks) or -errno,
 * with the warning added.
 */
static int ensure_base(bool *lsm, struct egr_warn *warn)
{
	int err = check_base(lsm);

	if (err == -EPROTO) {
		warn_add(warn,
			 "packet sockets (AF_PACKET) are NOT blocked: %s holds pins not made by "
			 "egressctl; refusing to use or replace them",
			 EGR_PKTGUARD_DIR);
		return err;
	}
	if (err != -ENOENT)
		return err;
	err = make_base();
	if (err == -EEXIST || err == -ENOTEMPTY) /* another egressctl won the race */
		err = 0;
	if (!err)
		err = check_base(lsm);
	if (err)
		warn_add(warn, "packet sockets (AF_PACKET) are NOT blocked: loading the guard failed: %s",
			 strerror(-err));
	return err;
}

int lsm_ensure(const char *cgpath, uint64_t cgid, struct egr_warn *warn)
{
	struct veth_q q = { .mode = VETH_PRUNE };
	bool lsm = false;
	int err, veths;

	err = ensure_base(&lsm, warn);
	if (err)
		return err;
	for_each_veth_pin(veth_cb, &q); /* drop links of veths that are gone */
	veths = guard_veths(cgpath, cgid);
	if (lsm)
		return 0;
	if (veths > 0) {
		struct egr_lsm_info li;

		lsm_info(&li);
		warn_add(warn,
			 "BPF LSM unavailable (%s): packet sockets (AF_PACKET, AF_XDP) are blocked only "
			 "at the target's veth; sockets passed in from outside are NOT covered",
			 !li.available ? "boot with lsm=...,bpf" :
					 "the kernel refuses BPF LSM programs");
		return 0;
	}
	if (!bpf_lsm_active())
		warn_add(warn, "%s", EGR_LSM_WARNING);
	else if (veths == -ESRCH)
		warn_add(warn,
			 "packet sockets (AF_PACKET) are NOT blocked: BPF LSM unavailable (the "
			 "kernel refuses BPF LSM programs) and the target has no process yet (run "
			 "egressctl attach cgroup:%s again once it has one)",
			 cgpath);
	else
		warn_add(warn,
			 "packet sockets (AF_PACKET) are NOT blocked: BPF LSM unavailable (the "
			 "kernel refuses BPF LSM programs) and %s",
			 veths == -EEXIST ? "the target shares the host's network namespace" :
			 veths == -ENODEV ? "the target has no veth" :
					    strerror(-veths));
	return veths < 0 ? veths : -ENODEV;
}

void lsm_info(struct egr_lsm_info *li)
{
	int fd, ncpus, k;

	memset(li, 0, sizeof(*li));
	li->available = bpf_lsm_active();
	k = check_base(&li->lsm_loaded);
	li->guard_loaded = !k;
	li->foreign = k == -EPROTO;
	if (k)
		return;
	fd = pin_get(INFO_PIN);
	if (fd >= 0) {
		struct egr_pg_info info;
		uint32_t key = 0;

		if (!bpf_map_lookup_elem(fd, &key, &info))
			li->lsm_err = info.lsm_err;
		close(fd);
	}
	fd = pin_get(STATS_PIN);
	ncpus = libbpf_num_possible_cpus();
	if (fd >= 0 && ncpus > 0) {
		uint64_t *v = calloc(ncpus, sizeof(*v));
		uint32_t key;
		int c;

		for (key = 0; v && key < EGR_LSM_STAT_MAX; key++) {
			if (bpf_map_lookup_elem(fd, &key, v))
				continue;
			for (c = 0; c < ncpus; c++)
				li->refused[key] += v[c];
		}
		free(v);
	}
	if (fd >= 0)
		close(fd);
}
