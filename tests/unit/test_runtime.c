// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * user/runtime: the container id in the cgroup paths of Docker's and
 * Podman's cgroupfs layouts and of the systemd drivers; the engines' event
 * names as watch knows them (Podman's "died" and "remove" as Docker's
 * "die" and "destroy"); the socket an engine is asked on ($DOCKER_HOST,
 * --docker-host, $CONTAINER_HOST for podman: targets).
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
#include "runtime/cgfollow.h"
#include "runtime/docker.h"
#include "runtime/state.h"

#define ID "3f0c2b9e4a1d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b"

static void test_id_of_path(void **state)
{
	static const char *const ok[] = {
		"/docker/" ID,
		"/egr-strict/" ID,
		"/system.slice/docker-" ID ".scope",
		"/libpod_parent/libpod-" ID,
		"/egr-pstrict/libpod-" ID,
		"/machine.slice/libpod-" ID ".scope",
		"/machine.slice/machine-libpod_pod_1234.slice/libpod-" ID ".scope",
	};
	static const char *const bad[] = { "/docker",
					   "/",
					   "",
					   "/docker/" ID "x",
					   "/x/3f0c2b9e",
					   "/libpod_parent/conmon",
					   "/libpod_parent/libpod-conmon-3f0c2b9e.scope",
					   "/libpod_parent/libpod_" ID,
					   "/docker/" ID "-x" };
	char id[65];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(id, 0, sizeof(id));
		assert_int_equal(state_id_of_path(ok[i], id), 0);
		assert_string_equal(id, ID);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(state_id_of_path(bad[i], id), -ENOENT);
}

static void test_event_action(void **state)
{
	static const char *const map[][2] = {
		{ "start", "start" },
		{ "die", "die" },
		{ "died", "die" }, /* Podman's libpod name */
		{ "remove", "destroy" }, /* Podman never says destroy */
		{ "destroy", "destroy" },
		{ "rename", "rename" },
		{ "restart", "restart" },
		{ "cleanup", "cleanup" },
		{ "exec_start: sh -c true", "exec_start" },
		{ "health_status: healthy", "health_status" },
		{ "", "" },
	};
	char out[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		docker_event_action(map[i][0], out, sizeof(out));
		assert_string_equal(out, map[i][1]);
	}
	/* truncated, never overrun */
	docker_event_action("a_very_long_event_name_indeed", out, sizeof(out));
	assert_string_equal(out, "a_very_long_eve");
}

/* The container id in a new cgroup directory's name (cgfollow.h). */
static void test_cgroup_names(void **state)
{
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char *const bad[] = {
		"init.scope",
		"libpod_parent",
		"conmon",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		"libpod-conmon-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.slice",
		"crio-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		"libpod-",
		".scope",
		"",
	};
	static const char *const good[] = {
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"libpod-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"libpod-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		"docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		"docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	char out[65];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_true(cgfollow_container_id(good[i], out));
		assert_string_equal(out, id);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(cgfollow_container_id(bad[i], out));
}

static void test_sockets(void **state)
{
	(void)state;
	setenv("DOCKER_HOST", "unix:///run/x/docker.sock", 1);
	assert_string_equal(docker_socket(NULL), "/run/x/docker.sock");
	assert_string_equal(docker_socket(""), "/run/x/docker.sock");
	/* --docker-host wins over $DOCKER_HOST */
	assert_string_equal(docker_socket("unix:///tmp/p/podman.sock"), "/tmp/p/podman.sock");
	assert_string_equal(docker_socket("/tmp/bare.sock"), "/tmp/bare.sock");
	unsetenv("DOCKER_HOST");
	/* podman: targets: $CONTAINER_HOST, else Podman's rootful default */
	setenv("CONTAINER_HOST", "unix:///tmp/p/podman.sock", 1);
	assert_string_equal(podman_socket(), "/tmp/p/podman.sock");
	unsetenv("CONTAINER_HOST");
	assert_string_equal(podman_socket(), "/run/podman/podman.sock");
}

/* An inspect reply: labels and (Docker API 1.43) annotations as JSON text,
 * keys sorted; none when absent or not objects; a reply without an Id is
 * refused.
 */
static void test_inspect_parse(void **state)
{
	static const char id[] = "3f2a1b9c0d1e3f2a1b9c0d1e3f2a1b9c0d1e3f2a1b9c0d1e3f2a1b9c0d1e3f2a";
	struct docker_container c;
	char err[256], json[1024];

	(void)state;
	snprintf(json, sizeof(json),
		 "{\"Id\": \"%s\", \"Name\": \"/web\", \"State\": {\"Running\": true, \"Pid\": 42},"
		 " \"Config\": {\"Labels\": {\"z\": \"1\", \"egressctl.allow\": \"198.18.0.1\"}},"
		 " \"HostConfig\": {\"NetworkMode\": \"bridge\", \"Annotations\":"
		 " {\"egressctl.default\": \"allow\"}}}",
		 id);
	memset(&c, 0, sizeof(c));
	assert_int_equal(docker_inspect_parse(json, strlen(json), &c, err, sizeof(err)), 0);
	assert_string_equal(c.id, id);
	assert_string_equal(c.name, "web");
	assert_true(c.running);
	assert_int_equal(c.pid, 42);
	assert_string_equal(c.labels_json, "{\"egressctl.allow\":\"198.18.0.1\",\"z\":\"1\"}");
	assert_string_equal(c.annotations_json, "{\"egressctl.default\":\"allow\"}");
	assert_string_equal(c.network_mode, "bridge");
	docker_container_free(&c);
	assert_null(c.labels_json);
	assert_null(c.annotations_json);

	/* older APIs (and Podman's compatible one): no annotations */
	snprintf(
		json, sizeof(json),
		"{\"Id\": \"%s\", \"Config\": {\"Labels\": null}, \"HostConfig\": {\"Annotations\": \"x\"}}",
		id);
	memset(&c, 0, sizeof(c));
	assert_int_equal(docker_inspect_parse(json, strlen(json), &c, err, sizeof(err)), 0);
	assert_null(c.labels_json);
	assert_null(c.annotations_json);
	docker_container_free(&c);

	memset(&c, 0, sizeof(c));
	assert_int_equal(docker_inspect_parse("{\"Id\": \"3f\"}", 12, &c, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(err, "Docker daemon: container inspect reply has no valid Id");
	docker_container_free(&c);
	memset(&c, 0, sizeof(c));
	assert_int_equal(docker_inspect_parse("{", 1, &c, err, sizeof(err)), -EPROTO);
	docker_container_free(&c);
	assert_int_equal(docker_inspect_parse(NULL, 0, &c, err, sizeof(err)), -EPROTO);
	assert_string_equal(err,
			    "bad JSON from the Docker daemon (container inspect): empty reply");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_of_path),    cmocka_unit_test(test_event_action),
		cmocka_unit_test(test_cgroup_names),  cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_inspect_parse),
	};

	return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
