// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * user/runtime/oci.c: the OCI state a hook reads (valid, and each way it is
 * refused with one line), runc command lines (the subcommand and bundle
 * behind global options, --log), the hooks the runtime wrapper appends to
 * a bundle's config.json (Docker's own kept, not twice), and Docker's
 * record of a container found from the bundle's /etc/hostname mount; ';'
 * separating label (annotation) rules as ',' does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "policy/addr.h"
#include "runtime/docker_labels.h"
#include "runtime/oci.h"

#define ID "3f0c2b9e4a1d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b"

static int parse(const char *text, struct oci_state *st, char *err, size_t len)
{
	return oci_state_parse(text, strlen(text), st, err, len);
}

static void test_state(void **state)
{
	struct oci_state st;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"ociVersion\":\"1.0.2-dev\",\"id\":\"" ID
			       "\",\"status\":\"creating\",\"pid\":4242,\"bundle\":\"/run/b\","
			       "\"annotations\":{\"egressctl.allow\":\"198.18.0.1\"}}",
			       &st, err, sizeof(err)),
			 0);
	assert_string_equal(st.id, ID);
	assert_string_equal(st.status, "creating");
	assert_int_equal(st.pid, 4242);
	assert_string_equal(st.bundle, "/run/b");
	assert_string_equal(st.annotations_json, "{\"egressctl.allow\":\"198.18.0.1\"}");
	oci_state_free(&st);
	/* poststop: no pid (Podman: null), no annotations */
	assert_int_equal(parse("{\"id\":\"" ID "\",\"status\":\"stopped\",\"pid\":null}", &st, err,
			       sizeof(err)),
			 0);
	assert_int_equal(st.pid, 0);
	assert_null(st.annotations_json);
	oci_state_free(&st);
}

static void test_state_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"\"x\"",
		"{\"id\":\"\"}",
		"{\"id\":\"../x\"}",
		"{\"id\":\".x\"}",
		"{\"id\":\"a/b\"}",
		"{\"id\":7}",
		"{\"id\":\"a\",\"pid\":0}",
		"{\"id\":\"a\",\"pid\":-1}",
		"{\"id\":\"a\",\"pid\":4194305}",
		"{\"id\":\"a\",\"pid\":\"1\"}",
		"{\"id\":\"a\",\"bundle\":\"rel/dir\"}",
		"{\"id\":\"a\",\"bundle\":3}",
		"{\"id\":\"a\",\"annotations\":[]}",
		"{\"id\":\"a\",\"status\":5}",
		"{\"id\":\"a\",\"id\":\"b\"}",
	};
	struct oci_state st;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i], &st, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "OCI state"));
		assert_null(strchr(err, '\n'));
		oci_state_free(&st);
	}
}

static void test_cmd(void **state)
{
	char *create[] = { "runc",	   "--root",	  "/run/r", "--log",	"/b/log.json",
			   "--log-format", "json",	  "create", "--bundle", "/b",
			   "--pid-file",   "/b/init.pid", ID,	    NULL };
	char *create_b[] = { "runc", "--systemd-cgroup", "create", "-b=/x", ID, NULL };
	char *start[] = { "runc", "--root", "/run/r", "start", ID, NULL };
	struct oci_cmd c;
	bool json;

	(void)state;
	oci_parse_cmd(13, create, &c);
	assert_string_equal(c.sub, "create");
	assert_string_equal(c.bundle, "/b");
	assert_string_equal(oci_log_file(13, create, &json), "/b/log.json");
	assert_true(json);
	oci_parse_cmd(5, create_b, &c);
	assert_string_equal(c.bundle, "/x");
	oci_parse_cmd(5, start, &c);
	assert_string_equal(c.sub, "start");
	assert_null(c.bundle);
	assert_null(oci_log_file(5, start, &json));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_add_hook(void **state)
{
	char dir[] = "/tmp/egr-oci.XXXXXX", cfg[64];
	const char *args[] = { "egressctl", "hook", "--docker", NULL };
	const char *env[] = { "PATH=/usr/sbin:/usr/bin", NULL };
	const char *stages[] = { "createRuntime", "poststop", NULL };
	struct oci_hook h = {
		.path = "/usr/sbin/egressctl", .args = args, .env = env, .timeout = 30
	};
	char err[256], text[1024];
	json_t *j, *hooks;
	struct stat sb;
	size_t n;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	write_file(cfg,
		   "{\"ociVersion\":\"1.0.2\",\"hooks\":{\"prestart\":[{\"path\":\"/proc/1/exe\","
		   "\"args\":[\"libnetwork-setkey\"]}]}}");
	assert_int_equal(oci_add_hook(dir, &h, stages, err, sizeof(err)), 0);
	/* a create retried: not twice */
	assert_int_equal(oci_add_hook(dir, &h, stages, err, sizeof(err)), 0);
	j = json_load_file(cfg, 0, NULL);
	hooks = json_object_get(j, "hooks");
	assert_int_equal(json_array_size(json_object_get(hooks, "prestart")), 1);
	assert_int_equal(json_array_size(json_object_get(hooks, "createRuntime")), 1);
	assert_int_equal(json_array_size(json_object_get(hooks, "poststop")), 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(hooks, "createRuntime"), 0), "path")),
		"/usr/sbin/egressctl");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(hooks, "poststop"), 0), "timeout")),
			 30);
	json_decref(j);
	/* every other byte kept: a uint64 rlimit (unlimited) that jansson
	 * cannot hold, the order of members; the file's mode kept
	 */
	write_file(cfg, "{\"ociVersion\": \"1.0.2\", \"process\": {\"rlimits\": [{\"type\": "
			"\"RLIMIT_MEMLOCK\", \"hard\": 18446744073709551615, \"soft\": "
			"18446744073709551615}]}, \"hooks\": {}, \"z\": [1, {\"a\": \"}\\\"\"}]}");
	assert_int_equal(chmod(cfg, 0644), 0);
	assert_int_equal(oci_add_hook(dir, &h, stages, err, sizeof(err)), 0);
	assert_int_equal(stat(cfg, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	f = fopen(cfg, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(strstr(text,
			       "{\"ociVersion\": \"1.0.2\", \"process\": {\"rlimits\": [{\"type\": "
			       "\"RLIMIT_MEMLOCK\", \"hard\": 18446744073709551615, \"soft\": "
			       "18446744073709551615}]}, \"hooks\": {\"createRuntime\""));
	assert_non_null(strstr(text, "}, \"z\": [1, {\"a\": \"}\\\"\"}]}"));
	j = json_loads(text, JSON_DECODE_INT_AS_REAL, NULL);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "hooks"), "poststop")),
			 1);
	json_decref(j);
	/* no hooks member: added first; an empty object too */
	write_file(cfg, "{\"b\": 18446744073709551615}");
	assert_int_equal(oci_add_hook(dir, &h, stages, err, sizeof(err)), 0);
	j = json_load_file(cfg, JSON_DECODE_INT_AS_REAL, NULL);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);
	write_file(cfg, " { } ");
	assert_int_equal(oci_add_hook(dir, &h, stages, err, sizeof(err)), 0);
	j = json_load_file(cfg, 0, NULL);
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	/* a key twice: refused (the member replaced would be ambiguous) */
	write_file(cfg, "{\"hooks\": {}, \"hooks\": {}}");
	assert_int_equal(oci_add_hook(dir, &h, stages, err, sizeof(err)), -EINVAL);
	/* not JSON: one line, the file left alone */
	write_file(cfg, "{nope");
	assert_int_equal(oci_add_hook(dir, &h, stages, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "config.json"));
	unlink(cfg);
	rmdir(dir);
}

static void test_docker_config(void **state)
{
	char dir[] = "/tmp/egr-oci.XXXXXX", p[256], cfg[4096], name[64], err[256], *labels;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/containers", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/containers/" ID, dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/containers/" ID "/config.v2.json", dir);
	write_file(p, "{\"ID\":\"" ID "\",\"Name\":\"/web\",\"Config\":{\"Labels\":"
		      "{\"egressctl.allow\":\"198.18.0.1\"}}}");
	snprintf(p, sizeof(p), "%s/config.json", dir);
	snprintf(cfg, sizeof(cfg),
		 "{\"mounts\":[{\"destination\":\"/etc/hostname\",\"source\":\"%s/containers/" ID
		 "/hostname\"}]}",
		 dir);
	write_file(p, cfg);
	/* the data root from the bundle's /etc/hostname mount */
	assert_int_equal(
		oci_docker_config(dir, ID, NULL, name, sizeof(name), &labels, err, sizeof(err)), 0);
	assert_string_equal(name, "web");
	assert_string_equal(labels, "{\"egressctl.allow\":\"198.18.0.1\"}");
	free(labels);
	/* --network container:<other>: its hostname file, the root the same */
	snprintf(cfg, sizeof(cfg),
		 "{\"process\":{\"rlimits\":[{\"hard\":18446744073709551615}]},\"mounts\":"
		 "[{\"destination\":\"/etc/hostname\",\"source\":\"%s/containers/"
		 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff/hostname\"}]}",
		 dir);
	write_file(p, cfg);
	assert_int_equal(
		oci_docker_config(dir, ID, NULL, name, sizeof(name), &labels, err, sizeof(err)), 0);
	assert_string_equal(name, "web");
	free(labels);
	/* given: the same */
	assert_int_equal(oci_docker_config("/nonexistent", ID, dir, name, sizeof(name), &labels,
					   err, sizeof(err)),
			 0);
	free(labels);
	/* another id's record: refused */
	assert_int_equal(oci_docker_config(dir, "abc", dir, name, sizeof(name), &labels, err,
					   sizeof(err)),
			 -ENOENT);
	assert_int_equal(oci_docker_config(dir, "../x", dir, name, sizeof(name), &labels, err,
					   sizeof(err)),
			 -EINVAL);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

/* Podman's --annotation splits a value at commas: ';' separates rules too */
static void test_label_semicolon(void **state)
{
	struct egr_policy p;
	char err[256];

	(void)state;
	assert_int_equal(
		docker_label_policy("{\"egressctl.allow\":\"198.18.0.1 tcp:80; 198.18.0.2, "
				    "198.18.0.3 udp:53\"}",
				    &p, err, sizeof(err)),
		1);
	assert_int_equal(p.n, 3);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state),	      cmocka_unit_test(test_state_bad),
		cmocka_unit_test(test_cmd),	      cmocka_unit_test(test_add_hook),
		cmocka_unit_test(test_docker_config), cmocka_unit_test(test_label_semicolon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
