// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl hook (an OCI hook: ops/hook.h) and egressctl-runc, the Docker
 * runtime wrapper that adds it to every container's bundle (main.c runs
 * runc_wrapper() when the binary is called by that name).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "ops/hook.h"
#include "runtime/oci.h"
#include "util/log.h"

#define HOOK_TIMEOUT 30 /* seconds: then runc kills the hook and fails the create */

static const char hook_usage[] =
	"Usage: egressctl hook [--docker] [--docker-root DIR]\n"
	"\n"
	"Run by the container runtime, not by hand: an OCI hook that reads the\n"
	"container's OCI state on stdin. At the createRuntime (or prestart) stage,\n"
	"when the container's process is in its final cgroup but has not run its\n"
	"first instruction, it attaches the filter and applies the container's\n"
	"saved policy, else its egressctl.* annotations, else with --docker its\n"
	"egressctl.* labels. A container without a policy is left alone. When the\n"
	"policy cannot be put in force the hook fails, and the runtime does not\n"
	"start the container. At poststop it removes the pins of the container's\n"
	"cgroups that are gone. Podman: contrib/oci-hooks/50-egressctl.json in\n"
	"hooks.d. Docker: the egressctl-runc runtime wrapper adds it.\n"
	"\n"
	"  --docker           also read the container's labels from dockerd's record\n"
	"                     of it (DIR/containers/<id>/config.v2.json)\n"
	"  --docker-root DIR  Docker's data root (default: found from the bundle,\n"
	"                     else /var/lib/docker)\n";

static char *read_all(int fd, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap), *p;
	ssize_t r;

	while (buf && (r = read(fd, buf + n, cap - n - 1)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		n += (size_t)r;
		if (n + 1 < cap)
			continue;
		if (cap >= OCI_STATE_MAX) {
			free(buf);
			errno = E2BIG;
			return NULL;
		}
		p = realloc(buf, cap *= 2);
		if (!p)
			free(buf);
		buf = p;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

int cmd_hook(int argc, char **argv)
{
	static const struct option opts[] = { { "docker", no_argument, NULL, 'd' },
					      { "docker-root", required_argument, NULL, 'r' },
					      HELP_OPT,
					      { 0 } };
	struct hook_opts o = { 0 };
	struct egr_warn warn = { 0 };
	struct hook_result r;
	struct oci_state st;
	char err[1536], *text;
	size_t len = 0;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.docker = true;
			break;
		case 'r':
			if (optarg[0] != '/') {
				pr_err("hook: bad --docker-root '%s': not an absolute path\n",
				       optarg);
				return 1;
			}
			o.docker_root = optarg;
			break;
		default:
			return usage(hook_usage, c != 'h');
		}
	}
	if (optind != argc)
		return usage(hook_usage, true);
	text = read_all(0, &len);
	if (!text) {
		pr_err("hook: reading the OCI state on stdin: %s\n", strerror(errno));
		return 1;
	}
	ret = oci_state_parse(text, len, &st, err, sizeof(err));
	free(text);
	if (ret) {
		pr_err("hook: %s\n", err);
		return 1;
	}
	ret = hook_run(&o, &st, &r, &warn, err, sizeof(err));
	pr_warnings(&warn);
	if (ret)
		pr_err("hook: %s\n", err[0] ? err : strerror(-ret));
	else if (r.poststop)
		pr_info("hook: %.12s stopped: removed the pins of %u cgroup%s that are gone\n",
			st.id, r.cleaned, r.cleaned == 1 ? "" : "s");
	else if (r.source)
		pr_info("hook: %.12s%s%s%s: %s policy (%zu rule%s, default %s%s) in force on cgroup %s%s\n",
			st.id, r.name[0] ? " (" : "", r.name, r.name[0] ? ")" : "", r.source,
			r.rules, r.rules == 1 ? "" : "s", r.dflt == EGR_ALLOW ? "allow" : "deny",
			r.audit ? ", audit" : "", r.rel, r.created ? " (attached)" : "");
	else
		pr_info("hook: %.12s: no policy, left alone\n", st.id);
	oci_state_free(&st);
	return ret ? 1 : 0;
}

/* ---- egressctl-runc ---------------------------------------------------- */

static bool is_self(const char *path)
{
	struct stat self, sb;

	return !stat("/proc/self/exe", &self) && !stat(path, &sb) && sb.st_ino == self.st_ino &&
	       sb.st_dev == self.st_dev;
}

/* The runc to run: --egressctl-runc=, $EGRESSCTL_RUNC, else the first runc
 * on $PATH or in the usual places that is not this binary.
 */
static const char *real_runc(const char *opt, char *buf, size_t len)
{
	static const char *const where[] = { "/usr/sbin",      "/usr/bin", "/usr/local/sbin",
					     "/usr/local/bin", "/sbin",	   "/bin" };
	const char *env = getenv("EGRESSCTL_RUNC"), *path = getenv("PATH");
	char *copy = path ? strdup(path) : NULL, *dir, *save = NULL;
	size_t i;

	if (opt && *opt)
		snprintf(buf, len, "%s", opt);
	else if (env && *env)
		snprintf(buf, len, "%s", env);
	else
		buf[0] = '\0';
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; !buf[0] && dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/runc", dir);
		if (dir[0] != '/' || access(buf, X_OK) || is_self(buf))
			buf[0] = '\0';
	}
	free(copy);
	for (i = 0; !buf[0] && i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(buf, len, "%s/runc", where[i]);
		if (access(buf, X_OK) || is_self(buf))
			buf[0] = '\0';
	}
	return buf[0] ? buf : NULL;
}

/* Fail before runc ran: the error where the engine looks for it too. */
static int wrapper_fail(int argc, char **argv, const char *msg)
{
	bool json;
	const char *log = oci_log_file(argc, argv, &json);
	FILE *f = log ? fopen(log, "ae") : NULL;

	fprintf(stderr, "egressctl-runc: %s\n", msg);
	if (f) {
		json_t *j = json_pack("{s:s, s:s}", "level", "error", "msg", msg);
		char *s = json && j ? json_dumps(j, JSON_COMPACT) : NULL;

		fprintf(f, "%s%s\n", s ? "" : "egressctl-runc: ", s ? s : msg);
		free(s);
		json_decref(j);
		fclose(f);
	}
	return 1;
}

/* The hook's environment: a PATH, and the EGRESSCTL_* variables the
 * wrapper has (the state directory, test hooks). NULL-terminated.
 */
static const char **hook_env(void)
{
	extern char **environ;
	size_t n = 0, i;
	const char **env;

	for (i = 0; environ[i]; i++)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	n = 0;
	env[n++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	for (i = 0; environ[i]; i++)
		if (!strncmp(environ[i], "EGRESSCTL_", 10))
			env[n++] = environ[i];
	return env;
}

int runc_wrapper(int argc, char **argv)
{
	const char *runc_opt = NULL, *root = getenv("EGRESSCTL_DOCKER_ROOT");
	char **nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	char self[4096], runc[4096], err[1536];
	struct oci_cmd oc;
	int i, n = 0;
	ssize_t sl;

	if (!nargv)
		return wrapper_fail(argc, argv, "out of memory");
	/* Its own options (daemon.json "runtimeArgs") first, then runc's. */
	nargv[n++] = (char *)"runc";
	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--egressctl-runc=", 17))
			runc_opt = argv[i] + 17;
		else if (!strncmp(argv[i], "--egressctl-docker-root=", 24))
			root = argv[i] + 24;
		else
			nargv[n++] = argv[i];
	}
	nargv[n] = NULL;
	if (real_runc(runc_opt, runc, sizeof(runc)) && is_self(runc))
		return wrapper_fail(argc, argv,
				    "the runc to run is egressctl-runc itself (EGRESSCTL_RUNC or "
				    "--egressctl-runc= must name the real runc)");
	if (!runc[0])
		return wrapper_fail(
			argc, argv,
			"no runc found (on $PATH, /usr/sbin, /usr/bin...; set EGRESSCTL_RUNC or --egressctl-runc=PATH)");
	oci_parse_cmd(n, nargv, &oc);
	if (oc.sub && !strcmp(oc.sub, "create")) {
		const char *stages[] = { "createRuntime", "poststop", NULL };
		const char *args[] = { "egressctl", "hook", "--docker", NULL, NULL, NULL };
		const char **env = hook_env();
		struct oci_hook h = { .path = self, .args = args, .timeout = HOOK_TIMEOUT };
		int ret;

		sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (sl <= 0 || !env) {
			free(env);
			return wrapper_fail(argc, argv,
					    "cannot find its own binary (/proc/self/exe)");
		}
		self[sl] = '\0';
		if (root && *root) {
			args[3] = "--docker-root";
			args[4] = root;
		}
		h.env = env;
		ret = oci_add_hook(oc.bundle, &h, stages, err, sizeof(err));
		free(env);
		if (ret) {
			char msg[1700];

			snprintf(msg, sizeof(msg), "adding the egressctl hook: %s", err);
			return wrapper_fail(argc, argv, msg);
		}
	}
	execv(runc, nargv);
	snprintf(err, sizeof(err), "running %s: %s", runc, strerror(errno));
	return wrapper_fail(argc, argv, err);
}
