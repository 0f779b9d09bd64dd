/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CLI commands (cmd_*.c), dispatched from main.c. Each returns 0 or 1. */
#ifndef EGR_CMD_H
#define EGR_CMD_H

#include <stdbool.h>
#include "kernel/kstate.h"
#include "runtime/target.h"

struct egr_globals {
	const char *docker_host; /* --docker-host, else $DOCKER_HOST */
};
extern struct egr_globals egr_g;

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_allow(int argc, char **argv);
int cmd_deny(int argc, char **argv);
int cmd_remove(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_metrics(int argc, char **argv); /* cmd_metrics.c */
int cmd_serve(int argc, char **argv);	/* cmd_serve.c */
int cmd_events(int argc, char **argv);	/* cmd_events.c */
int cmd_watch(int argc, char **argv);	/* cmd_watch.c */

/* Shared helpers (cmd_util.c). */
int need_root(void);
/* Resolve a target and open its pins; prints the error. 0 or 1. */
int open_target(const char *spec, struct egr_target *t, struct egr_kstate *ks);
/* Parse "<dest> [<portspec>...]" into rules with the given action. */
int parse_rule_args(int argc, char **argv, int action, struct egr_policy *out);
/* Print a command's usage text to stdout (help) or stderr (misuse). */
int usage(const char *text, bool misuse);
/* getopt_long over argv with "-h/--help" handled; see cmd_util.c. */
#define HELP_OPT { "help", no_argument, NULL, 'h' }

#endif /* EGR_CMD_H */
