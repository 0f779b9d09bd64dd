// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rule-id cache: after an apply, the rules just put in force with their
 * ids, in compiled order, in /run/egressctl/ids-<cgroup id>. The next apply
 * needs exactly that list (rules that stay keep their ids and hit counters)
 * and would otherwise read it back from the kernel, walking every trie
 * (0.7 s at 1M rules). The file is used only if it names this very program
 * instance (egr_meta's map id and creation time) and the generation now in
 * force: any later change to the policy (a live edit, a default change, an
 * apply by another binary) bumps the generation and so makes the file stale,
 * and the kernel is read instead. The kernel stays the only source of truth
 * for enforcement; the file only decides which ids are reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/idcache.h"
#include "kernel/kgen.h"
#include "kernel/kmap.h"

#define IDCACHE_DIR "/run/egressctl"
#define IDCACHE_MAGIC 0x53444952474500ull /* "EGRIDS" */

struct idcache_hdr {
	uint64_t magic;
	uint32_t abi;
	uint32_t meta_map_id;
	uint64_t cgroup_id;
	uint64_t created;
	uint64_t generation;
	uint64_t n; /* struct egr_crule records that follow */
};

static void idcache_path(uint64_t cgid, char *buf, size_t len)
{
	snprintf(buf, len, IDCACHE_DIR "/ids-%" PRIu64, cgid);
}

static int instance(const struct egr_kstate *ks, struct idcache_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = IDCACHE_MAGIC;
	h->abi = EGR_ABI_VERSION;
	h->meta_map_id = kmap_id(ks->meta_fd);
	if (!h->meta_map_id)
		return -EBADF;
	h->cgroup_id = ks->cgid;
	h->created = ks->meta.created;
	return kgen_read(ks, &h->generation);
}

int idcache_load(const struct egr_kstate *ks, struct egr_crule **out, size_t *n)
{
	struct idcache_hdr want, h;
	struct egr_crule *x = NULL;
	char path[128];
	struct stat sb;
	size_t i;
	int fd, err;

	if (!ks->cgid) /* an instance not attached to a cgroup (tests) */
		return -ENOENT;
	err = instance(ks, &want);
	if (err)
		return err;
	idcache_path(ks->cgid, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	err = -ESTALE;
	if (fstat(fd, &sb) || sb.st_uid != 0 || read(fd, &h, sizeof(h)) != sizeof(h))
		goto out;
	want.n = h.n;
	if (memcmp(&h, &want, sizeof(h)) || h.n > ks->meta.max_rules ||
	    (uint64_t)sb.st_size != sizeof(h) + h.n * sizeof(*x))
		goto out;
	x = malloc((h.n ? h.n : 1) * sizeof(*x));
	err = -ENOMEM;
	if (!x)
		goto out;
	err = -ESTALE;
	if (h.n && read(fd, x, h.n * sizeof(*x)) != (ssize_t)(h.n * sizeof(*x)))
		goto out;
	for (i = 0; i < h.n; i++)
		if (x[i].r.id >= ks->meta.max_rules)
			goto out;
	*out = x;
	*n = h.n;
	x = NULL;
	err = 0;
out:
	free(x);
	close(fd);
	return err;
}

/* Rewritten in place (replacing the file would free and allocate all its
 * pages, ~15 ms at 100k rules): the header is voided first and written
 * last, so a process killed half-way leaves a file no one will use.
 */
int idcache_save(const struct egr_kstate *ks, const struct egr_compiled *c)
{
	struct egr_crule *x = calloc(c->nrules ? c->nrules : 1, sizeof(*x)); /* padding too */
	struct idcache_hdr h, none = { 0 };
	size_t m = 0, i, f, r, len;
	char path[128];
	struct stat sb;
	int fd = -1, err;

	if (!x)
		return -ENOMEM;
	/* name destinations are pointers into this process: not written */
	err = c->npfx[EGR_K_NAME] ? -ENOTSUP : ks->cgid ? instance(ks, &h) : -ENOENT;
	if (err)
		goto out;
	for (f = 0; f < 2; f++)
		for (i = 0; i < c->npfx[f]; i++)
			for (r = 0; r < c->pfx[f][i].count; r++) {
				x[m].dest = c->pfx[f][i].dest;
				x[m++].r = c->rules[c->pfx[f][i].first + r];
			}
	h.n = m;
	len = m * sizeof(*x);
	if (mkdir(IDCACHE_DIR, 0700) && errno != EEXIST) {
		err = -errno;
		goto out;
	}
	idcache_path(ks->cgid, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fstat(fd, &sb) || sb.st_uid != 0 || !S_ISREG(sb.st_mode)) {
		err = fd < 0 ? -errno : -EPERM;
		goto out;
	}
	errno = 0;
	if (pwrite(fd, &none, sizeof(none), 0) != sizeof(none) ||
	    (m && pwrite(fd, x, len, sizeof(h)) != (ssize_t)len) ||
	    ftruncate(fd, sizeof(h) + len) || pwrite(fd, &h, sizeof(h), 0) != sizeof(h))
		err = errno ? -errno : -EIO;
out:
	if (fd >= 0)
		close(fd);
	free(x);
	return err;
}

void idcache_drop(uint64_t cgid)
{
	char path[128];

	idcache_path(cgid, path, sizeof(path));
	unlink(path);
}
