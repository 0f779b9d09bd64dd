// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The strict-mode guard in `status` and `watch --guard-status` (guard_view.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/guard_view.h"
#include "kernel/guard.h"
#include "util/log.h"

static const char *const gstat_names[EGR_GSTAT_MAX] = { "managed", "allowed", "denied",
							 "loopback", "malformed" };

#define GUARD_MODE                                                                     \
	"drops every packet but loopback of a cgroup under it that has no policy in " \
	"force and that watch did not allow"

static const char *why_unusable(int ret)
{
	return ret == -EPROTO ? "pins not made by this egressctl" : strerror(-ret);
}

json_t *guard_view_json(void)
{
	struct egr_guard_info gi;
	struct egr_guard_held h;
	json_t *c, *held;
	size_t i;
	int ret = guard_info(&gi), k;

	if (ret == -ENOENT)
		return json_null();
	if (ret)
		return json_pack("{s:s, s:s}", "error", why_unusable(ret), "remove",
				 GUARD_REMOVE_CMD);
	c = json_object();
	for (k = 0; k < EGR_GSTAT_MAX; k++)
		json_object_set_new(c, gstat_names[k],
				    json_pack("{s:I, s:I}", "packets",
					      (json_int_t)gi.stats[k].packets, "bytes",
					      (json_int_t)gi.stats[k].bytes));
	held = json_array();
	guard_held(&h);
	for (i = 0; i < h.n; i++)
		json_array_append_new(held, json_string(h.paths[i]));
	ret = (int)h.count;
	guard_held_free(&h);
	return json_pack("{s:s, s:I, s:b, s:s, s:I, s:I, s:I, s:i, s:o, s:o, s:s}", "cgroup",
			 gi.meta.path, "cgroup_id", (json_int_t)gi.meta.cgroup_id, "attached",
			 gi.alive, "mode", GUARD_MODE, "cgroups", (json_int_t)gi.entries,
			 "managed", (json_int_t)gi.managed, "allowed",
			 (json_int_t)(gi.entries - gi.managed), "held", ret, "held_cgroups", held,
			 "counters", c, "remove", GUARD_REMOVE_CMD);
}

static void print_held(void)
{
	struct egr_guard_held h;
	size_t i;

	if (guard_held(&h) || !h.count) {
		guard_held_free(&h);
		return;
	}
	printf("  HOLDING %zu cgroup%s with a process and no policy: all their traffic but "
	       "loopback is dropped, replies included\n",
	       h.count, h.count == 1 ? "" : "s");
	for (i = 0; i < h.n; i++)
		printf("    %s\n", h.paths[i]);
	if (h.count > h.n)
		printf("    ... and %zu more\n", h.count - h.n);
	guard_held_free(&h);
}

int guard_view_print(void)
{
	struct egr_guard_info gi;
	int ret = guard_info(&gi), k;

	if (ret == -ENOENT) {
		puts("no guard installed");
		return 0;
	}
	if (ret) {
		printf("guard in %s: %s; remove it with: %s\n", EGR_GUARD_DIR, why_unusable(ret),
		       GUARD_REMOVE_CMD);
		return ret;
	}
	printf("guard on cgroup %s (id %llu)%s\n", gi.meta.path,
	       (unsigned long long)gi.meta.cgroup_id,
	       gi.alive ? "" : "  DEFUNCT: the cgroup is gone");
	if (gi.alive)
		printf("  %s\n", GUARD_MODE);
	printf("  cgroups passed: %zu (%zu with a filter, %zu unmanaged allowed)\n", gi.entries,
	       gi.managed, gi.entries - gi.managed);
	print_held();
	for (k = 0; k < EGR_GSTAT_MAX; k++)
		printf("  %-9s %llu packets, %llu bytes\n", gstat_names[k],
		       (unsigned long long)gi.stats[k].packets,
		       (unsigned long long)gi.stats[k].bytes);
	printf("  remove it with: %s\n", GUARD_REMOVE_CMD);
	return 0;
}

/* Is rel (below the mount) the guarded cgroup or under it? */
static bool under(const char *rel, const char *guarded)
{
	size_t n = strlen(guarded);

	while (n > 1 && guarded[n - 1] == '/')
		n--;
	return !strncmp(rel, guarded, n) && (rel[n] == '/' || !rel[n]);
}

void guard_view_note(const char *rel, bool detached)
{
	struct egr_guard_info gi;
	struct egr_guard_held h;

	if (guard_info(&gi) || !gi.alive || !under(rel, gi.meta.path))
		return;
	if (detached) {
		pr_warn("the strict-mode guard on %s now drops this cgroup's traffic (no policy in "
			"force); remove the guard with: %s\n",
			gi.meta.path, GUARD_REMOVE_CMD);
		return;
	}
	if (guard_held(&h) || !h.count) {
		guard_held_free(&h);
		return;
	}
	pr_warn("the strict-mode guard on %s is dropping all traffic of %zu cgroup%s under it "
		"with no policy in force (peers of this target among them cannot answer it): "
		"egressctl status lists them; remove the guard with: %s\n",
		gi.meta.path, h.count, h.count == 1 ? "" : "s", GUARD_REMOVE_CMD);
	guard_held_free(&h);
}
