// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl metrics: the Prometheus exposition on stdout or into a file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "obs/metrics.h"
#include "util/log.h"

static const char metrics_usage[] =
	"Usage: egressctl metrics [-o|--output FILE] [<target>...]\n"
	"\n"
	"Print the counters of every attached target (or of the targets named) in\n"
	"the Prometheus text exposition format (version 0.0.4): packets and bytes\n"
	"by verdict, hits per rule, map usage, event counters. Reads the kernel\n"
	"only; changes nothing.\n"
	"\n"
	"  -o, --output FILE  write FILE atomically instead (a temporary file in the\n"
	"                     same directory, mode 0644, renamed into place), e.g. for\n"
	"                     node_exporter's textfile collector (name it *.prom)\n"
	"\n"
	"Families (labels):\n"
	"  egressctl_packets_total, egressctl_bytes_total\n"
	"      {target, cgroup, verdict=allowed|denied|audit}\n"
	"  egressctl_unjudged_packets_total, egressctl_unjudged_bytes_total\n"
	"      {target, cgroup, reason=loopback|inbound|ndp|malformed|nopolicy}\n"
	"  egressctl_rule_hits_total {target, action, dest, ports}\n"
	"  egressctl_policy_rules, egressctl_audit_mode {target}\n"
	"  egressctl_map_entries, egressctl_map_capacity {target, map}\n"
	"  egressctl_attached, egressctl_events_sent_total, egressctl_events_lost_total,\n"
	"  egressctl_events_suppressed_total {target, cgroup}\n"
	"  egressctl_denied_connections_total, egressctl_audit_connections_total\n"
	"      {target, comm} (64 names per target, then comm=\"_other_processes\")\n"
	"  egressctl_guard_installed, egressctl_guard_attached,\n"
	"  egressctl_guard_cgroups {cgroup, state},\n"
	"  egressctl_guard_packets_total {cgroup, verdict}\n"
	"  egressctl_build_info {version, libbpf}\n";

/* Write buf to path via a temporary file in the same directory + rename. */
static int write_atomic(const char *path, const char *buf, size_t len)
{
	size_t plen = strlen(path), off = 0;
	char *tmp = malloc(plen + 8);
	int fd, err = 0;

	if (!tmp) {
		pr_err("metrics: writing %s: %s\n", path, strerror(ENOMEM));
		return 1;
	}
	/* "FILE.XXXXXX": not *.prom, so the textfile collector skips it */
	snprintf(tmp, plen + 8, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		pr_err("metrics: cannot write %s: %s\n", path, strerror(errno));
		free(tmp);
		return 1;
	}
	while (off < len && !err) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno != EINTR)
			err = errno;
		else if (w > 0)
			off += w;
	}
	if (!err && fchmod(fd, 0644))
		err = errno;
	if (!err && fsync(fd))
		err = errno;
	if (close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err) {
		pr_err("metrics: cannot write %s: %s\n", path, strerror(err));
		unlink(tmp);
	}
	free(tmp);
	return err ? 1 : 0;
}

int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
					      HELP_OPT,
					      { 0 } };
	struct egr_warn warn = { 0 };
	const char *output = NULL;
	uint64_t *ids;
	size_t len;
	char *buf;
	int c, err, ret;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o' && *optarg)
			output = optarg;
		else
			return usage(metrics_usage, c != 'h');
	}
	if (need_root() || target_ids(argv + optind, argc - optind, &ids))
		return 1;
	err = metrics_render(ids, argc - optind, &buf, &len, &warn);
	free(ids);
	pr_warnings(&warn);
	if (err) {
		pr_err("metrics: reading the counters: %s\n", strerror(-err));
		return 1;
	}
	if (output) {
		ret = write_atomic(output, buf, len);
	} else {
		ret = fwrite(buf, 1, len, stdout) != len || fflush(stdout);
		if (ret)
			pr_err("metrics: writing to stdout: %s\n", strerror(errno));
	}
	free(buf);
	return ret;
}
