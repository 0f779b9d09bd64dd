// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel text the target resolver reads (user/util/cgroup.c): a mountinfo line
 * (mountinfo_cgroup2(), static: this file includes cgroup.c) and
 * /proc/<pid>/cgroup (cgroup_parse_proc()). Invariants: results are
 * NUL-terminated within their buffers and absolute paths.
 */
#include "fuzz.h"
#include "../../user/util/cgroup.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *line = fuzz_cstr(data, size), *mnt, *root;
	char out[64];

	memset(out, 'X', sizeof(out));
	if (!cgroup_parse_proc(s, out, sizeof(out)))
		FUZZ_CHECK(memchr(out, 0, sizeof(out)) && out[0] == '/', "path '%.63s'", out);
	if (mountinfo_cgroup2(line, &mnt, &root)) {
		FUZZ_CHECK(mnt >= line && mnt <= line + size, "mount point outside the line");
		FUZZ_CHECK(root >= line && root <= line + size, "root outside the line");
	}
	free(line);
	free(s);
	return 0;
}
