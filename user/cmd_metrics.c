// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cmd.h"
#include "log.h"

int cmd_metrics(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	pr_err("metrics: not implemented yet\n");
	return 1;
}
