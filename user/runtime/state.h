/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Policies of containers, kept across container restarts and reboots: one
 * JSON file per container id in the state directory (/var/lib/egressctl,
 * 0700; $EGRESSCTL_STATE_DIR overrides it):
 *
 *   <id>.json  {"id": "<64 hex>", "name": "web", "source": "cli"|"label"|"annotation",
 *               "max_rules": 16384, "max_learned": 16384,
 *               "policy": {"default": "deny", "audit": false,
 *                          "dns": {"min_ttl": 60, "max_per_name": 64},
 *                          "rules": [{"action": "allow", "dest": "198.18.5.0/24",
 *                                     "ports": "udp:53"}, ...]}}
 *
 * Written atomically (temporary file, fsync, rename, fsync of the
 * directory). cgroup: and pid: targets have no state file.
 */
#ifndef EGR_STATE_H
#define EGR_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/kstate.h"
#include "policy/rule.h"

#define EGR_STATE_DIR_DEFAULT "/var/lib/egressctl"

struct egr_state {
	char id[65];
	char name[256];
	char source[16]; /* "cli", "label" or "annotation" */
	uint32_t max_rules; /* 0: default */
	uint32_t max_learned; /* 0: default */
	struct egr_policy pol;
};

/* The state directory in use. */
const char *state_dir(void);

/* 0, -ENOENT (no state for id), -EPROTO (unreadable file, err says why). */
int state_load(const char *id, struct egr_state *s, char *err, size_t errlen);
int state_save(const struct egr_state *s, char *err, size_t errlen);
/* 0 or -ENOENT. */
int state_delete(const char *id);
void state_free(struct egr_state *s);

/* Container ids with a state file. *ids is malloc'd. */
int state_list(char (**ids)[65], size_t *n);

/* Save what is in force in the kernel for a container (kpolicy_read). */
int state_save_kernel(const struct egr_kstate *ks, const char *id, const char *name,
		      const char *source, char *err, size_t errlen);

/* The container id in a cgroup path ("/docker/<id>",
 * "/system.slice/docker-<id>.scope", "/libpod_parent/libpod-<id>",
 * "/machine.slice/libpod-<id>.scope"...):
 * 0 and id filled, or -ENOENT.
 */
int state_id_of_path(const char *path, char id[65]);

/* JSON text <-> state (exposed for tests). */
char *state_to_json(const struct egr_state *s);
int state_from_json(const char *text, struct egr_state *s, char *err, size_t errlen);

#endif /* EGR_STATE_H */
