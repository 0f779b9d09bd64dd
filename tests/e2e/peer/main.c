// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * peer: tiny traffic generator / counter for the e2e tests. Built static with
 * no libraries so it can also be copied into busybox containers.
 *
 *   peer udp-recv  [-6] PORT SECONDS [-n N] [-b]        -> "COUNT" ("COUNT BYTES" with -b)
 *   peer tcp-recv  [-6] PORT SECONDS [-n N] [-e]        -> "CONNS BYTES"
 *   peer icmp-recv [-6] SECONDS [-s SRC] [-n N]         -> "COUNT" (echo requests)
 *   peer udp-send  [-6] ADDR PORT COUNT [-l LEN] [-i USEC] [-t SECONDS]
 *                                                       -> "sent N errors M"
 *   peer udp-alt   [-6] ADDR PORT ADDR2 PORT2 COUNT [-i USEC] [-t SECONDS]
 *                  one unconnected socket, COUNT datagrams to each, taking
 *                  turns               -> "sent N N2 errors M M2"
 *   peer tcp-send  [-6] ADDR PORT [-l LEN] [-t SECONDS] [-v] [-R]
 *                                                       -> "connected" | "connect: ERR"
 *                  -R: then "retrans N", the SYNs retransmitted (TCP_INFO):
 *                  0 when the first SYN got through
 *   peer tcp-connect-hold ADDR PORT SECONDS             -> "N" (messages acked)
 *   peer tcp-hello [-6] ADDR PORT MSG [-t SECONDS]
 *                  connect, send "MSG retrans R ms M" and a newline, close
 *                  -> "connected retrans R ms M" (R: SYNs retransmitted, so
 *                  R = 0 means the first attempt got through; M: ms to
 *                  connect) | "connect: ERR"
 *   peer udp-flood ADDR PORT COUNT SECONDS              -> "sent N errors M pps P"
 *
 * Options may stand anywhere after the subcommand. Every receiver also takes
 * -r FILE: the file is created once the socket is bound/listening, so a
 * script can wait for it instead of sleeping. udp-recv, tcp-recv, udp-send,
 * udp-alt and tcp-connect-hold take -p FILE: the result line so far,
 * replaced (written aside, then renamed) each time it changes, so a script
 * can wait for an event ("the receiver has seen a datagram", "the sender got
 * EPERM") instead of a time. Receivers stop at SECONDS, at
 * -n N (datagrams / finished connections / echo requests), or on
 * SIGTERM/SIGINT, and print their result in every case.
 *
 * The address family follows ADDR (an IPv6 literal selects IPv6); -6 selects
 * IPv6 for the receivers and is accepted, redundantly, by the senders.
 *
 * Exit codes: 0 success; 1 failure (udp-send: any send() error; tcp-send: the
 * connect or a send failed; tcp-connect-hold: stopped by an error before
 * SECONDS; a receiver could not set up its socket); 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

const char *prog = "peer";
volatile sig_atomic_t stop_flag;

void usage(void)
{
	fprintf(stderr,
		"usage:\n"
		"  %1$s udp-recv  [-6] PORT SECONDS [-n N] [-b] [-r FILE] [-p FILE]\n"
		"  %1$s tcp-recv  [-6] PORT SECONDS [-n N] [-e] [-r FILE] [-p FILE]\n"
		"  %1$s icmp-recv [-6] SECONDS [-s SRC] [-n N] [-r FILE]\n"
		"  %1$s udp-send  [-6] ADDR PORT COUNT [-l LEN] [-i USEC] [-t SECONDS] [-p FILE]\n"
		"  %1$s udp-alt   [-6] ADDR PORT ADDR2 PORT2 COUNT [-i USEC] [-t SECONDS] [-p FILE]\n"
		"  %1$s tcp-send  [-6] ADDR PORT [-l LEN] [-t SECONDS] [-v] [-R]\n"
		"  %1$s tcp-connect-hold ADDR PORT SECONDS [-p FILE]\n"
		"  %1$s tcp-hello [-6] ADDR PORT MSG [-t SECONDS]\n"
		"  %1$s udp-flood ADDR PORT COUNT SECONDS\n",
		prog);
	exit(2);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage();
}

/* ---- options ---------------------------------------------------------- */

/*
 * flags: option letters without a value; valued: letters taking one. Options
 * and positionals may be interleaved; "--" ends options.
 */
void parse_opts(int argc, char **argv, const char *flags, const char *valued, struct opts *o)
{
	int only_pos = 0;

	for (int i = 0; i < argc; i++) {
		char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (o->npos >= (int)(sizeof(o->pos) / sizeof(o->pos[0])))
				die_usage("too many arguments");
			o->pos[o->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (a[2] != '\0')
			die_usage("bad option '%s'", a);
		char c = a[1];
		char *val = NULL;

		if (strchr(valued, c)) {
			if (i + 1 >= argc)
				die_usage("option -%c needs a value", c);
			val = argv[++i];
		} else if (!strchr(flags, c)) {
			die_usage("unknown option '%s'", a);
		}
		switch (c) {
		case '6':
			o->v6 = 1;
			break;
		case 'b':
			o->bytes = 1;
			break;
		case 'e':
			o->echo = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'R':
			o->retrans = 1;
			break;
		case 'n':
		case 'l':
		case 'i': {
			char *end;

			errno = 0;
			unsigned long v = strtoul(val, &end, 10);

			if (errno || end == val || *end || val[0] == '-')
				die_usage("bad number '%s' for -%c", val, c);
			if (c == 'n')
				o->n = v;
			else if (c == 'l')
				o->len = v;
			else
				o->interval_us = v;
			break;
		}
		case 't': {
			char *end;

			errno = 0;
			double v = strtod(val, &end);

			if (errno || end == val || *end || !(v > 0) || v > MAX_SECONDS)
				die_usage("bad seconds '%s'", val);
			o->timeout = v;
			break;
		}
		case 's':
			o->src = val;
			break;
		case 'r':
			o->ready = val;
			break;
		case 'p':
			o->progress = val;
			break;
		default:
			die_usage("unknown option '%s'", a);
		}
	}
}

unsigned long parse_ulong(const char *s, const char *what, unsigned long min, unsigned long max)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);

	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die_usage("bad %s '%s'", what, s);
	return v;
}

double parse_seconds(const char *s)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);

	if (errno || end == s || *end || !(v > 0) || v > MAX_SECONDS)
		die_usage("bad SECONDS '%s' (0 < s <= %.0f)", s, MAX_SECONDS);
	return v;
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		/* clang-format off */
		{ "udp-recv", cmd_udp_recv },
		{ "tcp-recv", cmd_tcp_recv },
		{ "icmp-recv", cmd_icmp_recv },
		{ "udp-send", cmd_udp_send },
		{ "udp-alt", cmd_udp_alt },
		{ "tcp-send", cmd_tcp_send },
		{ "tcp-connect-hold", cmd_tcp_connect_hold },
		{ "tcp-hello", cmd_tcp_hello },
		{ "udp-flood", cmd_udp_flood },
		/* clang-format on */
	};

	if (argc > 0 && argv[0] && argv[0][0])
		prog = argv[0];
	if (argc < 2)
		usage();
	setup_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 2, argv + 2);
	die_usage("unknown subcommand '%s'", argv[1]);
	return 2;
}
