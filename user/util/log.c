// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "util/log.h"

static int cur_level = LOG_WARN;

void log_set_level(int level)
{
	cur_level = level;
}

int log_get_level(void)
{
	return cur_level;
}

static void vlog(int level, const char *fmt, va_list ap)
{
	if (level > cur_level)
		return;
	fputs(level < 0 ? "egressctl: " : level == LOG_WARN ? "egressctl: warning: " : "", stderr);
	vfprintf(stderr, fmt, ap);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void log_trace(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warnings need -vv; its debug output -vvv. */
	int want = level == LIBBPF_DEBUG ? LOG_LIBBPF + 1 : LOG_LIBBPF;

	if (want > cur_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
