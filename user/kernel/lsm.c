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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.h"
#include "lsm.skel.h"
#include "kernel/kmap.h"
#include "kernel/lsm.h"
#include "kernel/pindir.h"
#include "kernel/registry.h"
#include "kernel/vethguard.h"
#include "util/err.h"

#define SECURITYFS "/sys/kernel/security"
#define SECURITYFS_MAGIC 0x73636673
#define LSM_LIST SECURITYFS "/lsm"
#define PROG_PIN "prog_veth"
#define STATS_PIN "egr_lsm_stats"
#define INFO_PIN "egr_pg_info"

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
	pg_pin_names, sizeof(pg_pin_names) / sizeof(pg_pin_names[0]), VGUARD_PREFIX
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

/*
 * Test hook (README "Tests"): EGRESSCTL_TEST_LSM=absent|refused|unknown
 * makes this process treat BPF LSM as missing from the kernel's LSM list,
 * refused by the kernel, or of unknown state, whatever the kernel says, so
 * that every branch below runs on any kernel. It only changes what this
 * process uses and reports: it never changes what is pinned, and it can
 * only take protection away.
 */
static int test_lsm_state(void)
{
	const char *s = getenv("EGRESSCTL_TEST_LSM");

	if (!s)
		return -1;
	if (!strcmp(s, "absent"))
		return EGR_LSM_ABSENT;
	if (!strcmp(s, "refused"))
		return EGR_LSM_REFUSED;
	if (!strcmp(s, "unknown"))
		return EGR_LSM_UNKNOWN;
	return -1;
}

/* securityfs, where the kernel lists its LSMs, is not always mounted (a
 * minimal VM, a container): mount it as kstate_prepare() mounts bpffs.
 */
static void mount_securityfs(void)
{
	struct statfs st;

	if (!statfs(SECURITYFS, &st) && st.f_type == SECURITYFS_MAGIC)
		return;
	mount("securityfs", SECURITYFS, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* Is "bpf" in the kernel's LSM list? 1 yes, 0 no, -errno when the list
 * cannot be read. do_mount: mount securityfs first if needed.
 */
static int lsm_listed(bool do_mount)
{
	char buf[512];
	ssize_t n;
	int fd;

	if (do_mount)
		mount_securityfs();
	fd = open(LSM_LIST, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = 0;
	return lsm_list_has_bpf(buf);
}

/* The state, from the base pins (lsm_loaded, the error recorded when they
 * were made) and the LSM list, then the test hook.
 */
static enum egr_lsm_state lsm_state(bool lsm_loaded, int lsm_err, bool do_mount, int *err)
{
	enum egr_lsm_state st;
	int listed, t;

	*err = 0;
	if (lsm_loaded) {
		st = EGR_LSM_ACTIVE;
	} else {
		listed = lsm_listed(do_mount);
		st = listed < 0 ? EGR_LSM_UNKNOWN : !listed ? EGR_LSM_ABSENT : EGR_LSM_REFUSED;
		if (st == EGR_LSM_REFUSED)
			*err = lsm_err;
	}
	t = test_lsm_state();
	if (t >= 0 && t != (int)st) {
		st = t;
		*err = st == EGR_LSM_REFUSED ? -EPERM : 0;
	}
	return st;
}

const char *lsm_reason(const struct egr_lsm_info *li, char *buf, size_t len)
{
	switch (li->state) {
	case EGR_LSM_ACTIVE:
		snprintf(buf, len, "BPF LSM active");
		break;
	case EGR_LSM_ABSENT:
		snprintf(buf, len, "BPF LSM is not in the kernel's LSM list: boot with lsm=...,bpf");
		break;
	case EGR_LSM_REFUSED:
		snprintf(buf, len, "the kernel refuses BPF LSM programs: %s",
			 li->lsm_err && li->lsm_err != -EOPNOTSUPP ? strerror(-li->lsm_err) :
								   "not loaded yet: attach loads them");
		break;
	default:
		snprintf(buf, len,
			 "BPF LSM state unknown: " LSM_LIST " cannot be read, securityfs is not mounted");
		break;
	}
	return buf;
}

static int pin_get(const char *name)
{
	return pindir_open(EGR_PKTGUARD_DIR, name);
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
			if (kmap_prog_is(pfd, BPF_PROG_TYPE_LSM, prog))
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
	ok = kmap_prog_is(fd, BPF_PROG_TYPE_SCHED_CLS, "egr_veth_guard");
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
	if (lsm_listed(true) != 1)
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

/* The error the base pins recorded for the LSM hooks (egr_pg_info). */
static int recorded_lsm_err(void)
{
	struct egr_pg_info info;
	uint32_t k = 0;
	int fd = pin_get(INFO_PIN), ret = -ENOENT;

	if (fd >= 0) {
		if (!bpf_map_lookup_elem(fd, &k, &info))
			ret = info.lsm_err;
		close(fd);
	}
	return ret;
}

/*
 * Base pins made while BPF LSM could not be used (not listed, or
 * securityfs not mounted: recorded as -EOPNOTSUPP) get the hooks once the
 * kernel lists it. The outcome is recorded either way, so this is tried
 * once.
 */
static void add_hooks(void)
{
	struct bpf_link *links[NHOOKS] = { 0 };
	struct egr_pg_info info = { .magic = EGR_MAGIC };
	struct lsm_bpf *skel;
	char path[256];
	uint32_t k = 0;
	size_t i;
	int err, fd;

	if (recorded_lsm_err() != -EOPNOTSUPP || lsm_listed(true) != 1)
		return;
	skel = load_with_lsm(links, &err);
	for (i = 0; skel && !err && i < NHOOKS; i++) {
		pindir_path(EGR_PKTGUARD_DIR, hooks[i].pin, path, sizeof(path));
		err = bpf_link__pin(links[i], path);
	}
	if (err) /* all or nothing: check_base() refuses half a set */
		for (i = 0; i < NHOOKS; i++)
			unlink_pin(hooks[i].pin);
	info.lsm_err = err;
	fd = pin_get(INFO_PIN);
	if (fd >= 0) {
		bpf_map_update_elem(fd, &k, &info, BPF_ANY);
		close(fd);
	}
	for (i = 0; i < NHOOKS; i++)
		bpf_link__destroy(links[i]);
	lsm_bpf__destroy(skel);
}

/* The base pins, made if missing: 0 or -errno, with the warning added. */
static int ensure_base(struct egr_warn *warn)
{
	bool lsm;
	int err = check_base(&lsm);

	if (err == -EPROTO) {
		warn_add(warn,
			 "packet sockets (AF_PACKET) are NOT blocked: %s holds pins not made by "
			 "egressctl; refusing to use or replace them",
			 EGR_PKTGUARD_DIR);
		return err;
	}
	if (!err) {
		if (!lsm)
			add_hooks();
		return 0;
	}
	if (err != -ENOENT)
		return err;
	err = make_base();
	if (err == -EEXIST || err == -ENOTEMPTY) /* another egressctl won the race */
		err = 0;
	if (!err)
		err = check_base(&lsm);
	if (err)
		warn_add(warn, "packet sockets (AF_PACKET) are NOT blocked: loading the guard failed: %s",
			 strerror(-err));
	return err;
}

/* Why the target is not covered, from vguard_attach()'s error. */
static const char *uncovered_why(int veths)
{
	switch (veths) {
	case -EEXIST:
		return "it shares the host's network namespace, so there is no veth to guard";
	case -ESRCH:
		return "it has no process yet, so its veths cannot be found (run egressctl attach on it again once it runs)";
	case -ENODEV:
		return "its network namespace has no veth to the host to guard";
	default:
		return NULL;
	}
}

int lsm_ensure(const char *cgpath, const char *rel, uint64_t cgid, struct egr_warn *warn)
{
	struct egr_lsm_info li;
	char reason[160];
	const char *why;
	int err, veths;

	mount_securityfs(); /* so that the LSM list can be read */
	err = ensure_base(warn);
	if (err)
		return err;
	lsm_info(&li);
	vguard_prune(); /* drop what guarded veths that are gone */
	veths = vguard_attach(cgpath, cgid);
	if (li.state == EGR_LSM_ACTIVE)
		return 0;
	lsm_reason(&li, reason, sizeof(reason));
	if (veths > 0) {
		warn_add(warn,
			 "BPF LSM unavailable (%s): packet sockets (AF_PACKET, AF_XDP) are blocked only "
			 "at the target's veth; sockets passed in from outside are NOT covered",
			 reason);
		return 0;
	}
	why = uncovered_why(veths);
	if (why)
		warn_add(warn,
			 "packet sockets (AF_PACKET) are NOT blocked for cgroup %s: %s, and BPF LSM "
			 "unavailable (%s)",
			 rel, why, reason);
	else
		warn_add(warn,
			 "packet sockets (AF_PACKET) are NOT blocked for cgroup %s: guarding its veth "
			 "failed (%s), and BPF LSM unavailable (%s)",
			 rel, strerror(-veths), reason);
	return veths < 0 ? veths : -ENODEV;
}

void lsm_info(struct egr_lsm_info *li)
{
	int fd, ncpus, k;

	bool loaded;

	memset(li, 0, sizeof(*li));
	k = check_base(&loaded);
	li->guard_loaded = !k;
	li->foreign = k == -EPROTO;
	li->state = lsm_state(!k && loaded, k ? -EOPNOTSUPP : recorded_lsm_err(), false,
			      &li->lsm_err);
	if (k)
		return;
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

const char *lsm_state_name(enum egr_lsm_state st)
{
	static const char *const names[] = { "active", "refused", "absent", "unknown" };

	return st <= EGR_LSM_UNKNOWN ? names[st] : "unknown";
}
