// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* peer: the UDP senders (udp-send, udp-alt, udp-flood). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

int cmd_udp_send(int argc, char **argv)
{
	struct opts o = { .len = 64, .timeout = -1 };

	parse_opts(argc, argv, "6", "litp", &o);
	if (o.npos != 3)
		usage();
	unsigned long port = parse_ulong(o.pos[1], "PORT", 1, 65535);
	unsigned long count = parse_ulong(o.pos[2], "COUNT", 0, 100000000UL);
	struct addr a;
	static char buf[BUF_SIZE];
	unsigned long sent = 0, errors = 0;
	int last_err = 0;

	if (o.len > 65507)
		die_usage("LEN too large (max 65507)");
	if (o.interval_us > 10000000UL)
		die_usage("USEC too large (max 10000000)");
	parse_addr(o.pos[0], port, o.v6, &a);
	/* hard bound on the whole run; default 30 s */
	double deadline = now() + (o.timeout > 0 ? o.timeout : 30.0);
	int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail_rc("socket");
	set_timeouts(fd, 1.0);
	memset(buf, 'u', o.len);
	progress(o.progress, "sent 0 errors 0\n");
	for (unsigned long i = 0; i < count && !stop_flag; i++) {
		if (now() >= deadline) {
			fprintf(stderr, "%s: time bound reached\n", prog);
			break;
		}
		/* unconnected: ICMP errors do not turn into send() errors */
		ssize_t n = sendto(fd, buf, o.len, MSG_NOSIGNAL, (struct sockaddr *)&a.ss, a.len);

		if (n == (ssize_t)o.len) {
			sent++;
		} else {
			errors++;
			last_err = n < 0 ? errno : EMSGSIZE;
		}
		progress(o.progress, "sent %lu errors %lu\n", sent, errors);
		if (o.interval_us && i + 1 < count) {
			struct timespec ts;

			ts.tv_sec = (time_t)(o.interval_us / 1000000UL);
			ts.tv_nsec = (long)(o.interval_us % 1000000UL) * 1000;
			nanosleep(&ts, NULL);
		}
	}
	if (errors)
		fprintf(stderr, "%s: last send error: %s\n", prog, strerror(last_err));
	printf("sent %lu errors %lu\n", sent, errors);
	close(fd);
	return errors || sent < count ? 1 : 0;
}

/* Two destinations from one socket, alternately: a filter that remembers a
 * socket's last verdict must still judge each datagram by its own address.
 */
int cmd_udp_alt(int argc, char **argv)
{
	struct opts o = { .len = 64, .timeout = -1 };

	parse_opts(argc, argv, "6", "itp", &o);
	if (o.npos != 5)
		usage();
	unsigned long port[2] = { parse_ulong(o.pos[1], "PORT", 1, 65535),
				  parse_ulong(o.pos[3], "PORT2", 1, 65535) };
	unsigned long count = parse_ulong(o.pos[4], "COUNT", 0, 1000000UL);
	unsigned long sent[2] = { 0, 0 }, errors[2] = { 0, 0 };
	struct addr a[2];
	char buf[64];

	if (o.interval_us > 10000000UL)
		die_usage("USEC too large (max 10000000)");
	parse_addr(o.pos[0], port[0], o.v6, &a[0]);
	parse_addr(o.pos[2], port[1], o.v6, &a[1]);
	double deadline = now() + (o.timeout > 0 ? o.timeout : 30.0);
	int fd = socket(a[0].family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail_rc("socket");
	memset(buf, 'u', sizeof(buf));
	progress(o.progress, "sent 0 0 errors 0 0\n");
	for (unsigned long i = 0; i < 2 * count && !stop_flag; i++) {
		int k = i & 1;

		if (now() >= deadline) {
			fprintf(stderr, "%s: time bound reached\n", prog);
			break;
		}
		if (sendto(fd, buf, sizeof(buf), MSG_NOSIGNAL, (struct sockaddr *)&a[k].ss,
			   a[k].len) == (ssize_t)sizeof(buf))
			sent[k]++;
		else
			errors[k]++;
		progress(o.progress, "sent %lu %lu errors %lu %lu\n", sent[0], sent[1], errors[0],
			 errors[1]);
		if (o.interval_us)
			sleep_us(o.interval_us);
	}
	printf("sent %lu %lu errors %lu %lu\n", sent[0], sent[1], errors[0], errors[1]);
	close(fd);
	return 0;
}

int cmd_udp_flood(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6", "", &o);
	if (o.npos != 4)
		usage();
	unsigned long port = parse_ulong(o.pos[1], "PORT", 1, 65535);
	unsigned long count = parse_ulong(o.pos[2], "COUNT", 0, 4000000000UL);
	double secs = parse_seconds(o.pos[3]);
	struct addr a;
	char buf[64];
	unsigned long sent = 0, errors = 0;

	parse_addr(o.pos[0], port, o.v6, &a);
	int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail_rc("socket");
	set_timeouts(fd, 0.2);
	memset(buf, 'f', sizeof(buf));
	double start = now(), deadline = start + secs, end = start;

	for (unsigned long i = 0; i < count && !stop_flag; i++) {
		if ((i & 63) == 0 && now() >= deadline)
			break;
		if (sendto(fd, buf, sizeof(buf), MSG_NOSIGNAL, (struct sockaddr *)&a.ss, a.len) ==
		    (ssize_t)sizeof(buf))
			sent++;
		else
			errors++;
	}
	end = now();
	double el = end - start;
	unsigned long pps = el > 0 ? (unsigned long)((double)sent / el) : 0;

	printf("sent %lu errors %lu pps %lu\n", sent, errors, pps);
	close(fd);
	return 0;
}
