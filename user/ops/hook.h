/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * egressctl hook: the container's policy in force before its first
 * instruction. The runtime runs it as an OCI createRuntime (or prestart)
 * hook: Podman from its hooks.d, Docker because the egressctl-runc wrapper
 * adds it to the bundle. The container's process then exists in its final
 * cgroup but has not run its first instruction. The hook attaches the
 * filter to that cgroup and applies the container's policy: its saved
 * policy (runtime/state.h), else its egressctl.* annotations, else (Docker)
 * its egressctl.* labels, read from dockerd's record of the container
 * (runtime/oci.h: the API would wait for a lock dockerd holds while the
 * container starts; Podman's API does the same, and Podman does not pass
 * labels to the runtime: with Podman, give the policy as annotations).
 *
 * Failure policy: a container with no policy is left alone (0, nothing
 * changed; watch or its --strict guard may still act on it). A container
 * with a policy that cannot be put in force (a bad label, an unreadable
 * saved policy, Docker's record unreadable, the kernel refusing) makes the
 * hook fail, and the runtime then does not start the container: fail
 * closed. A filter this call attached is removed again on failure.
 *
 * At the poststop stage (status "stopped") it removes the pins of the
 * container's cgroups that are gone, as watch does when a container dies;
 * the saved policy stays.
 */
#ifndef EGR_HOOK_H
#define EGR_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include "runtime/oci.h"
#include "util/err.h"

struct hook_opts {
	bool docker; /* also the labels in dockerd's record of the container */
	const char *docker_root; /* Docker's data root; NULL: found from the bundle */
};

struct hook_result {
	const char *source; /* "saved", "annotation", "label"; NULL: no policy, nothing done */
	size_t rules;
	int dflt;
	bool audit;
	bool created; /* the filter was attached by this call */
	bool poststop; /* the state said "stopped": pins cleaned */
	unsigned int cleaned; /* poststop: pin directories removed */
	char name[256]; /* the container's name, when known */
	char rel[2048]; /* its cgroup, below the cgroup v2 mount */
};

/* Act on the OCI state st. 0, or -errno with one line in err. */
int hook_run(const struct hook_opts *o, const struct oci_state *st, struct hook_result *r,
	     struct egr_warn *warn, char *err, size_t errlen);

#endif /* EGR_HOOK_H */
