// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The strict-mode guard: install, remove, map upkeep, counters. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "guard.skel.h"
#include "kernel/guard.h"
#include "kernel/kstate.h"
#include "util/cgroup.h"
#include "util/log.h"

static const char *const guard_pins[] = { "link", "prog", "egr_guard_cg", "egr_guard_stats",
					  "egr_guard_meta" };

bool guard_present(void)
{
	return !access(EGR_GUARD_MAP_PIN, F_OK);
}

static void rm_guard_dir(const char *dir)
{
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(guard_pins) / sizeof(guard_pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, guard_pins[i]);
		unlink(path);
	}
	rmdir(dir);
}

int guard_remove(void)
{
	if (access(EGR_GUARD_DIR, F_OK))
		return -ENOENT;
	rm_guard_dir(EGR_GUARD_DIR);
	return access(EGR_GUARD_DIR, F_OK) ? 0 : -ENOTEMPTY;
}

static int open_guard_pin(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), EGR_GUARD_DIR "/%s", name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int guard_mark(uint64_t cgid, uint32_t val)
{
	int fd = bpf_obj_get(EGR_GUARD_MAP_PIN), ret = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_map_update_elem(fd, &cgid, &val, BPF_ANY))
		ret = -errno;
	close(fd);
	if (ret)
		pr_err("guard: entering cgroup id %llu: %s\n", (unsigned long long)cgid,
		       strerror(-ret));
	return ret;
}

int guard_unmark(uint64_t cgid)
{
	int fd = bpf_obj_get(EGR_GUARD_MAP_PIN), ret = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_map_delete_elem(fd, &cgid) && errno != ENOENT)
		ret = -errno;
	close(fd);
	return ret;
}

static bool link_alive(int link_fd, uint64_t *cgid)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return false;
	if (cgid)
		*cgid = info.cgroup.cgroup_id;
	return info.cgroup.cgroup_id != 0;
}

static bool in_list(uint64_t id, const uint64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

int guard_sync(const uint64_t *allow, size_t n)
{
	uint64_t *ids = NULL, key, next, *drop = NULL;
	size_t nids = 0, ndrop = 0, cap = 0, i;
	void *prev = NULL;
	uint32_t val;
	int fd, ret;

	fd = bpf_obj_get(EGR_GUARD_MAP_PIN);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = kstate_list(&ids, &nids);
	if (ret)
		goto out;
	/* Live targets: managed. Defunct ones are left to their cleanup. */
	for (i = 0; i < nids; i++) {
		struct egr_kstate ks;

		if (kstate_open(ids[i], &ks))
			continue;
		val = EGR_GUARD_MANAGED;
		if (kstate_link_alive(&ks) && bpf_map_update_elem(fd, &ids[i], &val, BPF_ANY)) {
			ret = -errno;
			kstate_close(&ks);
			goto out;
		}
		kstate_close(&ks);
	}
	for (i = 0; i < n; i++) {
		val = EGR_GUARD_ALLOW;
		if (!in_list(allow[i], ids, nids) &&
		    bpf_map_update_elem(fd, &allow[i], &val, BPF_ANY)) {
			ret = -errno;
			goto out;
		}
	}
	/* Collect first: deleting while iterating restarts the walk. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		if ((val == EGR_GUARD_MANAGED && in_list(key, ids, nids)) ||
		    (val == EGR_GUARD_ALLOW && in_list(key, allow, n)))
			continue;
		if (ndrop == cap) {
			void *p = realloc(drop, (cap = cap ? 2 * cap : 16) * sizeof(*drop));

			if (!p) {
				ret = -ENOMEM;
				goto out;
			}
			drop = p;
		}
		drop[ndrop++] = key;
	}
	for (i = 0; i < ndrop; i++)
		bpf_map_delete_elem(fd, &drop[i]);
out:
	free(ids);
	free(drop);
	close(fd);
	return ret;
}

/* The pinned guard: 0 with *alive and meta, or -ENOENT / -EPROTO. */
static int read_meta(struct egr_guard_meta *m, bool *alive, uint64_t *link_cgid)
{
	uint32_t k = 0;
	int fd, lfd, ret = 0;

	fd = open_guard_pin("egr_guard_meta");
	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : -EPROTO;
	if (bpf_map_lookup_elem(fd, &k, m) || m->magic != EGR_MAGIC || m->abi != EGR_GUARD_ABI)
		ret = -EPROTO;
	close(fd);
	if (ret)
		return ret;
	lfd = open_guard_pin("link");
	*alive = lfd >= 0 && link_alive(lfd, link_cgid);
	if (lfd >= 0)
		close(lfd);
	return 0;
}

int guard_install(const char *rel, bool *created, char *err, size_t errlen)
{
	struct egr_guard_meta meta = { .magic = EGR_MAGIC, .abi = EGR_GUARD_ABI };
	char mnt[2048], cgpath[4096], tmp[160], path[256];
	struct guard_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	uint64_t cgid, lcg = 0;
	uint32_t k = 0;
	bool alive;
	int cgfd = -1, ret;

	*created = false;
	ret = kstate_prepare();
	if (ret) {
		snprintf(err, errlen, "preparing " EGR_PIN_ROOT ": %s", strerror(-ret));
		return ret;
	}
	if (cgroup2_host_mount(mnt, sizeof(mnt))) {
		snprintf(err, errlen, CGROUP2_MISSING);
		return -ENOENT;
	}
	if (strlen(rel) > 1024) {
		snprintf(err, errlen, "guard cgroup path too long");
		return -ENAMETOOLONG;
	}
	snprintf(cgpath, sizeof(cgpath), "%s/%.1024s", mnt, rel[0] == '/' ? rel + 1 : rel);
	if (mkdir(cgpath, 0755) && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "creating cgroup %s: %s", cgpath, strerror(-ret));
		return ret;
	}
	ret = cgroup_resolve(mnt, rel, cgpath, sizeof(cgpath));
	if (!ret)
		ret = cgroup_id(cgpath, &cgid);
	if (ret) {
		snprintf(err, errlen, "guard cgroup %s: %s", cgpath,
			 ret == -EINVAL ? "not a cgroup v2 directory" : strerror(-ret));
		return ret;
	}
	ret = read_meta(&meta, &alive, &lcg);
	if (ret == -EPROTO) {
		snprintf(err, errlen, EGR_GUARD_DIR " holds pins not made by this egressctl");
		return ret;
	}
	if (!ret && alive && lcg == cgid)
		return guard_sync(NULL, 0); /* in place: keep its map */
	if (!ret && alive) {
		snprintf(
			err, errlen,
			"a guard is already attached to cgroup %s (remove it first: egressctl watch --remove-guard)",
			meta.path);
		return -EEXIST;
	}
	if (!ret)
		guard_remove(); /* its cgroup is gone */

	meta = (struct egr_guard_meta){ .magic = EGR_MAGIC,
					.abi = EGR_GUARD_ABI,
					.cgroup_id = cgid,
					.created = (uint64_t)time(NULL) };
	snprintf(meta.path, sizeof(meta.path), "%s", cgpath + strlen(mnt));
	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "opening cgroup %s: %s", cgpath, strerror(-ret));
		return ret;
	}
	skel = guard_bpf__open_and_load();
	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "loading the guard program: %s", strerror(-ret));
		goto out;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.egr_guard_meta), &k, &meta, BPF_ANY)) {
		ret = -errno;
		snprintf(err, errlen, "guard metadata: %s", strerror(-ret));
		goto out;
	}
	snprintf(tmp, sizeof(tmp), EGR_PIN_ROOT "/tmp-guard-%d", (int)getpid());
	if (mkdir(tmp, 0700)) {
		ret = -errno;
		snprintf(err, errlen, "creating %s: %s", tmp, strerror(-ret));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/egr_guard_cg", tmp);
	ret = bpf_map__pin(skel->maps.egr_guard_cg, path);
	snprintf(path, sizeof(path), "%s/egr_guard_stats", tmp);
	if (!ret)
		ret = bpf_map__pin(skel->maps.egr_guard_stats, path);
	snprintf(path, sizeof(path), "%s/egr_guard_meta", tmp);
	if (!ret)
		ret = bpf_map__pin(skel->maps.egr_guard_meta, path);
	snprintf(path, sizeof(path), "%s/prog", tmp);
	if (!ret)
		ret = bpf_program__pin(skel->progs.egr_guard, path);
	if (ret) {
		snprintf(err, errlen, "pinning the guard in %s: %s", tmp, strerror(-ret));
		goto out_rm;
	}
	/*
	 * Enter the attached targets before the guard goes live, so no
	 * managed container is cut off for a moment.
	 */
	{
		uint64_t *ids = NULL;
		size_t n = 0, i;
		uint32_t val = EGR_GUARD_MANAGED;

		kstate_list(&ids, &n);
		for (i = 0; i < n; i++)
			bpf_map_update_elem(bpf_map__fd(skel->maps.egr_guard_cg), &ids[i], &val,
					    BPF_ANY);
		free(ids);
	}
	link = bpf_program__attach_cgroup(skel->progs.egr_guard, cgfd);
	if (!link) {
		ret = -errno;
		snprintf(err, errlen, "attaching the guard to cgroup %s: %s", cgpath,
			 strerror(-ret));
		goto out_rm;
	}
	snprintf(path, sizeof(path), "%s/link", tmp);
	ret = bpf_link__pin(link, path);
	if (ret) {
		snprintf(err, errlen, "pinning the guard link: %s", strerror(-ret));
		goto out_rm;
	}
	if (rename(tmp, EGR_GUARD_DIR)) {
		ret = -errno;
		snprintf(err, errlen, "renaming %s to " EGR_GUARD_DIR ": %s", tmp, strerror(-ret));
		goto out_rm;
	}
	*created = true;
	ret = guard_sync(NULL, 0);
	goto out;
out_rm:
	rm_guard_dir(tmp);
out:
	bpf_link__destroy(link);
	guard_bpf__destroy(skel);
	if (cgfd >= 0)
		close(cgfd);
	return ret;
}

int guard_info(struct egr_guard_info *gi)
{
	struct egr_counter *v;
	uint64_t key, next;
	void *prev = NULL;
	uint32_t k, val;
	int fd, ncpus, c, ret;

	memset(gi, 0, sizeof(*gi));
	ret = read_meta(&gi->meta, &gi->alive, NULL);
	if (ret)
		return ret;
	fd = open_guard_pin("egr_guard_cg");
	if (fd < 0)
		return -EPROTO;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		gi->entries++;
		if (!bpf_map_lookup_elem(fd, &key, &val) && val == EGR_GUARD_MANAGED)
			gi->managed++;
	}
	close(fd);
	fd = open_guard_pin("egr_guard_stats");
	ncpus = libbpf_num_possible_cpus();
	if (fd < 0 || ncpus < 1) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	v = calloc(ncpus, sizeof(*v));
	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	for (k = 0; k < EGR_GSTAT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (c = 0; c < ncpus; c++) {
			gi->stats[k].packets += v[c].packets;
			gi->stats[k].bytes += v[c].bytes;
		}
	}
	free(v);
	close(fd);
	return 0;
}
