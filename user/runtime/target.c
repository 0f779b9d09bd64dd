// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/kstate.h"
#include "runtime/docker.h"
#include "runtime/target.h"
#include "util/cgroup.h"

/* A cgroup that is gone but still has egressctl pins (its path at attach
 * is in egr_meta): found by that path, so detach can clean it up.
 */
static int gone_cgroup(const char *mnt, const char *path, struct egr_target *t)
{
	size_t ml = strlen(mnt), n, i;
	uint64_t *ids;
	char rel[2048];

	if (!strncmp(path, mnt, ml) && (path[ml] == '/' || !path[ml]))
		path += ml;
	snprintf(rel, sizeof(rel), "%s%s", path[0] == '/' ? "" : "/", path);
	if (kstate_list(&ids, &n))
		return -ENOENT;
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;
		bool match;

		if (kstate_open(ids[i], &ks))
			continue;
		match = !strcmp(ks.meta.path, rel) && !kstate_link_alive(&ks);
		kstate_close(&ks);
		if (match) {
			t->cgid = ids[i];
			snprintf(t->rel, sizeof(t->rel), "%s", rel);
			snprintf(t->label, sizeof(t->label), "cgroup:%s", rel);
			free(ids);
			return 0;
		}
	}
	free(ids);
	return -ENOENT;
}

static int from_cgroup(const char *mnt, const char *path, struct egr_target *t, char *err,
		       size_t errlen)
{
	size_t ml = strlen(mnt);
	int ret;

	ret = cgroup_resolve(mnt, path, t->cgpath, sizeof(t->cgpath));
	if (ret == -ENOENT && !gone_cgroup(mnt, path, t)) {
		t->cgpath[0] = '\0';
		return 0;
	}
	if (ret) {
		snprintf(err, errlen, "cgroup '%s': %s", path,
			 ret == -ENOENT ? "no such cgroup" :
			 ret == -EINVAL ? "not a cgroup v2 directory" : strerror(-ret));
		return ret;
	}
	snprintf(t->rel, sizeof(t->rel), "%s", t->cgpath[ml] ? t->cgpath + ml : "/");
	ret = cgroup_id(t->cgpath, &t->cgid);
	if (ret) {
		snprintf(err, errlen, "cgroup '%s': %s", t->cgpath, strerror(-ret));
		return ret;
	}
	if (!t->label[0])
		snprintf(t->label, sizeof(t->label), "cgroup:%s", t->rel);
	return 0;
}

static int from_pid(const char *mnt, const char *s, struct egr_target *t, char *err,
		    size_t errlen)
{
	char path[2048], *end;
	long pid = strtol(s, &end, 10);
	int ret;

	if (!*s || *end || pid <= 0 || pid > 4194304) {
		snprintf(err, errlen, "bad target 'pid:%s': not a process id", s);
		return -EINVAL;
	}
	ret = cgroup_of_pid(pid, path, sizeof(path));
	if (ret == -ESRCH || ret == -ENOENT) {
		snprintf(err, errlen, ret == -ESRCH ? "no such process %ld" :
			 "process %ld has no cgroup v2 (a cgroup v1 only host?)", pid);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "reading the cgroup of process %ld: %s", pid, strerror(-ret));
		return ret;
	}
	return from_cgroup(mnt, path, t, err, errlen);
}

static int from_container(const char *mnt, const char *host, const char *ref,
			  struct egr_target *t, char *err, size_t errlen)
{
	struct docker_container c;
	char path[2048];
	int ret;

	ret = docker_inspect(host, ref, &c, err, errlen);
	if (ret)
		return ret;
	t->container = true;
	snprintf(t->id, sizeof(t->id), "%s", c.id);
	snprintf(t->name, sizeof(t->name), "%s", c.name);
	snprintf(t->label, sizeof(t->label), "%s", c.name);
	snprintf(t->netmode, sizeof(t->netmode), "%s", c.network_mode);
	t->privileged = c.privileged;
	if (!c.running || c.pid <= 0) {
		snprintf(err, errlen, "container '%s' is not running", c.name);
		docker_container_free(&c);
		return -ESRCH;
	}
	ret = cgroup_of_pid(c.pid, path, sizeof(path));
	docker_container_free(&c);
	if (ret == -ENOENT) {
		snprintf(err, errlen,
			 "container '%s' has no cgroup v2: egressctl needs the unified (v2) or hybrid cgroup hierarchy (boot with systemd.unified_cgroup_hierarchy=1)",
			 t->name);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "reading the cgroup of container '%s': %s", t->name,
			 strerror(-ret));
		return ret;
	}
	return from_cgroup(mnt, path, t, err, errlen);
}

/* An attached cgroup by id, also once the cgroup itself is gone. */
static int from_cgid(const char *s, struct egr_target *t, char *err, size_t errlen)
{
	unsigned long long id;
	char *end;

	errno = 0;
	id = strtoull(s, &end, 10);
	if (!*s || *end || errno || !id || *s == '-' || *s == '+') {
		snprintf(err, errlen, "bad target 'cgid:%s': not a cgroup id", s);
		return -EINVAL;
	}
	t->cgid = id;
	snprintf(t->label, sizeof(t->label), "cgid:%llu", id);
	return 0;
}

int target_resolve(const char *spec, const char *docker_host, struct egr_target *t, char *err,
		   size_t errlen)
{
	char mnt[4096];

	memset(t, 0, sizeof(*t));
	if (!spec || !*spec) {
		snprintf(err, errlen, "missing target");
		return -EINVAL;
	}
	if (cgroup2_host_mount(mnt, sizeof(mnt))) {
		snprintf(err, errlen, CGROUP2_MISSING);
		return -ENOENT;
	}
	if (!strncmp(spec, "cgroup:", 7))
		return from_cgroup(mnt, spec + 7, t, err, errlen);
	if (!strncmp(spec, "cgid:", 5))
		return from_cgid(spec + 5, t, err, errlen);
	if (!strncmp(spec, "pid:", 4))
		return from_pid(mnt, spec + 4, t, err, errlen);
	if (!strncmp(spec, "docker:", 7))
		return from_container(mnt, docker_host, spec + 7, t, err, errlen);
	if (!strncmp(spec, "podman:", 7))
		return from_container(mnt, podman_socket(), spec + 7, t, err, errlen);
	return from_container(mnt, docker_host, spec, t, err, errlen);
}
