// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A long-running process (watch) loads one program instance per attach:
 * loading one must leave nothing behind in the process once its skeleton is
 * destroyed, neither a file descriptor nor a mapping of a map (a mapping
 * keeps its map alive: egr_ctl's mmap() did, one map per attach, issue 17).
 * Exact counts, before and after, in this process. Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "kernel/kgen.h"
#include "kernel/kstate.h"

#define LOADS 6

/* Mappings of BPF maps in this process. */
static int map_mmaps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "bpf-map") != NULL;
	fclose(f);
	return n;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void load_once(void)
{
	struct egr_attach_opts o = { .dflt = EGR_DENY };
	struct egressctl_bpf *skel = NULL;
	struct egr_kstate ks;
	char err[256] = "";
	int ret = kstate_load(&o, "/leak-test", 0, &skel, &ks, err, sizeof(err));

	if (ret)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(ret, 0);
	assert_null(ks.ctl_mm);
	egressctl_bpf__destroy(skel);
}

/* kstate_load() + destroy, as an attach does: flat. */
static void test_load_leaves_nothing(void **state)
{
	int mm, fds, i;

	(void)state;
	load_once(); /* libbpf's one-time probes */
	mm = map_mmaps();
	fds = open_fds();
	for (i = 0; i < LOADS; i++)
		load_once();
	assert_int_equal(map_mmaps(), mm);
	assert_int_equal(open_fds(), fds);
}

/* kgen's mapping goes with kgen_unmap() (kstate_close() calls it). */
static void test_kgen_unmap(void **state)
{
	struct egr_attach_opts o = { .dflt = EGR_DENY, .max_rules = 64 };
	struct egressctl_bpf *skel = NULL;
	struct egr_kstate ks;
	char err[256] = "";
	uint64_t gen = 0;
	int mm;

	(void)state;
	assert_int_equal(kstate_load(&o, "/leak-test", 0, &skel, &ks, err, sizeof(err)), 0);
	mm = map_mmaps(); /* with the skeleton's own (.rodata) */
	assert_int_equal(kgen_read(&ks, &gen), 0);
	assert_int_equal(gen, 2);
	assert_int_equal(map_mmaps(), mm + 1);
	kgen_unmap(&ks);
	assert_int_equal(map_mmaps(), mm);
	egressctl_bpf__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_leaves_nothing),
		cmocka_unit_test(test_kgen_unmap),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
