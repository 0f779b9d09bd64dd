// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl: command dispatch and global options. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "util/log.h"

static const char main_usage[] =
	"Usage: egressctl [-v] [--docker-host URL] <command> [args]\n"
	"\n"
	"Per-container egress firewall: an eBPF program on the container's cgroup\n"
	"judges every outgoing packet against IPv4/IPv6 prefix + port allowlists,\n"
	"and domain names whose addresses it learns from the cgroup's DNS answers.\n"
	"\n"
	"Commands:\n"
	"  attach  <target> [--default deny|allow] [--audit] [--max-rules N]\n"
	"          [--max-learned N]\n"
	"  detach  <target> | --gone\n"
	"  allow   <target> <dest> [<portspec>...]\n"
	"  deny    <target> <dest> [<portspec>...]\n"
	"  remove  <target> <dest> [<portspec>...]\n"
	"  apply   <target> -f <file>\n"
	"  explain <target> <address> [<portspec>] [--inbound] [-j]\n"
	"  suggest <target> [-o FILE] [--group N] [--group6 N] [--reset]\n"
	"  list    [<target>] [-j]\n"
	"  status  [-j]\n"
	"  metrics [-o FILE] [<target>...]\n"
	"  serve   [-l ADDR:PORT] [<target>...]\n"
	"  events  [<target>] [-j] [--rate N] [--burst N] [--count N] [--timeout S]\n"
	"  watch   [--strict] [--unmanaged allow|deny] [--once] [-j] [--guard-cgroup P]\n"
	"          [--kubernetes [--node NAME] [--kube-api URL] [--kube-token FILE]\n"
	"           [--kube-ca FILE]]\n"
	"  hook    [--docker] [--docker-root DIR]   (an OCI hook: run by the runtime)\n"
	"\n"
	"Targets: cgroup:<path>, pid:<pid>, docker:<name|id>, podman:<name|id>,\n"
	"cgid:<id> (a cgroup id, also of a cgroup that is gone), or a container\n"
	"name, id or unique id prefix.\n"
	"Options:\n"
	"  -v, --verbose        more output (-vv: libbpf warnings, -vvv: libbpf debug)\n"
	"  --docker-host URL    Docker/Podman API socket (default $DOCKER_HOST, then\n"
	"                       unix:///var/run/docker.sock, or Podman's\n"
	"                       unix:///run/podman/podman.sock when only it exists)\n"
	"  -V, --version        print the version\n"
	"  -h, --help           this text; '<command> --help' for a command\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "attach", cmd_attach }, { "detach", cmd_detach }, { "allow", cmd_allow },
	{ "deny", cmd_deny },	  { "remove", cmd_remove }, { "apply", cmd_apply },
	{ "list", cmd_list },	  { "status", cmd_status }, { "metrics", cmd_metrics },
	{ "serve", cmd_serve },	  { "events", cmd_events }, { "watch", cmd_watch },
	{ "explain", cmd_explain }, { "suggest", cmd_suggest }, { "hook", cmd_hook },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "verbose", no_argument, NULL, 'v' },
					      { "version", no_argument, NULL, 'V' },
					      { "docker-host", required_argument, NULL, 'H' },
					      HELP_OPT,
					      { 0 } };
	const char *base = strrchr(argv[0], '/');
	int c, verbose = 0;
	size_t i;

	/* Called as egressctl-runc: Docker's runtime wrapper, runc's arguments. */
	if (!strcmp(base ? base + 1 : argv[0], "egressctl-runc"))
		return runc_wrapper(argc, argv);

	/* '+': stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("egressctl %s (libbpf %s)\n", EGR_VERSION, libbpf_version_string());
			return 0;
		case 'H':
			egr_g.docker_host = optarg;
			break;
		case 'h':
			return usage(main_usage, false);
		default:
			return usage(main_usage, true);
		}
	}
	if (!egr_g.docker_host)
		egr_g.docker_host = getenv("DOCKER_HOST");
	log_set_level(verbose);
	log_setup_libbpf();
	if (optind >= argc)
		return usage(main_usage, true);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[optind], cmds[i].name)) {
			argc -= optind;
			argv += optind;
			optind = 0; /* re-initialize getopt for the command */
			return cmds[i].fn(argc, argv);
		}
	}
	pr_err("unknown command '%s' (see egressctl --help)\n", argv[optind]);
	return 1;
}
