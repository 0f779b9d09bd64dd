/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Levelled logging; libbpf's own output is routed here one level quieter. */
#ifndef EGR_LOG_H
#define EGR_LOG_H

enum log_level { LOG_WARN = 0, LOG_INFO = 1, LOG_DEBUG = 2, LOG_LIBBPF = 3 };

#include <stdbool.h>

void log_set_level(int level);
/* on: every line on stderr is a JSON object (event, message, time). */
void log_set_json(bool on);
int log_get_level(void);
void log_setup_libbpf(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_trace(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Errors always print: "egressctl: <message>" on stderr. Errors and
 * warnings are the CLI's to print (library code returns them: util/err.h);
 * pr_info/pr_debug, shown with -v/-vv, may trace from anywhere.
 */
#define pr_err(...) log_msg(-1, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_trace(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_trace(LOG_DEBUG, __VA_ARGS__)

#endif /* EGR_LOG_H */
