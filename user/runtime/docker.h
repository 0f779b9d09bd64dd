/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Docker Engine API over its unix socket (libcurl + jansson). Podman's
 * API service (`podman system service`) speaks the same API. The socket is
 * taken from, in order: the host argument ("unix:///path" or a bare path),
 * $DOCKER_HOST, /var/run/docker.sock if it exists, else Podman's
 * /run/podman/podman.sock if that exists (Podman alone on the host), else
 * /var/run/docker.sock. podman_socket() is Podman's, for podman:<ref>
 * targets: $CONTAINER_HOST (Podman's own variable), else
 * /run/podman/podman.sock.
 */
#ifndef EGR_DOCKER_H
#define EGR_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct docker_container {
	char id[65];    /* full 64-hex id */
	char name[256]; /* without the leading '/' */
	bool running;
	pid_t pid;      /* State.Pid, 0 when not running */
	char *labels_json; /* Config.Labels as a JSON object text (malloc'd), or NULL */
	/* The OCI annotations as a JSON object text (malloc'd), or NULL:
	 * HostConfig.Annotations (Docker, API 1.43 and later); with Podman,
	 * whose Docker-compatible reply has none, Config.Annotations of its
	 * libpod API (GET /v4.0.0/libpod/containers/<id>/json).
	 */
	char *annotations_json;
	/* Why the annotations could not be read (Podman's API failed; malloc'd),
	 * or NULL. The inspect itself succeeds: only a caller that takes a
	 * policy from them (watch) needs them, and must then fail closed.
	 */
	char *annotations_err;
	bool privileged;   /* HostConfig.Privileged */
	char network_mode[64]; /* HostConfig.NetworkMode */
};

/* The socket path to use (see above). */
const char *docker_socket(const char *host);
/* Podman's API socket path (see above). */
const char *podman_socket(void);

enum docker_engine { ENGINE_DOCKER, ENGINE_PODMAN };

/*
 * The engine behind the socket: GET /_ping (Podman's replies carry a
 * Libpod-Api-Version header). When nothing answers (a unit that runs before
 * the engine), Podman if the socket is Podman's default or has "podman" in
 * its path, else Docker.
 */
enum docker_engine docker_engine(const char *host);

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

/* docker_inspect()'s reading of a GET /containers/<x>/json reply (len bytes
 * of JSON) into c: 0, -EPROTO (not an inspect reply) or -ENOMEM, with one
 * line in err. Free c with docker_container_free() in every case.
 */
int docker_inspect_parse(const char *json, size_t len, struct docker_container *c, char *err,
			 size_t errlen);

/*
 * An event's action as watch knows it, into out: the verb before any ':'
 * ("exec_start: sh" -> "exec_start"), Podman's names as Docker's ("died" ->
 * "die", "remove" -> "destroy").
 */
void docker_event_action(const char *action, char *out, size_t len);

/*
 * Follow GET /events?filters={"type":["container"]} and call cb for each
 * event with the action ("start", "die", "destroy", ...: docker_event_action())
 * the full id and the engine's time of the event (CLOCK_REALTIME ns: its
 * timeNano, or its time in seconds; 0 when it gave none).
 * Returns when cb returns non-zero (that value), when *stop becomes true
 * (checked at least once a second), or on a stream error (-errno).
 */
typedef int (*docker_event_cb)(const char *action, const char *id, uint64_t time_ns,
			       void *ctx);
int docker_events(const char *host, docker_event_cb cb, void *ctx, volatile int *stop, char *err,
		  size_t errlen);

/* Ids of running containers (full ids). *ids is malloc'd; 0 or -errno. */
int docker_list_running(const char *host, char (**ids)[65], size_t *n, char *err, size_t errlen);

#endif /* EGR_DOCKER_H */
