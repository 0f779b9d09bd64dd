// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The strict-mode guard: install, remove, map upkeep, counters. */
#include <dirent.h>
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
#include "kernel/pindir.h"
#include "util/cgroup.h"
#include "util/err.h"

static const char *const guard_pin_names[] = { "link", "prog", "egr_guard_cg", "egr_guard_stats",
					       "egr_guard_meta" };
static const struct pinset guard_pins = { guard_pin_names,
					  sizeof(guard_pin_names) / sizeof(guard_pin_names[0]), NULL };

bool guard_present(void)
{
	return !access(EGR_GUARD_MAP_PIN, F_OK);
}

int guard_remove(void)
{
	if (access(EGR_GUARD_DIR, F_OK))
		return -ENOENT;
	return pindir_remove(EGR_GUARD_DIR, &guard_pins);
}

static int open_guard_pin(const char *name)
{
	return pindir_open(EGR_GUARD_DIR, name);
}

int guard_mark(uint64_t cgid, uint32_t val, char *err, size_t errlen)
{
	int fd = bpf_obj_get(EGR_GUARD_MAP_PIN), ret = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_map_update_elem(fd, &cgid, &val, BPF_ANY))
		ret = -errno;
	close(fd);
	if (ret)
		seterr(err, errlen, "guard: entering cgroup id %llu: %s", (unsigned long long)cgid,
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

/* guard_sync(); keep_allowed: every EGR_GUARD_ALLOW entry stays. */
static int sync_entries(const uint64_t *allow, size_t n, bool keep_allowed)
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
		    (val == EGR_GUARD_ALLOW && (keep_allowed || in_list(key, allow, n))))
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

int guard_sync(const uint64_t *allow, size_t n)
{
	return sync_entries(allow, n, false);
}

int guard_sync_keep(void)
{
	return sync_entries(NULL, 0, true);
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

/* The guard's cgroup: rel below the cgroup v2 mount, created if missing;
 * its directory, the length of the mount's path in it, and its id.
 */
static int guard_cgroup(const char *rel, char *cgpath, size_t len, size_t *mlen, uint64_t *cgid,
			char *err, size_t errlen)
{
	char mnt[2048];
	int ret;

	if (cgroup2_host_mount(mnt, sizeof(mnt))) {
		seterr(err, errlen, CGROUP2_MISSING);
		return -ENOENT;
	}
	if (strlen(rel) > 1024) {
		seterr(err, errlen, "guard cgroup path too long");
		return -ENAMETOOLONG;
	}
	snprintf(cgpath, len, "%s/%.1024s", mnt, rel[0] == '/' ? rel + 1 : rel);
	if (mkdir(cgpath, 0755) && errno != EEXIST) {
		ret = -errno;
		seterr(err, errlen, "creating cgroup %s: %s", cgpath, strerror(-ret));
		return ret;
	}
	ret = cgroup_resolve(mnt, rel, cgpath, len);
	if (!ret)
		ret = cgroup_id(cgpath, cgid);
	if (ret) {
		seterr(err, errlen, "guard cgroup %s: %s", cgpath,
		       ret == -EINVAL ? "not a cgroup v2 directory" : strerror(-ret));
		return ret;
	}
	*mlen = strlen(mnt);
	return 0;
}

/* The guard pinned now: 1 when it is to be installed (none, or one whose
 * cgroup is gone, which is removed), 0 when it is in place on cgid
 * already, or -errno.
 */
static int check_pinned(uint64_t cgid, char *err, size_t errlen)
{
	struct egr_guard_meta meta;
	uint64_t lcg = 0;
	bool alive;
	int ret = read_meta(&meta, &alive, &lcg);

	if (ret == -EPROTO) {
		seterr(err, errlen, EGR_GUARD_DIR " holds pins not made by this egressctl");
		return ret;
	}
	if (ret)
		return 1;
	if (alive && lcg == cgid)
		return 0;
	if (alive) {
		seterr(err, errlen,
		       "a guard is already attached to cgroup %s (remove it first: egressctl watch --remove-guard)",
		       meta.path);
		return -EEXIST;
	}
	guard_remove(); /* its cgroup is gone */
	return 1;
}

/* Pin the guard's maps and program into tmp and enter the attached targets
 * as managed, before the guard goes live: no managed container is cut off
 * for a moment.
 */
static int pin_guard(struct guard_bpf *skel, const char *tmp, char *err, size_t errlen)
{
	uint32_t val = EGR_GUARD_MANAGED;
	uint64_t *ids = NULL;
	size_t n = 0, i;
	char path[256];
	int ret;

	pindir_path(tmp, "egr_guard_cg", path, sizeof(path));
	ret = bpf_map__pin(skel->maps.egr_guard_cg, path);
	pindir_path(tmp, "egr_guard_stats", path, sizeof(path));
	if (!ret)
		ret = bpf_map__pin(skel->maps.egr_guard_stats, path);
	pindir_path(tmp, "egr_guard_meta", path, sizeof(path));
	if (!ret)
		ret = bpf_map__pin(skel->maps.egr_guard_meta, path);
	pindir_path(tmp, "prog", path, sizeof(path));
	if (!ret)
		ret = bpf_program__pin(skel->progs.egr_guard, path);
	if (ret) {
		seterr(err, errlen, "pinning the guard in %s: %s", tmp, strerror(-ret));
		return ret;
	}
	kstate_list(&ids, &n);
	for (i = 0; i < n; i++)
		bpf_map_update_elem(bpf_map__fd(skel->maps.egr_guard_cg), &ids[i], &val, BPF_ANY);
	free(ids);
	return 0;
}

/* Attach the guard to the cgroup (cgfd, cgpath) and pin the link in tmp. */
static int link_guard(struct guard_bpf *skel, int cgfd, const char *cgpath, const char *tmp,
		      struct bpf_link **link, char *err, size_t errlen)
{
	char path[256];
	int ret;

	*link = bpf_program__attach_cgroup(skel->progs.egr_guard, cgfd);
	if (!*link) {
		ret = -errno;
		seterr(err, errlen, "attaching the guard to cgroup %s: %s", cgpath, strerror(-ret));
		return ret;
	}
	pindir_path(tmp, "link", path, sizeof(path));
	ret = bpf_link__pin(*link, path);
	if (ret)
		seterr(err, errlen, "pinning the guard link: %s", strerror(-ret));
	return ret;
}

/* Load the guard for the cgroup of meta, pin it into a temporary directory
 * and move that into place (kernel/pindir.h).
 */
static int make_guard(const struct egr_guard_meta *meta, const char *cgpath, char *err,
		      size_t errlen)
{
	struct guard_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	char tmp[160];
	uint32_t k = 0;
	int cgfd, ret;

	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		ret = -errno;
		seterr(err, errlen, "opening cgroup %s: %s", cgpath, strerror(-ret));
		return ret;
	}
	skel = guard_bpf__open_and_load();
	if (!skel) {
		ret = -errno;
		seterr(err, errlen, "loading the guard program: %s", strerror(-ret));
		goto out;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.egr_guard_meta), &k, meta, BPF_ANY)) {
		ret = -errno;
		seterr(err, errlen, "guard metadata: %s", strerror(-ret));
		goto out;
	}
	ret = pindir_make_tmp("guard", tmp, sizeof(tmp));
	if (ret) {
		seterr(err, errlen, "creating %s: %s", tmp, strerror(-ret));
		goto out;
	}
	ret = pin_guard(skel, tmp, err, errlen);
	if (!ret)
		ret = link_guard(skel, cgfd, cgpath, tmp, &link, err, errlen);
	if (ret) {
		pindir_remove(tmp, &guard_pins);
		goto out;
	}
	ret = pindir_commit(tmp, EGR_GUARD_DIR, &guard_pins);
	if (ret)
		seterr(err, errlen, "renaming %s to " EGR_GUARD_DIR ": %s", tmp, strerror(-ret));
out:
	bpf_link__destroy(link);
	guard_bpf__destroy(skel);
	close(cgfd);
	return ret;
}

int guard_install(const char *rel, bool *created, char *err, size_t errlen)
{
	struct egr_guard_meta meta;
	char cgpath[4096];
	uint64_t cgid = 0;
	size_t mlen = 0;
	int ret;

	*created = false;
	ret = kstate_prepare(err, errlen);
	if (!ret)
		ret = guard_cgroup(rel, cgpath, sizeof(cgpath), &mlen, &cgid, err, errlen);
	if (!ret)
		ret = check_pinned(cgid, err, errlen);
	/* In place: keep its map, the entries of containers allowed
	 * unmanaged too (watch's full pass syncs them at its end; dropped
	 * here, they would be denied until the pass reached them).
	 */
	if (ret <= 0)
		return ret ? ret : sync_entries(NULL, 0, true);
	meta = (struct egr_guard_meta){ .magic = EGR_MAGIC,
					.abi = EGR_GUARD_ABI,
					.cgroup_id = cgid,
					.created = (uint64_t)time(NULL) };
	snprintf(meta.path, sizeof(meta.path), "%.*s", (int)sizeof(meta.path) - 1, cgpath + mlen);
	ret = make_guard(&meta, cgpath, err, errlen);
	if (ret)
		return ret;
	*created = true;
	return guard_sync(NULL, 0);
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

/* Walk state for guard_held(). */
struct held_walk {
	int map_fd;
	size_t mlen; /* length of the cgroup v2 mount's path */
	struct egr_guard_held *h;
};

static void held_add(struct held_walk *w, const char *dir)
{
	struct egr_guard_held *h = w->h;
	char **p;

	h->count++;
	if (h->n >= EGR_GUARD_HELD_LIST)
		return;
	p = realloc(h->paths, (h->n + 1) * sizeof(*p));
	if (!p)
		return;
	h->paths = p;
	h->paths[h->n] = strdup(dir + w->mlen);
	if (h->paths[h->n])
		h->n++;
}

/* The cgroup dir and its descendants (depth bounded): those with a
 * process that the guard has no entry for, for them or an ancestor below
 * the guarded cgroup (covered).
 */
static void held_walk(struct held_walk *w, const char *dir, int depth, bool covered)
{
	struct dirent *de;
	struct stat sb;
	uint32_t val;
	uint64_t id;
	DIR *d;

	if (stat(dir, &sb))
		return;
	id = sb.st_ino; /* a cgroup v2 directory's inode number is its id */
	if (!bpf_map_lookup_elem(w->map_fd, &id, &val))
		covered = true;
	if (!covered && cgroup_first_pid(dir) > 0)
		held_add(w, dir);
	if (depth >= EGR_GUARD_HELD_DEPTH)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[4200];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		held_walk(w, sub, depth + 1, covered);
	}
	closedir(d);
}

int guard_held(struct egr_guard_held *h)
{
	struct egr_guard_meta m;
	struct held_walk w = { .h = h };
	char mnt[2048], dir[4200];
	bool alive;
	int ret;

	memset(h, 0, sizeof(*h));
	ret = read_meta(&m, &alive, NULL);
	if (ret)
		return ret;
	if (!alive || cgroup2_host_mount(mnt, sizeof(mnt)))
		return 0;
	w.map_fd = open_guard_pin("egr_guard_cg");
	if (w.map_fd < 0)
		return -EPROTO;
	w.mlen = strlen(mnt);
	snprintf(dir, sizeof(dir), "%s%s%.2048s", mnt, m.path[0] == '/' ? "" : "/", m.path);
	held_walk(&w, dir, 0, false);
	close(w.map_fd);
	return 0;
}

void guard_held_free(struct egr_guard_held *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->paths[i]);
	free(h->paths);
	memset(h, 0, sizeof(*h));
}
