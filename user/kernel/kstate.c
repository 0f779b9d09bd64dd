// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Load, pin, open and remove per-cgroup program instances.
 * Open -> size maps -> load -> fill -> pin maps -> attach links -> pin links,
 * all into a temporary directory that is renamed into place last, so a
 * killed attach never leaves a half-made EGR_PIN_ROOT/<id> (kernel/pindir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "kernel/kgen.h"
#include "kernel/kstate.h"
#include "kernel/ktries.h"
#include "kernel/pindir.h"
#include "util/err.h"

#define LOCK_PATH "/run/egressctl.lock"

/* The map pins kstate_open() opens, in the order of its fds. */
static const char *const fd_pins[] = { "egr_ctl",   "egr_meta",  "egr_v4",	 "egr_v6",
				       "egr_rules", "egr_hits",  "egr_stats", "egr_free",
				       "egr_names", "egr_nlive", "egr_learn" };
#define NFDS (sizeof(fd_pins) / sizeof(fd_pins[0]))

const struct kstate_hook kstate_hooks[KSTATE_NHOOKS] = {
	{ "egr_egress", "prog_egress", "link_egress", BPF_CGROUP_INET_EGRESS },
	{ "egr_sockops", "prog_sockops", "link_sockops", BPF_CGROUP_SOCK_OPS },
	{ "egr_connect4", "prog_connect4", "link_connect4", BPF_CGROUP_INET4_CONNECT },
	{ "egr_connect6", "prog_connect6", "link_connect6", BPF_CGROUP_INET6_CONNECT },
	{ "egr_sendmsg4", "prog_sendmsg4", "link_sendmsg4", BPF_CGROUP_UDP4_SENDMSG },
	{ "egr_sendmsg6", "prog_sendmsg6", "link_sendmsg6", BPF_CGROUP_UDP6_SENDMSG },
	{ "egr_ingress", "prog_ingress", "link_ingress", BPF_CGROUP_INET_INGRESS },
};

/* Every pin, the links first: removing them detaches the program. */
static const char *const all_pins[] = {
	"link_egress",	 "link_sockops",  "link_connect4", "link_connect6", "link_sendmsg4",
	"link_sendmsg6", "link_ingress",  "prog_egress",   "prog_sockops",  "prog_connect4",
	"prog_connect6", "prog_sendmsg4", "prog_sendmsg6", "prog_ingress",  "egr_ctl",
	"egr_meta",	 "egr_v4",	  "egr_v6",	   "egr_rules",	    "egr_hits",
	"egr_stats",	 "egr_free",	  "egr_sk",	   "egr_evcfg",	    "egr_events",
	"egr_comm",	 "egr_audit",	  "egr_names",	   "egr_nlive",	    "egr_dnsq",
	"egr_learn",	 "egr_lring",	  "egr_dscr",	   "egr_qscr",	    "egr_anames",
};
static const struct pinset kstate_pins = { all_pins, sizeof(all_pins) / sizeof(all_pins[0]),
					    NULL };

int kstate_prepare(char *err, size_t errlen)
{
	struct statfs st;
	struct stat sb;

	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		mkdir("/sys/fs/bpf", 0755);
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			int ret = -errno;

			seterr(err, errlen, "mounting bpffs at /sys/fs/bpf: %s", strerror(-ret));
			return ret;
		}
	}
	if (mkdir(EGR_PIN_ROOT, 0700) && errno != EEXIST) {
		int ret = -errno;

		seterr(err, errlen, "creating %s: %s", EGR_PIN_ROOT, strerror(-ret));
		return ret;
	}
	/* bpffs may be world-writable: the pin root must be root's alone. */
	if (lstat(EGR_PIN_ROOT, &sb) || !S_ISDIR(sb.st_mode) || sb.st_uid != 0) {
		seterr(err, errlen, "%s is not a directory owned by root; refusing to use it",
		       EGR_PIN_ROOT);
		return -EPERM;
	}
	if ((sb.st_mode & 07777) != 0700 && chmod(EGR_PIN_ROOT, 0700)) {
		int ret = -errno;

		seterr(err, errlen, "chmod 0700 %s: %s", EGR_PIN_ROOT, strerror(-ret));
		return ret;
	}
	return 0;
}

/* Fresh empty tries in both slots. Each outer-map update waits for running
 * programs (an RCU grace period); one batch per family waits once.
 */
static int new_empty_tries(const struct egr_kstate *ks, uint32_t cap)
{
	struct egr_tries t[2];
	uint32_t slots[2] = { 0, 1 };
	int err, f;

	ktries_init(&t[1]);
	err = ktries_create(cap, &t[0]);
	if (!err)
		err = ktries_create(cap, &t[1]);
	for (f = 0; f < 2 && !err; f++)
		err = ktries_install_family(ks, f, slots, t, 2);
	ktries_close(&t[0]);
	ktries_close(&t[1]);
	return err;
}

/* ks from a loaded skeleton: its map fds and a fresh egr_meta. */
static void loaded_kstate(struct egressctl_bpf *skel, const char *label, uint64_t cgid,
			  uint32_t cap, uint32_t learned, struct egr_kstate *ks)
{
	memset(ks, 0, sizeof(*ks));
	ks->cgid = cgid;
	ks->ctl_fd = bpf_map__fd(skel->maps.egr_ctl);
	ks->meta_fd = bpf_map__fd(skel->maps.egr_meta);
	ks->v4_fd = bpf_map__fd(skel->maps.egr_v4);
	ks->v6_fd = bpf_map__fd(skel->maps.egr_v6);
	ks->rules_fd = bpf_map__fd(skel->maps.egr_rules);
	ks->hits_fd = bpf_map__fd(skel->maps.egr_hits);
	ks->stats_fd = bpf_map__fd(skel->maps.egr_stats);
	ks->free_fd = bpf_map__fd(skel->maps.egr_free);
	ks->names_fd = bpf_map__fd(skel->maps.egr_names);
	ks->nlive_fd = bpf_map__fd(skel->maps.egr_nlive);
	ks->learn_fd = bpf_map__fd(skel->maps.egr_learn);
	ks->ncpus = libbpf_num_possible_cpus();
	ks->meta.magic = EGR_MAGIC;
	ks->meta.abi = EGR_ABI_VERSION;
	ks->meta.max_rules = cap;
	ks->meta.next_inc = 1;
	ks->meta.max_learned = learned;
	ks->meta.cgroup_id = cgid;
	ks->meta.created = time(NULL);
	snprintf(ks->meta.path, sizeof(ks->meta.path), "%s", label);
}

/* Empty tries in both slots, egr_ctl's slots, the generation, egr_meta and
 * (fresh: not taken over from another instance) egr_evcfg.
 */
static int init_maps(struct egressctl_bpf *skel, const struct egr_attach_opts *o,
		     const struct egr_kstate *ks, bool fresh)
{
	struct egr_evcfg ev = { .rate = EGR_EV_DEFAULT_RATE, .burst = EGR_EV_DEFAULT_BURST };
	struct egr_ctl ctl = { .dflt = o->dflt,
			       .flags = o->audit ? EGR_SF_AUDIT : 0,
			       .min_ttl = EGR_DEFAULT_MIN_TTL,
			       .max_per_name = EGR_DEFAULT_MAX_PER_NAME };
	uint32_t k;
	int err = new_empty_tries(ks, ks->meta.max_rules);

	for (k = 1; k < EGR_CTL_ENTRIES && !err; k++)
		if (bpf_map_update_elem(ks->ctl_fd, &k, &ctl, BPF_ANY))
			err = -errno;
	if (!err)
		err = kgen_publish(ks, 2); /* slot 0 live */
	if (!err)
		err = kstate_write_meta(ks);
	k = 0;
	if (!err && fresh &&
	    bpf_map_update_elem(bpf_map__fd(skel->maps.egr_evcfg), &k, &ev, BPF_ANY))
		err = -errno;
	return err;
}

/* Can socket-address programs call bpf_set_retval() (Linux 6.1+)? A real
 * load of "r1 = 0; call bpf_set_retval; r0 = 1; exit": libbpf's own helper
 * probe (before 1.5) takes the verifier's newer "cannot use helper" error
 * for success. Asked once per process.
 */
bool kstate_have_set_retval(void)
{
	static int have = -1;
	struct bpf_insn insns[4];
	int fd;

	if (have >= 0)
		return have;
	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r1 = 0 */
	insns[0].dst_reg = BPF_REG_1;
	insns[1].code = BPF_JMP | BPF_CALL;
	insns[1].imm = BPF_FUNC_set_retval;
	insns[2].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 1 */
	insns[2].imm = 1;
	insns[3].code = BPF_JMP | BPF_EXIT;
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
	fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL, "Dual BSD/GPL", insns, 4, &po);
	have = fd >= 0;
	if (fd >= 0)
		close(fd);
	return have;
}

/* The load-time settings of an instance (egr_meta.flags): from the opts
 * and the environment, or those of the instance it replaces.
 */
static uint32_t load_flags(const struct egr_attach_opts *o, const struct egr_kstate *from)
{
	return from ? from->meta.flags : kstate_load_flags(o);
}

uint32_t kstate_load_flags(const struct egr_attach_opts *o)
{
	const char *t = getenv("EGRESSCTL_TEST_NO_SET_RETVAL");
	uint32_t f;

	f = o->no_verdict_cache ? EGR_MF_NO_CACHE : 0;
	if ((t && *t && strcmp(t, "0")) || !kstate_have_set_retval())
		f |= EGR_MF_NO_SET_RETVAL;
	return f;
}

/* The maps a bigger instance takes over from the one it replaces, so that
 * nothing they hold is lost in the swap: sockets' verdict caches and
 * owners, the counters, events and their settings, the per-name counts,
 * what DNS answers taught (learned addresses, queries awaiting their
 * answer, audit mode's names).
 */
static const char *const reused_maps[] = { "egr_sk",	  "egr_stats", "egr_events", "egr_evcfg",
					   "egr_comm",	  "egr_audit", "egr_learn",  "egr_lring",
					   "egr_dnsq",	  "egr_anames" };

static int reuse_maps(struct egressctl_bpf *skel, const struct egr_kstate *from)
{
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(reused_maps) / sizeof(reused_maps[0]) && !err; i++) {
		int fd = pindir_open(from->dir, reused_maps[i]);

		if (fd < 0)
			return fd;
		err = bpf_map__reuse_fd(bpf_object__find_map_by_name(skel->obj, reused_maps[i]),
					fd);
		close(fd);
	}
	return err;
}

/* The overflow key of egr_comm, present from the start. */
static int init_comm(struct egressctl_bpf *skel)
{
	struct egr_comm_key k;
	struct egr_comm_count z;

	memset(&k, 0, sizeof(k));
	memset(&z, 0, sizeof(z));
	k.comm[15] = 1;
	if (!bpf_map_update_elem(bpf_map__fd(skel->maps.egr_comm), &k, &z, BPF_NOEXIST))
		return 0;
	return errno == EEXIST ? 0 : -errno;
}

int kstate_load_ex(const struct egr_attach_opts *o, const char *label, uint64_t cgid,
		   const struct egr_kstate *from, struct egressctl_bpf **out, struct egr_kstate *ks,
		   char *errbuf, size_t errlen)
{
	uint32_t cap = o->max_rules ? o->max_rules : EGR_DEFAULT_MAX_RULES;
	uint32_t flags = load_flags(o, from);
	uint32_t learned = o->max_learned	 ? o->max_learned :
			   from && from->meta.max_learned ? from->meta.max_learned :
							  EGR_DEFAULT_MAX_LEARNED;
	struct egressctl_bpf *skel;
	int err;

	*out = NULL;
	skel = egressctl_bpf__open();
	if (!skel) {
		err = -errno;
		seterr(errbuf, errlen, "opening the BPF object: %s", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(skel->maps.egr_rules, 2 * cap);
	bpf_map__set_max_entries(skel->maps.egr_hits, cap);
	bpf_map__set_max_entries(skel->maps.egr_free, cap);
	bpf_map__set_max_entries(skel->maps.egr_names, 2 * cap);
	bpf_map__set_max_entries(skel->maps.egr_nlive, 2 * cap);
	bpf_map__set_max_entries(skel->maps.egr_learn, learned + 64);
	bpf_map__set_max_entries(skel->maps.egr_lring, learned);
	skel->rodata->egr_no_cache = !!(flags & EGR_MF_NO_CACHE);
	skel->rodata->egr_have_set_retval = !(flags & EGR_MF_NO_SET_RETVAL);
	skel->rodata->egr_cap = cap;
	skel->rodata->egr_learn_cap = learned;
	err = from ? reuse_maps(skel, from) : 0;
	if (err) {
		seterr(errbuf, errlen, "taking over the maps of %s: %s", from->dir, strerror(-err));
		goto fail;
	}
	err = egressctl_bpf__load(skel);
	if (err) {
		seterr(errbuf, errlen,
		       "loading the BPF program: %s (is BPF supported and are you root?)",
		       strerror(-err));
		goto fail;
	}
	loaded_kstate(skel, label, cgid, cap, learned, ks);
	ks->meta.flags = flags;
	err = init_maps(skel, o, ks, !from);
	if (!err)
		err = init_comm(skel);
	/* init_maps() published the generation through an mmap() of egr_ctl;
	 * a mapping holds its map, so it must not outlive the load (it did:
	 * one egr_ctl per attach stayed alive in a long-running watch).
	 */
	kgen_unmap(ks);
	if (err) {
		seterr(errbuf, errlen, "creating policy maps (%u rules): %s", cap, strerror(-err));
		goto fail;
	}
	*out = skel;
	return 0;
fail:
	egressctl_bpf__destroy(skel);
	return err;
}

int kstate_load(const struct egr_attach_opts *o, const char *label, uint64_t cgid,
		struct egressctl_bpf **out, struct egr_kstate *ks, char *errbuf, size_t errlen)
{
	return kstate_load_ex(o, label, cgid, NULL, out, ks, errbuf, errlen);
}

int kstate_pin(struct egressctl_bpf *skel, const char *dir)
{
	struct bpf_map *map;
	char path[256];
	size_t i;
	int err;

	bpf_object__for_each_map(map, skel->obj) {
		if (bpf_map__is_internal(map))
			continue; /* .rodata: load-time settings, held by the program */
		pindir_path(dir, bpf_map__name(map), path, sizeof(path));
		err = bpf_map__pin(map, path);
		if (err)
			return err;
	}
	for (i = 0; i < KSTATE_NHOOKS; i++) {
		pindir_path(dir, kstate_hooks[i].prog_pin, path, sizeof(path));
		err = bpf_program__pin(
			bpf_object__find_program_by_name(skel->obj, kstate_hooks[i].prog), path);
		if (err)
			return err;
	}
	return 0;
}

static void pin_dir(uint64_t cgid, char *buf, size_t len)
{
	snprintf(buf, len, EGR_PIN_ROOT "/%" PRIu64, cgid);
}

const struct pinset *kstate_pinset(void)
{
	return &kstate_pins;
}

static uint32_t prog_id_of(int fd, bool link)
{
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	uint32_t len = link ? sizeof(li) : sizeof(pi);

	memset(&li, 0, sizeof(li));
	memset(&pi, 0, sizeof(pi));
	if (bpf_obj_get_info_by_fd(fd, link ? (void *)&li : (void *)&pi, &len))
		return 0;
	return link ? li.prog_id : pi.id;
}

int kstate_finish_swap(const char *dir, int *updated)
{
	size_t i;
	int err = 0;

	*updated = 0;
	for (i = 0; i < KSTATE_NHOOKS && !err; i++) {
		int lfd = pindir_open(dir, kstate_hooks[i].link_pin);
		int pfd = pindir_open(dir, kstate_hooks[i].prog_pin);

		if (lfd >= 0 && pfd >= 0 && prog_id_of(lfd, true) != prog_id_of(pfd, false)) {
			/* atomic for the cgroup: no packet meets no program */
			if (bpf_link_update(lfd, pfd, NULL))
				err = -errno;
			else
				(*updated)++;
		} else if (pfd < 0 && lfd >= 0) {
			err = pfd;
		}
		if (lfd >= 0)
			close(lfd);
		if (pfd >= 0)
			close(pfd);
	}
	return err;
}

/* Is hook h's link pinned in dir? */
static bool link_pinned(const char *dir, const struct kstate_hook *h)
{
	char path[256];

	pindir_path(dir, h->link_pin, path, sizeof(path));
	return !access(path, F_OK);
}

unsigned int kstate_links_missing(uint64_t cgid)
{
	unsigned int n = 0;
	char dir[128];
	size_t i;

	pin_dir(cgid, dir, sizeof(dir));
	for (i = 0; i < KSTATE_NHOOKS; i++)
		n += !link_pinned(dir, &kstate_hooks[i]);
	return n;
}

bool kstate_pinned(uint64_t cgid)
{
	char dir[128];

	pin_dir(cgid, dir, sizeof(dir));
	return !access(dir, F_OK);
}

/* Attach prog (pinned in dir) to the cgroup cgpath and pin the link. */
static int attach_link(const char *cgpath, const char *dir, const char *link, const char *prog,
		       enum bpf_attach_type type, char *errbuf, size_t errlen)
{
	char path[256];
	int pfd, cgfd, lfd, err = 0;

	pindir_path(dir, prog, path, sizeof(path));
	pfd = bpf_obj_get(path);
	if (pfd < 0) {
		err = -errno;
		seterr(errbuf, errlen,
		       "%s: %s (run egressctl detach cgroup:%s, then egressctl attach cgroup:%s)",
		       path, strerror(-err), cgpath, cgpath);
		return err;
	}
	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		err = -errno;
		seterr(errbuf, errlen, "opening cgroup %s: %s", cgpath, strerror(-err));
		close(pfd);
		return err;
	}
	lfd = bpf_link_create(pfd, cgfd, type, NULL);
	if (lfd < 0) {
		err = -errno;
		seterr(errbuf, errlen, "attaching %s to cgroup %s: %s", prog, cgpath,
		       strerror(-err));
	} else {
		pindir_path(dir, link, path, sizeof(path));
		if (bpf_obj_pin(lfd, path)) {
			err = -errno;
			seterr(errbuf, errlen, "pinning %s: %s", path, strerror(-err));
		}
		close(lfd);
	}
	close(cgfd);
	close(pfd);
	return err;
}

/* Create the links that are missing in dir from its pinned programs, and
 * pin them. An attach or detach killed mid-way can leave a directory
 * without them; this puts the filter back. *made counts links created.
 */
static int attach_links(const char *cgpath, const char *dir, int *made, char *errbuf,
			size_t errlen)
{
	size_t i;
	int err = 0;

	*made = 0;
	for (i = 0; i < KSTATE_NHOOKS && !err; i++) {
		const struct kstate_hook *h = &kstate_hooks[i];

		if (link_pinned(dir, h))
			continue;
		err = attach_link(cgpath, dir, h->link_pin, h->prog_pin, h->type, errbuf, errlen);
		if (!err)
			(*made)++;
	}
	return err;
}

/* tmp-<tag>-<pid> of an attach (a cgroup id) or of a preloaded instance
 * being made ("pool<n>", kernel/kpool.h).
 */
static bool cgid_tag(const char *tag)
{
	size_t n;

	if (!strncmp(tag, "pool", 4))
		tag += 4;
	n = strspn(tag, "0123456789");
	return n && !tag[n];
}

void kstate_clean_stale(void)
{
	pindir_clean_stale(cgid_tag, &kstate_pins);
}

int kstate_repair(const char *cgpath, uint64_t cgid, int *made, char *err, size_t errlen)
{
	char dir[128];

	pin_dir(cgid, dir, sizeof(dir));
	return attach_links(cgpath, dir, made, err, errlen);
}

/* tmp (maps and programs pinned) renamed into place as cgid's directory,
 * then (unless no_links) the links attached and pinned there. A killed
 * attach leaves either a temporary directory without links (cleaned up by
 * the next attach) or the directory without links (repaired by the next
 * one).
 */
static int place(const char *cgpath, uint64_t cgid, const char *tmp, bool no_links, char *errbuf,
		 size_t errlen)
{
	char dir[128];
	int err, made;

	pin_dir(cgid, dir, sizeof(dir));
	err = pindir_commit(tmp, dir, &kstate_pins);
	if (err) {
		seterr(errbuf, errlen, "renaming %s to %s: %s", tmp, dir, strerror(-err));
		return err;
	}
	if (no_links)
		return 0;
	/* test hook: killed here leaves dir without links */
	pindir_test_stop("EGRESSCTL_TEST_ATTACH_STOP", "placed");
	err = attach_links(cgpath, dir, &made, errbuf, errlen);
	if (err)
		pindir_remove(dir, &kstate_pins);
	return err;
}

int kstate_create(const char *cgpath, const char *rel, uint64_t cgid,
		  const struct egr_attach_opts *o, char *errbuf, size_t errlen)
{
	struct egressctl_bpf *skel = NULL;
	struct egr_kstate ks;
	char tmp[160], tag[32];
	int err;

	err = kstate_load(o, rel, cgid, &skel, &ks, errbuf, errlen);
	if (err)
		return err;
	snprintf(tag, sizeof(tag), "%" PRIu64, cgid);
	err = pindir_make_tmp(tag, tmp, sizeof(tmp));
	if (err) {
		seterr(errbuf, errlen, "creating %s: %s", tmp, strerror(-err));
		goto out;
	}
	err = kstate_pin(skel, tmp);
	if (err) {
		seterr(errbuf, errlen, "pinning maps in %s: %s", tmp, strerror(-err));
		pindir_remove(tmp, &kstate_pins);
		goto out;
	}
	/* test hook: killed here leaves tmp (tests/e2e/14_pins.sh) */
	pindir_test_stop("EGRESSCTL_TEST_ATTACH_STOP", "pinned");
	err = place(cgpath, cgid, tmp, o->no_links, errbuf, errlen);
out:
	egressctl_bpf__destroy(skel);
	return err;
}

int kstate_adopt(const char *tmp, const char *cgpath, const char *rel, uint64_t cgid,
		 bool no_links, char *errbuf, size_t errlen)
{
	int fd = pindir_open(tmp, "egr_meta"), err = 0;
	struct egr_meta m;
	uint32_t k = 0;

	if (fd < 0 || bpf_map_lookup_elem(fd, &k, &m) || m.magic != EGR_MAGIC ||
	    m.abi != EGR_ABI_VERSION)
		err = -EPROTO;
	/* made for no cgroup: now for this one */
	m.cgroup_id = cgid;
	m.created = time(NULL);
	snprintf(m.path, sizeof(m.path), "%s", rel);
	if (!err && bpf_map_update_elem(fd, &k, &m, BPF_ANY))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err) {
		seterr(errbuf, errlen, "setting up the preloaded instance %s: %s", tmp,
		       strerror(-err));
		pindir_remove(tmp, &kstate_pins);
		return err;
	}
	return place(cgpath, cgid, tmp, no_links, errbuf, errlen);
}

int kstate_dir_remove(const char *dir)
{
	return pindir_remove(dir, &kstate_pins);
}

int kstate_link_missing(const struct egr_kstate *ks)
{
	char path[256];

	pindir_path(ks->dir, "link_egress", path, sizeof(path));
	return access(path, F_OK) != 0;
}

int kstate_open_pin(const struct egr_kstate *ks, const char *name)
{
	return pindir_open(ks->dir, name);
}

/* The fds of ks, in the order of fd_pins. */
static void kstate_fds(struct egr_kstate *ks, int *fds[NFDS])
{
	int *all[NFDS] = { &ks->ctl_fd,	  &ks->meta_fd,	 &ks->v4_fd,	&ks->v6_fd,
			   &ks->rules_fd, &ks->hits_fd,	 &ks->stats_fd, &ks->free_fd,
			   &ks->names_fd, &ks->nlive_fd, &ks->learn_fd };

	memcpy(fds, all, sizeof(all));
}

int kstate_open(uint64_t cgid, struct egr_kstate *ks)
{
	int *fds[NFDS];
	uint32_t k = 0;
	bool missing;
	size_t i;
	int err;

	memset(ks, 0, sizeof(*ks));
	kstate_fds(ks, fds);
	for (i = 0; i < NFDS; i++)
		*fds[i] = -1;
	ks->cgid = cgid;
	pin_dir(cgid, ks->dir, sizeof(ks->dir));
	if (access(ks->dir, F_OK))
		return -ENOENT;
	for (i = 0, missing = false; i < NFDS; i++) {
		*fds[i] = pindir_open(ks->dir, fd_pins[i]);
		missing |= *fds[i] < 0;
	}
	if (ks->meta_fd < 0 || bpf_map_lookup_elem(ks->meta_fd, &k, &ks->meta) ||
	    ks->meta.magic != EGR_MAGIC || ks->meta.cgroup_id != cgid) {
		err = -EPROTO;
		goto fail;
	}
	if (ks->meta.abi != EGR_ABI_VERSION) {
		/* made by another egressctl version (other pins, maybe): only
		 * detach may touch it
		 */
		err = -EPROTONOSUPPORT;
		goto fail;
	}
	if (missing) {
		err = -EPROTO;
		goto fail;
	}
	if (ks->meta.flags & EGR_MF_SWAP) {
		int n;

		/* a growth was interrupted after its instance took the name:
		 * point the links at it (idempotent; the next change under the
		 * lock clears the flag, kpolicy_recover())
		 */
		kstate_finish_swap(ks->dir, &n);
	}
	ks->ncpus = libbpf_num_possible_cpus();
	if (ks->ncpus < 1) {
		err = ks->ncpus ? ks->ncpus : -EINVAL;
		goto fail;
	}
	return 0;
fail:
	kstate_close(ks);
	return err;
}

void kstate_other_layout(const char *label, uint32_t abi, const char *spec, char *err,
			 size_t errlen)
{
	seterr(err, errlen,
	       "%s is attached by an egressctl with another map layout (ABI %u, this one %u): "
	       "its filter stays in force; to upgrade: egressctl detach %s, then egressctl attach "
	       "%s and egressctl apply %s -f <policy file>",
	       label, abi, EGR_ABI_VERSION, spec ? spec : label, spec ? spec : label,
	       spec ? spec : label);
}

void kstate_close(struct egr_kstate *ks)
{
	int *fds[NFDS];
	size_t i;

	kstate_fds(ks, fds);
	kgen_unmap(ks);
	for (i = 0; i < NFDS; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int kstate_write_meta(const struct egr_kstate *ks)
{
	uint32_t k = 0;

	return bpf_map_update_elem(ks->meta_fd, &k, &ks->meta, BPF_ANY) ? -errno : 0;
}

int kstate_remove(uint64_t cgid, char *errbuf, size_t errlen)
{
	char dir[128], dead[160], tag[32];
	struct egr_kstate ks;
	int err;

	pin_dir(cgid, dir, sizeof(dir));
	if (access(dir, F_OK))
		return -ENOENT;
	/* Only remove what egressctl made (its meta map says so). */
	err = kstate_open(cgid, &ks);
	if (err == -EPROTO) {
		seterr(errbuf, errlen, "%s was not made by this egressctl; refusing to remove it",
		       dir);
		return err;
	}
	kstate_close(&ks);
	/* One atomic step makes it detached: the directory leaves its name.
	 * Its pins (the links first) go next; if this process dies before
	 * that, the next egressctl command removes what is left.
	 */
	snprintf(tag, sizeof(tag), "%" PRIu64, cgid);
	err = pindir_retire(dir, tag, dead, sizeof(dead));
	if (err) {
		seterr(errbuf, errlen, "renaming %s: %s", dir, strerror(-err));
		return err;
	}
	if (pindir_remove(dead, &kstate_pins)) {
		seterr(errbuf, errlen, "removing %s: directory not empty", dead);
		return -ENOTEMPTY;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int kstate_list(uint64_t **ids, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*ids = NULL;
	*n = 0;
	d = opendir(EGR_PIN_ROOT);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *end;
		uint64_t id = strtoull(de->d_name, &end, 10);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end)
			continue;
		if (*n == cap) {
			uint64_t *p = realloc(*ids, (cap = cap ? 2 * cap : 16) * sizeof(*p));

			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			*ids = p;
		}
		(*ids)[(*n)++] = id;
	}
	closedir(d);
	qsort(*ids, *n, sizeof(**ids), cmp_u64);
	return 0;
}

int kstate_link_alive(const struct egr_kstate *ks)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	int fd = pindir_open(ks->dir, "link_egress"), ret;

	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (ret)
		return 0;
	/* A link whose cgroup was removed reports cgroup_id 0. */
	return info.cgroup.cgroup_id != 0;
}

int kstate_stats(const struct egr_kstate *ks, struct egr_counter out[EGR_STAT_MAX])
{
	struct egr_counter *v = calloc(ks->ncpus, sizeof(*v));
	uint32_t k;
	int c;

	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out) * EGR_STAT_MAX);
	for (k = 0; k < EGR_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(ks->stats_fd, &k, v)) {
			free(v);
			return -errno;
		}
		for (c = 0; c < ks->ncpus; c++) {
			out[k].packets += v[c].packets;
			out[k].bytes += v[c].bytes;
		}
	}
	free(v);
	return 0;
}

int kstate_lock(void)
{
	int fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

void kstate_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
