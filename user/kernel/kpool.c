// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Program instances loaded ahead of need (see kpool.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "kernel/kpool.h"
#include "kernel/kstate.h"
#include "kernel/pindir.h"
#include "util/err.h"

#define POOL_PREFIX "pool-"

/* What a preloaded instance is made for: the defaults, deny, no audit. */
static const struct egr_attach_opts pool_opts = { .dflt = EGR_DENY };

static pthread_once_t tag_once = PTHREAD_ONCE_INIT;
static char tag[17];
static unsigned int seq; /* the <n> of this process's entries */
static pthread_mutex_t seq_mu = PTHREAD_MUTEX_INITIALIZER;

/* The build: FNV-1a of the BPF object and of the load flags. */
static void tag_init(void)
{
	uint32_t flags = kstate_load_flags(&pool_opts);
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p;
	size_t n, i;

	p = egressctl_bpf__elf_bytes(&n);
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	for (i = 0; i < sizeof(flags); i++)
		h = (h ^ ((flags >> (8 * i)) & 0xff)) * 0x100000001b3ull;
	snprintf(tag, sizeof(tag), "%016" PRIx64, h);
}

static const char *build_tag(void)
{
	pthread_once(&tag_once, tag_init);
	return tag;
}

/* "pool-<build>-<pid>-<n>": the build into b; the pid, or -1 if not one. */
static int parse_entry(const char *name, char b[17])
{
	unsigned int pid, n;
	char tail;

	if (strncmp(name, POOL_PREFIX, strlen(POOL_PREFIX)) ||
	    sscanf(name + strlen(POOL_PREFIX), "%16[0-9a-f]-%u-%u%c", b, &pid, &n, &tail) != 3 ||
	    !pid || pid > 4194304)
		return -1;
	return (int)pid;
}

static bool alive(int pid)
{
	return pid == getpid() || !kill(pid, 0) || errno != ESRCH;
}

static bool pool_made(const struct egr_attach_opts *o)
{
	return (!o->max_rules || o->max_rules == EGR_DEFAULT_MAX_RULES) &&
	       (!o->max_learned || o->max_learned == EGR_DEFAULT_MAX_LEARNED) &&
	       !o->no_verdict_cache && o->dflt == pool_opts.dflt && !o->audit;
}

static void entry_name(char *buf, size_t len)
{
	unsigned int n;

	pthread_mutex_lock(&seq_mu);
	n = seq++;
	pthread_mutex_unlock(&seq_mu);
	snprintf(buf, len, EGR_PIN_ROOT "/" POOL_PREFIX "%s-%d-%u", build_tag(), (int)getpid(), n);
}

/* Rename one of this process's entries (of this build) to to. */
static int take_one(char *to)
{
	char b[17], path[512];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d = opendir(EGR_PIN_ROOT);

	if (!d)
		return -ENOENT;
	while (ret && (de = readdir(d))) {
		if (parse_entry(de->d_name, b) != (int)getpid() || strcmp(b, build_tag()))
			continue;
		pindir_path(EGR_PIN_ROOT, de->d_name, path, sizeof(path));
		/* taken by whoever renames it first; ENOENT: someone else did */
		if (!rename(path, to))
			ret = 0;
	}
	closedir(d);
	return ret;
}

int kpool_claim(const struct egr_attach_opts *o, const char *cgpath, const char *rel, uint64_t cgid,
		char *err, size_t errlen)
{
	char tmp[160];
	int ret;

	if (!pool_made(o))
		return -ENOENT;
	snprintf(tmp, sizeof(tmp), EGR_PIN_ROOT "/tmp-%" PRIu64 "-%d", cgid, (int)getpid());
	ret = take_one(tmp);
	if (ret)
		return ret;
	return kstate_adopt(tmp, cgpath, rel, cgid, o->no_links, err, errlen);
}

/* Load one instance and pin it as a pool entry. */
static int make_one(char *err, size_t errlen)
{
	struct egressctl_bpf *skel = NULL;
	struct egr_kstate ks;
	char tmp[160], name[512], tmptag[32];
	unsigned int n;
	int ret;

	ret = kstate_load(&pool_opts, "", 0, &skel, &ks, err, errlen);
	if (ret)
		return ret;
	/* tmp-pool<n>-<pid>: one per thread making one */
	pthread_mutex_lock(&seq_mu);
	n = seq++;
	pthread_mutex_unlock(&seq_mu);
	snprintf(tmptag, sizeof(tmptag), "pool%u", n);
	ret = pindir_make_tmp(tmptag, tmp, sizeof(tmp));
	if (ret) {
		seterr(err, errlen, "creating %s: %s", tmp, strerror(-ret));
		goto out;
	}
	ret = kstate_pin(skel, tmp);
	if (!ret) {
		entry_name(name, sizeof(name));
		ret = rename(tmp, name) ? -errno : 0;
	}
	if (ret) {
		seterr(err, errlen, "pinning a preloaded instance in %s: %s", tmp, strerror(-ret));
		kstate_dir_remove(tmp);
	}
out:
	egressctl_bpf__destroy(skel);
	return ret;
}

struct tidy {
	unsigned int want, own, removed;
	bool fill, count, drain_own, drain_orphans;
};

/* Remove a pool entry: renamed out of the pool first (a claim or an
 * adoption renames entries too: whoever renames first has it), then its
 * pins. 0, or -errno (taken meanwhile: not removed).
 */
static int entry_remove(const char *path)
{
	static unsigned int seq;
	char tag[32], dead[256];
	int ret;

	snprintf(tag, sizeof(tag), "pool%u", __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	ret = pindir_retire(path, tag, dead, sizeof(dead));
	return ret ? ret : kstate_dir_remove(dead);
}

/* One entry of the pool, as tidy t says (kpool_fill(), kpool_drain()). */
static void tidy_one(struct tidy *t, const char *name, bool ours, int pid)
{
	char path[512], to[512];

	pindir_path(EGR_PIN_ROOT, name, path, sizeof(path));
	if (!ours) {
		/* another build's: removed once its keeper is gone */
		if (!alive(pid) && (t->fill || t->drain_orphans))
			t->removed += !entry_remove(path);
		return;
	}
	if (!alive(pid)) {
		/* its keeper was killed: adopted by a filler, or removed */
		if (t->drain_orphans) {
			t->removed += !entry_remove(path);
			return;
		}
		if (!t->fill)
			return;
		entry_name(to, sizeof(to));
		if (rename(path, to))
			return; /* taken meanwhile */
		snprintf(path, sizeof(path), "%s", to);
		pid = getpid();
	}
	if (pid != getpid())
		return;
	if (t->count) {
		t->own++;
		return;
	}
	/* one over want is kept: two fillers may each load the last one */
	if (t->drain_own || (t->fill && t->own >= t->want + 1)) {
		t->removed += !entry_remove(path);
		return;
	}
	t->own++;
}

static void walk(struct tidy *t)
{
	struct dirent *de;
	DIR *d = opendir(EGR_PIN_ROOT);
	char b[17];

	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = parse_entry(de->d_name, b);

		if (pid > 0)
			tidy_one(t, de->d_name, !strcmp(b, build_tag()), pid);
	}
	closedir(d);
}

int kpool_fill(unsigned int want, char *err, size_t errlen)
{
	struct tidy t = { .want = want, .fill = true };
	int ret;

	if (want) {
		ret = kstate_prepare(err, errlen); /* bpffs, the pin root */
		if (ret)
			return ret;
	}
	walk(&t);
	if (t.own >= want)
		return 0;
	ret = make_one(err, errlen);
	return ret ? ret : 1;
}

int kpool_reserve(char *err, size_t errlen)
{
	struct tidy t = { .count = true };
	int ret;

	walk(&t);
	if (t.own)
		return 0;
	ret = make_one(err, errlen);
	return ret ? ret : 1;
}

int kpool_drain(bool own)
{
	struct tidy t = { .drain_own = own, .drain_orphans = !own };

	walk(&t);
	return (int)t.removed;
}

/* memlock of the maps and programs pinned in dir (their fdinfo). */
static uint64_t memlock_of(const char *dir)
{
	struct dirent *de;
	uint64_t sum = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char line[256], path[64];
		FILE *f;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = pindir_open(dir, de->d_name);
		if (fd < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long long v;

			if (sscanf(line, "memlock: %llu", &v) == 1)
				sum += v;
		}
		if (f)
			fclose(f);
		close(fd);
	}
	closedir(d);
	return sum;
}

void kpool_info(struct kpool_info *pi)
{
	struct dirent *de;
	char b[17], first[512] = "";
	DIR *d = opendir(EGR_PIN_ROOT);

	memset(pi, 0, sizeof(*pi));
	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = parse_entry(de->d_name, b);

		if (pid <= 0)
			continue;
		pi->entries++;
		pi->own += pid == getpid();
		pi->orphans += !alive(pid);
		if (!first[0])
			pindir_path(EGR_PIN_ROOT, de->d_name, first, sizeof(first));
	}
	closedir(d);
	if (first[0])
		pi->memlock = memlock_of(first);
}
