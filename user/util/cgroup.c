// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding cgroup v2 directories. Works on pure v2 hosts (/sys/fs/cgroup) and
 * on hybrid ones (/sys/fs/cgroup/unified); a v1-only host has no cgroup2
 * mount and every lookup ends in -ENOENT.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "util/cgroup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Copy s into out, -ENAMETOOLONG when it does not fit. */
static int copy_out(const char *s, size_t n, char *out, size_t len)
{
	if (!out || n >= len)
		return -ENAMETOOLONG;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/*
 * Undo mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place.
 */
static void unescape_octal(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/*
 * One mountinfo line: "36 35 0:38 / /sys/fs/cgroup/unified rw,relatime
 * shared:9 - cgroup2 cgroup2 rw". Optional fields come before " - ", so the
 * fs type is the first field after the separator; the root is field 4 and
 * the mount point field 5. On a cgroup2 line, *mnt and *root point into line
 * (unescaped) and true is returned.
 */
static bool mountinfo_cgroup2(char *line, char **mnt, char **root)
{
	char *sep = strstr(line, " - ");
	char *f[5], *save = NULL, *tok;
	int n = 0;

	if (!sep)
		return false;
	*sep = '\0';
	tok = strtok_r(sep + 3, " ", &save);
	if (!tok || strcmp(tok, "cgroup2") != 0)
		return false;
	save = NULL;
	for (tok = strtok_r(line, " ", &save); tok && n < 5; tok = strtok_r(NULL, " ", &save))
		f[n++] = tok;
	if (n < 5)
		return false;
	*root = f[3];
	*mnt = f[4];
	unescape_octal(*root);
	unescape_octal(*mnt);
	return true;
}

int cgroup2_mount(const char *mountinfo, char *out, size_t len)
{
	char *line = NULL, *mnt, *root, *found = NULL;
	size_t cap = 0;
	FILE *f;
	int ret;

	f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!mountinfo_cgroup2(line, &mnt, &root))
			continue;
		/*
		 * Prefer a mount of the whole hierarchy over a bind mount of
		 * a sub-cgroup (e.g. a container's view of its own cgroup).
		 */
		if (!found || strcmp(root, "/") == 0) {
			free(found);
			found = strdup(mnt);
			if (!found) {
				ret = -ENOMEM;
				goto out;
			}
			if (strcmp(root, "/") == 0)
				break;
		}
	}
	ret = found ? copy_out(found, strlen(found), out, len) : -ENOENT;
out:
	free(found);
	free(line);
	fclose(f);
	return ret;
}

int cgroup2_host_mount(char *out, size_t len)
{
	static char mnt[4096];
	const char *env = getenv("EGRESSCTL_CGROUP_ROOT");
	struct statfs sf;

	/* In a Kubernetes pod: the host's tree, mounted from the host. */
	if (!mnt[0] && env && *env) {
		if (statfs(env, &sf) || sf.f_type != CGROUP2_SUPER_MAGIC)
			return -ENOENT;
		snprintf(mnt, sizeof(mnt), "%s", env);
	}
	if (!mnt[0] && cgroup2_mount("/proc/self/mountinfo", mnt, sizeof(mnt)))
		return -ENOENT;
	snprintf(out, len, "%s", mnt);
	return 0;
}

int cgroup_parse_proc(const char *text, char *out, size_t len)
{
	static const char deleted[] = " (deleted)";
	const char *p = text;

	if (!text)
		return -EINVAL;
	while (*p) {
		const char *eol = strchrnul(p, '\n');

		if (strncmp(p, "0::", 3) == 0 && p[3] == '/') {
			size_t n = (size_t)(eol - (p + 3));

			/* The kernel marks a removed cgroup: drop the marker. */
			if (n > sizeof(deleted) - 1 &&
			    memcmp(eol - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1) == 0)
				n -= sizeof(deleted) - 1;
			return copy_out(p + 3, n, out, len);
		}
		p = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

int cgroup_of_pid(pid_t pid, char *out, size_t len)
{
	char path[64], buf[8192];
	size_t n = 0;
	ssize_t r;
	FILE *f;
	int err;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (n < sizeof(buf) - 1 && (r = (ssize_t)fread(buf + n, 1, sizeof(buf) - 1 - n, f)) > 0)
		n += (size_t)r;
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err)
		return err == ENOENT ? -ESRCH : -err;
	buf[n] = '\0';
	return cgroup_parse_proc(buf, out, len);
}

/*
 * Append path's components to out (which holds pos bytes), each after a '/',
 * skipping empty and "." components. ".." is refused: a cgroup path never
 * needs it and it could walk out of the hierarchy.
 */
static int append_components(const char *path, char *out, size_t pos, size_t len)
{
	const char *p = path;

	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (n && !(n == 1 && p[0] == '.')) {
			if (pos + 1 + n >= len)
				return -ENAMETOOLONG;
			out[pos++] = '/';
			memcpy(out + pos, p, n);
			pos += n;
			out[pos] = '\0';
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* Length of mount without trailing slashes ("/" becomes 0). */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	return n;
}

int cgroup_resolve(const char *mount, const char *path, char *out, size_t len)
{
	struct statfs sfs;
	struct stat st;
	size_t mlen;
	int ret;

	if (!mount || !path || !*path || !out || !len)
		return -EINVAL;
	mlen = trimmed_len(mount);
	/* An absolute path already under the mount is taken as is. */
	if (path[0] == '/' && mlen && strncmp(path, mount, mlen) == 0 &&
	    (path[mlen] == '/' || path[mlen] == '\0'))
		path += mlen;
	if (mlen >= len)
		return -ENAMETOOLONG;
	memcpy(out, mount, mlen);
	out[mlen] = '\0';
	ret = append_components(path, out, mlen, len);
	if (ret)
		return ret;
	if (!out[0]) {
		if (len < 2)
			return -ENAMETOOLONG;
		strcpy(out, "/");
	}
	if (stat(out, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(out, &sfs))
		return -errno;
	if ((unsigned long)sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -EINVAL;
	return 0;
}

int cgroup_first_pid(const char *abs_path)
{
	char path[4200];
	FILE *f;
	int pid = -ESRCH;

	snprintf(path, sizeof(path), "%s/cgroup.procs", abs_path);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -ESRCH;
	fclose(f);
	return pid;
}

int cgroup_pid_below(const char *abs_path, int depth)
{
	struct dirent *de;
	int pid = cgroup_first_pid(abs_path);
	DIR *d;

	if (pid != -ESRCH || depth <= 0)
		return pid;
	d = opendir(abs_path);
	if (!d)
		return -errno;
	while (pid < 0 && (de = readdir(d))) {
		char sub[4200];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", abs_path, de->d_name);
		pid = cgroup_pid_below(sub, depth - 1);
		if (pid < 0)
			pid = -ESRCH;
	}
	closedir(d);
	return pid;
}

int cgroup_id(const char *abs_path, uint64_t *id)
{
	struct stat st;

	if (!abs_path || !id)
		return -EINVAL;
	/*
	 * Since 5.5 kernfs inode numbers are the 64-bit node ids, which is
	 * what bpf_get_current_cgroup_id() and bpf_skb_cgroup_id() report.
	 */
	if (stat(abs_path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = (uint64_t)st.st_ino;
	return 0;
}

int cgroup_path_of_id(uint64_t id, char *out, size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	char mnt[4096], link[64], path[PATH_MAX];
	int mfd, fd, ret;
	ssize_t n;
	size_t ml;

	ret = cgroup2_host_mount(mnt, sizeof(mnt));
	if (ret)
		return ret;
	/* cgroup v2 (kernfs) file handles are the 64-bit node id */
	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = sizeof(h.id);
	h.fh.handle_type = 0xfe; /* FILEID_KERNFS */
	h.id = id;
	mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = fd < 0 ? -errno : 0;
	close(mfd);
	if (ret)
		return ret;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	path[n] = '\0';
	ml = strlen(mnt);
	if (strncmp(path, mnt, ml) || (path[ml] && path[ml] != '/'))
		return -ENOENT;
	snprintf(out, len, "%s", path[ml] ? path + ml : "/");
	return 0;
}

int cgroup_host_namespace(void)
{
	const char *pid = getenv("EGRESSCTL_TEST_HOST_PID");
	char path[64];
	struct stat self, host;
	int fd, ret = 0;

	/* Test hook (README "Tests"): another pid than 1 stands for the host. */
	snprintf(path, sizeof(path), "/proc/%.16s/ns/cgroup",
		 pid && *pid && strspn(pid, "0123456789") == strlen(pid) ? pid : "1");
	if (stat("/proc/self/ns/cgroup", &self) || stat(path, &host))
		return -errno;
	if (self.st_ino == host.st_ino && self.st_dev == host.st_dev)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWCGROUP))
		ret = -errno;
	close(fd);
	return ret ? ret : 1;
}
