/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Table tests (cmocka) record the row under test in cur_case; the teardown
 * show_case() names it if the test failed (a passing test clears it), so
 * one bad row is easy to find. Include after <cmocka.h>.
 */
#ifndef EGR_TEST_CASES_H
#define EGR_TEST_CASES_H

static const char *cur_case;

static int show_case(void **state)
{
	(void)state;
	if (cur_case)
		print_error("  failing case: '%s'\n", cur_case);
	cur_case = NULL;
	return 0;
}

#endif /* EGR_TEST_CASES_H */
