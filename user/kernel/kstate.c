// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attach, pin, open and detach per-cgroup program instances.
 * Open -> size maps -> load -> fill -> pin maps -> attach links -> pin links,
 * all into a temporary directory that is renamed into place last, so a
 * killed attach never leaves a half-made EGR_PIN_ROOT/<id>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "kernel/guard.h"
#include "kernel/kstate.h"
#include "kernel/lsm.h"
#include "kernel/registry.h"
#include "util/log.h"

#define LOCK_PATH "/run/egressctl.lock"

/* Pin names; keep in sync with kstate_open() and kstate_detach(). */
static const char *const map_pins[] = { "egr_ctl",   "egr_meta",  "egr_v4",    "egr_v6",
					"egr_rules", "egr_hits",  "egr_stats", "egr_free",
					"egr_sk",    "egr_evcfg", "egr_events" };
static const char *const other_pins[] = { "link_egress", "link_sockops", "prog_egress",
					  "prog_sockops" };

int kstate_prepare(void)
{
	struct statfs st;
	struct stat sb;

	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		mkdir("/sys/fs/bpf", 0755);
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			int err = -errno;

			pr_err("mounting bpffs at /sys/fs/bpf: %s\n", strerror(-err));
			return err;
		}
	}
	if (mkdir(EGR_PIN_ROOT, 0700) && errno != EEXIST) {
		int err = -errno;

		pr_err("creating %s: %s\n", EGR_PIN_ROOT, strerror(-err));
		return err;
	}
	/* bpffs may be world-writable: the pin root must be root's alone. */
	if (lstat(EGR_PIN_ROOT, &sb) || !S_ISDIR(sb.st_mode) || sb.st_uid != 0) {
		pr_err("%s is not a directory owned by root; refusing to use it\n", EGR_PIN_ROOT);
		return -EPERM;
	}
	if ((sb.st_mode & 07777) != 0700 && chmod(EGR_PIN_ROOT, 0700)) {
		int err = -errno;

		pr_err("chmod 0700 %s: %s\n", EGR_PIN_ROOT, strerror(-err));
		return err;
	}
	return 0;
}

/* Fresh empty tries in both slots. Each outer-map update waits for running
 * programs (an RCU grace period); one batch per family waits once.
 */
static int new_empty_tries(const struct egr_kstate *ks, uint32_t cap)
{
	struct egr_tries t[2];
	uint32_t slots[2] = { 0, 1 };
	int err, f;

	ktries_init(&t[1]);
	err = ktries_create(cap, &t[0]);
	if (!err)
		err = ktries_create(cap, &t[1]);
	for (f = 0; f < 2 && !err; f++)
		err = ktries_install_family(ks, f, slots, t, 2);
	ktries_close(&t[0]);
	ktries_close(&t[1]);
	return err;
}

int kstate_load(const struct egr_attach_opts *o, const char *label, uint64_t cgid,
		struct egressctl_bpf **out, struct egr_kstate *ks)
{
	struct egr_evcfg ev = { .rate = EGR_EV_DEFAULT_RATE, .burst = EGR_EV_DEFAULT_BURST };
	uint32_t cap = o->max_rules ? o->max_rules : EGR_DEFAULT_MAX_RULES, k;
	struct egr_ctl ctl = { .dflt = o->dflt, .flags = o->audit ? EGR_SF_AUDIT : 0 };
	struct egressctl_bpf *skel;
	int err;

	*out = NULL;
	skel = egressctl_bpf__open();
	if (!skel) {
		err = -errno;
		pr_err("opening the BPF object: %s\n", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(skel->maps.egr_rules, 2 * cap);
	bpf_map__set_max_entries(skel->maps.egr_hits, cap);
	bpf_map__set_max_entries(skel->maps.egr_free, cap);
	skel->rodata->egr_no_cache = o->no_verdict_cache;
	err = egressctl_bpf__load(skel);
	if (err) {
		pr_err("loading the BPF program: %s (is BPF supported and are you root?)\n",
		       strerror(-err));
		goto fail;
	}
	memset(ks, 0, sizeof(*ks));
	ks->cgid = cgid;
	ks->ctl_fd = bpf_map__fd(skel->maps.egr_ctl);
	ks->meta_fd = bpf_map__fd(skel->maps.egr_meta);
	ks->v4_fd = bpf_map__fd(skel->maps.egr_v4);
	ks->v6_fd = bpf_map__fd(skel->maps.egr_v6);
	ks->rules_fd = bpf_map__fd(skel->maps.egr_rules);
	ks->hits_fd = bpf_map__fd(skel->maps.egr_hits);
	ks->stats_fd = bpf_map__fd(skel->maps.egr_stats);
	ks->free_fd = bpf_map__fd(skel->maps.egr_free);
	ks->ncpus = libbpf_num_possible_cpus();
	ks->meta.magic = EGR_MAGIC;
	ks->meta.abi = EGR_ABI_VERSION;
	ks->meta.max_rules = cap;
	ks->meta.cgroup_id = cgid;
	ks->meta.created = time(NULL);
	snprintf(ks->meta.path, sizeof(ks->meta.path), "%s", label);

	err = new_empty_tries(ks, cap);
	for (k = 1; k < EGR_CTL_ENTRIES && !err; k++)
		if (bpf_map_update_elem(ks->ctl_fd, &k, &ctl, BPF_ANY))
			err = -errno;
	if (!err)
		err = kstate_gen_publish(ks, 2); /* slot 0 live */
	k = 0;
	if (!err && (bpf_map_update_elem(ks->meta_fd, &k, &ks->meta, BPF_ANY) ||
		     bpf_map_update_elem(bpf_map__fd(skel->maps.egr_evcfg), &k, &ev, BPF_ANY)))
		err = -errno;
	if (err) {
		pr_err("creating policy maps (%u rules): %s\n", cap, strerror(-err));
		goto fail;
	}
	*out = skel;
	return 0;
fail:
	egressctl_bpf__destroy(skel);
	return err;
}

static void rm_pins(const char *dir)
{
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(other_pins) / sizeof(other_pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, other_pins[i]);
		unlink(path);
	}
	for (i = 0; i < sizeof(map_pins) / sizeof(map_pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_pins[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int pin_all(struct egressctl_bpf *skel, const char *dir)
{
	struct bpf_map *map;
	char path[256];
	int err;

	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue; /* .rodata: load-time settings, held by the program */
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_map__pin(map, path);
		if (err)
			return err;
	}
	snprintf(path, sizeof(path), "%s/prog_egress", dir);
	err = bpf_program__pin(skel->progs.egr_egress, path);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/prog_sockops", dir);
	return bpf_program__pin(skel->progs.egr_sockops, path);
}

static void pin_dir(uint64_t cgid, char *buf, size_t len)
{
	snprintf(buf, len, EGR_PIN_ROOT "/%" PRIu64, cgid);
}

/* Create the links that are missing in dir from its pinned programs, and
 * pin them. An attach or detach killed mid-way can leave a directory
 * without them; this puts the filter back. *made counts links created.
 */
static int attach_links(const char *cgpath, const char *dir, int *made)
{
	static const struct {
		const char *link, *prog;
		enum bpf_attach_type type;
	} l[] = { { "link_egress", "prog_egress", BPF_CGROUP_INET_EGRESS },
		  { "link_sockops", "prog_sockops", BPF_CGROUP_SOCK_OPS } };
	char path[256];
	size_t i;
	int err = 0;

	*made = 0;
	for (i = 0; i < sizeof(l) / sizeof(l[0]) && !err; i++) {
		int pfd, cgfd, lfd;

		snprintf(path, sizeof(path), "%s/%s", dir, l[i].link);
		if (!access(path, F_OK))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, l[i].prog);
		pfd = bpf_obj_get(path);
		if (pfd < 0) {
			err = -errno;
			pr_err("%s: %s (run detach, then attach)\n", path, strerror(-err));
			break;
		}
		cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) {
			err = -errno;
			pr_err("opening cgroup %s: %s\n", cgpath, strerror(-err));
			close(pfd);
			break;
		}
		lfd = bpf_link_create(pfd, cgfd, l[i].type, NULL);
		if (lfd < 0) {
			err = -errno;
			pr_err("attaching %s to cgroup %s: %s\n", l[i].prog, cgpath, strerror(-err));
		} else {
			snprintf(path, sizeof(path), "%s/%s", dir, l[i].link);
			if (bpf_obj_pin(lfd, path)) {
				err = -errno;
				pr_err("pinning %s: %s\n", path, strerror(-err));
			} else {
				(*made)++;
			}
			close(lfd);
		}
		close(cgfd);
		close(pfd);
	}
	return err;
}

/* Temporary directories of attaches, and directories being detached,
 * whose process is gone.
 */
void kstate_clean_stale(void)
{
	struct dirent *de;
	DIR *d = opendir(EGR_PIN_ROOT);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512], proc[64];
		unsigned long long id;
		int pid;

		if (sscanf(de->d_name, "tmp-%llu-%d", &id, &pid) != 2 &&
		    sscanf(de->d_name, "dead-%llu-%d", &id, &pid) != 2)
			continue;
		snprintf(proc, sizeof(proc), "/proc/%d", pid);
		if (!access(proc, F_OK))
			continue;
		snprintf(path, sizeof(path), EGR_PIN_ROOT "/%s", de->d_name);
		rm_pins(path);
	}
	closedir(d);
}

int kstate_attach(const char *cgpath, const char *rel, uint64_t cgid,
		  const struct egr_attach_opts *o, bool *created)
{
	struct egressctl_bpf *skel = NULL;
	struct egr_kstate ks;
	char dir[128], tmp[160];
	struct stat st;
	int err, made;

	*created = false;
	err = kstate_prepare();
	if (err)
		return err;
	lsm_ensure(cgpath, cgid); /* packet-socket guard; warns loudly when it cannot */
	pin_dir(cgid, dir, sizeof(dir));
	if (!stat(dir, &st)) {
		/* Attached already (idempotent); repair missing links. */
		err = kstate_open(cgid, &ks);
		kstate_close(&ks);
		if (err == -EPROTONOSUPPORT) {
			kstate_pr_other_layout(cgpath, ks.meta.abi, NULL);
			return err;
		}
		err = attach_links(cgpath, dir, &made);
		if (!err && made)
			pr_warn("%s: the filter's link was missing (an interrupted command?); re-attached\n",
				cgpath);
		return err ?: registry_add(cgid) ?: guard_mark(cgid, EGR_GUARD_MANAGED);
	}
	kstate_clean_stale();
	/* Registered first: programs that act for all managed cgroups (the
	 * packet-socket hook) cover this one before its filter is in place.
	 */
	err = registry_add(cgid);
	if (err) {
		pr_err("registering cgroup %s in %s: %s\n", cgpath, EGR_MANAGED_PIN, strerror(-err));
		return err;
	}

	err = kstate_load(o, rel, cgid, &skel, &ks);
	if (err)
		goto out;
	/* Maps and programs are pinned in a temporary directory renamed into
	 * place whole; the links come last, in place. A killed attach leaves
	 * either a temporary directory without links (cleaned up by the next
	 * attach) or the directory without links (repaired by the next one).
	 */
	snprintf(tmp, sizeof(tmp), EGR_PIN_ROOT "/tmp-%" PRIu64 "-%d", cgid, (int)getpid());
	if (mkdir(tmp, 0700)) {
		err = -errno;
		pr_err("creating %s: %s\n", tmp, strerror(-err));
		goto out;
	}
	err = pin_all(skel, tmp);
	if (err) {
		pr_err("pinning maps in %s: %s\n", tmp, strerror(-err));
		rm_pins(tmp);
		goto out;
	}
	if (rename(tmp, dir)) {
		err = -errno;
		pr_err("renaming %s to %s: %s\n", tmp, dir, strerror(-err));
		rm_pins(tmp);
		goto out;
	}
	err = attach_links(cgpath, dir, &made);
	if (err) {
		rm_pins(dir);
		goto out;
	}
	*created = true;
	/* Strict mode: the guard on the parent now defers to this filter. */
	err = guard_mark(cgid, EGR_GUARD_MANAGED);
out:
	if (err)
		registry_del(cgid);
	egressctl_bpf__destroy(skel);
	return err;
}

int kstate_link_missing(const struct egr_kstate *ks)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/link_egress", ks->dir);
	return access(path, F_OK) != 0;
}

static int open_pin(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

int kstate_open_pin(const struct egr_kstate *ks, const char *name)
{
	int fd = open_pin(ks->dir, name);

	return fd < 0 ? -errno : fd;
}

int kstate_open(uint64_t cgid, struct egr_kstate *ks)
{
	int *fds[] = { &ks->ctl_fd,   &ks->meta_fd, &ks->v4_fd,    &ks->v6_fd,
		       &ks->rules_fd, &ks->hits_fd, &ks->stats_fd, &ks->free_fd };
	uint32_t k = 0;
	size_t i;
	int err;

	memset(ks, 0, sizeof(*ks));
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		*fds[i] = -1;
	ks->cgid = cgid;
	pin_dir(cgid, ks->dir, sizeof(ks->dir));
	if (access(ks->dir, F_OK))
		return -ENOENT;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		*fds[i] = open_pin(ks->dir, map_pins[i]);
		if (*fds[i] < 0) {
			err = -EPROTO;
			goto fail;
		}
	}
	if (bpf_map_lookup_elem(ks->meta_fd, &k, &ks->meta) || ks->meta.magic != EGR_MAGIC ||
	    ks->meta.cgroup_id != cgid) {
		err = -EPROTO;
		goto fail;
	}
	if (ks->meta.abi != EGR_ABI_VERSION) {
		/* made by another egressctl version: only detach may touch it */
		err = -EPROTONOSUPPORT;
		goto fail;
	}
	ks->ncpus = libbpf_num_possible_cpus();
	if (ks->ncpus < 1) {
		err = ks->ncpus ? ks->ncpus : -EINVAL;
		goto fail;
	}
	return 0;
fail:
	kstate_close(ks);
	return err;
}

void kstate_pr_other_layout(const char *label, uint32_t abi, const char *spec)
{
	pr_err("%s is attached by an egressctl with another map layout (ABI %u, this one %u): "
	       "its filter stays in force; to upgrade: egressctl detach%s%s, then attach and apply again\n",
	       label, abi, EGR_ABI_VERSION, spec ? " " : "", spec ? spec : "");
}

uint32_t kstate_map_id(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

void kstate_close(struct egr_kstate *ks)
{
	int *fds[] = { &ks->ctl_fd,   &ks->meta_fd, &ks->v4_fd,    &ks->v6_fd,
		       &ks->rules_fd, &ks->hits_fd, &ks->stats_fd, &ks->free_fd };
	size_t i;

	kstate_gen_unmap(ks);
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int kstate_detach(uint64_t cgid)
{
	char dir[128], dead[160];

	struct egr_kstate ks;
	int err;

	pin_dir(cgid, dir, sizeof(dir));
	if (access(dir, F_OK)) {
		registry_del(cgid);
		return -ENOENT;
	}
	/* Only remove what egressctl made (its meta map says so). */
	err = kstate_open(cgid, &ks);
	if (err == -EPROTO) {
		pr_err("%s was not made by this egressctl; refusing to remove it\n", dir);
		return err;
	}
	kstate_close(&ks);
	/* One atomic step makes it detached: the directory leaves its name.
	 * Its pins (the links first) go next; if this process dies before
	 * that, the next egressctl command removes what is left.
	 */
	snprintf(dead, sizeof(dead), EGR_PIN_ROOT "/dead-%" PRIu64 "-%d", cgid, (int)getpid());
	if (rename(dir, dead)) {
		err = -errno;
		pr_err("renaming %s: %s\n", dir, strerror(-err));
		return err;
	}
	rm_pins(dead);
	idcache_drop(cgid);
	if (!access(dead, F_OK)) {
		pr_err("removing %s: directory not empty\n", dead);
		return -ENOTEMPTY;
	}
	/* Strict mode: the guard denies the cgroup again. */
	guard_unmark(cgid);
	lsm_release(cgid);
	return registry_del(cgid);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int kstate_list(uint64_t **ids, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*ids = NULL;
	*n = 0;
	d = opendir(EGR_PIN_ROOT);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *end;
		uint64_t id = strtoull(de->d_name, &end, 10);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end)
			continue;
		if (*n == cap) {
			uint64_t *p = realloc(*ids, (cap = cap ? 2 * cap : 16) * sizeof(*p));

			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			*ids = p;
		}
		(*ids)[(*n)++] = id;
	}
	closedir(d);
	qsort(*ids, *n, sizeof(**ids), cmp_u64);
	return 0;
}

int kstate_link_alive(const struct egr_kstate *ks)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	int fd = open_pin(ks->dir, "link_egress"), ret;

	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (ret)
		return 0;
	/* A link whose cgroup was removed reports cgroup_id 0. */
	return info.cgroup.cgroup_id != 0;
}

int kstate_stats(const struct egr_kstate *ks, struct egr_counter out[EGR_STAT_MAX])
{
	struct egr_counter *v = calloc(ks->ncpus, sizeof(*v));
	uint32_t k;
	int c;

	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out) * EGR_STAT_MAX);
	for (k = 0; k < EGR_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(ks->stats_fd, &k, v)) {
			free(v);
			return -errno;
		}
		for (c = 0; c < ks->ncpus; c++) {
			out[k].packets += v[c].packets;
			out[k].bytes += v[c].bytes;
		}
	}
	free(v);
	return 0;
}

int kstate_lock(void)
{
	int fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

void kstate_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
