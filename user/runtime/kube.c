// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pods of one node from the Kubernetes API, and their cgroups (kube.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "runtime/kube.h"
#include "util/cgroup.h"
#include "util/dl_curl.h"
#include "util/err.h"
#include "util/jstream.h"

#define LIST_MAX (256u << 20) /* largest list reply */
#define EVENT_MAX (16u << 20) /* largest unparsed watch event */
#define ERRBODY_MAX 65536
#define LIST_TIMEOUT_S 120L
#define CONNECT_TIMEOUT_S 10L

int kube_conn_init(struct kube_conn *k, const char *api, const char *token_file,
		   const char *ca_file, const char *node, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	size_t n;

	memset(k, 0, sizeof(*k));
	if (api && *api) {
		if (strlen(api) >= sizeof(k->api) || strncmp(api, "https://", 8) || !api[8]) {
			seterr(err, errlen, "bad --kube-api '%.64s': use https://HOST[:PORT]", api);
			return -EINVAL;
		}
		snprintf(k->api, sizeof(k->api), "%s", api);
	} else if (host && *host) {
		/* an IPv6 address goes in brackets */
		snprintf(k->api, sizeof(k->api),
			 strchr(host, ':') ? "https://[%.200s]:%.16s" : "https://%.200s:%.16s",
			 host, port && *port ? port : "443");
	} else {
		seterr(err, errlen,
		       "no Kubernetes API server: $KUBERNETES_SERVICE_HOST is unset (not in a pod) and no --kube-api was given");
		return -EINVAL;
	}
	n = strlen(k->api);
	while (n > 8 && k->api[n - 1] == '/')
		k->api[--n] = '\0';
	snprintf(k->token_file, sizeof(k->token_file), "%s",
		 token_file && *token_file ? token_file : KUBE_SA_DIR "/token");
	snprintf(k->ca_file, sizeof(k->ca_file), "%s",
		 ca_file && *ca_file ? ca_file : KUBE_SA_DIR "/ca.crt");
	if (!node || !*node)
		node = getenv("NODE_NAME");
	if (!node || !*node) {
		seterr(err, errlen,
		       "no node name: give --node or set $NODE_NAME (the DaemonSet sets it from spec.nodeName)");
		return -EINVAL;
	}
	/* a DNS subdomain name (RFC 1123) */
	if (strlen(node) >= sizeof(k->node) ||
	    strspn(node, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen(node)) {
		seterr(err, errlen,
		       "bad node name '%.64s': lower-case letters, digits, '-' and '.'", node);
		return -EINVAL;
	}
	snprintf(k->node, sizeof(k->node), "%s", node);
	return 0;
}

/* ---- pods ----------------------------------------------------------------- */

void kube_pod_free(struct kube_pod *p)
{
	free(p->annotations_json);
	p->annotations_json = NULL;
}

static void str_field(json_t *o, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(out, len, "%s", v ? v : "");
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	return n >= 12 && n < KUBE_ID_MAX && strspn(id, "0123456789abcdef") == n;
}

/* "containerd://<id>", "cri-o://<id>", "docker://<id>" -> <id> */
static void add_containers(struct kube_pod *p, json_t *statuses)
{
	size_t i;
	json_t *s;

	json_array_foreach(statuses, i, s)
	{
		const char *id = json_string_value(json_object_get(s, "containerID"));
		const char *sep = id ? strstr(id, "://") : NULL;

		if (!sep || !valid_id(sep + 3) || p->ncontainers == KUBE_MAX_CONTAINERS)
			continue;
		snprintf(p->containers[p->ncontainers++], KUBE_ID_MAX, "%s", sep + 3);
	}
}

static int pod_from(json_t *o, struct kube_pod *p)
{
	json_t *md = json_object_get(o, "metadata"), *st = json_object_get(o, "status"), *ann;
	char mirror[64] = "";

	memset(p, 0, sizeof(*p));
	str_field(md, "uid", p->uid, sizeof(p->uid));
	str_field(md, "namespace", p->ns, sizeof(p->ns));
	str_field(md, "name", p->name, sizeof(p->name));
	str_field(st, "qosClass", p->qos, sizeof(p->qos));
	str_field(st, "phase", p->phase, sizeof(p->phase));
	/* the uid names cgroups: nothing but a UUID's characters */
	if (strlen(p->uid) < 8 || strspn(p->uid, "0123456789abcdef-") != strlen(p->uid))
		return -EPROTO;
	ann = json_object_get(md, "annotations");
	/* A static pod's cgroup is named after the kubelet's uid for it, the
	 * hash its mirror pod carries; the API's uid is the mirror's own.
	 */
	snprintf(p->cg_uid, sizeof(p->cg_uid), "%s", p->uid);
	str_field(ann, "kubernetes.io/config.mirror", mirror, sizeof(mirror));
	if (strlen(mirror) >= 8 && strspn(mirror, "0123456789abcdef") == strlen(mirror))
		snprintf(p->cg_uid, sizeof(p->cg_uid), "%s", mirror);
	if (json_is_object(ann) && json_object_size(ann)) {
		p->annotations_json = json_dumps(ann, JSON_COMPACT | JSON_SORT_KEYS);
		if (!p->annotations_json)
			return -ENOMEM;
	}
	add_containers(p, json_object_get(st, "initContainerStatuses"));
	add_containers(p, json_object_get(st, "containerStatuses"));
	add_containers(p, json_object_get(st, "ephemeralContainerStatuses"));
	return 0;
}

int kube_pod_parse(const char *text, struct kube_pod *p)
{
	json_t *o = json_loads(text, 0, NULL);
	int ret;

	memset(p, 0, sizeof(*p));
	ret = json_is_object(o) ? pod_from(o, p) : -EPROTO;
	if (ret)
		kube_pod_free(p);
	json_decref(o);
	return ret;
}

/* ---- cgroups -------------------------------------------------------------- */

static const char *const qos_name[] = { "Guaranteed", "Burstable", "BestEffort" };
static const char *const qos_dir[] = { "", "burstable", "besteffort" };

int kube_pod_cgroup_name(const struct kube_pod *p, unsigned int i, char *rel, size_t len)
{
	unsigned int q, driver, n = 0;
	char uid_[64];
	size_t j;

	snprintf(uid_, sizeof(uid_), "%s", p->cg_uid);
	for (j = 0; uid_[j]; j++)
		if (uid_[j] == '-')
			uid_[j] = '_';
	for (q = 0; q < 3; q++) {
		const char *d = qos_dir[q];

		if (p->qos[0] && strcmp(p->qos, qos_name[q]))
			continue;
		for (driver = 0; driver < 2; driver++, n++) {
			if (n != i)
				continue;
			if (driver == 0)
				snprintf(rel, len, "/kubepods%s%s/pod%s", *d ? "/" : "", d,
					 p->cg_uid);
			else if (*d)
				snprintf(
					rel, len,
					"/kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice",
					d, d, uid_);
			else
				snprintf(rel, len, "/kubepods.slice/kubepods-pod%s.slice", uid_);
			return 0;
		}
	}
	return -ENOENT;
}

/* Is name the directory of container id? "<id>" and "crio-<id>" (the
 * cgroupfs driver), "<runtime>-<id>.scope" (the systemd driver).
 */
static bool container_dir(const char *name, const char *id)
{
	static const struct {
		const char *pre, *suf;
	} forms[] = { { "", "" },
		      { "crio-", "" },
		      { "cri-containerd-", ".scope" },
		      { "crio-", ".scope" },
		      { "docker-", ".scope" } };
	size_t i, n = strlen(id);

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t pl = strlen(forms[i].pre);

		if (!strncmp(name, forms[i].pre, pl) && !strncmp(name + pl, id, n) &&
		    !strcmp(name + pl + n, forms[i].suf))
			return true;
	}
	return false;
}

/* Is name the directory of the pod with uid? */
static bool pod_dir(const char *name, const char *uid)
{
	char uid_[64], suffix[80];
	size_t i, n;

	if (!strncmp(name, "pod", 3) && !strcmp(name + 3, uid))
		return true;
	snprintf(uid_, sizeof(uid_), "%s", uid);
	for (i = 0; uid_[i]; i++)
		if (uid_[i] == '-')
			uid_[i] = '_';
	n = (size_t)snprintf(suffix, sizeof(suffix), "-pod%s.slice", uid_);
	return strlen(name) > n && !strcmp(name + strlen(name) - n, suffix);
}

int kube_pod_dir_of(const char *cgpath, const struct kube_pod *p, char *out, size_t len)
{
	const char *base = strrchr(cgpath, '/'), *pbase;
	char parent[4096];
	size_t i, n;

	if (!base || base == cgpath || cgpath[0] != '/')
		return -ENOENT;
	n = (size_t)(base - cgpath);
	if (n >= sizeof(parent))
		return -ENOENT;
	memcpy(parent, cgpath, n);
	parent[n] = '\0';
	pbase = strrchr(parent, '/') + 1;
	if (!pod_dir(pbase, p->cg_uid))
		return -ENOENT;
	for (i = 0; i < p->ncontainers; i++) {
		if (!container_dir(base + 1, p->containers[i]))
			continue;
		if (n >= len)
			return -ENOENT;
		snprintf(out, len, "%s", parent);
		return 0;
	}
	return -ENOENT;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kube_cgindex_build(struct kube_cgindex *x)
{
	size_t cap = 0, i, u;
	struct dirent *de;
	DIR *d;

	memset(x, 0, sizeof(*x));
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[4096], **v;
		long pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, NULL, 10);
		/* relative to another cgroup namespace ("/.."): no use */
		if (cgroup_of_pid((pid_t)pid, path, sizeof(path)) || !strncmp(path, "/..", 3))
			continue;
		if (x->n == cap) {
			cap = cap ? 2 * cap : 256;
			v = realloc(x->paths, cap * sizeof(*v));
			if (!v)
				goto nomem;
			x->paths = v;
		}
		x->paths[x->n] = strdup(path);
		if (!x->paths[x->n])
			goto nomem;
		x->n++;
	}
	closedir(d);
	if (!x->n)
		return 0;
	qsort(x->paths, x->n, sizeof(*x->paths), cmp_str);
	for (i = 1, u = 1; i < x->n; i++) {
		if (strcmp(x->paths[i], x->paths[u - 1]))
			x->paths[u++] = x->paths[i];
		else
			free(x->paths[i]);
	}
	x->n = u;
	return 0;
nomem:
	closedir(d);
	kube_cgindex_free(x);
	return -ENOMEM;
}

void kube_cgindex_free(struct kube_cgindex *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->paths[i]);
	free(x->paths);
	memset(x, 0, sizeof(*x));
}

static bool is_dir(const char *mnt, const char *rel)
{
	char path[4200];
	struct stat sb;

	snprintf(path, sizeof(path), "%s%s", mnt, rel);
	return !stat(path, &sb) && S_ISDIR(sb.st_mode);
}

int kube_pod_cgroup(const struct kube_pod *p, const char *mnt, const struct kube_cgindex *x,
		    char *rel, size_t len, enum kube_cg_how *how, char *err, size_t errlen)
{
	char dir[4096];
	size_t i;
	bool found = false;
	unsigned int n;

	for (i = 0; x && i < x->n; i++) {
		if (kube_pod_dir_of(x->paths[i], p, dir, sizeof(dir)))
			continue;
		if (found && strcmp(dir, rel)) {
			seterr(err, errlen,
			       "the containers of pod %s/%s run in cgroups under %s and %s: not one pod cgroup",
			       p->ns, p->name, rel, dir);
			return -EXDEV;
		}
		if (!found && is_dir(mnt, dir)) {
			snprintf(rel, len, "%s", dir);
			found = true;
		}
	}
	if (found) {
		*how = KUBE_CG_PROCESS;
		return 0;
	}
	for (n = 0; !kube_pod_cgroup_name(p, n, rel, len); n++) {
		if (is_dir(mnt, rel)) {
			*how = KUBE_CG_NAME;
			return 0;
		}
	}
	rel[0] = '\0';
	return -ENOENT;
}

/* ---- HTTP ----------------------------------------------------------------- */

struct req {
	CURL *c;
	struct curl_slist *hdrs;
	char curlerr[CURL_ERROR_SIZE];
};

/* A GET of path (below the API URL), with the token read now. */
static int req_init(struct req *r, const struct kube_conn *k, const char *path, char *err,
		    size_t errlen)
{
	char url[2048], tok[8192], hdr[8300];
	size_t n;
	FILE *f;

	memset(r, 0, sizeof(*r));
	f = fopen(k->token_file, "re");
	if (!f) {
		int e = errno;

		seterr(err, errlen, "reading the service account token %s: %s", k->token_file,
		       strerror(e));
		return -e;
	}
	n = fread(tok, 1, sizeof(tok) - 1, f);
	fclose(f);
	tok[n] = '\0';
	while (n && strchr("\n\r \t", tok[n - 1]))
		tok[--n] = '\0';
	if (!n || strcspn(tok, "\r\n") != n) {
		seterr(err, errlen, "the service account token %s is empty or not one line",
		       k->token_file);
		return -EINVAL;
	}
	r->c = curl_dl.easy_init();
	if (!r->c) {
		seterr(err, errlen, "cannot set up an HTTP request (libcurl)");
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s%s", k->api, path);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	r->hdrs = curl_dl.slist_append(NULL, hdr);
	r->hdrs = r->hdrs ? curl_dl.slist_append(r->hdrs, "Accept: application/json") : NULL;
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(hdr, sizeof(hdr));
	if (!r->hdrs) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	curl_dl.easy_setopt(r->c, CURLOPT_URL, url);
	curl_dl.easy_setopt(r->c, CURLOPT_HTTPHEADER, r->hdrs);
	curl_dl.easy_setopt(r->c, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_dl.easy_setopt(r->c, CURLOPT_NOSIGNAL, 1L);
	curl_dl.easy_setopt(r->c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_dl.easy_setopt(r->c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_dl.easy_setopt(r->c, CURLOPT_USERAGENT, "egressctl");
	curl_dl.easy_setopt(r->c, CURLOPT_PROTOCOLS_STR, "https");
	curl_dl.easy_setopt(r->c, CURLOPT_CAINFO, k->ca_file);
	return 0;
}

static void req_free(struct req *r)
{
	if (r->c)
		curl_dl.easy_cleanup(r->c);
	if (r->hdrs)
		curl_dl.slist_free_all(r->hdrs);
}

/* The message of a Status reply (an error's body). */
static int http_error(const struct jbuf *body, long http, char *err, size_t errlen)
{
	json_t *j = body->p ? json_loadb(body->p, body->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "message"));

	if (msg)
		seterr(err, errlen, "Kubernetes API: %.300s (HTTP %ld)", msg, http);
	else
		seterr(err, errlen, "Kubernetes API answered HTTP %ld", http);
	json_decref(j);
	return http == 401 || http == 403 ? -EACCES : http == 410 ? -ESTALE : -EIO;
}

static int curl_error(const struct req *r, CURLcode rc, const struct kube_conn *k, char *err,
		      size_t errlen)
{
	seterr(err, errlen, "Kubernetes API at %s: %s", k->api,
	       r->curlerr[0] ? r->curlerr : curl_dl.easy_strerror(rc));
	return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
}

static void pods_path(const struct kube_conn *k, bool watch, char *path, size_t len)
{
	char sel[300], *esc, *rv;

	snprintf(sel, sizeof(sel), "spec.nodeName=%s", k->node);
	esc = curl_dl.easy_escape(NULL, sel, 0);
	if (!watch) {
		snprintf(path, len, "/api/v1/pods?fieldSelector=%s", esc ? esc : "");
	} else {
		rv = curl_dl.easy_escape(NULL, k->rv, 0);
		snprintf(path, len,
			 "/api/v1/pods?fieldSelector=%s&watch=1&resourceVersion=%s"
			 "&allowWatchBookmarks=true&timeoutSeconds=%d",
			 esc ? esc : "", rv ? rv : "", KUBE_WATCH_TIMEOUT_S);
		curl_dl.free(rv);
	}
	curl_dl.free(esc);
}

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;

	return jbuf_add(ud, ptr, n, LIST_MAX) ? 0 : n;
}

int kube_list(struct kube_conn *k, kube_pod_cb cb, void *ctx, char *err, size_t errlen)
{
	struct jbuf body = { 0 };
	json_t *j = NULL, *items, *it;
	const char *rv;
	char path[1024];
	struct req r;
	long http = 0;
	CURLcode rc;
	size_t i;
	int ret;

	pods_path(k, false, path, sizeof(path));
	ret = req_init(&r, k, path, err, errlen);
	if (ret)
		goto out;
	curl_dl.easy_setopt(r.c, CURLOPT_TIMEOUT, LIST_TIMEOUT_S);
	curl_dl.easy_setopt(r.c, CURLOPT_WRITEFUNCTION, body_write);
	curl_dl.easy_setopt(r.c, CURLOPT_WRITEDATA, &body);
	rc = curl_dl.easy_perform(r.c);
	if (rc != CURLE_OK) {
		ret = curl_error(&r, rc, k, err, errlen);
		goto out;
	}
	curl_dl.easy_getinfo(r.c, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200) {
		ret = http_error(&body, http, err, errlen);
		goto out;
	}
	j = body.p ? json_loadb(body.p, body.len, 0, NULL) : NULL;
	items = json_object_get(j, "items");
	rv = json_string_value(json_object_get(json_object_get(j, "metadata"), "resourceVersion"));
	if (!json_is_array(items) || !rv || !*rv) {
		seterr(err, errlen, "Kubernetes API: the pod list has no items or resourceVersion");
		ret = -EPROTO;
		goto out;
	}
	json_array_foreach(items, i, it)
	{
		struct kube_pod p;

		if (pod_from(it, &p)) {
			kube_pod_free(&p);
			continue;
		}
		ret = cb("LISTED", &p, ctx);
		kube_pod_free(&p);
		if (ret)
			goto out;
	}
	snprintf(k->rv, sizeof(k->rv), "%s", rv);
out:
	json_decref(j);
	jbuf_free(&body);
	req_free(&r);
	return ret;
}

struct wstate {
	struct kube_conn *k;
	struct req r;
	kube_pod_cb cb;
	void (*tick)(void *ctx);
	void *ctx;
	volatile int *stop;
	long http;
	struct jbuf pending, errbody;
	int ret; /* what ended the watch from inside: -ESTALE (410), -EPROTO, a cb's return */
	char msg[512];
};

static int watch_event(json_t *ev, void *ud)
{
	struct wstate *w = ud;
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	const char *rv = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	struct kube_pod p;
	int ret;

	if (!type || !json_is_object(obj))
		return 0;
	if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *m = json_string_value(json_object_get(obj, "message"));

		snprintf(w->msg, sizeof(w->msg), "Kubernetes API watch: error %lld: %.300s",
			 (long long)code, m ? m : "(no message)");
		return code == 410 ? -ESTALE : -EPROTO;
	}
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED") && strcmp(type, "DELETED") &&
	    strcmp(type, "BOOKMARK"))
		return 0;
	if (rv && *rv)
		snprintf(w->k->rv, sizeof(w->k->rv), "%s", rv);
	if (!strcmp(type, "BOOKMARK"))
		return 0;
	if (pod_from(obj, &p)) {
		kube_pod_free(&p);
		return 0;
	}
	ret = w->cb(type, &p, w->ctx);
	kube_pod_free(&p);
	return ret;
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct wstate *w = ud;
	size_t n = size * nmemb;

	if (!w->http)
		curl_dl.easy_getinfo(w->r.c, CURLINFO_RESPONSE_CODE, &w->http);
	if (w->http != 200)
		return jbuf_add(&w->errbody, ptr, n, ERRBODY_MAX) ? 0 : n;
	if (jbuf_add(&w->pending, ptr, n, EVENT_MAX)) {
		snprintf(w->msg, sizeof(w->msg), "Kubernetes API watch: an event over %u bytes",
			 EVENT_MAX);
		w->ret = -EPROTO;
		return 0;
	}
	w->ret = jbuf_parse_stream(&w->pending, watch_event, w);
	if (w->ret || (w->stop && *w->stop))
		return 0;
	return n;
}

static int watch_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct wstate *w = ud;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	if (w->tick)
		w->tick(w->ctx);
	return w->stop && *w->stop ? 1 : 0;
}

int kube_watch(struct kube_conn *k, kube_pod_cb cb, void (*tick)(void *ctx), void *ctx,
	       volatile int *stop, char *err, size_t errlen)
{
	struct wstate w = { .k = k, .cb = cb, .tick = tick, .ctx = ctx, .stop = stop };
	char path[1024];
	CURLcode rc;
	int ret;

	pods_path(k, true, path, sizeof(path));
	ret = req_init(&w.r, k, path, err, errlen);
	if (ret) {
		req_free(&w.r);
		return ret;
	}
	/* The server ends the watch after timeoutSeconds; a connection still
	 * open well after that is dead.
	 */
	curl_dl.easy_setopt(w.r.c, CURLOPT_TIMEOUT, (long)KUBE_WATCH_TIMEOUT_S + 60L);
	curl_dl.easy_setopt(w.r.c, CURLOPT_WRITEFUNCTION, watch_write);
	curl_dl.easy_setopt(w.r.c, CURLOPT_WRITEDATA, &w);
	curl_dl.easy_setopt(w.r.c, CURLOPT_NOPROGRESS, 0L);
	curl_dl.easy_setopt(w.r.c, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_dl.easy_setopt(w.r.c, CURLOPT_XFERINFODATA, &w);
	rc = curl_dl.easy_perform(w.r.c);
	if (!w.http)
		curl_dl.easy_getinfo(w.r.c, CURLINFO_RESPONSE_CODE, &w.http);
	if (w.ret) {
		ret = w.ret;
		seterr(err, errlen, "%s", w.msg[0] ? w.msg : "Kubernetes API watch: stopped");
	} else if (stop && *stop) {
		ret = 0;
	} else if (w.http && w.http != 200) {
		ret = http_error(&w.errbody, w.http, err, errlen);
	} else if (w.http == 200 && (rc == CURLE_OK || rc == CURLE_PARTIAL_FILE)) {
		ret = 0; /* the server ended the watch: resume from k->rv */
	} else {
		ret = curl_error(&w.r, rc, k, err, errlen);
	}
	jbuf_free(&w.pending);
	jbuf_free(&w.errbody);
	req_free(&w.r);
	return ret;
}
