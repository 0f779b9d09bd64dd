/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The OCI runtime interface, as far as egressctl takes part in it
 * (opencontainers/runtime-spec): the state a hook reads on stdin, a runc
 * command line (what the egressctl-runc wrapper gets from containerd's
 * shim), the createRuntime/poststop hooks that wrapper adds to a bundle's
 * config.json, and where a Docker container's labels are on disk.
 *
 * createRuntime hooks run after the container's process exists, in its
 * final cgroup and network namespace, and before it runs its first
 * instruction (it waits on runc's exec fifo); a hook that fails makes the
 * create fail, so the container never starts.
 */
#ifndef EGR_OCI_H
#define EGR_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The state on a hook's stdin: {"ociVersion", "id", "status", "pid",
 * "bundle", "annotations"}. The runtime writes it; the annotations come
 * from whoever ran the container, so they are input to validate.
 */
struct oci_state {
	char id[129];
	char status[32]; /* "creating", "created", "running", "stopped" */
	pid_t pid; /* 0 when absent (poststop) */
	char bundle[4096]; /* "" when absent */
	char *annotations_json; /* the annotations object as JSON text (malloc'd), or NULL */
};

/* Largest state accepted on stdin. */
#define OCI_STATE_MAX (1u << 20)
/* The largest config.json the wrapper rewrites. */
#define OCI_CONFIG_MAX (16 << 20)

/* 0, or -EINVAL with one line in err (not JSON, no valid id, a bad pid or
 * bundle).
 */
int oci_state_parse(const char *text, size_t len, struct oci_state *st, char *err, size_t errlen);
void oci_state_free(struct oci_state *st);

/* A runc command line: the subcommand ("create", "start", ...; NULL if
 * none) and, for create, the bundle (--bundle/-b; NULL: the current
 * directory). runc's global options come first.
 */
struct oci_cmd {
	const char *sub;
	const char *bundle;
};

void oci_parse_cmd(int argc, char **argv, struct oci_cmd *c);

/* runc's --log FILE and --log-format (json?): where a wrapper that fails
 * before runc ran writes its error so that the engine shows it. NULL when
 * not given.
 */
const char *oci_log_file(int argc, char **argv, bool *json);

/* A hook: path, args (args[0] is the program's name), env, timeout in
 * seconds (0: none); args and env end with NULL.
 */
struct oci_hook {
	const char *path;
	const char *const *args;
	const char *const *env;
	int timeout;
};

/*
 * Append the hook to each stage of stages (NULL-terminated:
 * "createRuntime", "poststop") in <bundle>/config.json, keeping every hook
 * there (Docker has its own prestart hook), unless one with the same path
 * and args is there already (a create retried). The file is replaced
 * atomically (a temporary file in the bundle, renamed over it). 0, or
 * -errno with one line in err.
 */
int oci_add_hook(const char *bundle, const struct oci_hook *h, const char *const *stages, char *err,
		 size_t errlen);

/*
 * A Docker container's name and labels, read from dockerd's own record of
 * it (<root>/containers/<id>/config.v2.json), not through the API: dockerd
 * holds the container's lock while runc creates it, and inspect would wait
 * for it. root is Docker's data root: docker_root when given, else found
 * from the bundle (dockerd bind-mounts <root>/containers/<id>/hostname on
 * /etc/hostname), else /var/lib/docker. The file must name the same id.
 * *labels_json (malloc'd, NULL when none) is Config.Labels as JSON text;
 * name gets the name without its '/'. 0, or -errno with one line in err.
 */
int oci_docker_config(const char *bundle, const char *id, const char *docker_root, char *name,
		      size_t namelen, char **labels_json, char *err, size_t errlen);

#endif /* EGR_OCI_H */
