// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attack: escape attempts (escape) and the cost of the hooks (sockbench,
 * sendbench).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/sched.h>

#include "attack.h"

/* ---- escapes -------------------------------------------------------------------------- */

static int report(const char *what, int ok, int e)
{
	if (ok)
		printf("%s: SUCCEEDED\n", what);
	else
		printf("%s: blocked (%s)\n", what, strerror(e));
	return ok ? 1 : 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), e;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int do_escape(void)
{
	static const char *const procs[] = {
		"/sys/fs/cgroup/cgroup.procs",	       "/sys/fs/cgroup/unified/cgroup.procs",
		"/sys/fs/cgroup/systemd/cgroup.procs", "/sys/fs/cgroup/memory/cgroup.procs",
		"/sys/fs/cgroup/pids/cgroup.procs",
	};
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	char pid[32], name[128];
	size_t i;
	int won = 0, r, fd;

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		r = write_file(procs[i], pid);
		snprintf(name, sizeof(name), "write own pid to %s", procs[i]);
		won += report(name, !r, -r);
	}
	/* a new cgroup of our own, then move there */
	r = mkdir("/sys/fs/cgroup/egr-escape", 0755) ? -errno : 0;
	won += report("mkdir a cgroup under /sys/fs/cgroup",
		      !r && !access("/sys/fs/cgroup/egr-escape/cgroup.procs", F_OK), -r ?: ENOENT);
	rmdir("/sys/fs/cgroup/egr-escape");
	r = umount2("/sys/fs/cgroup", MNT_DETACH) ? -errno : 0;
	won += report("umount /sys/fs/cgroup", !r, -r);
	mkdir("/tmp/egr-cg2", 0755);
	r = mount("none", "/tmp/egr-cg2", "cgroup2", 0, NULL) ? -errno : 0;
	won += report("mount -t cgroup2", !r, -r);
	if (!r) {
		/* with a cgroup2 mount: try the root cgroup */
		r = write_file("/tmp/egr-cg2/cgroup.procs", pid);
		won += report("write own pid to the root cgroup", !r, -r);
		umount2("/tmp/egr-cg2", MNT_DETACH);
	}
	r = mount("none", "/sys/fs/cgroup", "tmpfs", MS_REMOUNT, NULL) ? -errno : 0;
	won += report("remount /sys/fs/cgroup", !r, -r);
	r = mount("bpffs", "/tmp/egr-cg2", "bpf", 0, NULL) ? -errno : 0;
	won += report("mount -t bpf", !r, -r);
	if (!r)
		umount2("/tmp/egr-cg2", MNT_DETACH);
	rmdir("/tmp/egr-cg2");
	{
		/* clone3(CLONE_INTO_CGROUP) needs a cgroup2 directory fd */
		struct clone_args ca = { 0 };
		long pidc;

		fd = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);
		ca.flags = CLONE_INTO_CGROUP;
		ca.exit_signal = SIGCHLD;
		ca.cgroup = fd < 0 ? 0 : (uint64_t)fd;
		pidc = syscall(__NR_clone3, &ca, sizeof(ca));
		if (pidc == 0)
			_exit(0);
		if (pidc > 0)
			waitpid((pid_t)pidc, NULL, 0);
		won += report("clone3(CLONE_INTO_CGROUP, /sys/fs/cgroup)", pidc > 0, errno);
		if (fd >= 0)
			close(fd);
	}

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t) "GPL";
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	won += report("bpf(BPF_PROG_LOAD)", fd >= 0, errno);
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = (int)sys_bpf(BPF_MAP_CREATE, &attr);
	won += report("bpf(BPF_MAP_CREATE)", fd >= 0, errno);
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uintptr_t) "/sys/fs/bpf/egressctl/egr_managed";
	fd = (int)sys_bpf(BPF_OBJ_GET, &attr);
	won += report("bpf(BPF_OBJ_GET) of the registry pin", fd >= 0, errno);
	memset(&attr, 0, sizeof(attr));
	attr.link_id = 1;
	fd = (int)sys_bpf(BPF_LINK_GET_FD_BY_ID, &attr);
	won += report("bpf(BPF_LINK_GET_FD_BY_ID)", fd >= 0, errno);
	fd = open("/sys/fs/bpf/egressctl", O_RDONLY | O_DIRECTORY);
	won += report("open /sys/fs/bpf/egressctl", fd >= 0, errno);
	r = unlink("/sys/fs/bpf/egressctl/egr_managed") ? -errno : 0;
	won += report("unlink a pin", !r, -r);
	r = unshare(CLONE_NEWNET) ? -errno : 0;
	won += report("unshare(CLONE_NEWNET)", !r, -r);
	r = unshare(CLONE_NEWUSER) ? -errno : 0;
	won += report("unshare(CLONE_NEWUSER)", !r, -r);
	r = unshare(CLONE_NEWCGROUP) ? -errno : 0;
	won += report("unshare(CLONE_NEWCGROUP)", !r, -r);
	return won;
}

/* ---- cost of the hooks ---------------------------------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int do_sockbench(int argc, char **argv)
{
	unsigned long i, n;
	double t0;

	if (argc < 1)
		usage();
	n = num(argv[0], 100000000);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0)
			return fail("socket", errno);
		close(fd);
	}
	printf("%.1f ns/op\n", (now_ns() - t0) / n);
	return 0;
}

int do_sendbench(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	unsigned long i, n;
	char b[16] = { 0 };
	double t0;
	int fd;

	if (argc < 1)
		usage();
	n = num(argv[0], 100000000);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket", errno);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		sendto(fd, b, sizeof(b), 0, (struct sockaddr *)&to, sizeof(to));
	printf("%.1f ns/op\n", (now_ns() - t0) / n);
	return 0;
}
