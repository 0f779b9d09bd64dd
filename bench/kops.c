// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kops: egressctl's kernel-side operations timed in-process, without the
 * CLI's process start, through the same user/ code the CLI runs.
 *
 *   kops phases TARGET FILE     time each phase of `egressctl apply -f FILE`:
 *                               parse, compile, read the live policy (as
 *                               apply does: no hit counters; as list does:
 *                               with them; apply's prefetch: the read and
 *                               its sort into compiled order; that sort
 *                               alone, by qsort() and compile_sort_crules()),
 *                               whole kpolicy_apply; then what each phase could
 *                               cost done differently: the same YAML as a
 *                               libyaml event stream (no document tree), the
 *                               live policy read with batch lookups (trie
 *                               and rule array, no hit counters), the trie
 *                               fills batched vs one update per prefix and
 *                               v4/v6 in two threads, and the wait of one
 *                               update of an outer (map-in-map) array
 *   kops edit TARGET REPS DEST  REPS x (kpolicy_add + kpolicy_remove) of one
 *                               rule "allow DEST" with the policy in force,
 *                               plus the single trie-entry update that
 *                               publishes an edit; ns per op, one per line
 *   kops lpmfill PIN N SEED    fill the pinned IPv4 LPM trie of
 *                               bench/floor.bpf.c with the IPv4 prefixes of
 *                               the N-prefix set SEED + 198.19.0.0/24
 *   kops mem TARGET             bytes of every map of TARGET (kernel's own
 *                               accounting, bpf_map_info via bpftool-like
 *                               fdinfo "memlock") and entries in force
 *
 * TARGET is cgroup:<path> as for egressctl. Output: "key value" lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <yaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "prefixes.h"
#include "kernel/kapply.h"
#include "kernel/kgen.h"
#include "kernel/kpolicy.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "kernel/ktries.h"
#include "policy/addr.h"
#include "policy/compile.h"
#include "policy/policy_file.h"
#include "runtime/target.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "kops: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void open_ks(const char *spec, struct egr_kstate *ks)
{
	struct egr_target t;
	char err[512];
	int ret;

	if (target_resolve(spec, NULL, &t, err, sizeof(err))) {
		fprintf(stderr, "kops: %s\n", err);
		exit(1);
	}
	ret = kstate_open(t.cgid, ks);
	if (ret)
		die("opening the pins", ret);
}

static int inner_fd(int outer, uint32_t slot)
{
	uint32_t id;

	if (bpf_map_lookup_elem(outer, &slot, &id))
		return -errno;
	return bpf_map_get_fd_by_id(id);
}

/* Fill a fresh trie with the compiled prefixes of one family, batched or
 * one update per key. Returns ns, or 0 if the kernel refused batch ops.
 */
static uint64_t raw_fill(const struct egr_compiled *c, int f, uint32_t cap, bool batch, int *err)
{
	size_t ksz = egr_key_size(f), n = c->npfx[f], i;
	uint8_t *k = calloc(n ? n : 1, ksz);
	struct egr_prefix *v = calloc(n ? n : 1, sizeof(*v));
	struct egr_tries tr;
	int fds[2];
	uint64_t t0, t1;

	*err = 0;
	if (!k || !v || ktries_create(cap, &tr))
		die("raw fill setup", ENOMEM);
	fds[0] = tr.fd[0][0]; /* one trie per family, as before sharding */
	fds[1] = tr.fd[1][0];
	for (i = 0; i < n; i++) {
		egr_make_key(&c->pfx[f][i].dest, k + i * ksz);
		v[i].first = c->pfx[f][i].first;
		v[i].count = c->pfx[f][i].count;
		v[i].plen = c->pfx[f][i].dest.plen;
	}
	t0 = now_ns();
	if (batch) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		uint32_t cnt = n;

		if (n && bpf_map_update_batch(fds[f], k, v, &cnt, &o))
			*err = -errno;
	} else {
		for (i = 0; i < n; i++)
			if (bpf_map_update_elem(fds[f], k + i * ksz, &v[i], BPF_ANY))
				die("raw update", errno);
	}
	t1 = now_ns();
	ktries_close(&tr);
	free(k);
	free(v);
	return t1 - t0;
}

/* libyaml as a plain event stream: the floor of any libyaml-based parser. */
static uint64_t yaml_events(const char *file, uint64_t *nev)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	FILE *f = fopen(file, "r");
	uint64_t t0 = now_ns(), n = 0;
	int done = 0;

	if (!f)
		die(file, errno);
	yaml_parser_initialize(&ps);
	yaml_parser_set_input_file(&ps, f);
	while (!done) {
		if (!yaml_parser_parse(&ps, &ev))
			die("yaml", EINVAL);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		n++;
	}
	yaml_parser_delete(&ps);
	fclose(f);
	*nev = n;
	return now_ns() - t0;
}

/* The live policy with batch lookups: every trie entry (key, prefix) and
 * the live half of egr_rules in a few syscalls; no hit counters, which
 * apply does not need. Returns ns; *nrules = rules reachable from the tries.
 */
static uint64_t read_batch(const struct egr_kstate *ks, size_t *nrules)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint32_t slot, cap = ks->meta.max_rules, used;
	struct egr_ctl a;
	uint64_t t0 = now_ns();
	size_t total = 0;

	if (kgen_slot_cfg(ks, &a))
		die("ctl", errno);
	slot = a.slot;
	used = ks->meta.used[slot];
	for (int x = 0; x < 2 * EGR_SHARDS; x++) {
		int f = x / EGR_SHARDS;
		size_t ksz = egr_key_size(f), n = 0;
		int fd = inner_fd(f ? ks->v6_fd : ks->v4_fd, EGR_TRIE_IDX(slot, x % EGR_SHARDS));
		uint8_t *keys = malloc((size_t)cap * ksz), out[sizeof(struct egr_lpm_v6)];
		struct egr_prefix *vals = malloc((size_t)cap * sizeof(*vals));
		bool first = true;

		if (fd < 0 || !keys || !vals)
			die("read_batch", ENOMEM);
		for (;;) {
			uint32_t cnt = cap - n;
			int r;

			if (!cnt)
				break;
			r = bpf_map_lookup_batch(fd, first ? NULL : out, out, keys + n * ksz, vals + n,
						 &cnt, &o);
			first = false;
			n += cnt;
			if (r && errno == ENOENT)
				break; /* the last batch */
			if (r)
				die("trie lookup_batch", errno);
		}
		for (size_t i = 0; i < n; i++)
			total += vals[i].count;
		close(fd);
		free(keys);
		free(vals);
	}
	if (used) {
		uint32_t *keys = malloc((size_t)used * 4), cnt = used, in = slot * cap, outk;
		struct egr_rule *r = malloc((size_t)used * sizeof(*r));

		if (!keys || !r)
			die("read_batch", ENOMEM);
		/* array maps iterate by index: start the batch at the half */
		if (in) {
			uint32_t prev = in - 1;

			if (bpf_map_lookup_batch(ks->rules_fd, &prev, &outk, keys, r, &cnt, &o) &&
			    errno != ENOENT)
				die("rules lookup_batch", errno);
		} else if (bpf_map_lookup_batch(ks->rules_fd, NULL, &outk, keys, r, &cnt, &o) &&
			   errno != ENOENT) {
			die("rules lookup_batch", errno);
		}
		free(keys);
		free(r);
	}
	*nrules = total;
	return now_ns() - t0;
}

struct fill_arg {
	const struct egr_compiled *c;
	int f;
	uint32_t cap;
	uint64_t ns;
};

static void *fill_thread(void *p)
{
	struct fill_arg *a = p;
	int e;

	a->ns = raw_fill(a->c, a->f, a->cap, true, &e);
	return NULL;
}

static int cmp_u64(const void *a, const void *b);

/* One update of the outer array-of-maps (the live slot's own IPv4 trie put
 * back in place: no change): the kernel waits for running programs before
 * returning. kpolicy_apply() does six such updates. Median of 5, ns.
 */
static uint64_t outer_wait(const struct egr_kstate *ks)
{
	uint32_t slot;
	uint64_t t[5];
	struct egr_ctl a;
	int fd;

	if (kgen_slot_cfg(ks, &a))
		die("ctl", errno);
	slot = EGR_TRIE_IDX(a.slot, 0);
	fd = inner_fd(ks->v4_fd, slot);
	if (fd < 0)
		die("inner", errno);
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = now_ns();

		if (bpf_map_update_elem(ks->v4_fd, &slot, &fd, BPF_ANY))
			die("outer update", errno);
		t[i] = now_ns() - t0;
	}
	close(fd);
	qsort(t, 5, 8, cmp_u64);
	return t[2];
}

static int cmp_crule(const void *pa, const void *pb)
{
	const struct egr_crule *a = pa, *b = pb;

	return compile_rule_cmp(&a->dest, &a->r, &b->dest, &b->r);
}

/* The live rules put in compiled order (what apply matches the new policy
 * against), by qsort() and by compile_sort_crules().
 */
static void live_sort(const struct egr_live_rule *lr, size_t n)
{
	struct egr_crule *x = calloc(n ? n : 1, sizeof(*x));
	struct egr_crule *y = calloc(n ? n : 1, sizeof(*y));
	uint64_t t0, t1, t2;
	size_t i;

	if (!x || !y)
		die("live_sort", ENOMEM);
	for (i = 0; i < n; i++) {
		x[i].dest = lr[i].rule.dest;
		x[i].r = lr[i].krule;
	}
	memcpy(y, x, n * sizeof(*x));
	t0 = now_ns();
	qsort(x, n, sizeof(*x), cmp_crule);
	t1 = now_ns();
	if (compile_sort_crules(y, n))
		die("compile_sort_crules", ENOMEM);
	t2 = now_ns();
	printf("live_sort_qsort_ns %" PRIu64 "\nlive_sort_ns %" PRIu64 "\nlive_sort_same %d\n",
	       t1 - t0, t2 - t1, !memcmp(x, y, n * sizeof(*x)));
	free(x);
	free(y);
}

static int cmd_phases(const char *spec, const char *file)
{
	struct egr_live_rule *lr;
	struct egr_compiled c;
	struct egr_kstate ks;
	struct egr_policy p;
	uint64_t t0, t1;
	char err[512];
	size_t nl;
	int ret, e;

	t0 = now_ns();
	if (policy_parse_file(file, &p, err, sizeof(err))) {
		fprintf(stderr, "kops: %s\n", err);
		return 1;
	}
	t1 = now_ns();
	printf("rules %zu\nparse_ns %" PRIu64 "\n", p.n, t1 - t0);
	if (!p.has_dflt)
		p.dflt = EGR_DENY;
	t0 = now_ns();
	if (compile_policy(&p, &c, err, sizeof(err))) {
		fprintf(stderr, "kops: %s\n", err);
		return 1;
	}
	printf("compile_ns %" PRIu64 "\nprefixes_v4 %zu\nprefixes_v6 %zu\n", now_ns() - t0,
	       c.npfx[0], c.npfx[1]);

	open_ks(spec, &ks);
	ret = kstate_lock();
	if (ret < 0)
		die("lock", ret);
	/* as apply reads it: no hit counters */
	t0 = now_ns();
	if ((e = kpolicy_read_ex(&ks, NULL, &lr, &nl, false)))
		die("kpolicy_read_ex", e);
	t1 = now_ns();
	printf("live_rules %zu\nread_live_ns %" PRIu64 "\n", nl, t1 - t0);
	live_sort(lr, nl);
	free(lr);
	t0 = now_ns();
	if ((e = kpolicy_read(&ks, NULL, &lr, &nl)))
		die("kpolicy_read", e);
	printf("read_live_hits_ns %" PRIu64 "\n", now_ns() - t0);
	free(lr);
	{
		struct egr_prefetch *pf;

		t0 = now_ns();
		if ((e = kpolicy_prefetch(&ks, &pf)))
			die("kpolicy_prefetch", e);
		kpolicy_prefetch_cancel(pf);
		printf("live_prefetch_ns %" PRIu64 "\n", now_ns() - t0);
	}
	t0 = now_ns();
	if (kpolicy_apply(&ks, &p, err, sizeof(err))) {
		fprintf(stderr, "kops: apply: %s\n", err);
		return 1;
	}
	printf("kpolicy_apply_ns %" PRIu64 "\n", now_ns() - t0);
	kstate_close(&ks);
	open_ks(spec, &ks); /* the bookkeeping as apply left it */
	{
		size_t nr = 0;
		uint64_t ns = read_batch(&ks, &nr), nev;

		printf("read_batch_ns %" PRIu64 "\nread_batch_rules %zu\n", ns, nr);
		printf("yaml_events_ns %" PRIu64 "\n", yaml_events(file, &nev));
		printf("yaml_events %" PRIu64 "\n", nev);
		printf("outer_update_ns %" PRIu64 "\n", outer_wait(&ks));
	}
	kstate_unlock(ret);

	for (int f = 0; f < 2; f++) {
		uint64_t b = raw_fill(&c, f, ks.meta.max_rules, true, &e);

		printf("fill_batch_v%d_ns %" PRIu64 "\nfill_batch_v%d_errno %d\n", f ? 6 : 4,
		       e ? 0 : b, f ? 6 : 4, -e);
		printf("fill_single_v%d_ns %" PRIu64 "\n", f ? 6 : 4,
		       raw_fill(&c, f, ks.meta.max_rules, false, &e));
	}
	{
		struct fill_arg a[2] = { { &c, 0, ks.meta.max_rules, 0 },
					 { &c, 1, ks.meta.max_rules, 0 } };
		pthread_t th[2];

		t0 = now_ns();
		for (int f = 0; f < 2; f++)
			pthread_create(&th[f], NULL, fill_thread, &a[f]);
		for (int f = 0; f < 2; f++)
			pthread_join(th[f], NULL);
		printf("fill_parallel_ns %" PRIu64 "\n", now_ns() - t0);
	}
	compiled_free(&c);
	policy_free(&p);
	kstate_close(&ks);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_edit(const char *spec, int reps, const char *dest)
{
	struct egr_urule r = { .action = EGR_ALLOW };
	uint8_t key[sizeof(struct egr_lpm_v6)];
	struct egr_kstate ks;
	struct egr_prefix pv;
	char err[512];
	uint64_t *add = calloc(reps, 8), *rem = calloc(reps, 8), *pub = calloc(reps, 8), t0;
	uint32_t slot;
	struct egr_ctl a;
	int lock, i, tfd;

	if (!add || !rem || !pub)
		die("alloc", ENOMEM);
	if (parse_dest(dest, &r.dest, err, sizeof(err)) < 0) {
		fprintf(stderr, "kops: %s\n", err);
		return 1;
	}
	open_ks(spec, &ks);
	lock = kstate_lock();
	if (lock < 0)
		die("lock", lock);
	for (i = 0; i < reps; i++) {
		/* what the CLI does under the lock: re-read the bookkeeping */
		kstate_close(&ks);
		open_ks(spec, &ks);
		t0 = now_ns();
		if (kpolicy_add(&ks, &r, 1, err, sizeof(err))) {
			fprintf(stderr, "kops: add: %s\n", err);
			return 1;
		}
		add[i] = now_ns() - t0;

		/* The publishing op alone: rewrite the prefix's trie entry. */
		if (kgen_slot_cfg(&ks, &a))
			die("ctl", errno);
		slot = a.slot;
		tfd = inner_fd(r.dest.family == 4 ? ks.v4_fd : ks.v6_fd,
			       EGR_TRIE_IDX(slot, r.dest.plen ? egr_shard(r.dest.addr) : 0));
		if (tfd < 0)
			die("inner", errno);
		egr_make_key(&r.dest, key);
		if (bpf_map_lookup_elem(tfd, key, &pv))
			die("lookup", errno);
		t0 = now_ns();
		if (bpf_map_update_elem(tfd, key, &pv, BPF_EXIST))
			die("update", errno);
		pub[i] = now_ns() - t0;
		close(tfd);

		kstate_close(&ks);
		open_ks(spec, &ks);
		t0 = now_ns();
		if (kpolicy_remove(&ks, &r, 1, err, sizeof(err))) {
			fprintf(stderr, "kops: remove: %s\n", err);
			return 1;
		}
		rem[i] = now_ns() - t0;
	}
	kstate_unlock(lock);
	for (i = 0; i < reps; i++)
		printf("add_ns %" PRIu64 "\nremove_ns %" PRIu64 "\ntrie_update_ns %" PRIu64 "\n",
		       add[i], rem[i], pub[i]);
	qsort(add, reps, 8, cmp_u64);
	qsort(rem, reps, 8, cmp_u64);
	qsort(pub, reps, 8, cmp_u64);
	fprintf(stderr, "kops edit: median add %.1f us, remove %.1f us, trie update %.2f us\n",
		add[reps / 2] / 1e3, rem[reps / 2] / 1e3, pub[reps / 2] / 1e3);
	kstate_close(&ks);
	return 0;
}

/* memlock of an fd as the kernel reports it (fdinfo). */
static uint64_t fd_memlock(int fd, uint32_t *max_entries)
{
	char path[64], line[256];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "memlock: %" SCNu64, &v);
		sscanf(line, "max_entries: %u", max_entries);
	}
	fclose(f);
	return v;
}

static int cmd_mem(const char *spec)
{
	static const char *const names[] = { "egr_ctl", "egr_meta", "egr_rules", "egr_hits",
					     "egr_stats", "egr_free", "egr_sk", "egr_evcfg",
					     "egr_events" };
	struct egr_kstate ks;
	uint64_t total = 0, b;
	uint32_t me = 0, s;
	size_t i;

	open_ks(spec, &ks);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int fd = kstate_open_pin(&ks, names[i]);

		if (fd < 0)
			continue;
		b = fd_memlock(fd, &me);
		printf("map_%s_bytes %" PRIu64 "\n", names[i], b);
		total += b;
		close(fd);
	}
	for (s = 0; s < 2 * EGR_SHARDS; s++) {
		for (int f = 0; f < 2; f++) {
			int fd = inner_fd(f ? ks.v6_fd : ks.v4_fd, s);

			if (fd < 0)
				continue;
			b = fd_memlock(fd, &me);
			printf("map_trie_v%d_slot%u_shard%u_bytes %" PRIu64 "\n", f ? 6 : 4,
			       s / EGR_SHARDS, s % EGR_SHARDS, b);
			total += b;
			close(fd);
		}
	}
	printf("total_bytes %" PRIu64 "\nmax_rules %u\nrules %u\nprefixes %u\n", total,
	       ks.meta.max_rules, ks.meta.nrules, ks.meta.nprefix[0] + ks.meta.nprefix[1]);
	kstate_close(&ks);
	return 0;
}

static int cmd_lpmfill(const char *pin, size_t n, uint64_t seed)
{
	struct bpfx *p = calloc(n ? n : 1, sizeof(*p));
	uint8_t *k = calloc(n + 1, 8);
	uint32_t *v = calloc(n + 1, 4), cnt = 0, total;
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	size_t i;
	int fd = bpf_obj_get(pin);

	if (fd < 0)
		die(pin, errno);
	if (!p || !k || !v || bp_generate(n, seed, p))
		die("alloc", ENOMEM);
	for (i = 0; i < n; i++) {
		uint32_t plen = p[i].plen;

		if (p[i].family != 4)
			continue;
		memcpy(k + 8 * cnt, &plen, 4);
		memcpy(k + 8 * cnt + 4, p[i].addr, 4);
		cnt++;
	}
	memcpy(k + 8 * cnt, &(uint32_t){ 24 }, 4);
	memcpy(k + 8 * cnt + 4, (uint8_t[4]){ 198, 19, 0, 0 }, 4);
	cnt++;
	total = cnt;
	if (bpf_map_update_batch(fd, k, v, &cnt, &o))
		for (i = 0; i < total; i++)
			if (bpf_map_update_elem(fd, k + 8 * i, &v[i], BPF_ANY))
				die("update", errno);
	printf("entries %u\n", total);
	free(p);
	free(k);
	free(v);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "lpmfill"))
		return cmd_lpmfill(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 0));
	libbpf_set_print(NULL);
	if (argc == 4 && !strcmp(argv[1], "phases"))
		return cmd_phases(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "edit"))
		return cmd_edit(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1, argv[4]);
	if (argc == 3 && !strcmp(argv[1], "mem"))
		return cmd_mem(argv[2]);
	fprintf(stderr, "usage: kops phases TARGET FILE | edit TARGET REPS DEST | lpmfill PIN N SEED | mem TARGET\n");
	return 2;
}
