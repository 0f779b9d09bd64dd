/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Kubernetes API, as far as `watch --kubernetes` needs it: the pods of
 * one node, listed (GET /api/v1/pods?fieldSelector=spec.nodeName=<node>)
 * and then watched (the same with watch=1, resourceVersion and
 * allowWatchBookmarks), over HTTPS with the service account's bearer token
 * and CA (libcurl, jansson). The watch's chunked reply is one JSON event
 * per line, {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}:
 * a BOOKMARK only moves the resourceVersion; an ERROR whose Status has
 * code 410 (Gone: the resourceVersion is too old), like an HTTP 410 reply,
 * means list again.
 *
 * In a pod: the API server at https://$KUBERNETES_SERVICE_HOST:
 * $KUBERNETES_SERVICE_PORT, token and CA under
 * /var/run/secrets/kubernetes.io/serviceaccount/. The token file is read
 * at every (re)connection: projected tokens are rotated by the kubelet.
 *
 * A pod's cgroup (kube_pod_cgroup()): the parent of its containers'
 * cgroups, found from their processes (the cgroup of a process whose
 * cgroup is named after one of the pod's container ids, below a directory
 * named after the pod's uid); before any container of the pod runs, the
 * directory the kubelet names from the uid and the QoS class, with either
 * cgroup driver.
 */
#ifndef EGR_KUBE_H
#define EGR_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_conn {
	char api[512]; /* https://host:port, no trailing slash */
	char token_file[512];
	char ca_file[512];
	char node[254];
	char rv[128]; /* the last resourceVersion seen: where a watch resumes */
};

/*
 * From the options (NULL or "": the in-cluster defaults above; node:
 * $NODE_NAME). 0, or -EINVAL with one line in err.
 */
int kube_conn_init(struct kube_conn *k, const char *api, const char *token_file,
		   const char *ca_file, const char *node, char *err, size_t errlen);

#define KUBE_MAX_CONTAINERS 32
#define KUBE_ID_MAX 128

/* What egressctl reads of a pod. */
struct kube_pod {
	char uid[64];
	/* the uid the kubelet names the pod's cgroup after: uid, or for a
	 * static pod its mirror's kubernetes.io/config.mirror (the config hash)
	 */
	char cg_uid[64];
	char ns[64];
	char name[254];
	char qos[16]; /* status.qosClass: Guaranteed, Burstable, BestEffort, or "" */
	char phase[16]; /* status.phase */
	char *annotations_json; /* metadata.annotations as JSON text, or NULL */
	size_t ncontainers;
	/* container ids of init, app and ephemeral containers, without the
	 * runtime's "containerd://" (or "cri-o://", "docker://")
	 */
	char containers[KUBE_MAX_CONTAINERS][KUBE_ID_MAX];
};

/* Parse one pod object (JSON text). 0 or -EPROTO (no valid uid). */
int kube_pod_parse(const char *text, struct kube_pod *p);
void kube_pod_free(struct kube_pod *p);

/*
 * The pod's directory if cgpath (a process's cgroup, below the cgroup v2
 * mount) is the cgroup of one of its containers: the container's
 * directory is named after a container id ("<id>", "cri-containerd-<id>
 * .scope", "crio-<id>.scope", "docker-<id>.scope") and its parent after the
 * pod's uid ("pod<uid>", "...-pod<uid with '_' for '-'>.slice"). 0 with out
 * filled, or -ENOENT.
 */
int kube_pod_dir_of(const char *cgpath, const struct kube_pod *p, char *out, size_t len);

/*
 * The i-th directory (below the cgroup v2 mount) the kubelet may give the
 * pod, for i = 0, 1, ...: with the cgroupfs driver /kubepods[/burstable|
 * /besteffort]/pod<uid>, with the systemd driver /kubepods.slice[/kubepods-
 * burstable.slice]/kubepods[-burstable]-pod<uid, '_' for '-'>.slice
 * (Guaranteed pods directly under kubepods). The pod's QoS class picks the
 * level; without one all three are named. 0, or -ENOENT past the last.
 */
int kube_pod_cgroup_name(const struct kube_pod *p, unsigned int i, char *rel, size_t len);

/* The cgroups of the host's processes (/proc/<pid>/cgroup), each once. */
struct kube_cgindex {
	char **paths;
	size_t n;
};

int kube_cgindex_build(struct kube_cgindex *x);
void kube_cgindex_free(struct kube_cgindex *x);

enum kube_cg_how {
	KUBE_CG_PROCESS,
	KUBE_CG_NAME
};

/*
 * The pod's cgroup below the cgroup v2 mount mnt: from its containers'
 * processes in x (kube_pod_dir_of()), else by the kubelet's naming
 * (kube_pod_cgroup_name(), the first that exists). 0 with rel and *how,
 * -ENOENT (not made yet, or not on this node), or -EXDEV with one line in
 * err (its containers' processes are in cgroups of different parents).
 */
int kube_pod_cgroup(const struct kube_pod *p, const char *mnt, const struct kube_cgindex *x,
		    char *rel, size_t len, enum kube_cg_how *how, char *err, size_t errlen);

/* type: "ADDED", "MODIFIED", "DELETED", or "LISTED" for each pod of a list. */
typedef int (*kube_pod_cb)(const char *type, const struct kube_pod *p, void *ctx);

/* List the node's pods: cb for each, then k->rv is the list's. 0 or -errno
 * (-EACCES: the token was refused), one line in err.
 */
int kube_list(struct kube_conn *k, kube_pod_cb cb, void *ctx, char *err, size_t errlen);

/*
 * Watch from k->rv: cb for each pod event, k->rv moved by every event and
 * bookmark; tick(ctx) about once a second. Returns 0 when the server ended
 * the watch (resume from k->rv) or *stop, -ESTALE when the server said 410
 * Gone (list again), -errno on other errors (one line in err). A watch
 * lasts at most KUBE_WATCH_TIMEOUT_S (the server is asked to end it then;
 * a connection that stays silent past that is given up).
 */
#define KUBE_WATCH_TIMEOUT_S 300
int kube_watch(struct kube_conn *k, kube_pod_cb cb, void (*tick)(void *ctx), void *ctx,
	       volatile int *stop, char *err, size_t errlen);

#endif /* EGR_KUBE_H */
