// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading and emptying egr_audit (see kaudit.h and bpf/audit.bpf.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/kaudit.h"
#include "kernel/kmap.h"

static struct egr_learn_key name_key(const struct egr_audit_key *k)
{
	struct egr_learn_key lk = { .family = k->family };

	memcpy(lk.addr, k->dst, 16);
	return lk;
}

/* The names of the entries' destinations (egr_anames; an instance made
 * before it existed has none).
 */
static int read_names(const struct egr_kstate *ks, struct kaudit_entry *e, size_t n)
{
	int fd = kstate_open_pin(ks, "egr_anames"), err = 0;
	struct egr_aname v;
	size_t i;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	for (i = 0; i < n && !err; i++) {
		struct egr_learn_key lk = name_key(&e[i].k);

		if (!bpf_map_lookup_elem(fd, &lk, &v)) {
			memcpy(e[i].name, v.name, sizeof(e[i].name));
			e[i].name[sizeof(e[i].name) - 1] = '\0';
			e[i].name_ns = v.ns;
		} else if (errno != ENOENT) {
			err = -errno;
		}
	}
	close(fd);
	return err;
}

int kaudit_read(const struct egr_kstate *ks, struct kaudit_entry **out, size_t *n)
{
	struct kaudit_entry *e = calloc(EGR_AUDIT_MAX, sizeof(*e));
	int fd = kstate_open_pin(ks, "egr_audit"), err = 0;
	struct egr_audit_key k;
	void *prev = NULL;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!e || fd < 0) {
		free(e);
		if (fd >= 0)
			close(fd);
		return e ? fd : -ENOMEM;
	}
	while (i < EGR_AUDIT_MAX && !bpf_map_get_next_key(fd, prev, &e[i].k)) {
		k = e[i].k;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &e[i].k, &e[i].v))
			i++;
	}
	if (i < EGR_AUDIT_MAX && errno != ENOENT)
		err = -errno;
	close(fd);
	if (!err)
		err = read_names(ks, e, i);
	if (err) {
		free(e);
		return err;
	}
	*out = e;
	*n = i;
	return 0;
}

/* What did not fit in egr_audit is forgotten with it: the count of those
 * packets (EGR_STAT_AUDIT_FULL) goes back to 0 on every CPU.
 */
static int reset_unrecorded(const struct egr_kstate *ks)
{
	uint32_t k = EGR_STAT_AUDIT_FULL;

	return kmap_zero_percpu(ks->stats_fd, &k, sizeof(struct egr_counter), ks->ncpus,
				BPF_EXIST);
}

int kaudit_reset(const struct egr_kstate *ks, const struct kaudit_entry *e, size_t n)
{
	int fd = kstate_open_pin(ks, "egr_audit"), err = 0;
	size_t i;

	if (fd < 0)
		return fd;
	for (i = 0; i < n && !err; i++)
		if (bpf_map_delete_elem(fd, &e[i].k) && errno != ENOENT)
			err = -errno;
	close(fd);
	fd = err ? -1 : kstate_open_pin(ks, "egr_anames");
	for (i = 0; fd >= 0 && i < n && !err; i++) {
		struct egr_learn_key lk = name_key(&e[i].k);

		if (bpf_map_delete_elem(fd, &lk) && errno != ENOENT)
			err = -errno;
	}
	if (fd >= 0)
		close(fd);
	return err ? err : reset_unrecorded(ks);
}
