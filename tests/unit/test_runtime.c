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
#include <pthread.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* ---- docker_inspect() against a fake Podman on a unix socket ------------- */

#define FAKE_ID "3f2a1b9c0d1e3f2a1b9c0d1e3f2a1b9c0d1e3f2a1b9c0d1e3f2a1b9c0d1e3f2a"

struct fake_engine {
	int fd; /* listening */
	int libpod_status; /* of GET /v4.0.0/libpod/containers/<id>/json */
};

static void fake_reply(int c, int status, bool libpod, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, libpod ? "Libpod-Api-Version: 4.3.1\r\n" : "", strlen(body));

	assert_int_equal(write(c, head, (size_t)n), n);
	assert_int_equal(write(c, body, strlen(body)), (ssize_t)strlen(body));
}

/* Answers two requests: the compatible inspect (with Podman's header, no
 * annotations), then Podman's own inspect, with libpod_status.
 */
static void *fake_serve(void *arg)
{
	struct fake_engine *f = arg;
	int i;

	for (i = 0; i < 2; i++) {
		char req[4096] = "";
		int c = accept(f->fd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			return NULL;
		n = read(c, req, sizeof(req) - 1);
		if (n > 0 && strstr(req, "GET /containers/web/json"))
			fake_reply(c, 200, true,
				   "{\"Id\": \"" FAKE_ID "\", \"Name\": \"/web\", \"Config\":"
				   " {\"Labels\": {\"egressctl.allow\": \"198.18.0.1\"}}}");
		else if (n > 0 && strstr(req, "GET /v4.0.0/libpod/containers/" FAKE_ID "/json"))
			fake_reply(
				c, f->libpod_status, true,
				f->libpod_status == 200 ?
					"{\"Config\": {\"Annotations\": {\"egressctl.allow\":"
					" \"198.18.0.2\", \"io.podman.annotations.init\": \"FALSE\"}}}" :
					"{\"message\": \"boom\"}");
		else
			fake_reply(c, 400, true, "{}");
		close(c);
	}
	return NULL;
}

static void inspect_fake(int libpod_status, struct docker_container *c)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct fake_engine f = { .libpod_status = libpod_status };
	char dir[] = "/tmp/egr-unit-XXXXXX", host[160], err[256] = "";
	pthread_t th;

	assert_non_null(mkdtemp(dir));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/podman.sock", dir);
	snprintf(host, sizeof(host), "unix://%s", a.sun_path);
	f.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f.fd >= 0);
	assert_int_equal(bind(f.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f.fd, 4), 0);
	assert_int_equal(pthread_create(&th, NULL, fake_serve, &f), 0);
	if (docker_inspect(host, "web", c, err, sizeof(err)))
		fail_msg("docker_inspect: %s", err);
	pthread_join(th, NULL);
	close(f.fd);
	unlink(a.sun_path);
	rmdir(dir);
}

/* Podman: the annotations come from its own API; when that fails, the
 * inspect still succeeds and says why the annotations are missing.
 */
static void test_inspect_podman(void **state)
{
	struct docker_container c;

	(void)state;
	inspect_fake(200, &c);
	assert_string_equal(c.id, FAKE_ID);
	assert_string_equal(c.labels_json, "{\"egressctl.allow\":\"198.18.0.1\"}");
	assert_string_equal(
		c.annotations_json,
		"{\"egressctl.allow\":\"198.18.0.2\",\"io.podman.annotations.init\":\"FALSE\"}");
	assert_null(c.annotations_err);
	docker_container_free(&c);

	inspect_fake(500, &c);
	assert_string_equal(c.id, FAKE_ID);
	assert_non_null(c.labels_json);
	assert_null(c.annotations_json);
	assert_string_equal(c.annotations_err,
			    "Podman's API (GET /v4.0.0/libpod/containers/" FAKE_ID
			    "/json) answered HTTP 500");
	docker_container_free(&c);
	assert_null(c.annotations_err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_of_path),    cmocka_unit_test(test_event_action),
		cmocka_unit_test(test_cgroup_names),  cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_inspect_parse), cmocka_unit_test(test_inspect_podman),
	};

	return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
