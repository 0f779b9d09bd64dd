/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CLI commands (cmd_*.c), dispatched from main.c. Each returns 0 or 1. */
#ifndef EGR_CMD_H
#define EGR_CMD_H

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
int cmd_explain(int argc, char **argv); /* cmd_explain.c */
int cmd_suggest(int argc, char **argv); /* cmd_suggest.c */
int cmd_hook(int argc, char **argv);	/* cmd_hook.c */
/* egressctl-runc, the Docker runtime wrapper (cmd_hook.c) */
int runc_wrapper(int argc, char **argv);

#endif /* EGR_CMD_H */
