// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attack: the security e2e test's attacker and witness (tests/e2e/60_*).
 * Static, no libraries: it is copied into the busybox test image and runs
 * there as root with Docker's default capabilities and seccomp profile.
 *
 * Every packet it sends is marked with a TAG (1..4095) so the witness can
 * count it wherever it is seen: the payload holds "EGRV:<tag>:", IPv4
 * packets carry IP id 0xE000 + tag, IPv6 fragments identification
 * 0xE6E60000 + tag (a tiny first fragment has no room for the payload).
 *
 *   attack capture IFACE SECONDS [-r READY] [-s STOPFILE]
 *        witness: counts marked frames received on IFACE (AF_PACKET);
 *        prints "TAG COUNT" lines and "total N" at the end (SECONDS,
 *        SIGTERM or STOPFILE)
 *   attack packet IFACE DST4 PORT TAG [COUNT]   Ethernet frame, AF_PACKET,
 *        broadcast MAC, IPv4/UDP to DST4
 *   attack xdp IFACE DST4 PORT TAG              the same frame via AF_XDP (copy mode)
 *   attack rawudp DST PORT TAG [SRC [VIA]]      IPv4 IP_HDRINCL UDP; SRC spoofs
 *        the source; VIA: sendto() address (route) if not DST
 *   attack icmp DST TAG                        raw ICMP / ICMPv6 echo with data
 *   attack pingsock DST TAG                    ICMP echo on a ping (datagram) socket
 *   attack proto DST4 PROTO TAG                raw IPv4 socket of protocol PROTO
 *        (132 SCTP, 47 GRE, 4 IPIP, ...) with a plausible header + data
 *   attack udp6 ADDR[%IFACE] PORT TAG          UDP on a dual-stack AF_INET6 socket
 *   attack frag DST4 PORT TAG MODE [SRC]       hand-made IPv4 fragments, MODE:
 *        tiny (first fragment of 8 bytes of TCP header + the rest), overlap
 *        (second fragment overlapping the first), nonfirst (one fragment at
 *        offset 16), split (a whole UDP datagram in two fragments)
 *   attack rawudp6 SRC6 DST6 PORT TAG [VIA6]   IPv6/UDP via IPPROTO_RAW (header
 *        made here); VIA6: sendto() address (route) if not DST6
 *   attack frag6 SRC6 DST6 PORT TAG MODE       IPv6 via IPPROTO_RAW, MODE: first,
 *        nonfirst, split, chainN (N destination-options headers, then UDP)
 *   attack family                              socket() of the non-IP families
 *        that reach the wire: "NAME: created" | "NAME: ERRNO"
 *   attack prehold IFACE DST4 UDPPORT TCPPORT TAG DIR
 *        opens a connected UDP socket, a TCP connection and a packet socket,
 *        creates DIR/ready, waits (<= 60 s) for DIR/go, then sends on each
 *   attack fdpass-server PATH DST4 PORT [IFACE]  (outside the container) makes
 *        a UDP socket (and, with IFACE, a packet socket), serves them over the
 *        unix socket PATH to one client, <= 60 s
 *   attack fdpass-client PATH DST4 PORT TAG    receives them and sends on each
 *   attack escape                               tries to leave the cgroup or
 *        reach the BPF state: "NAME: blocked (ERR)" | "NAME: SUCCEEDED"
 *   attack sockbench N                          N socket()+close(), prints ns/op
 *   attack sendbench N                          N UDP sends to 127.0.0.1:9, ns/op
 *
 * Senders print one line per attempt: "sent N" or "STEP: ERROR". Exit: 0
 * when everything was sent, 3 when the kernel refused (EPERM/EACCES), 1 on
 * other errors, 2 usage. escape exits with the number of attempts that
 * succeeded.
 *
 * Traffic rule of the suite: callers pass only 198.18.0.0/15, 2001:db8::/32,
 * link-local or loopback destinations on namespaces the test created.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attack.h"

const char *prog = "attack";
volatile sig_atomic_t stop_flag;

void usage(void)
{
	fprintf(stderr,
		"usage: %s capture|packet|xdp|rawudp|rawudp6|icmp|pingsock|proto|udp6|frag|frag6|"
		"family|prehold|fdpass-server|fdpass-client|escape|sockbench|sendbench ...\n"
		"(see the comment at the top of tests/e2e/attack/main.c)\n",
		prog);
	exit(2);
}

static int refused(int e)
{
	return e == EPERM || e == EACCES;
}

/* Print "STEP: ERROR" and return the exit code for errno e. */
int fail(const char *step, int e)
{
	printf("%s: %s\n", step, strerror(e));
	fflush(stdout);
	return refused(e) ? 3 : 1;
}

unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !*s || v > max) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(2);
	}
	return v;
}

unsigned tag_arg(const char *s)
{
	unsigned t = num(s, MAX_TAG);

	if (!t) {
		fprintf(stderr, "%s: tag must be 1..%d\n", prog, MAX_TAG);
		exit(2);
	}
	return t;
}

void addr4(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "%s: bad IPv4 address '%s'\n", prog, s);
		exit(2);
	}
}

void addr6(const char *s, struct in6_addr *a)
{
	if (inet_pton(AF_INET6, s, a) != 1) {
		fprintf(stderr, "%s: bad IPv6 address '%s'\n", prog, s);
		exit(2);
	}
}

int is_v6(const char *s)
{
	return strchr(s, ':') != NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *cmd;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "capture"))
		return do_capture(argc, argv);
	if (!strcmp(cmd, "packet"))
		return do_packet(argc, argv);
	if (!strcmp(cmd, "xdp"))
		return do_xdp(argc, argv);
	if (!strcmp(cmd, "rawudp"))
		return do_rawudp(argc, argv);
	if (!strcmp(cmd, "icmp"))
		return do_icmp(argc, argv);
	if (!strcmp(cmd, "pingsock"))
		return do_pingsock(argc, argv);
	if (!strcmp(cmd, "proto"))
		return do_proto(argc, argv);
	if (!strcmp(cmd, "udp6"))
		return do_udp6(argc, argv);
	if (!strcmp(cmd, "frag"))
		return do_frag(argc, argv);
	if (!strcmp(cmd, "frag6"))
		return do_frag6(argc, argv);
	if (!strcmp(cmd, "rawudp6"))
		return do_rawudp6(argc, argv);
	if (!strcmp(cmd, "family"))
		return do_family();
	if (!strcmp(cmd, "prehold"))
		return do_prehold(argc, argv);
	if (!strcmp(cmd, "fdpass-server"))
		return do_fdpass_server(argc, argv);
	if (!strcmp(cmd, "fdpass-client"))
		return do_fdpass_client(argc, argv);
	if (!strcmp(cmd, "escape"))
		return do_escape();
	if (!strcmp(cmd, "sockbench"))
		return do_sockbench(argc, argv);
	if (!strcmp(cmd, "sendbench"))
		return do_sendbench(argc, argv);
	usage();
	return 2;
}
