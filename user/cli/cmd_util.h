/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the commands share (cmd_util.c): global options, the checks and
 * lookups every command makes, and printing what the layers below return.
 * The CLI is the only layer that prints (README, "Layout").
 */
#ifndef EGR_CMD_UTIL_H
#define EGR_CMD_UTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "kernel/kstate.h"
#include "policy/rule.h"
#include "runtime/target.h"
#include "util/err.h"

struct egr_globals {
	const char *docker_host; /* --docker-host, else $DOCKER_HOST */
};
extern struct egr_globals egr_g;

int need_root(void);
/* Resolve a target and open its pins; prints the error. 0 or 1. */
int open_target(const char *spec, struct egr_target *t, struct egr_kstate *ks);
/* The cgroup ids of the targets specs[0..n), each of which must be
 * attached (else the error is printed). *ids is malloc'd (NULL when n is
 * 0). 0 or 1, like a command.
 */
int target_ids(char *const *specs, size_t n, uint64_t **ids);
/* Parse "<dest> [<portspec>...]" into rules with the given action. */
int parse_rule_args(int argc, char **argv, int action, struct egr_policy *out);
/* Print a command's usage text to stdout (help) or stderr (misuse). */
int usage(const char *text, bool misuse);
/* getopt_long over argv with "-h/--help" handled; see cmd_util.c. */
#define HELP_OPT { "help", no_argument, NULL, 'h' }

/* The line that tells of defunct targets (count, then " is" / "s are"). */
#define DEFUNCT_NOTE                                                                   \
	"%d attached target%s defunct: its cgroup is gone (a container removed while " \
	"attached); egressctl detach --gone removes them"

/* Say DEFUNCT_NOTE once (pr_warn) if any attached target is defunct. */
void note_defunct(void);

/* Print the warnings (pr_warn), then free them. */
void pr_warnings(struct egr_warn *w);
/* Print err (pr_err) unless it is empty. */
void pr_err_line(const char *err);

/* Warn (pr_warnings) when the policy in force has name rules and allows
 * DNS over TLS or HTTPS by address (policy/name.h).
 */
void warn_dot_doh(const struct egr_kstate *ks, const char *label);
/* A target as list and status show it in JSON: target, cgroup, cgroup_id,
 * default, audit.
 */
json_t *target_json(const struct egr_kstate *ks);
/* Print j indented on stdout and drop it. 0 or 1. */
int print_json(json_t *j);
/* A read command's options: -j/--json (sets *json) and -h/--help. 1 when
 * the command is done (help or misuse: *done is its exit status).
 */
int parse_json_opt(int argc, char **argv, const char *text, bool *json, int *done);

#endif /* EGR_CMD_UTIL_H */
