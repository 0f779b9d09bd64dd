// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Docker Engine API over its unix socket. Paths are unversioned, so the
 * daemon answers in its own API version: Docker 20.10 (1.41) up to current
 * releases, whose minimum API version rises over time, and Podman's
 * compatible service all accept them. Only fields present in every version
 * since 1.24 are read; events take Action/Actor.ID and fall back to the
 * legacy status/id fields.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include "runtime/docker.h"
#include "util/dl_curl.h"
#include "util/err.h"
#include "util/jstream.h"

#define DOCKER_DEFAULT_SOCK "/var/run/docker.sock"
#define PODMAN_DEFAULT_SOCK "/run/podman/podman.sock"
#define REPLY_MAX (64u << 20)     /* largest reply body kept */
#define EVENT_PENDING_MAX (1u << 20) /* largest unparsed event text */
#define AMBIGUOUS_SHOWN 8         /* candidates named in the error */
#define UNREACHABLE "cannot reach the Docker daemon at %s: %s (is dockerd running?)"
#define UNREACHABLE_PODMAN \
	"cannot reach the Podman API service at %s: %s (is podman.socket or `podman system service` running?)"

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;

	return jbuf_add(ud, ptr, n, REPLY_MAX) ? 0 : n;
}

/*
 * Test hook (README "Tests"): EGRESSCTL_TEST_NO_DOCKER_SOCK=1 treats
 * Docker's default socket as absent, as on a host with Podman alone.
 */
static bool docker_sock_exists(void)
{
	const char *t = getenv("EGRESSCTL_TEST_NO_DOCKER_SOCK");

	if (t && !strcmp(t, "1"))
		return false;
	return !access(DOCKER_DEFAULT_SOCK, F_OK);
}

static const char *unix_path(const char *h)
{
	return strncmp(h, "unix://", 7) == 0 ? h + 7 : h;
}

const char *docker_socket(const char *host)
{
	const char *h = host && *host ? host : getenv("DOCKER_HOST");

	if (h && *h)
		return unix_path(h);
	/* Podman alone on the host: its socket. */
	if (!docker_sock_exists() && !access(PODMAN_DEFAULT_SOCK, F_OK))
		return PODMAN_DEFAULT_SOCK;
	return DOCKER_DEFAULT_SOCK;
}

const char *podman_socket(void)
{
	const char *h = getenv("CONTAINER_HOST");

	return h && *h ? unix_path(h) : PODMAN_DEFAULT_SOCK;
}

/* Podman's socket by its name: the default, or one with "podman" in it. */
static bool podman_by_name(const char *sock)
{
	return !strcmp(sock, PODMAN_DEFAULT_SOCK) || strstr(sock, "podman");
}

/*
 * Before talking to the daemon: the socket path (-EINVAL for a tcp:// or
 * ssh:// host) and libcurl, loaded here on first use (-ENOENT).
 */
static int docker_prepare(const char *host, const char **sock, char *err, size_t errlen)
{
	*sock = docker_socket(host);
	if ((*sock)[0] != '/') {
		seterr(err, errlen, "unsupported Docker host '%s': only unix sockets are supported",
		       *sock);
		return -EINVAL;
	}
	return dl_curl_load(err, errlen);
}

static bool valid_ref(const char *ref)
{
	const char *p;

	if (!ref || !*ref || strlen(ref) > 255)
		return false;
	for (p = ref; *p; p++) {
		char ch = *p;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool valid_id(const char *s)
{
	return s && strlen(s) == 64 && is_hex(s, 64);
}

static CURL *docker_curl(const char *sock, const char *path, char *url, size_t urllen,
			 char *curlerr)
{
	CURL *c = curl_dl.easy_init();

	if (!c)
		return NULL;
	snprintf(url, urllen, "http://localhost%s", path);
	curlerr[0] = '\0';
	curl_dl.easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_dl.easy_setopt(c, CURLOPT_URL, url);
	curl_dl.easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
	curl_dl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_dl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_dl.easy_setopt(c, CURLOPT_USERAGENT, "egressctl");
	return c;
}

/* Map a failed transfer to -errno with one line in err. */
static int curl_failure(CURL *c, CURLcode rc, const char *sock, const char *curlerr, char *err,
			size_t errlen)
{
	const char *why = curlerr && *curlerr ? curlerr : curl_dl.easy_strerror(rc);
	const char *fmt = podman_by_name(sock) ? UNREACHABLE_PODMAN : UNREACHABLE;
	long oserr = 0;

	curl_dl.easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
	if (rc == CURLE_COULDNT_CONNECT) {
		switch (oserr) {
		case EACCES:
		case EPERM:
			seterr(err, errlen, "permission denied on %s", sock);
			return -EACCES;
		case ENOENT:
			seterr(err, errlen, fmt, sock, "no such socket");
			return -ENOENT;
		case ECONNREFUSED:
			seterr(err, errlen, fmt, sock, "connection refused");
			return -ECONNREFUSED;
		default:
			seterr(err, errlen, fmt, sock, oserr ? strerror((int)oserr) : why);
			return -ECONNREFUSED;
		}
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		seterr(err, errlen, "the Docker daemon at %s did not answer: %s", sock, why);
		return -ETIMEDOUT;
	}
	if (rc == CURLE_OUT_OF_MEMORY) {
		seterr(err, errlen, "out of memory talking to the Docker daemon");
		return -ENOMEM;
	}
	seterr(err, errlen, "talking to the Docker daemon at %s: %s", sock, why);
	return -EIO;
}

/* A reply header that says the server is Podman. */
static size_t header_seen(char *ptr, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;

	if (n > 19 && !strncasecmp(ptr, "Libpod-Api-Version:", 19))
		*(bool *)ud = true;
	return n;
}

/*
 * GET path; the body (any status) into body, the HTTP status into *status;
 * *libpod (if libpod is not NULL): whether the server is Podman.
 */
static int docker_get_ex(const char *sock, const char *path, struct jbuf *body, long *status,
			 bool *libpod, char *err, size_t errlen)
{
	char url[1024], curlerr[CURL_ERROR_SIZE];
	CURLcode rc;
	CURL *c;
	int ret = 0;

	c = docker_curl(sock, path, url, sizeof(url), curlerr);
	if (!c) {
		seterr(err, errlen, "cannot set up an HTTP request (libcurl)");
		return -ENOMEM;
	}
	curl_dl.easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_dl.easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_dl.easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (libpod) {
		*libpod = false;
		curl_dl.easy_setopt(c, CURLOPT_HEADERFUNCTION, header_seen);
		curl_dl.easy_setopt(c, CURLOPT_HEADERDATA, libpod);
	}
	rc = curl_dl.easy_perform(c);
	if (rc != CURLE_OK) {
		ret = curl_failure(c, rc, sock, curlerr, err, errlen);
	} else {
		*status = 0;
		curl_dl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	}
	curl_dl.easy_cleanup(c);
	return ret;
}

static int docker_get(const char *sock, const char *path, struct jbuf *body, long *status,
		      char *err, size_t errlen)
{
	return docker_get_ex(sock, path, body, status, NULL, err, errlen);
}

enum docker_engine docker_engine(const char *host)
{
	struct jbuf body = { 0 };
	const char *sock;
	char err[256];
	bool libpod = false;
	long status = 0;
	int ret;

	ret = docker_prepare(host, &sock, err, sizeof(err));
	if (ret == -EINVAL)
		return ENGINE_DOCKER;
	if (!ret)
		ret = docker_get_ex(sock, "/_ping", &body, &status, &libpod, err, sizeof(err));
	jbuf_free(&body);
	if (!ret && status == 200)
		return libpod ? ENGINE_PODMAN : ENGINE_DOCKER;
	return podman_by_name(sock) ? ENGINE_PODMAN : ENGINE_DOCKER;
}

/* A non-2xx reply: "Docker daemon: <message> (HTTP 500)". */
static int http_error(long status, const struct jbuf *body, char *err, size_t errlen)
{
	const char *msg = NULL;
	json_t *j = NULL;

	if (body->p) {
		j = json_loadb(body->p, body->len, 0, NULL);
		msg = json_string_value(json_object_get(j, "message"));
	}
	if (msg)
		seterr(err, errlen, "Docker daemon: %s (HTTP %ld)", msg, status);
	else
		seterr(err, errlen, "Docker daemon answered HTTP %ld", status);
	json_decref(j);
	return status == 403 ? -EACCES : status == 404 ? -ENOENT : -EIO;
}

static json_t *parse_reply(const struct jbuf *body, const char *what, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	j = body->p ? json_loadb(body->p, body->len, 0, &je) : NULL;
	if (!j)
		seterr(err, errlen, "bad JSON from the Docker daemon (%s): %s", what,
		       body->p ? je.text : "empty reply");
	return j;
}

/* HostConfig.NetworkMode; "container:<64 hex>" does not fit, a short id does. */
static void set_network_mode(struct docker_container *c, const char *mode)
{
	if (strlen(mode) >= sizeof(c->network_mode) && strncmp(mode, "container:", 10) == 0)
		snprintf(c->network_mode, sizeof(c->network_mode), "container:%.12s", mode + 10);
	else
		snprintf(c->network_mode, sizeof(c->network_mode), "%s", mode);
}

/* obj (a JSON object, or anything else: none) as JSON text into *out. */
static int object_text(json_t *obj, char **out, const char *what, char *err, size_t errlen)
{
	if (!json_is_object(obj))
		return 0;
	*out = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (*out)
		return 0;
	seterr(err, errlen, "out of memory reading container %s", what);
	return -ENOMEM;
}

int docker_inspect_parse(const char *json, size_t len, struct docker_container *c, char *err,
			 size_t errlen)
{
	const struct jbuf body = { .p = (char *)json, .len = len };
	json_t *j, *state, *cfg, *hc;
	const char *id, *name, *mode;
	int ret = 0;

	j = parse_reply(&body, "container inspect", err, errlen);
	if (!j)
		return -EPROTO;
	id = json_string_value(json_object_get(j, "Id"));
	if (!valid_id(id)) {
		seterr(err, errlen, "Docker daemon: container inspect reply has no valid Id");
		ret = -EPROTO;
		goto out;
	}
	memcpy(c->id, id, 65);
	name = json_string_value(json_object_get(j, "Name"));
	if (name) {
		if (*name == '/')
			name++;
		snprintf(c->name, sizeof(c->name), "%s", name);
	}
	state = json_object_get(j, "State");
	c->running = json_is_true(json_object_get(state, "Running"));
	c->pid = c->running ? (pid_t)json_integer_value(json_object_get(state, "Pid")) : 0;
	if (c->pid < 0)
		c->pid = 0;
	cfg = json_object_get(j, "Config");
	hc = json_object_get(j, "HostConfig");
	ret = object_text(json_object_get(cfg, "Labels"), &c->labels_json, "labels", err, errlen);
	if (!ret)
		ret = object_text(json_object_get(hc, "Annotations"), &c->annotations_json,
				  "annotations", err, errlen);
	if (ret)
		goto out;
	c->privileged = json_is_true(json_object_get(hc, "Privileged"));
	mode = json_string_value(json_object_get(hc, "NetworkMode"));
	set_network_mode(c, mode ? mode : "");
out:
	json_decref(j);
	return ret;
}

/*
 * Podman's compatible inspect has no annotations (4.3); its own API has
 * them, in Config.Annotations, with Podman's own ones (io.podman.*) beside
 * the user's. The container went in between: none. Errors name the request.
 */
static int podman_annotations(const char *sock, struct docker_container *c, char *err,
			      size_t errlen)
{
	struct jbuf body = { 0 };
	char path[128];
	long status = 0;
	json_t *j;
	int ret;

	snprintf(path, sizeof(path), "/v4.0.0/libpod/containers/%s/json", c->id);
	ret = docker_get(sock, path, &body, &status, err, errlen);
	if (ret || status == 404)
		goto out;
	if (status != 200) {
		seterr(err, errlen, "Podman's API (GET %s) answered HTTP %ld", path, status);
		ret = -EIO;
		goto out;
	}
	j = parse_reply(&body, "libpod container inspect", err, errlen);
	if (!j) {
		ret = -EPROTO;
		goto out;
	}
	ret = object_text(json_object_get(json_object_get(j, "Config"), "Annotations"),
			  &c->annotations_json, "annotations", err, errlen);
	json_decref(j);
out:
	jbuf_free(&body);
	return ret;
}

/* GET /containers/<x>/json: 0 (filled), or the HTTP status as a positive number. */
static int inspect_one(const char *sock, const char *x, struct docker_container *c, char *err,
		       size_t errlen, struct jbuf *body)
{
	char path[512], why[256];
	long status = 0;
	bool libpod;
	char *esc;
	int ret;

	esc = curl_dl.easy_escape(NULL, x, 0);
	if (!esc) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", esc);
	curl_dl.free(esc);
	jbuf_free(body);
	ret = docker_get_ex(sock, path, body, &status, &libpod, err, errlen);
	if (ret)
		return ret;
	if (status != 200)
		return (int)status;
	docker_container_free(c);
	ret = docker_inspect_parse(body->p, body->len, c, err, errlen);
	if (ret || !libpod || c->annotations_json)
		return ret;
	ret = podman_annotations(sock, c, why, sizeof(why));
	if (ret) {
		c->annotations_err = strdup(why);
		if (!c->annotations_err) {
			seterr(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

/* Ids of all containers starting with prefix, from GET /containers/json?all=1. */
static int find_prefix(const char *sock, const char *prefix, json_t **matches, char *err,
		       size_t errlen)
{
	struct jbuf body = { 0 };
	size_t i, plen = strlen(prefix);
	json_t *list, *ent;
	long status = 0;
	int ret;

	*matches = NULL;
	ret = docker_get(sock, "/containers/json?all=1", &body, &status, err, errlen);
	if (ret)
		goto out;
	if (status != 200) {
		ret = http_error(status, &body, err, errlen);
		goto out;
	}
	list = parse_reply(&body, "container list", err, errlen);
	if (!list) {
		ret = -EPROTO;
		goto out;
	}
	*matches = json_array();
	json_array_foreach(list, i, ent) {
		const char *id = json_string_value(json_object_get(ent, "Id"));

		if (valid_id(id) && strncmp(id, prefix, plen) == 0)
			json_array_append(*matches, ent);
	}
	json_decref(list);
	if (!*matches) {
		seterr(err, errlen, "out of memory");
		ret = -ENOMEM;
	}
out:
	jbuf_free(&body);
	return ret;
}

/* "container id prefix 'ab' is ambiguous: abcd12345678 (web), abff12345678 (db)" */
static void ambiguous(const char *ref, json_t *matches, char *err, size_t errlen)
{
	size_t i, pos;
	json_t *ent;

	if (!err || !errlen)
		return;
	seterr(err, errlen, "container id prefix '%s' is ambiguous:", ref);
	json_array_foreach(matches, i, ent) {
		const char *id = json_string_value(json_object_get(ent, "Id"));
		const char *name = json_string_value(json_array_get(json_object_get(ent, "Names"),
								    0));

		pos = strlen(err);
		if (i == AMBIGUOUS_SHOWN) {
			snprintf(err + pos, errlen - pos, ", ... (%zu in all)",
				 json_array_size(matches));
			break;
		}
		if (name && *name == '/')
			name++;
		snprintf(err + pos, errlen - pos, "%s %.12s%s%s%s", i ? "," : "", id,
			 name ? " (" : "", name ? name : "", name ? ")" : "");
	}
}

int docker_inspect(const char *host, const char *ref, struct docker_container *c, char *err,
		   size_t errlen)
{
	struct jbuf body = { 0 };
	json_t *matches = NULL;
	const char *sock;
	char id[65];
	int ret;

	memset(c, 0, sizeof(*c));
	if (!valid_ref(ref)) {
		seterr(err, errlen, "bad container name '%s'", ref ? ref : "");
		return -EINVAL;
	}
	ret = docker_prepare(host, &sock, err, errlen);
	if (ret)
		return ret;
	/*
	 * The daemon itself resolves ids, names and unique id prefixes; an
	 * ambiguous prefix is a 400 (Docker) or 500 (some Podman versions),
	 * so every non-200 but 403 falls back to our own prefix search.
	 */
	ret = inspect_one(sock, ref, c, err, errlen, &body);
	if (ret <= 0 || ret == 403) {
		if (ret == 403)
			ret = http_error(ret, &body, err, errlen);
		goto out;
	}
	if (!is_hex(ref, strlen(ref))) {
		if (ret == 404) {
			seterr(err, errlen, "no such container '%s'", ref);
			ret = -ESRCH;
		} else {
			ret = http_error(ret, &body, err, errlen);
		}
		goto out;
	}
	ret = find_prefix(sock, ref, &matches, err, errlen);
	if (ret)
		goto out;
	switch (json_array_size(matches)) {
	case 0:
		seterr(err, errlen, "no such container '%s'", ref);
		ret = -ESRCH;
		break;
	case 1:
		snprintf(id, sizeof(id), "%s",
			 json_string_value(json_object_get(json_array_get(matches, 0), "Id")));
		ret = inspect_one(sock, id, c, err, errlen, &body);
		if (ret == 404) {
			/* Removed in between. */
			seterr(err, errlen, "no such container '%s'", ref);
			ret = -ESRCH;
		} else if (ret > 0) {
			ret = http_error(ret, &body, err, errlen);
		}
		break;
	default:
		ambiguous(ref, matches, err, errlen);
		ret = -EEXIST;
		break;
	}
out:
	json_decref(matches);
	jbuf_free(&body);
	if (ret)
		docker_container_free(c);
	return ret;
}

void docker_container_free(struct docker_container *c)
{
	if (!c)
		return;
	free(c->labels_json);
	c->labels_json = NULL;
	free(c->annotations_json);
	c->annotations_json = NULL;
	free(c->annotations_err);
	c->annotations_err = NULL;
}

int docker_list_running(const char *host, char (**ids)[65], size_t *n, char *err, size_t errlen)
{
	struct jbuf body = { 0 };
	char(*out)[65] = NULL;
	json_t *list = NULL, *ent;
	const char *sock;
	long status = 0;
	size_t i, cnt = 0;
	int ret;

	*ids = NULL;
	*n = 0;
	ret = docker_prepare(host, &sock, err, errlen);
	if (ret)
		return ret;
	ret = docker_get(sock, "/containers/json", &body, &status, err, errlen);
	if (ret)
		goto out;
	if (status != 200) {
		ret = http_error(status, &body, err, errlen);
		goto out;
	}
	list = parse_reply(&body, "container list", err, errlen);
	if (!json_is_array(list)) {
		if (list)
			seterr(err, errlen, "bad JSON from the Docker daemon (container list)");
		ret = -EPROTO;
		goto out;
	}
	out = calloc(json_array_size(list) + 1, sizeof(*out));
	if (!out) {
		seterr(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	json_array_foreach(list, i, ent) {
		const char *id = json_string_value(json_object_get(ent, "Id"));

		if (valid_id(id))
			memcpy(out[cnt++], id, 65);
	}
	*ids = out;
	*n = cnt;
out:
	json_decref(list);
	jbuf_free(&body);
	return ret;
}

/* The event stream. */

void docker_event_action(const char *action, char *out, size_t len)
{
	/* "exec_start: sh -c ...", "health_status: healthy" -> the verb. */
	snprintf(out, len, "%.*s", (int)strcspn(action, ":"), action);
	/* Podman: "died" (its libpod API; the compat API says "die") and
	 * "remove" (it never says "destroy"). Docker's container events have
	 * neither name.
	 */
	if (!strcmp(out, "died"))
		snprintf(out, len, "die");
	else if (!strcmp(out, "remove"))
		snprintf(out, len, "destroy");
}

struct ev_state {
	CURL *curl;
	docker_event_cb cb;
	void *ctx;
	volatile int *stop;
	long status;      /* HTTP status, once the first body bytes arrive */
	struct jbuf pending; /* stream text not yet parsed */
	struct jbuf errbody; /* body of a non-200 reply */
	int cb_ret;       /* non-zero value returned by cb */
	int fail;         /* -errno that stopped the stream from inside */
};

static int event_dispatch(struct ev_state *st, json_t *ev)
{
	const char *type, *action, *id;
	json_t *tn;
	uint64_t t = 0;
	char act[64];

	if (!json_is_object(ev))
		return 0;
	type = json_string_value(json_object_get(ev, "Type"));
	if (type && strcmp(type, "container") != 0)
		return 0;
	action = json_string_value(json_object_get(ev, "Action"));
	if (!action)
		action = json_string_value(json_object_get(ev, "status"));
	id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
	if (!id || !*id)
		id = json_string_value(json_object_get(ev, "id"));
	if (!action || !id)
		return 0;
	docker_event_action(action, act, sizeof(act));
	/* Docker and Podman both give timeNano (Podman 4.3: the compat API) */
	tn = json_object_get(ev, "timeNano");
	if (json_is_integer(tn) && json_integer_value(tn) > 0)
		t = (uint64_t)json_integer_value(tn);
	else if (json_is_integer(json_object_get(ev, "time")))
		t = (uint64_t)json_integer_value(json_object_get(ev, "time")) * 1000000000ull;
	return st->cb(act, id, t, st->ctx);
}

static int event_value(json_t *ev, void *ud)
{
	struct ev_state *st = ud;
	int ret = event_dispatch(st, ev);

	if (ret)
		st->cb_ret = ret;
	return ret;
}

static size_t events_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct ev_state *st = ud;
	size_t n = size * nmemb;

	if (!st->status)
		curl_dl.easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &st->status);
	if (st->status != 200)
		return jbuf_add(&st->errbody, ptr, n, 65536) ? 0 : n;
	if (jbuf_add(&st->pending, ptr, n, EVENT_PENDING_MAX)) {
		st->fail = -EPROTO;
		return 0;
	}
	if (jbuf_parse_stream(&st->pending, event_value, st))
		return 0; /* abort: the callback asked to stop */
	if (st->stop && *st->stop)
		return 0;
	return n;
}

static int events_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			   curl_off_t ulnow)
{
	struct ev_state *st = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return st->stop && *st->stop ? 1 : 0;
}

int docker_events(const char *host, docker_event_cb cb, void *ctx, volatile int *stop, char *err,
		  size_t errlen)
{
	struct ev_state st = { .cb = cb, .ctx = ctx, .stop = stop };
	char url[1024], path[256], curlerr[CURL_ERROR_SIZE];
	const char *sock;
	char *filters;
	CURLcode rc;
	int ret;

	if (!cb)
		return -EINVAL;
	ret = docker_prepare(host, &sock, err, errlen);
	if (ret)
		return ret;
	if (stop && *stop)
		return 0;
	filters = curl_dl.easy_escape(NULL, "{\"type\":[\"container\"]}", 0);
	if (!filters) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "/events?filters=%s", filters);
	curl_dl.free(filters);
	st.curl = docker_curl(sock, path, url, sizeof(url), curlerr);
	if (!st.curl) {
		seterr(err, errlen, "cannot set up an HTTP request (libcurl)");
		return -ENOMEM;
	}
	/*
	 * A quiet stream is normal: no total timeout and no low-speed limit.
	 * The progress callback runs about once a second even when idle.
	 */
	curl_dl.easy_setopt(st.curl, CURLOPT_TIMEOUT, 0L);
	curl_dl.easy_setopt(st.curl, CURLOPT_WRITEFUNCTION, events_write);
	curl_dl.easy_setopt(st.curl, CURLOPT_WRITEDATA, &st);
	curl_dl.easy_setopt(st.curl, CURLOPT_NOPROGRESS, 0L);
	curl_dl.easy_setopt(st.curl, CURLOPT_XFERINFOFUNCTION, events_progress);
	curl_dl.easy_setopt(st.curl, CURLOPT_XFERINFODATA, &st);
	rc = curl_dl.easy_perform(st.curl);

	if (!st.status)
		curl_dl.easy_getinfo(st.curl, CURLINFO_RESPONSE_CODE, &st.status);
	if (st.cb_ret) {
		ret = st.cb_ret;
	} else if (stop && *stop) {
		ret = 0;
	} else if (rc == CURLE_COULDNT_CONNECT || (rc != CURLE_OK && !st.status)) {
		ret = curl_failure(st.curl, rc, sock, curlerr, err, errlen);
	} else if (st.status != 200) {
		ret = http_error(st.status, &st.errbody, err, errlen);
	} else if (st.fail) {
		seterr(err, errlen, "Docker event stream: an event larger than %u bytes",
		       EVENT_PENDING_MAX);
		ret = st.fail;
	} else if (rc == CURLE_OK || rc == CURLE_PARTIAL_FILE) {
		/* A daemon shutting down cuts the chunked reply short. */
		seterr(err, errlen, "the Docker daemon at %s closed the event stream", sock);
		ret = -ECONNRESET;
	} else {
		seterr(err, errlen, "the Docker event stream from %s broke: %s", sock,
		       *curlerr ? curlerr : curl_dl.easy_strerror(rc));
		ret = -ECONNRESET;
	}
	curl_dl.easy_cleanup(st.curl);
	jbuf_free(&st.pending);
	jbuf_free(&st.errbody);
	return ret;
}
