// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Docker Engine API replies (user/runtime/docker.c; its stream parser is static, so
 * this file includes docker.c): docker_inspect_parse() on a container inspect body, and
 * the event stream (util/jstream.c's splitter with docker.c's dispatch),
 * fed in two chunks split where the
 * first input byte says (values cut in two must wait for the rest).
 * Invariants: a parsed container has a 64-hex id, NUL-terminated strings,
 * labels and annotations that are JSON objects or none, and a non-negative
 * pid; the stream parser leaves only unparsed text.
 */
#include "fuzz.h"
#include "../../user/runtime/docker.c"

static int count_cb(const char *action, const char *id, uint64_t t, void *ctx)
{
	(void)t;
	/* An empty id ({"status":"die","id":""}) does reach the callback: the
	 * watch callback copes (the inspect of "" fails), so it is allowed here.
	 */
	FUZZ_CHECK(action && id, "event without action or id");
	FUZZ_CHECK(!strchr(action, ':'), "action '%s' keeps its detail", action);
	(*(int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_container c;
	struct jbuf body = { 0 };
	struct ev_state st = { 0 };
	char err[512] = "";
	size_t cut;
	int events = 0;

	if (size > 1 << 20)
		return 0;
	body.p = fuzz_cstr(data, size);
	body.len = size;
	memset(&c, 0, sizeof(c));
	if (!docker_inspect_parse(body.p, body.len, &c, err, sizeof(err))) {
		FUZZ_CHECK(valid_id(c.id), "id '%s'", c.id);
		FUZZ_CHECK(!c.labels_json || c.labels_json[0] == '{', "labels '%s'", c.labels_json);
		FUZZ_CHECK(!c.annotations_json || c.annotations_json[0] == '{', "annotations '%s'",
			   c.annotations_json);
		FUZZ_CHECK(memchr(c.name, 0, sizeof(c.name)), "name not terminated");
		FUZZ_CHECK(memchr(c.network_mode, 0, sizeof(c.network_mode)),
			   "mode not terminated");
		FUZZ_CHECK(c.pid >= 0 && (c.running || !c.pid), "pid %d", (int)c.pid);
	} else {
		FUZZ_CHECK(err[0], "no message");
	}
	docker_container_free(&c);
	free(body.p);

	st.cb = count_cb;
	st.ctx = &events;
	cut = size ? data[0] % (size + 1) : 0;
	if (jbuf_add(&st.pending, (const char *)data, cut, EVENT_PENDING_MAX) == 0) {
		jbuf_parse_stream(&st.pending, event_value, &st);
		if (jbuf_add(&st.pending, (const char *)data + cut, size - cut,
			     EVENT_PENDING_MAX) == 0)
			jbuf_parse_stream(&st.pending, event_value, &st);
	}
	FUZZ_CHECK(st.pending.len <= size, "pending grew: %zu > %zu", st.pending.len, size);
	jbuf_free(&st.pending);
	return 0;
}
