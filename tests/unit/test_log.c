// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* util/utf8.c and util/log.c's JSON lines (-j): every line is a JSON object
 * that a strict parser (jansson: it rejects invalid UTF-8) reads back, with
 * the message as written, invalid bytes as U+FFFD.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "util/log.h"
#include "util/utf8.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_utf8_len(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
		{ "a", 1 },
		{ "\xc3\xa9", 2 }, /* é */
		{ "\xe2\x82\xac", 3 }, /* € */
		{ "\xf0\x9f\x90\xb3", 4 }, /* U+1F433 */
		{ "\xf4\x8f\xbf\xbf", 4 }, /* U+10FFFF */
		{ "\x80", 0 }, /* stray continuation byte */
		{ "\xc3", 0 }, /* truncated: the NUL ends it */
		{ "\xe2\x82", 0 },
		{ "\xc0\xaf", 0 }, /* overlong '/' */
		{ "\xe0\x80\xaf", 0 }, /* overlong '/' */
		{ "\xed\xa0\x80", 0 }, /* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 0 }, /* U+110000 */
		{ "\xff", 0 },
		{ "\xc3\x28", 0 }, /* lead byte, then no continuation */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(utf8_len((const unsigned char *)cases[i].s), cases[i].len);
	}
}

/* What log_msg() writes on stderr, with -j on. */
static char *json_line(int level, const char *msg)
{
	FILE *tmp = tmpfile();
	int saved;
	char *buf;
	long n;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	log_set_json(true);
	log_msg(level, "%s", msg);
	log_set_json(false);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	n = ftell(tmp);
	assert_true(n > 0);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	rewind(tmp);
	assert_int_equal(fread(buf, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return buf;
}

static void test_json_lines(void **state)
{
	static const struct {
		const char *in, *message;
	} cases[] = {
		{ "plain", "plain" },
		{ "a \"quoted\" \\ path\n", "a \"quoted\" \\ path" },
		{ "tab\there", "tab\there" },
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
		{ "cgroup /a\xff\xfe/b", "cgroup /a\xef\xbf\xbd\xef\xbf\xbd/b" },
		{ "half \xe2\x82", "half \xef\xbf\xbd\xef\xbf\xbd" },
		{ "overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd" },
		{ "surrogate \xed\xa0\x80!", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		char *line = json_line(LOG_WARN, cases[i].in);
		json_error_t err;
		json_t *o;

		print_message("case %zu: %s", i, line);
		assert_non_null(strchr(line, '\n'));
		assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
		o = json_loads(line, 0, &err);
		if (!o)
			fail_msg("not JSON: %s", err.text);
		assert_string_equal(json_string_value(json_object_get(o, "event")), "warning");
		assert_string_equal(json_string_value(json_object_get(o, "message")),
				    cases[i].message);
		json_decref(o);
		free(line);
	}
}

/* A message longer than the line's buffer, made of 3-byte characters and
 * control bytes (6 bytes escaped), then one of invalid bytes (each U+FFFD):
 * cut between characters, still JSON.
 */
static void test_json_long(void **state)
{
	char in[4000], *line;
	json_error_t err;
	const char *m;
	json_t *o;
	size_t i;

	(void)state;
	for (i = 0; i + 4 < sizeof(in); i += 4)
		memcpy(in + i, "\xe2\x82\xac\x01", 4);
	in[i] = '\0';
	line = json_line(-1, in);
	o = json_loads(line, 0, &err);
	if (!o)
		fail_msg("not JSON: %s", err.text);
	assert_string_equal(json_string_value(json_object_get(o, "event")), "error");
	m = json_string_value(json_object_get(o, "message"));
	assert_non_null(m);
	assert_true(strlen(m) > 1000);
	/* whole "€\x01" pairs, or a last € alone: never part of a € */
	assert_true(strlen(m) % 4 == 0 || strlen(m) % 4 == 3);
	json_decref(o);
	free(line);

	memset(in, 0xff, sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	line = json_line(-1, in);
	o = json_loads(line, 0, &err);
	if (!o)
		fail_msg("not JSON: %s", err.text);
	m = json_string_value(json_object_get(o, "message"));
	assert_non_null(m);
	assert_true(strlen(m) > 3000 * 3 / 2); /* most of it, 3 bytes each */
	assert_int_equal(strlen(m) % 3, 0);
	for (i = 0; m[i]; i += 3)
		assert_memory_equal(m + i, "\xef\xbf\xbd", 3);
	json_decref(o);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_json_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
