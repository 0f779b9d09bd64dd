// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl serve: a Prometheus exporter on libmicrohttpd. One internal
 * polling thread answers requests one at a time; each GET /metrics reads
 * the kernel afresh (metrics_render()). The main thread waits for
 * SIGTERM/SIGINT and stops the daemon. Never changes state.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "cli/cmd.h"
#include "cli/cmd_util.h"
#include "obs/metrics.h"
#include "util/dl_mhd.h"
#include "util/log.h"

#define DEFAULT_LISTEN "127.0.0.1:9469"
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char serve_usage[] =
	"Usage: egressctl serve [-l|--listen ADDR:PORT] [<target>...]\n"
	"\n"
	"Run a Prometheus exporter in the foreground until SIGTERM or SIGINT:\n"
	"  GET /metrics  what `egressctl metrics` prints, read afresh per request:\n"
	"                every attached target, or only the targets named (their\n"
	"                cgroups as resolved at start)\n"
	"  GET /healthz  \"ok\"\n"
	"Other paths answer 404, methods other than GET and HEAD 405. Reads the\n"
	"kernel only.\n"
	"\n"
	"  -l, --listen ADDR:PORT  address to listen on (default " DEFAULT_LISTEN "),\n"
	"                          e.g. 0.0.0.0:9469, [::1]:9469, localhost:9469;\n"
	"                          port 0 picks a free port (printed at start)\n";

static int respond(struct MHD_Connection *conn, unsigned int status, const char *type, char *body,
		   size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = mhd_dl.create_response_from_buffer(len, body, mode);
	int ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	mhd_dl.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd_dl.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = mhd_dl.queue_response(conn, status, r);
	mhd_dl.destroy_response(r);
	return ret;
}

static int respond_text(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	return respond(conn, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
		       MHD_RESPMEM_PERSISTENT);
}

struct serve_ctx {
	uint64_t *ids; /* only these cgroups; NULL: all */
	size_t nids;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	const struct serve_ctx *ctx = cls;
	struct egr_warn warn = { 0 };
	size_t len;
	char *buf;
	int err;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/healthz"))
		return respond_text(conn, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/metrics"))
		return respond_text(conn, MHD_HTTP_NOT_FOUND,
				    "not found: try /metrics or /healthz\n");
	err = metrics_render(ctx->ids, ctx->nids, &buf, &len, &warn);
	pr_warnings(&warn);
	if (err) {
		pr_err("serve: reading the counters: %s\n", strerror(-err));
		return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "egressctl: reading the counters failed\n");
	}
	return respond(conn, MHD_HTTP_OK, CONTENT_TYPE, buf, len, MHD_RESPMEM_MUST_FREE);
}

/* "host:port" or "[v6]:port" at *specp into host and port; the address as
 * given into shown. 0, or -EINVAL (*specp is then past a leading '[').
 */
static int parse_listen(const char **specp, char *host, size_t hostlen, char *port,
			size_t portlen, char *shown, size_t shownlen)
{
	const char *spec = *specp, *colon;
	unsigned long pn;
	char *end;
	size_t hl;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = rb - spec - 1;
		*specp = ++spec;
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || memchr(spec, ':', colon - spec))
			return -EINVAL; /* none, or an IPv6 address without brackets */
		hl = colon - spec;
	}
	if (!hl || hl >= hostlen || strlen(colon + 1) >= portlen)
		return -EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	errno = 0;
	pn = strtoul(port, &end, 10);
	if (!port[0] || *end || errno || pn > 65535 || port[0] == '-' || port[0] == '+')
		return -EINVAL;
	snprintf(shown, shownlen, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	return 0;
}

/* A listening socket on the first of res that takes one; -1 and *err. */
static int bind_first(const struct addrinfo *res, int *err)
{
	const struct addrinfo *ai;
	int fd, one = 1;

	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			*err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64))
			return fd;
		*err = errno;
		close(fd);
	}
	return -1;
}

/* What fd is bound to, the real port included, into shown (kept if unknown). */
static void bound_address(int fd, char *shown, size_t shownlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		snprintf(shown, shownlen, "%s:%u", h, ntohs(s4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		snprintf(shown, shownlen, "[%s]:%u", h, ntohs(s6->sin6_port));
	}
}

/* "host:port" or "[v6]:port" -> a bound, listening socket, or -1 (printed). */
static int listen_on(const char *spec, char *shown, size_t shownlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], port[16];
	int fd, err = 0, rc;

	if (parse_listen(&spec, host, sizeof(host), port, sizeof(port), shown, shownlen)) {
		pr_err("serve: bad --listen '%s': use ADDR:PORT, e.g. 127.0.0.1:9469 or [::1]:9469\n",
		       spec);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		pr_err("serve: cannot listen on %s: %s\n", shown,
		       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	fd = bind_first(res, &err);
	if (fd < 0)
		pr_err("serve: cannot listen on %s: %s\n", shown, strerror(err));
	else
		bound_address(fd, shown, shownlen);
	freeaddrinfo(res);
	return fd;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = { { "listen", required_argument, NULL, 'l' },
					      HELP_OPT,
					      { 0 } };
	const char *listen_spec = DEFAULT_LISTEN;
	struct serve_ctx ctx = { 0 };
	struct MHD_Daemon *d;
	char shown[300], err[512];
	sigset_t set;
	int c, fd, sig = 0;

	while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
		if (c == 'l')
			listen_spec = optarg;
		else
			return usage(serve_usage, c != 'h');
	}
	if (need_root())
		return 1;
	if (dl_mhd_load(err, sizeof(err))) {
		pr_err("%s\n", err);
		return 1;
	}
	if (target_ids(argv + optind, argc - optind, &ctx.ids))
		return 1;
	ctx.nids = argc - optind;
	fd = listen_on(listen_spec, shown, sizeof(shown));
	if (fd < 0) {
		free(ctx.ids);
		return 1;
	}
	/* Block the signals before MHD's thread exists: it inherits the mask
	 * and only sigwait() below receives them.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = mhd_dl.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				handle, &ctx, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
	if (!d) {
		pr_err("serve: starting the HTTP server on %s failed\n", shown);
		close(fd);
		free(ctx.ids);
		return 1;
	}
	printf("serving metrics on http://%s/metrics\n", shown);
	fflush(stdout);
	sigwait(&set, &sig);
	pr_info("serve: %s, stopping\n", strsignal(sig));
	mhd_dl.stop_daemon(d); /* closes the listening socket too */
	free(ctx.ids);
	return 0;
}
