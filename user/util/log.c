// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "util/log.h"
#include "util/utf8.h"

static int cur_level = LOG_WARN;
static bool json_mode;

void log_set_json(bool on)
{
	json_mode = on;
}

/* One JSON object per line on stderr: event, message (its trailing newline
 * dropped), time. The message is valid UTF-8 whatever it quotes (a cgroup
 * path, a file name): a byte that does not start a valid sequence becomes
 * U+FFFD. Lines longer than the buffer are cut between characters.
 */
static void vlog_json(int level, const char *fmt, va_list ap)
{
	char msg[4096], out[8300], when[32];
	const char *ev = level < 0 ? "error" : level == LOG_WARN ? "warning" : "debug";
	time_t now = time(NULL);
	struct tm tm;
	size_t n = 0, i;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	i = strlen(msg);
	while (i && msg[i - 1] == '\n')
		msg[--i] = '\0';
	for (i = 0; msg[i] && n < sizeof(out) - 8;) {
		const unsigned char *p = (const unsigned char *)msg + i;
		size_t len = utf8_len(p);

		if (*p == '"' || *p == '\\') {
			out[n++] = '\\';
			out[n++] = (char)*p;
		} else if (*p < 0x20) {
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\u%04x", *p);
		} else if (len) {
			memcpy(out + n, p, len);
			n += len;
		} else {
			memcpy(out + n, "\xef\xbf\xbd", 3);
			n += 3;
		}
		i += len ? len : 1;
	}
	out[n] = '\0';
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	fprintf(stderr, "{\"event\":\"%s\",\"message\":\"%s\",\"time\":\"%s\"}\n", ev, out, when);
}

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
	if (json_mode) {
		vlog_json(level, fmt, ap);
		return;
	}
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
	if (json_mode) {
		vlog_json(LOG_DEBUG, fmt, ap);
		return 0;
	}
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
