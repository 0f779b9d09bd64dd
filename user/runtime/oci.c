// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The OCI runtime interface: hook state, runc command lines, config.json
 * hooks, Docker's record of a container (see oci.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "runtime/oci.h"
#include "util/err.h"

/* Container ids as runtimes make them (64 hex for Docker and Podman):
 * letters, digits, '_', '-', '.', not starting with '.'.
 */
static bool valid_id(const char *id)
{
	size_t i, n = strlen(id);

	if (!n || n > 128 || id[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int oci_state_parse(const char *text, size_t len, struct oci_state *st, char *err, size_t errlen)
{
	const char *id, *status, *bundle;
	json_t *j, *ann, *pid, *b;
	json_error_t je;
	char q[4 * QUOTE_MAX + 8];
	int ret = -EINVAL;

	memset(st, 0, sizeof(*st));
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		seterr(err, errlen, "the OCI state on stdin is not a JSON object%s%s",
		       j ? "" : ": ", j ? "" : je.text);
		json_decref(j);
		return -EINVAL;
	}
	id = json_string_value(json_object_get(j, "id"));
	status = json_string_value(json_object_get(j, "status"));
	pid = json_object_get(j, "pid");
	b = json_object_get(j, "bundle");
	bundle = json_string_value(b);
	ann = json_object_get(j, "annotations");
	if (!id || !valid_id(id)) {
		seterr(err, errlen, "the OCI state on stdin has no valid \"id\"%s%s%s",
		       id ? " ('" : "", id ? quote_text(id, q, sizeof(q)) : "", id ? "')" : "");
		goto out;
	}
	snprintf(st->id, sizeof(st->id), "%s", id);
	if (json_object_get(j, "status") && (!status || strlen(status) >= sizeof(st->status))) {
		seterr(err, errlen, "the OCI state on stdin has a bad \"status\"");
		goto out;
	}
	snprintf(st->status, sizeof(st->status), "%s", status ? status : "");
	if (pid && !json_is_null(pid)) {
		if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
		    json_integer_value(pid) > 4194304) {
			seterr(err, errlen, "the OCI state on stdin has a bad \"pid\"");
			goto out;
		}
		st->pid = (pid_t)json_integer_value(pid);
	}
	if (b && !json_is_null(b)) {
		if (!bundle || bundle[0] != '/' || strlen(bundle) >= sizeof(st->bundle)) {
			seterr(err, errlen,
			       "the OCI state on stdin has a bad \"bundle\" (not an absolute path)");
			goto out;
		}
		snprintf(st->bundle, sizeof(st->bundle), "%s", bundle);
	}
	if (ann && !json_is_null(ann) && !json_is_object(ann)) {
		seterr(err, errlen,
		       "the OCI state on stdin has bad \"annotations\" (not an object)");
		goto out;
	}
	ret = 0;
	if (json_is_object(ann) && json_object_size(ann)) {
		st->annotations_json = json_dumps(ann, JSON_COMPACT);
		if (!st->annotations_json) {
			seterr(err, errlen, "out of memory");
			ret = -ENOMEM;
		}
	}
out:
	json_decref(j);
	return ret;
}

void oci_state_free(struct oci_state *st)
{
	free(st->annotations_json);
	st->annotations_json = NULL;
}

/* runc's global options that take a value (runc --help, 1.1). */
static bool global_with_value(const char *a)
{
	static const char *const v[] = { "--root", "--log", "--log-format", "--criu",
					 "--rootless" };
	size_t i;

	if (strchr(a, '='))
		return false;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(a, v[i]))
			return true;
	return false;
}

void oci_parse_cmd(int argc, char **argv, struct oci_cmd *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			if (global_with_value(argv[i]))
				i++;
			continue;
		}
		c->sub = argv[i];
		break;
	}
	if (!c->sub || strcmp(c->sub, "create"))
		return;
	for (i++; i < argc; i++) {
		if ((!strcmp(argv[i], "--bundle") || !strcmp(argv[i], "-b")) && i + 1 < argc)
			c->bundle = argv[++i];
		else if (!strncmp(argv[i], "--bundle=", 9))
			c->bundle = argv[i] + 9;
		else if (!strncmp(argv[i], "-b=", 3))
			c->bundle = argv[i] + 3;
	}
}

const char *oci_log_file(int argc, char **argv, bool *json)
{
	const char *log = NULL;
	int i;

	*json = false;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = NULL;

		if (!strncmp(a, "--log=", 6))
			log = a + 6;
		else if (!strncmp(a, "--log-format=", 13))
			v = a + 13;
		else if (!strcmp(a, "--log") && i + 1 < argc)
			log = argv[++i];
		else if (!strcmp(a, "--log-format") && i + 1 < argc)
			v = argv[++i];
		else if (global_with_value(a))
			i++;
		if (v)
			*json = !strcmp(v, "json");
	}
	return log;
}

static json_t *str_array(const char *const *v)
{
	json_t *a = json_array();

	for (; a && v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/* Is there a hook with this path and args in the list? */
static bool has_hook(json_t *list, const char *path, json_t *args)
{
	size_t i;
	json_t *h;

	json_array_foreach(list, i, h)
	{
		const char *p = json_string_value(json_object_get(h, "path"));

		if (p && !strcmp(p, path) && json_equal(json_object_get(h, "args"), args))
			return true;
	}
	return false;
}

static int write_json(json_t *j, const char *tmp, const char *path, char *err, size_t errlen)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ret = 0;

	/* No fsync: runc reads it next, and a crash ends the create anyway. */
	errno = 0;
	if (fd < 0 || json_dumpfd(j, fd, JSON_COMPACT)) {
		ret = errno ? -errno : -EIO;
		seterr(err, errlen, "writing %s: %s", tmp, strerror(-ret));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return ret;
	}
	close(fd);
	if (rename(tmp, path)) {
		ret = -errno;
		seterr(err, errlen, "renaming %s to %s: %s", tmp, path, strerror(-ret));
		unlink(tmp);
	}
	return ret;
}

int oci_add_hook(const char *bundle, const struct oci_hook *h, const char *const *stages, char *err,
		 size_t errlen)
{
	char cfg[4200], tmp[4300];
	json_t *j, *hooks, *hook = NULL, *args = NULL;
	json_error_t je;
	bool changed = false;
	int ret = 0;

	snprintf(cfg, sizeof(cfg), "%s/config.json", bundle && *bundle ? bundle : ".");
	snprintf(tmp, sizeof(tmp), "%s.egressctl-%d", cfg, (int)getpid());
	j = json_load_file(cfg, 0, &je);
	if (!json_is_object(j)) {
		seterr(err, errlen, "reading %s: %s", cfg, j ? "not a JSON object" : je.text);
		json_decref(j);
		return -EINVAL;
	}
	hooks = json_object_get(j, "hooks");
	if (!json_is_object(hooks)) {
		hooks = json_object();
		json_object_set_new(j, "hooks", hooks);
	}
	args = str_array(h->args);
	hook = json_pack("{s:s, s:O, s:o}", "path", h->path, "args", args, "env",
			 str_array(h->env));
	if (!hook || !hooks) {
		seterr(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	if (h->timeout > 0)
		json_object_set_new(hook, "timeout", json_integer(h->timeout));
	for (; *stages; stages++) {
		json_t *list = json_object_get(hooks, *stages);

		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(hooks, *stages, list);
		}
		if (has_hook(list, h->path, args))
			continue;
		json_array_append(list, hook);
		changed = true;
	}
	if (changed)
		ret = write_json(j, tmp, cfg, err, errlen);
out:
	json_decref(args);
	json_decref(hook);
	json_decref(j);
	return ret;
}

/* Docker's data root from the bundle: the source of its /etc/hostname
 * mount is <root>/containers/<id>/hostname. 0, or -ENOENT.
 */
static int root_of_bundle(const char *bundle, const char *id, char *root, size_t len)
{
	char cfg[4200], suffix[200];
	json_t *j, *m;
	size_t i, n, sl;
	int ret = -ENOENT;

	snprintf(cfg, sizeof(cfg), "%s/config.json", bundle);
	snprintf(suffix, sizeof(suffix), "/containers/%s/hostname", id);
	sl = strlen(suffix);
	j = json_load_file(cfg, 0, NULL);
	json_array_foreach(json_object_get(j, "mounts"), i, m)
	{
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = json_string_value(json_object_get(m, "source"));

		if (!dst || !src || strcmp(dst, "/etc/hostname"))
			continue;
		n = strlen(src);
		if (src[0] == '/' && n > sl && n - sl < len && !strcmp(src + n - sl, suffix) &&
		    !strstr(src, "/../")) {
			snprintf(root, len, "%.*s", (int)(n - sl), src);
			ret = 0;
		}
		break;
	}
	json_decref(j);
	return ret;
}

int oci_docker_config(const char *bundle, const char *id, const char *docker_root, char *name,
		      size_t namelen, char **labels_json, char *err, size_t errlen)
{
	char root[4096], path[4400];
	const char *fid, *nm;
	json_t *j, *labels;
	json_error_t je;
	int ret = 0;

	*labels_json = NULL;
	name[0] = '\0';
	if (!valid_id(id)) {
		seterr(err, errlen, "bad container id");
		return -EINVAL;
	}
	if (docker_root && *docker_root)
		snprintf(root, sizeof(root), "%s", docker_root);
	else if (!bundle || !*bundle || root_of_bundle(bundle, id, root, sizeof(root)))
		snprintf(root, sizeof(root), "/var/lib/docker");
	snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", root, id);
	j = json_load_file(path, 0, &je);
	if (!json_is_object(j)) {
		seterr(err, errlen, "reading the container's labels from %s: %s", path,
		       j ? "not a JSON object" : je.text);
		json_decref(j);
		return -ENOENT;
	}
	fid = json_string_value(json_object_get(j, "ID"));
	if (!fid || strcmp(fid, id)) {
		seterr(err, errlen, "%s is not container %.12s's", path, id);
		ret = -EINVAL;
		goto out;
	}
	nm = json_string_value(json_object_get(j, "Name"));
	snprintf(name, namelen, "%s", nm ? (nm[0] == '/' ? nm + 1 : nm) : "");
	labels = json_object_get(json_object_get(j, "Config"), "Labels");
	if (json_is_object(labels) && json_object_size(labels)) {
		*labels_json = json_dumps(labels, JSON_COMPACT);
		if (!*labels_json) {
			seterr(err, errlen, "out of memory");
			ret = -ENOMEM;
		}
	}
out:
	json_decref(j);
	return ret;
}
