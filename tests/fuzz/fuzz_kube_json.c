// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kubernetes API replies (user/runtime/kube.c; its parsers are static, so
 * this file includes kube.c): kube_pod_parse() on a pod object, and the
 * watch stream (util/jstream.c's splitter with kube.c's event handling),
 * fed in two chunks split where the first input byte says. Invariants: a
 * parsed pod's uid has only a UUID's characters (it names cgroups), its
 * container ids are hex, its strings are NUL-terminated; the stream moves
 * the resourceVersion only to a string it read; the stream parser leaves
 * only unparsed text.
 */
#include "fuzz.h"
#include "../../user/runtime/kube.c"

static void check_pod(const struct kube_pod *p)
{
	size_t i;

	FUZZ_CHECK(memchr(p->uid, 0, sizeof(p->uid)), "uid not terminated");
	FUZZ_CHECK(strspn(p->uid, "0123456789abcdef-") == strlen(p->uid), "uid '%s'", p->uid);
	FUZZ_CHECK(memchr(p->name, 0, sizeof(p->name)) && memchr(p->ns, 0, sizeof(p->ns)),
		   "name not terminated");
	FUZZ_CHECK(p->ncontainers <= KUBE_MAX_CONTAINERS, "%zu containers", p->ncontainers);
	for (i = 0; i < p->ncontainers; i++)
		FUZZ_CHECK(valid_id(p->containers[i]), "container id '%s'", p->containers[i]);
}

static int count_cb(const char *type, const struct kube_pod *p, void *ctx)
{
	FUZZ_CHECK(!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED"),
		   "event type '%s'", type);
	check_pod(p);
	(*(int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_conn k = { 0 };
	struct wstate w = { .k = &k, .cb = count_cb };
	struct kube_pod p;
	char *text;
	size_t cut;
	int events = 0;

	if (size > 1 << 20)
		return 0;
	text = fuzz_cstr(data, size);
	if (!kube_pod_parse(text, &p)) {
		check_pod(&p);
		kube_pod_free(&p);
	}
	free(text);

	w.ctx = &events;
	cut = size ? data[0] % (size + 1) : 0;
	if (jbuf_add(&w.pending, (const char *)data, cut, EVENT_MAX) == 0) {
		jbuf_parse_stream(&w.pending, watch_event, &w);
		if (jbuf_add(&w.pending, (const char *)data + cut, size - cut, EVENT_MAX) == 0)
			jbuf_parse_stream(&w.pending, watch_event, &w);
	}
	FUZZ_CHECK(w.pending.len <= size, "pending grew: %zu > %zu", w.pending.len, size);
	FUZZ_CHECK(memchr(k.rv, 0, sizeof(k.rv)), "resourceVersion not terminated");
	jbuf_free(&w.pending);
	return 0;
}
