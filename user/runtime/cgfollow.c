// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* New containers' cgroups under a parent cgroup (see cgfollow.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include "runtime/cgfollow.h"
#include "util/err.h"

static bool hex64(const char *s, size_t n)
{
	size_t i;

	if (n != 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool cgfollow_container_id(const char *name, char id[65])
{
	static const char *const prefixes[] = { "", "docker-", "libpod-" };
	size_t n = strlen(name), i, p;

	if (n > 6 && !strcmp(name + n - 6, ".scope"))
		n -= 6;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		p = strlen(prefixes[i]);
		if (n < p || strncmp(name, prefixes[i], p) || !hex64(name + p, n - p))
			continue;
		/* "<id>" bare is Docker's cgroupfs name, never a scope */
		if (!p && n != strlen(name))
			return false;
		memcpy(id, name + p, 64);
		id[64] = '\0';
		return true;
	}
	return false;
}

int cgfollow_open(const char *abs_dir, char *err, size_t errlen)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		seterr(err, errlen, "inotify: %s", strerror(-ret));
		return ret;
	}
	if (inotify_add_watch(fd, abs_dir, IN_CREATE | IN_ONLYDIR | IN_DELETE_SELF) < 0) {
		ret = -errno;
		close(fd);
		seterr(err, errlen, "following the new cgroups in %s: %s", abs_dir, strerror(-ret));
		return ret;
	}
	return fd;
}

int cgfollow_read(int fd, int timeout_ms, void (*fn)(const char *id, const char *name, void *ctx),
		  void *ctx)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const struct inotify_event *ev;
	char id[65];
	ssize_t len;
	int gone = 0;

	if (poll(&pfd, 1, timeout_ms) < 0)
		return errno == EINTR ? 0 : -errno;
	for (;;) {
		len = read(fd, buf, sizeof(buf));
		if (len < 0)
			return errno == EAGAIN || errno == EINTR ? gone : -errno;
		if (!len)
			return gone;
		for (ev = (const void *)buf; (const char *)ev < buf + len;
		     ev = (const void *)((const char *)ev + sizeof(*ev) + ev->len)) {
			if (ev->mask & (IN_DELETE_SELF | IN_IGNORED))
				gone = -ENOENT;
			if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) && ev->len &&
			    cgfollow_container_id(ev->name, id))
				fn(id, ev->name, ctx);
		}
	}
}
