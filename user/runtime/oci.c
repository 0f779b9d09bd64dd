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
#include <sys/stat.h>
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

/* The JSON value at p (valid JSON, checked by jansson before): its end. */
static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *skip_string(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return e;
}

static const char *skip_value(const char *p, const char *e)
{
	int depth = 0;

	if (p < e && *p == '"')
		return skip_string(p, e);
	if (p < e && *p != '{' && *p != '[') {
		while (p < e && !strchr(",}] \t\r\n", *p))
			p++;
		return p;
	}
	while (p < e) {
		if (*p == '"') {
			p = skip_string(p, e);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return e;
}

/* The value of the top-level member "hooks" of the object in buf: its
 * span [*vs, *ve). 0, or -ENOENT (no such member; *vs: just after '{').
 */
static int hooks_span(const char *buf, size_t len, const char **vs, const char **ve)
{
	const char *p = skip_ws(buf, buf + len), *e = buf + len, *k, *ke;

	if (p == e || *p != '{')
		return -EINVAL;
	*vs = ++p;
	for (;;) {
		p = skip_ws(p, e);
		if (p == e || *p != '"')
			return -ENOENT;
		k = p;
		ke = skip_string(p, e);
		p = skip_ws(ke, e);
		if (p == e || *p != ':')
			return -EINVAL;
		p = skip_ws(p + 1, e);
		if (ke - k == 7 && !memcmp(k, "\"hooks\"", 7)) {
			*vs = p;
			*ve = skip_value(p, e);
			return 0;
		}
		p = skip_ws(skip_value(p, e), e);
		if (p == e || *p != ',')
			return -ENOENT;
		p++;
	}
}

/* config.json with only its "hooks" member replaced by hooks (or added
 * first): every other byte as runc's caller wrote it (jansson would turn a
 * uint64 rlimit, 18446744073709551615 for "unlimited", into an error), the
 * file's mode kept; written next to it and renamed over it.
 */
static int write_hooks(const char *cfg, const char *buf, size_t len, const char *vs, const char *ve,
		       bool found, json_t *hooks, mode_t mode, char *err, size_t errlen)
{
	char tmp[4300], *h = json_dumps(hooks, JSON_COMPACT);
	size_t pre = (size_t)(vs - buf);
	bool empty = !found && *skip_ws(vs, buf + len) == '}';
	int fd, ret = 0;
	FILE *f;

	if (!h) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(tmp, sizeof(tmp), "%s.egressctl-%d", cfg, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		ret = -errno;
		seterr(err, errlen, "writing %s: %s", tmp, strerror(-ret));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(h);
		return ret;
	}
	/* No fsync: runc reads it next, and a crash ends the create anyway. */
	fwrite(buf, 1, pre, f);
	if (found)
		fprintf(f, "%s%s", h, ve);
	else
		fprintf(f, "\"hooks\":%s%s%s", h, empty ? "" : ",", vs);
	free(h);
	errno = 0;
	if (ferror(f) | fclose(f)) {
		ret = errno ? -errno : -EIO;
		seterr(err, errlen, "writing %s: %s", tmp, strerror(-ret));
		unlink(tmp);
		return ret;
	}
	if (rename(tmp, cfg)) {
		ret = -errno;
		seterr(err, errlen, "renaming %s to %s: %s", tmp, cfg, strerror(-ret));
		unlink(tmp);
	}
	return ret;
}

int oci_add_hook(const char *bundle, const struct oci_hook *h, const char *const *stages, char *err,
		 size_t errlen)
{
	char cfg[4200], *buf = NULL;
	const char *vs = NULL, *ve = NULL;
	json_t *j = NULL, *hooks = NULL, *hook = NULL, *args = NULL;
	json_error_t je;
	bool changed = false, found;
	struct stat sb;
	size_t len = 0;
	int ret = 0;
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/config.json", bundle && *bundle ? bundle : ".");
	f = fopen(cfg, "re");
	if (!f || fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > OCI_CONFIG_MAX) {
		ret = f && !S_ISREG(sb.st_mode) ? -EINVAL : f ? -EFBIG : -errno;
		seterr(err, errlen, "reading %s: %s", cfg,
		       ret == -EINVAL ? "not a regular file" : strerror(-ret));
		if (f)
			fclose(f);
		return ret;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf)
		len = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	if (!buf) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	buf[len] = '\0';
	/* Valid JSON, an object, no key twice (the scan takes the first). */
	j = json_loadb(buf, len, JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j) || (ret = hooks_span(buf, len, &vs, &ve)) == -EINVAL) {
		seterr(err, errlen, "reading %s: %s", cfg, j ? "not a JSON object" : je.text);
		ret = -EINVAL;
		goto out;
	}
	found = !ret;
	ret = 0;
	hooks = found ? json_loadb(vs, (size_t)(ve - vs), JSON_REJECT_DUPLICATES, &je) :
			json_object();
	if (!json_is_object(hooks)) {
		seterr(err, errlen, "reading %s: its hooks are not an object", cfg);
		ret = -EINVAL;
		goto out;
	}
	args = str_array(h->args);
	hook = json_pack("{s:s, s:O, s:o}", "path", h->path, "args", args, "env",
			 str_array(h->env));
	if (!hook) {
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
		ret = write_hooks(cfg, buf, len, vs, ve, found, hooks, sb.st_mode, err, errlen);
out:
	json_decref(args);
	json_decref(hook);
	json_decref(hooks);
	json_decref(j);
	free(buf);
	return ret;
}

/* Docker's data root from the bundle: the source of its /etc/hostname
 * mount is <root>/containers/<id>/hostname, this container's or, with
 * --network container:<other>, the other's (the record read then must be
 * this id's all the same). 0, or -ENOENT.
 */
static int root_of_bundle(const char *bundle, char *root, size_t len)
{
	static const char mid[] = "/containers/", tail[] = "/hostname";
	const size_t ml = sizeof(mid) - 1, tl = sizeof(tail) - 1, hl = 64;
	char cfg[4200];
	json_t *j, *m;
	size_t i, n;
	int ret = -ENOENT;

	snprintf(cfg, sizeof(cfg), "%s/config.json", bundle);
	j = json_load_file(cfg, JSON_DECODE_INT_AS_REAL, NULL);
	json_array_foreach(json_object_get(j, "mounts"), i, m)
	{
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = json_string_value(json_object_get(m, "source"));
		const char *id;

		if (!dst || !src || strcmp(dst, "/etc/hostname"))
			continue;
		n = strlen(src);
		if (src[0] != '/' || n <= ml + hl + tl || strstr(src, "/../") ||
		    strcmp(src + n - tl, tail))
			break;
		id = src + n - tl - hl;
		if (strncmp(id - ml, mid, ml) || strspn(id, "0123456789abcdef") != hl)
			break;
		if ((size_t)(id - ml - src) < len) {
			snprintf(root, len, "%.*s", (int)(id - ml - src), src);
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
	else if (!bundle || !*bundle || root_of_bundle(bundle, root, sizeof(root)))
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
