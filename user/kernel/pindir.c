// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pin directories made and removed whole (see pindir.h). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "egressctl.h"
#include "kernel/pindir.h"

void pindir_path(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

int pindir_open(const char *dir, const char *name)
{
	char path[512];
	int fd;

	pindir_path(dir, name, path, sizeof(path));
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int pindir_make_tmp(const char *tag, char *tmp, size_t len)
{
	snprintf(tmp, len, EGR_PIN_ROOT "/tmp-%s-%d", tag, (int)getpid());
	return mkdir(tmp, 0700) ? -errno : 0;
}

int pindir_commit(const char *tmp, const char *dir, const struct pinset *set)
{
	int err = rename(tmp, dir) ? -errno : 0;

	if (err)
		pindir_remove(tmp, set);
	return err;
}

int pindir_retire(const char *dir, const char *tag, char *dead, size_t len)
{
	snprintf(dead, len, EGR_PIN_ROOT "/dead-%s-%d", tag, (int)getpid());
	return rename(dir, dead) ? -errno : 0;
}

static void unlink_in(const char *dir, const char *name)
{
	char path[512];

	pindir_path(dir, name, path, sizeof(path));
	unlink(path);
}

int pindir_remove(const char *dir, const struct pinset *set)
{
	struct dirent *de;
	size_t i;
	DIR *d;

	if (set->prefix && (d = opendir(dir))) {
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, set->prefix, strlen(set->prefix)))
				unlink_in(dir, de->d_name);
		closedir(d);
	}
	for (i = 0; i < set->n; i++)
		unlink_in(dir, set->names[i]);
	rmdir(dir);
	return access(dir, F_OK) ? 0 : -ENOTEMPTY;
}

/* "tmp-<tag>-<pid>" or "dead-<tag>-<pid>": the tag into tag, the pid; -1 if not. */
static int stale_name(const char *name, char *tag, size_t len)
{
	const char *t = !strncmp(name, "tmp-", 4)  ? name + 4 :
			!strncmp(name, "dead-", 5) ? name + 5 :
						     NULL;
	const char *dash = t ? strrchr(t, '-') : NULL;
	char *end;
	long pid;

	if (!dash || dash == t || (size_t)(dash - t) >= len)
		return -1;
	pid = strtol(dash + 1, &end, 10);
	if (!dash[1] || *end || pid <= 0 || pid > 4194304)
		return -1;
	memcpy(tag, t, dash - t);
	tag[dash - t] = '\0';
	return (int)pid;
}

void pindir_clean_stale(bool (*mine)(const char *tag), const struct pinset *set)
{
	struct dirent *de;
	DIR *d = opendir(EGR_PIN_ROOT);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512], tag[64];
		int pid = stale_name(de->d_name, tag, sizeof(tag));

		if (pid < 0 || !mine(tag) || pid == getpid() || !kill(pid, 0) || errno != ESRCH)
			continue;
		pindir_path(EGR_PIN_ROOT, de->d_name, path, sizeof(path));
		pindir_remove(path, set);
	}
	closedir(d);
}

void pindir_test_stop(const char *var, const char *step)
{
	const char *s = getenv(var);

	if (s && !strcmp(s, step))
		raise(SIGKILL);
}
