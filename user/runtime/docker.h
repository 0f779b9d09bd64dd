/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Docker Engine API over its unix socket (libcurl + jansson). Podman's
 * API socket speaks the same API. The socket is taken from, in order: the
 * host argument ("unix:///path" or a bare path), $DOCKER_HOST,
 * /var/run/docker.sock.
 */
#ifndef EGR_DOCKER_H
#define EGR_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct docker_container {
	char id[65];    /* full 64-hex id */
	char name[256]; /* without the leading '/' */
	bool running;
	pid_t pid;      /* State.Pid, 0 when not running */
	char *labels_json; /* Config.Labels as a JSON object text (malloc'd), or NULL */
	bool privileged;   /* HostConfig.Privileged */
	char network_mode[64]; /* HostConfig.NetworkMode */
};

/* The socket path to use (see above). */
const char *docker_socket(const char *host);

/*
 * Resolve a name, full id, or unique id prefix. Tries the name/id exactly
 * first (GET /containers/<x>/json), then a prefix among all containers
 * (GET /containers/json?all=1). Errors, each with one line in err:
 *   -ECONNREFUSED / -ENOENT : daemon not running or socket missing
 *   -EACCES                 : permission denied on the socket
 *   -ESRCH                  : no such container
 *   -EEXIST                 : ambiguous prefix (err lists the candidates)
 * "Not running" is not an error here: check c->running.
 */
int docker_inspect(const char *host, const char *ref, struct docker_container *c, char *err,
		   size_t errlen);
void docker_container_free(struct docker_container *c);

/*
 * Follow GET /events?filters={"type":["container"]} and call cb for each
 * event with the action ("start", "die", "destroy", ...) and the full id.
 * Returns when cb returns non-zero (that value), when *stop becomes true
 * (checked at least once a second), or on a stream error (-errno).
 */
typedef int (*docker_event_cb)(const char *action, const char *id, void *ctx);
int docker_events(const char *host, docker_event_cb cb, void *ctx, volatile int *stop, char *err,
		  size_t errlen);

/* Ids of running containers (full ids). *ids is malloc'd; 0 or -errno. */
int docker_list_running(const char *host, char (**ids)[65], size_t *n, char *err, size_t errlen);

#endif /* EGR_DOCKER_H */
