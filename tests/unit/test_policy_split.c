// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/policy/policy_split.c: a policy parsed in pieces gives what
 * the whole parse gives, or -EAGAIN, never something else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/policy_file.h"
#include "policy/policy_split.h"

/* A growing text. */
struct buf {
	char *s;
	size_t n, cap;
};

static void __attribute__((format(printf, 2, 3))) put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!b->s) {
		b->cap = 4096;
		b->s = malloc(b->cap);
		assert_non_null(b->s);
	}
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		assert_true(k >= 0);
		if (b->n + k < b->cap)
			break;
		b->cap = (b->cap + k) * 2 + 64;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	b->n += k;
}

static bool same_policy(const struct egr_policy *a, const struct egr_policy *b)
{
	return a->n == b->n && a->dflt == b->dflt && a->audit == b->audit &&
	       a->has_dflt == b->has_dflt && a->has_audit == b->has_audit &&
	       !memcmp(a->rules, b->rules, a->n * sizeof(*a->rules));
}

/* Whole parses that succeeded, in all check_split() calls. */
static unsigned int whole_ok;

/*
 * The contract: split == 0 means the whole parse succeeds with the same
 * policy. Returns what the split returned.
 */
static int check_split(const char *text, size_t len, unsigned int nseg)
{
	struct egr_policy whole, split;
	char err[512];
	int rw, rs;

	rw = policy_parse_buf(text, len, "t.yaml", &whole, err, sizeof(err));
	rs = policy_parse_split(text, len, nseg, &split);
	whole_ok += !rw;
	assert_true(rs == 0 || rs == -EAGAIN);
	if (!rs) {
		if (rw)
			fail_msg("split parsed what the whole parse refuses (%s)", err);
		if (!same_policy(&whole, &split))
			fail_msg("split gave %zu rules, whole %zu, or other flags", split.n,
				 whole.n);
	} else {
		assert_int_equal(split.n, 0);
		assert_null(split.rules);
	}
	policy_free(&whole);
	policy_free(&split);
	return rs;
}

/* A varied, valid policy of about n rules; style picks its shape. */
static void gen_policy(struct buf *b, unsigned int n, unsigned int style, unsigned int seed)
{
	const char *ind = style & 1 ? "" : style & 2 ? "    " : "  ";
	const char *nl = style & 4 ? "\r\n" : "\n";
	unsigned int i;

	srand(seed);
	if (style & 8)
		put(b, "# generated%s---%s", nl, nl);
	if (!(style & 16))
		put(b, "default: deny%s", nl);
	put(b, "rules:  # the list%s%s", nl, nl);
	for (i = 0; i < n; i++) {
		unsigned int r = rand(), a = rand();

		switch (r % 9) {
		case 0:
			put(b, "%s- allow: %u.%u.%u.0/24%s", ind, a & 255, (a >> 8) & 255,
			    (a >> 16) & 255, nl);
			break;
		case 1:
			put(b, "%s- deny: 2001:db8:%x::/48%s%s  ports: [tcp:443, udp:53]%s", ind,
			    a & 0xffff, nl, ind, nl);
			break;
		case 2:
			put(b, "%s- allow: \"198.18.%u.%u\"%s", ind, a & 255, (a >> 8) & 255, nl);
			break;
		case 3:
			put(b, "%s# a comment line%s%s%s", ind, nl, nl, nl);
			put(b, "%s- {allow: 10.%u.0.0/16, ports: tcp:22}%s", ind, a & 255, nl);
			break;
		case 4:
			/* the same rule again: kept once, wherever it comes */
			put(b, "%s- allow: 8.8.8.8%s", ind, nl);
			break;
		case 5:
			put(b,
			    "%s-   allow: 172.16.%u.0/24%s%s    ports:%s%s      - tcp:80%s%s      - tcp:8000-8999%s",
			    ind, a & 255, nl, ind, nl, ind, nl, ind, nl);
			break;
		case 6:
			put(b, "%s- deny: 'fd00::%x'%s", ind, a & 0xffff, nl);
			break;
		case 7:
			put(b, "%s- allow: any%s%s  ports: [udp:%u]%s", ind, nl, ind, a % 65535 + 1,
			    nl);
			break;
		default:
			put(b, "%s- allow: 100.%u.%u.%u/32   # trailing comment%s", ind, a & 255,
			    (a >> 8) & 255, (a >> 16) & 255, nl);
			break;
		}
	}
	if (style & 16)
		put(b, "default: allow%saudit: true%s", nl, nl);
}

static void test_same_result(void **state)
{
	unsigned int style, nseg, split = 0, tried = 0;

	(void)state;
	for (style = 0; style < 32; style++) {
		struct buf b = { 0 };

		gen_policy(&b, 400 + style * 7, style, style);
		for (nseg = 2; nseg <= POLICY_SPLIT_MAX; nseg++) {
			tried++;
			split += !check_split(b.s, b.n, nseg);
		}
		free(b.s);
	}
	/* every one of these has the shape that is cut */
	assert_int_equal(split, tried);
}

/* Cut where the whole parse fails, or differs: never a different policy. */
static void test_refused(void **state)
{
	static const char *const tails[] = {
		/* anchors and aliases: a piece cannot see the others' */
		"  - &a {allow: 1.2.3.4}\n  - *a\n",
		/* a second document */
		"...\n---\nrules:\n  - allow: 1.2.3.4\n",
		/* default: twice */
		"default: allow\n",
		/* another sequence at the items' indentation */
		"audit:\n  - allow: 1.2.3.4\n  - allow: 1.2.3.5\n",
		/* a block scalar holding item-like lines */
		"audit: |\n  - allow: 1.2.3.4\n  - allow: 1.2.3.5\n",
		/* a quoted scalar over lines */
		"  - allow: \"1.2.3.4\n  - allow: 1.2.3.5\"\n",
		/* a flow sequence over lines */
		"  - {allow: 1.2.3.4, ports: [tcp:1,\n  - tcp:2]}\n",
		/* rules: again */
		"rules:\n  - allow: 1.2.3.4\n",
		/* a bad rule */
		"  - allow: 1.2.3.400\n",
	};
	unsigned int t, nseg, k;

	(void)state;
	for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
		/* the odd part at the middle, at the end, and repeated */
		for (k = 0; k < 3; k++) {
			struct buf b = { 0 };
			unsigned int i;

			put(&b, "default: deny\nrules:\n");
			for (i = 0; i < 300; i++) {
				put(&b, "  - allow: 198.18.%u.%u\n", i / 250, i % 250);
				if ((k == 0 && i == 150) || (k == 2 && i % 50 == 0))
					put(&b, "%s", tails[t]);
			}
			if (k == 1)
				put(&b, "%s", tails[t]);
			for (nseg = 2; nseg <= 6; nseg++)
				check_split(b.s, b.n, nseg);
			free(b.s);
		}
	}
}

/* Shapes that are not cut at all. */
static void test_not_cut(void **state)
{
	struct buf b = { 0 };
	unsigned int i;

	(void)state;
	/* rules: as a flow sequence */
	put(&b, "rules: [\n");
	for (i = 0; i < 300; i++)
		put(&b, "  {allow: 198.18.0.%u},\n", i % 250);
	put(&b, "]\n");
	assert_int_equal(check_split(b.s, b.n, 2), -EAGAIN);
	free(b.s);

	/* a UTF-16 byte order mark */
	memset(&b, 0, sizeof(b));
	put(&b, "\xff\xfe");
	put(&b, "rules:\n");
	for (i = 0; i < 300; i++)
		put(&b, "  - allow: 198.18.0.%u\n", i % 250);
	assert_int_equal(policy_parse_split(b.s, b.n, 2, &(struct egr_policy){ 0 }), -EAGAIN);
	free(b.s);

	/* the whole top mapping indented */
	memset(&b, 0, sizeof(b));
	put(&b, "  rules:\n");
	for (i = 0; i < 300; i++)
		put(&b, "    - allow: 198.18.0.%u\n", i % 250);
	assert_int_equal(check_split(b.s, b.n, 2), -EAGAIN);
	free(b.s);

	/* one piece */
	memset(&b, 0, sizeof(b));
	put(&b, "rules:\n  - allow: 1.2.3.4\n");
	assert_int_equal(check_split(b.s, b.n, 1), -EAGAIN);
	assert_int_equal(check_split(b.s, b.n, 4), -EAGAIN);
	free(b.s);
}

/* Random line soup around a valid core: the contract holds for all. */
static void test_random(void **state)
{
	static const char *const lines[] = {
		"  - allow: 198.18.0.1\n",
		"  - deny: 2001:db8::/32\n",
		"    ports: [tcp:443]\n",
		"    ports:\n",
		"      - udp:53\n",
		"  - &x {allow: 1.1.1.1}\n",
		"  - *x\n",
		"# comment\n",
		"\n",
		"default: allow\n",
		"audit: false\n",
		"rules:\n",
		"  - allow: \"9.9.9.9\n",
		"  - {allow: 7.7.7.7,\n",
		"  }\n",
		"...\n",
		"---\n",
		"- allow: 5.5.5.5\n",
		"    - allow: 6.6.6.6\n",
		"audit: |\n",
		"  - allow: bad\n",
		"\t- allow: 4.4.4.4\n",
	};
	unsigned int iter, split = 0;

	(void)state;
	whole_ok = 0;
	srand(7);
	for (iter = 0; iter < 3000; iter++) {
		struct buf b = { 0 };
		unsigned int i, n = 20 + rand() % 200;

		put(&b, "rules:\n");
		for (i = 0; i < n; i++) {
			if (rand() % 64)
				put(&b, "  - allow: 198.18.%u.%u\n", rand() % 2, rand() % 250);
			else
				put(&b, "%s", lines[rand() % (sizeof(lines) / sizeof(lines[0]))]);
		}
		split += !check_split(b.s, b.n, 2 + rand() % 4);
		free(b.s);
	}
	/* most of the valid soup gets cut */
	print_message("  %u of 3000 valid, %u of them cut\n", whole_ok, split);
	assert_true(whole_ok > 300 && split > whole_ok / 2);
}

/* Through a file, as apply reads it: the same policy, the same errors. */
static void test_file(void **state)
{
	struct egr_policy pf, pb;
	char path[] = "/tmp/egr-split-XXXXXX", ef[512], eb[512];
	struct buf b = { 0 };
	int fd, i;

	(void)state;
	gen_policy(&b, 3000, 0, 1);
	assert_true(b.n > POLICY_SPLIT_MIN);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.s, b.n), (ssize_t)b.n);
	assert_int_equal(policy_parse_file(path, &pf, ef, sizeof(ef)), 0);
	assert_int_equal(policy_parse_buf(b.s, b.n, path, &pb, eb, sizeof(eb)), 0);
	assert_true(same_policy(&pf, &pb));
	policy_free(&pf);
	policy_free(&pb);

	/* an error near the end: the message of the whole parse */
	for (i = 0; i < 3; i++)
		put(&b, "  - allow: 198.18.0.%d\n", i);
	put(&b, "  - allow: 198.18.0.300\n");
	assert_int_equal(pwrite(fd, b.s, b.n, 0), (ssize_t)b.n);
	assert_int_equal(policy_parse_file(path, &pf, ef, sizeof(ef)), -EINVAL);
	assert_int_equal(policy_parse_buf(b.s, b.n, path, &pb, eb, sizeof(eb)), -EINVAL);
	assert_string_equal(ef, eb);
	assert_non_null(strstr(ef, "198.18.0.300"));
	close(fd);
	unlink(path);
	free(b.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_result), cmocka_unit_test(test_refused),
		cmocka_unit_test(test_not_cut),	    cmocka_unit_test(test_random),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
