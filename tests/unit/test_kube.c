// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * watch --kubernetes's pure parts: a pod object as egressctl reads it
 * (runtime/kube.c: uid, QoS class, container ids of init, app and ephemeral
 * containers without the runtime's prefix, annotations), the pod cgroups the
 * kubelet names in both drivers' layouts, the pod's cgroup from a container
 * process's cgroup, the annotation policy (the label schema under
 * egressctl.io/), and the JSON stream splitter of the watch (util/jstream.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "runtime/docker_labels.h"
#include "runtime/kube.h"
#include "util/jstream.h"

#define UID "8f2c1a3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
#define UID_ "8f2c1a3e_5b6d_4e7f_9a0b_1c2d3e4f5a6b"
#define C1 "1111111111111111111111111111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222222222222222222222222222"
#define C3 "3333333333333333333333333333333333333333333333333333333333333333"

static const char pod_text[] =
	"{\"kind\":\"Pod\",\"metadata\":{\"uid\":\"" UID "\",\"namespace\":\"shop\","
	"\"name\":\"web-0\",\"resourceVersion\":\"77\",\"annotations\":{"
	"\"egressctl.io/allow\":\"198.18.5.0/24 tcp:443\",\"a\":\"b\"}},"
	"\"spec\":{\"nodeName\":\"n1\"},"
	"\"status\":{\"phase\":\"Running\",\"qosClass\":\"Burstable\","
	"\"initContainerStatuses\":[{\"containerID\":\"containerd://" C1 "\"}],"
	"\"containerStatuses\":[{\"containerID\":\"cri-o://" C2 "\"},"
	"{\"name\":\"waiting\"},{\"containerID\":\"containerd://not-hex\"}],"
	"\"ephemeralContainerStatuses\":[{\"containerID\":\"docker://" C3 "\"}]}}";

static void test_pod_parse(void **state)
{
	struct kube_pod p;

	(void)state;
	assert_int_equal(kube_pod_parse(pod_text, &p), 0);
	assert_string_equal(p.uid, UID);
	assert_string_equal(p.ns, "shop");
	assert_string_equal(p.name, "web-0");
	assert_string_equal(p.qos, "Burstable");
	assert_string_equal(p.phase, "Running");
	assert_int_equal(p.ncontainers, 3);
	assert_string_equal(p.containers[0], C1);
	assert_string_equal(p.containers[1], C2);
	assert_string_equal(p.containers[2], C3);
	assert_string_equal(p.annotations_json,
			    "{\"a\":\"b\",\"egressctl.io/allow\":\"198.18.5.0/24 tcp:443\"}");
	kube_pod_free(&p);

	/* no annotations, no statuses yet (Pending) */
	assert_int_equal(kube_pod_parse("{\"metadata\":{\"uid\":\"" UID "\"}}", &p), 0);
	assert_null(p.annotations_json);
	assert_int_equal(p.ncontainers, 0);
	kube_pod_free(&p);

	/* the uid names cgroups: only a UUID's characters */
	assert_int_equal(kube_pod_parse("{\"metadata\":{\"uid\":\"../../x\"}}", &p), -EPROTO);
	assert_int_equal(kube_pod_parse("{\"metadata\":{}}", &p), -EPROTO);
	assert_int_equal(kube_pod_parse("[1]", &p), -EPROTO);
	assert_int_equal(kube_pod_parse("{", &p), -EPROTO);
}

static void names_of(const char *qos, const char *const *want, size_t n)
{
	struct kube_pod p = { .uid = UID, .cg_uid = UID };
	char rel[512];
	size_t i;

	snprintf(p.qos, sizeof(p.qos), "%s", qos);
	for (i = 0; i < n; i++) {
		assert_int_equal(kube_pod_cgroup_name(&p, (unsigned int)i, rel, sizeof(rel)), 0);
		assert_string_equal(rel, want[i]);
	}
	assert_int_equal(kube_pod_cgroup_name(&p, (unsigned int)n, rel, sizeof(rel)), -ENOENT);
}

static void test_pod_cgroup_names(void **state)
{
	static const char *const guaranteed[] = { "/kubepods/pod" UID,
						  "/kubepods.slice/kubepods-pod" UID_ ".slice" };
	static const char *const burstable[] = {
		"/kubepods/burstable/pod" UID,
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice"
	};
	static const char *const besteffort[] = {
		"/kubepods/besteffort/pod" UID,
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice"
	};
	const char *const any[] = { guaranteed[0], guaranteed[1], burstable[0],
				    burstable[1],  besteffort[0], besteffort[1] };

	(void)state;
	names_of("Guaranteed", guaranteed, 2);
	names_of("Burstable", burstable, 2);
	names_of("BestEffort", besteffort, 2);
	names_of("", any, 6);
}

/* A static pod: its cgroup is named after the config hash its mirror pod
 * carries (kubernetes.io/config.mirror), not after the mirror's uid.
 */
static void test_static_pod(void **state)
{
	struct kube_pod p;
	char rel[512];

	(void)state;
	assert_int_equal(kube_pod_parse("{\"metadata\":{\"uid\":\"" UID "\",\"annotations\":"
					"{\"kubernetes.io/config.mirror\":"
					"\"0123456789abcdef0123456789abcdef\"}},"
					"\"status\":{\"qosClass\":\"Burstable\"}}",
					&p),
			 0);
	assert_string_equal(p.uid, UID);
	assert_string_equal(p.cg_uid, "0123456789abcdef0123456789abcdef");
	assert_int_equal(kube_pod_cgroup_name(&p, 0, rel, sizeof(rel)), 0);
	assert_string_equal(rel, "/kubepods/burstable/pod0123456789abcdef0123456789abcdef");
	kube_pod_free(&p);
	/* a mirror value that is not a hash is not used to name a cgroup */
	assert_int_equal(kube_pod_parse("{\"metadata\":{\"uid\":\"" UID "\",\"annotations\":"
					"{\"kubernetes.io/config.mirror\":\"../../x\"}}}",
					&p),
			 0);
	assert_string_equal(p.cg_uid, UID);
	kube_pod_free(&p);
}

static void test_pod_dir_of(void **state)
{
	static const char *const ok[][2] = {
		/* cgroupfs driver, containerd */
		{ "/kubepods/burstable/pod" UID "/" C1, "/kubepods/burstable/pod" UID },
		{ "/kubepods/pod" UID "/" C2, "/kubepods/pod" UID },
		/* cgroupfs, CRI-O */
		{ "/kubepods/besteffort/pod" UID "/crio-" C2, "/kubepods/besteffort/pod" UID },
		/* systemd driver: containerd, CRI-O, cri-dockerd */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/cri-containerd-" C1 ".scope",
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice" },
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" C2 ".scope",
		  "/kubepods.slice/kubepods-pod" UID_ ".slice" },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/docker-" C3 ".scope",
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice" },
		/* a kubelet --cgroup-root */
		{ "/node/kubepods/burstable/pod" UID "/" C1, "/node/kubepods/burstable/pod" UID },
	};
	static const char *const bad[] = {
		"/kubepods/burstable/pod" UID, /* the pod itself */
		"/kubepods/burstable/pod" UID "/" C1 "/sub", /* below the container */
		"/kubepods/burstable/podother/" C1, /* another pod */
		"/kubepods/burstable/pod" UID
		"/4444444444444444444444444444444444444444444444444444444444444444",
		"/kubepods/burstable/pod" UID "/" C1 "x",
		"/kubepods/burstable/pod" UID "/x" C1,
		"/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" C1, /* no .scope */
		"/kubepods.slice/kubepods-pod" UID ".slice/crio-" C2
		".scope", /* '-' in a unit name */
		"/docker/" C1,
		"/" C1,
		"",
	};
	struct kube_pod p = { .uid = UID, .cg_uid = UID, .ncontainers = 3 };
	char out[512];
	size_t i;

	(void)state;
	snprintf(p.containers[0], KUBE_ID_MAX, "%s", C1);
	snprintf(p.containers[1], KUBE_ID_MAX, "%s", C2);
	snprintf(p.containers[2], KUBE_ID_MAX, "%s", C3);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		out[0] = '\0';
		if (kube_pod_dir_of(ok[i][0], &p, out, sizeof(out)))
			fail_msg("%s", ok[i][0]);
		assert_string_equal(out, ok[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kube_pod_dir_of(bad[i], &p, out, sizeof(out)), -ENOENT);
}

static void test_conn_init(void **state)
{
	struct kube_conn k;
	char err[256];

	(void)state;
	unsetenv("NODE_NAME");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	assert_int_equal(kube_conn_init(&k, NULL, NULL, NULL, "node-1", err, sizeof(err)), 0);
	assert_string_equal(k.api, "https://[fd00::1]:6443");
	assert_string_equal(k.token_file, KUBE_SA_DIR "/token");
	assert_string_equal(k.ca_file, KUBE_SA_DIR "/ca.crt");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("NODE_NAME", "n2.example", 1);
	assert_int_equal(kube_conn_init(&k, NULL, "/t", "/c", NULL, err, sizeof(err)), 0);
	assert_string_equal(k.api, "https://10.96.0.1:6443");
	assert_string_equal(k.node, "n2.example");
	assert_string_equal(k.token_file, "/t");
	assert_int_equal(kube_conn_init(&k, "https://api:6443/", NULL, NULL, "n", err, sizeof(err)),
			 0);
	assert_string_equal(k.api, "https://api:6443");
	assert_int_equal(kube_conn_init(&k, "http://api", NULL, NULL, "n", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "bad --kube-api 'http://api': use https://HOST[:PORT]");
	assert_int_equal(kube_conn_init(&k, NULL, NULL, NULL, "N/1", err, sizeof(err)), -EINVAL);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("NODE_NAME");
	assert_int_equal(kube_conn_init(&k, NULL, NULL, NULL, "n", err, sizeof(err)), -EINVAL);
	assert_int_equal(kube_conn_init(&k, "https://a", NULL, NULL, NULL, err, sizeof(err)),
			 -EINVAL);
}

static void test_annotation_policy(void **state)
{
	struct egr_policy p;
	char err[256];

	(void)state;
	assert_int_equal(
		label_policy("{\"egressctl.io/allow\":\"198.18.5.0/24 tcp:443, 198.18.6.1\","
			     "\"egressctl.io/audit\":\"true\",\"app\":\"web\","
			     "\"egressctl.allow\":\"ignored: a label key\"}",
			     "egressctl.io/", "annotation", &p, err, sizeof(err)),
		1);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.dflt, EGR_DENY);
	assert_true(p.audit);
	policy_free(&p);
	assert_int_equal(label_policy("{\"app\":\"web\"}", "egressctl.io/", "annotation", &p, err,
				      sizeof(err)),
			 0);
	assert_int_equal(label_policy("{\"egressctl.io/alow\":\"x\"}", "egressctl.io/",
				      "annotation", &p, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "unknown annotation egressctl.io/alow (use egressctl.io/policy, "
				 "egressctl.io/allow, egressctl.io/deny, egressctl.io/default, "
				 "egressctl.io/audit)");
	assert_int_equal(label_policy("{\"egressctl.io/default\":\"open\"}", "egressctl.io/",
				      "annotation", &p, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "annotation egressctl.io/default: 'open': use deny or allow");
	assert_int_equal(
		label_policy(
			"{\"egressctl.io/policy\":\"default: allow\\nrules:\\n  - deny: 198.18.0.0/15\\n\"}",
			"egressctl.io/", "annotation", &p, err, sizeof(err)),
		1);
	assert_int_equal(p.dflt, EGR_ALLOW);
	assert_int_equal(p.n, 1);
	policy_free(&p);
}

/* ---- the stream splitter ------------------------------------------------- */

struct seen {
	char types[16][16];
	int n, stop_at;
};

static int collect(json_t *v, void *ctx)
{
	struct seen *s = ctx;
	const char *t = json_string_value(json_object_get(v, "type"));

	if (s->n < 16)
		snprintf(s->types[s->n++], 16, "%s", t ? t : "?");
	return s->n == s->stop_at ? 7 : 0;
}

static void feed(struct jbuf *b, const char *text, struct seen *s, int want_ret)
{
	assert_int_equal(jbuf_add(b, text, strlen(text), 1 << 20), 0);
	assert_int_equal(jbuf_parse_stream(b, collect, s), want_ret);
}

static void test_jstream(void **state)
{
	struct jbuf b = { 0 };
	struct seen s = { .stop_at = -1 };

	(void)state;
	/* an event cut in three chunks, then two in one, a broken line, one more */
	feed(&b, "{\"type\":\"ADD", &s, 0);
	assert_int_equal(s.n, 0);
	feed(&b, "ED\",\"object\":{\"a\":", &s, 0);
	assert_int_equal(s.n, 0);
	feed(&b, "[1,2]}}\n{\"type\":\"BOOKMARK\"}\r\n{\"type\":\"MODIFIED\"}", &s, 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(b.len, 0);
	feed(&b, "\n{\"type\": oops}\n  {\"type\":\"DELETED\"}\n", &s, 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.types[0], "ADDED");
	assert_string_equal(s.types[1], "BOOKMARK");
	assert_string_equal(s.types[2], "MODIFIED");
	assert_string_equal(s.types[3], "DELETED");
	assert_int_equal(b.len, 0);
	/* the callback stops the stream: what follows stays for later */
	s.stop_at = 5;
	feed(&b, "{\"type\":\"ERROR\"}{\"type\":\"ADDED\"}", &s, 7);
	assert_int_equal(s.n, 5);
	assert_string_equal(b.p, "{\"type\":\"ADDED\"}");
	/* the size bound */
	assert_int_equal(jbuf_add(&b, "0123456789", 10, 20), -E2BIG);
	jbuf_free(&b);
	assert_null(b.p);
	assert_int_equal(jbuf_parse_stream(&b, collect, &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_parse),  cmocka_unit_test(test_pod_cgroup_names),
		cmocka_unit_test(test_pod_dir_of), cmocka_unit_test(test_static_pod),
		cmocka_unit_test(test_conn_init),  cmocka_unit_test(test_annotation_policy),
		cmocka_unit_test(test_jstream),
	};

	return cmocka_run_group_tests_name("kube", tests, NULL, NULL);
}
