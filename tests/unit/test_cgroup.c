// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * user/util/cgroup.c: mountinfo and /proc/<pid>/cgroup parsing on samples from
 * pure v2, hybrid and v1-only hosts; cgroup_resolve() and cgroup_id() on
 * real cgroups, created under the live cgroup2 mount when run as root
 * (skipped otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "util/cgroup.h"

#define ID "3f0c2b9e4a1d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b"

/* Write text to a temp file; its path into path. */
static void write_tmp(const char *text, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "/tmp/egr-unit-mountinfo-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int mount_of(const char *text, char *out, size_t len)
{
	char path[64];
	int ret;

	write_tmp(text, path, sizeof(path));
	ret = cgroup2_mount(path, out, len);
	unlink(path);
	return ret;
}

/* mountinfo samples */

static const char mi_pure_v2[] =
	"22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"26 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n"
	"27 22 0:25 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:5 - pstore pstore rw\n";

static const char mi_hybrid[] =
	"31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
	"cgroup2 rw,nsdelegate\n"
	"33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup "
	"cgroup rw,xattr,name=systemd\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup "
	"cgroup rw,memory\n";

/* This very host: no optional fields, cgroup2 last. */
static const char mi_hybrid_here[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

static const char mi_v1_only[] =
	"31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup "
	"cgroup rw,xattr,name=systemd\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup "
	"cgroup rw,memory\n";

static void test_mount_pure_v2(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mount_of(mi_pure_v2, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
}

static void test_mount_hybrid(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mount_of(mi_hybrid, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(mount_of(mi_hybrid_here, out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
}

static void test_mount_v1_only(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mount_of(mi_v1_only, out, sizeof(out)), -ENOENT);
	assert_int_equal(mount_of("", out, sizeof(out)), -ENOENT);
}

static void test_mount_escaped(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(mount_of("50 20 0:40 / /mnt/my\\040cgroup\\011x\\134y rw - cgroup2 none "
				  "rw\n",
				  out, sizeof(out)),
			 0);
	assert_string_equal(out, "/mnt/my cgroup\tx\\y");
	/* A source and options containing " - " look-alikes do not confuse it. */
	assert_int_equal(mount_of("50 20 0:40 / /mnt/a\\040-\\040b rw shared:1 master:2 - cgroup2 "
				  "cg\\040-\\040x rw\n",
				  out, sizeof(out)),
			 0);
	assert_string_equal(out, "/mnt/a - b");
}

static void test_mount_prefers_root(void **state)
{
	char out[PATH_MAX];

	(void)state;
	/* A bind mount of a sub-cgroup first, then the real hierarchy. */
	assert_int_equal(mount_of("60 20 0:38 /docker/abc /mnt/ctr rw - cgroup2 cgroup2 rw\n"
				  "61 20 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
				  out, sizeof(out)),
			 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	/* Only the bind mount: better than nothing. */
	assert_int_equal(mount_of("60 20 0:38 /docker/abc /mnt/ctr rw - cgroup2 cgroup2 rw\n", out,
				  sizeof(out)),
			 0);
	assert_string_equal(out, "/mnt/ctr");
}

static void test_mount_errors(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(mount_of(mi_hybrid, out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(cgroup2_mount("/nonexistent/mountinfo", out, sizeof(out)), -ENOENT);
	/* A line without the separator is ignored. */
	assert_int_equal(mount_of("1 2 0:3 / /x rw cgroup2 cgroup2 rw\n", out, sizeof(out)),
			 -ENOENT);
}

static void test_mount_live(void **state)
{
	char out[PATH_MAX];
	int ret;

	(void)state;
	ret = cgroup2_mount("/proc/self/mountinfo", out, sizeof(out));
	assert_true(ret == 0 || ret == -ENOENT);
	if (ret == 0)
		assert_true(out[0] == '/');
}

/* /proc/<pid>/cgroup samples */

static void test_proc_hybrid_cgroupfs(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(cgroup_parse_proc("12:pids:/docker/" ID "\n"
					   "4:memory:/docker/" ID "\n"
					   "1:name=systemd:/docker/" ID "\n"
					   "0::/docker/" ID "\n",
					   out, sizeof(out)),
			 0);
	assert_string_equal(out, "/docker/" ID);
}

/* Podman's cgroupfs manager on a hybrid host (sample from podman 4.3). */
static void test_proc_hybrid_podman(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(cgroup_parse_proc("9:name=systemd:/libpod_parent/libpod-" ID "\n"
					   "4:memory:/libpod_parent/libpod-" ID "\n"
					   "0::/libpod_parent/libpod-" ID "\n",
					   out, sizeof(out)),
			 0);
	assert_string_equal(out, "/libpod_parent/libpod-" ID);
}

static void test_proc_systemd(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(cgroup_parse_proc("0::/system.slice/docker-" ID ".scope\n", out,
					   sizeof(out)),
			 0);
	assert_string_equal(out, "/system.slice/docker-" ID ".scope");
}

static void test_proc_v1_only(void **state)
{
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(cgroup_parse_proc("12:pids:/docker/" ID "\n"
					   "4:memory:/docker/" ID "\n"
					   "1:name=systemd:/docker/" ID "\n",
					   out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(cgroup_parse_proc("", out, sizeof(out)), -ENOENT);
	/* "10::" is not the v2 line, nor is a v1 line naming "0::". */
	assert_int_equal(cgroup_parse_proc("10::/x\n1:name=0::/y\n", out, sizeof(out)), -ENOENT);
}

static void test_proc_nested(void **state)
{
	char out[PATH_MAX];

	(void)state;
	/* docker-in-docker, kubelet, a child cgroup of a container. */
	assert_int_equal(cgroup_parse_proc("0::/docker/aaa/docker/" ID, out, sizeof(out)), 0);
	assert_string_equal(out, "/docker/aaa/docker/" ID);
	assert_int_equal(cgroup_parse_proc("1:name=systemd:/x\n0::/kubepods.slice/kubepods-pod1."
					   "slice/cri-containerd-" ID ".scope\n",
					   out, sizeof(out)),
			 0);
	assert_string_equal(out, "/kubepods.slice/kubepods-pod1.slice/cri-containerd-" ID ".scope");
	assert_int_equal(cgroup_parse_proc("0::/docker/" ID "/init.scope\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/docker/" ID "/init.scope");
}

static void test_proc_misc(void **state)
{
	char out[PATH_MAX], small[8];

	(void)state;
	assert_int_equal(cgroup_parse_proc("0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* A removed cgroup is marked by the kernel; the marker goes. */
	assert_int_equal(cgroup_parse_proc("0::/docker/x (deleted)\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/docker/x");
	/* Spaces and colons are part of the path. */
	assert_int_equal(cgroup_parse_proc("0::/a b:c\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/a b:c");
	assert_int_equal(cgroup_parse_proc("0::/docker/" ID, small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(cgroup_parse_proc(NULL, out, sizeof(out)), -EINVAL);
}

static void test_of_pid(void **state)
{
	char out[PATH_MAX];
	int ret;

	(void)state;
	ret = cgroup_of_pid(getpid(), out, sizeof(out));
	assert_true(ret == 0 || ret == -ENOENT);
	if (ret == 0)
		assert_true(out[0] == '/');
	assert_int_equal(cgroup_of_pid(INT_MAX, out, sizeof(out)), -ESRCH);
	assert_int_equal(cgroup_of_pid(0, out, sizeof(out)), -EINVAL);
}

/* cgroup_resolve() without privileges: only the non-cgroup cases. */

static void test_resolve_not_cgroup(void **state)
{
	char out[PATH_MAX];

	(void)state;
	/* A directory, but on tmpfs or ext4: -EINVAL. */
	assert_int_equal(cgroup_resolve("/tmp", "/tmp", out, sizeof(out)), -EINVAL);
	assert_string_equal(out, "/tmp");
	assert_int_equal(cgroup_resolve("/", "tmp", out, sizeof(out)), -EINVAL);
	assert_string_equal(out, "/tmp");
	assert_int_equal(cgroup_resolve("/", "/", out, sizeof(out)), -EINVAL);
	assert_string_equal(out, "/");
	/* Not a directory at all. */
	assert_int_equal(cgroup_resolve("/proc/self", "status", out, sizeof(out)), -ENOTDIR);
	assert_int_equal(cgroup_resolve("/tmp", "egr-no-such-dir-x", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_resolve("/tmp", "", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_resolve("/tmp", "a/../b", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_resolve("/tmp", "..", out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_resolve("/tmp", "a/..", out, sizeof(out)), -EINVAL);
	/* "..." and "..x" are names, not parents. */
	assert_int_equal(cgroup_resolve("/tmp", "...", out, sizeof(out)), -ENOENT);
	assert_string_equal(out, "/tmp/...");
	assert_int_equal(cgroup_resolve("/tmp", "..x/", out, sizeof(out)), -ENOENT);
	assert_string_equal(out, "/tmp/..x");
	assert_int_equal(cgroup_resolve("/tmp", "x", out, 5), -ENAMETOOLONG);
}

/* Live cgroups, as root. */

struct live {
	char mount[PATH_MAX];
	char name[64];
	char dir[PATH_MAX + 64];
};

static int live_setup(void **state)
{
	static struct live lv;

	*state = NULL;
	if (geteuid() != 0 || cgroup2_mount("/proc/self/mountinfo", lv.mount, sizeof(lv.mount)))
		return 0;
	snprintf(lv.name, sizeof(lv.name), "egr-unit-%d", (int)getpid());
	snprintf(lv.dir, sizeof(lv.dir), "%s/%s", lv.mount, lv.name);
	if (mkdir(lv.dir, 0755) && errno != EEXIST)
		return 0;
	*state = &lv;
	return 0;
}

static int live_teardown(void **state)
{
	struct live *lv = *state;

	if (lv)
		rmdir(lv->dir);
	return 0;
}

#define NEED_LIVE(lv)                                                            \
	do {                                                                     \
		if (!(lv)) {                                                     \
			print_message("needs root and a cgroup2 mount\n");       \
			skip();                                                  \
		}                                                                \
	} while (0)

static void test_resolve_live(void **state)
{
	struct live *lv = *state;
	char in[2 * PATH_MAX], out[PATH_MAX];

	NEED_LIVE(lv);
	/* Relative, absolute under the mount, absolute relative to it. */
	assert_int_equal(cgroup_resolve(lv->mount, lv->name, out, sizeof(out)), 0);
	assert_string_equal(out, lv->dir);
	assert_int_equal(cgroup_resolve(lv->mount, lv->dir, out, sizeof(out)), 0);
	assert_string_equal(out, lv->dir);
	snprintf(in, sizeof(in), "/%s", lv->name);
	assert_int_equal(cgroup_resolve(lv->mount, in, out, sizeof(out)), 0);
	assert_string_equal(out, lv->dir);
	/* Doubled and trailing slashes, "." components. */
	snprintf(in, sizeof(in), ".//%s/./", lv->name);
	assert_int_equal(cgroup_resolve(lv->mount, in, out, sizeof(out)), 0);
	assert_string_equal(out, lv->dir);
	/* A mount given with a trailing slash. */
	snprintf(in, sizeof(in), "%s/", lv->mount);
	assert_int_equal(cgroup_resolve(in, lv->name, out, sizeof(out)), 0);
	assert_string_equal(out, lv->dir);
	/* The root cgroup. */
	assert_int_equal(cgroup_resolve(lv->mount, "/", out, sizeof(out)), 0);
	assert_string_equal(out, lv->mount);
}

static void test_resolve_live_errors(void **state)
{
	struct live *lv = *state;
	char in[2 * PATH_MAX], out[PATH_MAX];

	NEED_LIVE(lv);
	snprintf(in, sizeof(in), "%s/../%s", lv->name, lv->name);
	assert_int_equal(cgroup_resolve(lv->mount, in, out, sizeof(out)), -EINVAL);
	snprintf(in, sizeof(in), "%s/..", lv->dir);
	assert_int_equal(cgroup_resolve(lv->mount, in, out, sizeof(out)), -EINVAL);
	assert_int_equal(cgroup_resolve(lv->mount, "../unified", out, sizeof(out)), -EINVAL);
	snprintf(in, sizeof(in), "%s/nope", lv->name);
	assert_int_equal(cgroup_resolve(lv->mount, in, out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_resolve(lv->mount, "egr-unit-no-such-cgroup", out, sizeof(out)),
			 -ENOENT);
	/* Any other absolute path is taken relative to the mount. */
	assert_int_equal(cgroup_resolve(lv->mount, "/tmp", out, sizeof(out)), -ENOENT);
	snprintf(in, sizeof(in), "%s/tmp", lv->mount);
	assert_string_equal(out, in);
	/* A control file is not a cgroup. */
	snprintf(in, sizeof(in), "%s/cgroup.procs", lv->name);
	assert_int_equal(cgroup_resolve(lv->mount, in, out, sizeof(out)), -ENOTDIR);
}

static void test_id_live(void **state)
{
	struct live *lv = *state;
	struct {
		struct file_handle fh;
		uint64_t cgid;
	} h;
	struct stat st;
	uint64_t id = 0;
	int mnt_id;

	NEED_LIVE(lv);
	assert_int_equal(cgroup_id(lv->dir, &id), 0);
	assert_int_equal(stat(lv->dir, &st), 0);
	assert_true(id == (uint64_t)st.st_ino);
	assert_true(id != 0);
	/* The kernfs file handle (what systemd uses) holds the same id. */
	h.fh.handle_bytes = sizeof(h.cgid);
	if (name_to_handle_at(AT_FDCWD, lv->dir, &h.fh, &mnt_id, 0) == 0) {
		uint64_t cgid;

		memcpy(&cgid, h.fh.f_handle, sizeof(cgid));
		assert_true(cgid == id);
	}
	assert_int_equal(cgroup_id(lv->mount, &id), 0);
	assert_int_equal(cgroup_id("/egr-no-such-dir", &id), -ENOENT);
}

int main(void)
{
	/* One group: tests/run.sh counts the last "[  PASSED  ]" line. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_pure_v2),
		cmocka_unit_test(test_mount_hybrid),
		cmocka_unit_test(test_mount_v1_only),
		cmocka_unit_test(test_mount_escaped),
		cmocka_unit_test(test_mount_prefers_root),
		cmocka_unit_test(test_mount_errors),
		cmocka_unit_test(test_mount_live),
		cmocka_unit_test(test_proc_hybrid_cgroupfs),
		cmocka_unit_test(test_proc_hybrid_podman),
		cmocka_unit_test(test_proc_systemd),
		cmocka_unit_test(test_proc_v1_only),
		cmocka_unit_test(test_proc_nested),
		cmocka_unit_test(test_proc_misc),
		cmocka_unit_test(test_of_pid),
		cmocka_unit_test(test_resolve_not_cgroup),
		cmocka_unit_test(test_resolve_live),
		cmocka_unit_test(test_resolve_live_errors),
		cmocka_unit_test(test_id_live),
	};

	return cmocka_run_group_tests_name("cgroup", tests, live_setup, live_teardown);
}
