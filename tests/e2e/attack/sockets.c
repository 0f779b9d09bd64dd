// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attack: socket families, sockets opened before the attach (prehold), and
 * sockets passed in over a unix socket (fdpass-server, fdpass-client).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "attack.h"

/* ---- socket families --------------------------------------------------------------- */

int do_family(void)
{
	static const struct {
		int family, type;
		const char *name;
	} fams[] = {
		{ AF_PACKET, SOCK_RAW, "AF_PACKET" },
		{ AF_PACKET, SOCK_DGRAM, "AF_PACKET/DGRAM" },
		{ AF_INET, SOCK_PACKET, "SOCK_PACKET" },
		{ AF_XDP, SOCK_RAW, "AF_XDP" },
		{ 26, SOCK_DGRAM, "AF_LLC" },
		{ 5, SOCK_DGRAM, "AF_APPLETALK" },
		{ 9, SOCK_SEQPACKET, "AF_X25" },
		{ 3, SOCK_DGRAM, "AF_AX25" },
		{ 29, SOCK_RAW, "AF_CAN" },
		{ 30, SOCK_RDM, "AF_TIPC" },
		{ 21, SOCK_SEQPACKET, "AF_RDS" },
		{ 31, SOCK_RAW, "AF_BLUETOOTH" },
		{ 36, SOCK_RAW, "AF_IEEE802154" },
		{ 35, SOCK_DGRAM, "AF_PHONET" },
		{ 43, SOCK_STREAM, "AF_SMC" },
		{ 45, SOCK_DGRAM, "AF_MCTP" },
		{ 40, SOCK_STREAM, "AF_VSOCK" },
		{ 15, SOCK_RAW, "AF_KEY" },
		{ 33, SOCK_DGRAM, "AF_RXRPC" },
		{ 42, SOCK_DGRAM, "AF_QIPCRTR" },
	};
	size_t i;
	int made = 0;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		int fd = socket(fams[i].family, fams[i].type, 0);

		if (fd >= 0) {
			printf("%s: created\n", fams[i].name);
			close(fd);
			made++;
		} else {
			printf("%s: %s\n", fams[i].name, strerror(errno));
		}
	}
	return made ? 1 : 0;
}

/* ---- sockets from before the attach ------------------------------------------------ */

static int wait_file(const char *path, int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (!access(path, F_OK))
			return 0;
		usleep(100000);
	}
	return -1;
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0)
		close(fd);
}

int do_prehold(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_ll sll = { 0 };
	struct in_addr src;
	char path[4096];
	uint8_t b[256], f[256], smac[6];
	unsigned tag;
	size_t n, fn = 0;
	int u, t, p, rc = 0, i;

	if (argc < 6)
		usage();
	addr4(argv[1], &to.sin_addr);
	tag = tag_arg(argv[4]);
	n = payload(b, tag);

	u = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_port = htons(num(argv[2], 65535));
	if (u < 0 || connect(u, (struct sockaddr *)&to, sizeof(to)))
		return fail("udp connect", errno);
	t = socket(AF_INET, SOCK_STREAM, 0);
	to.sin_port = htons(num(argv[3], 65535));
	if (t < 0 || connect(t, (struct sockaddr *)&to, sizeof(to)))
		return fail("tcp connect", errno);
	p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (p >= 0 && !if_mac(u, argv[0], smac) && !if_addr4(u, argv[0], &src)) {
		fn = eth_frame(f, smac, src, to.sin_addr, num(argv[2], 65535), tag);
		sll.sll_family = AF_PACKET;
		sll.sll_ifindex = (int)if_nametoindex(argv[0]);
		sll.sll_halen = 6;
		memset(sll.sll_addr, 0xff, 6);
	}
	printf("opened udp tcp %s\n", p >= 0 ? "packet" : "(no packet socket)");
	fflush(stdout);
	snprintf(path, sizeof(path), "%s/ready", argv[5]);
	touch(path);
	snprintf(path, sizeof(path), "%s/go", argv[5]);
	if (wait_file(path, 60))
		return fail("waiting for go", ETIMEDOUT);
	for (i = 0; i < 3; i++) {
		if (send(u, b, n, 0) < 0) {
			rc = fail("udp send", errno);
			break;
		}
	}
	if (i == 3)
		printf("udp: sent 3\n");
	if (send(t, b, n, MSG_NOSIGNAL) < 0)
		rc = fail("tcp send", errno);
	else
		printf("tcp: queued 1\n");
	if (p >= 0 && fn) {
		if (sendto(p, f, fn, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			rc = fail("packet send", errno);
		else
			printf("packet: sent 1\n");
	}
	fflush(stdout);
	sleep(2); /* let TCP retransmit into the filter */
	return rc;
}

/* ---- SCM_RIGHTS from outside -------------------------------------------------------- */

int do_fdpass_server(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in to = { .sin_family = AF_INET };
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	struct iovec iov;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	int fds[2], nfds = 1, l, c;
	struct pollfd pfd;
	char one = 'x';

	if (argc < 3)
		usage();
	addr4(argv[1], &to.sin_addr);
	to.sin_port = htons(num(argv[2], 65535));
	fds[0] = socket(AF_INET, SOCK_DGRAM, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&to, sizeof(to)))
		return fail("udp socket", errno);
	if (argc > 3) {
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_ALL) };

		fds[1] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
		sll.sll_ifindex = (int)if_nametoindex(argv[3]);
		if (fds[1] < 0 || bind(fds[1], (struct sockaddr *)&sll, sizeof(sll)))
			return fail("packet socket", errno);
		nfds = 2;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[0]);
	unlink(argv[0]);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) || listen(l, 1))
		return fail("unix listen", errno);
	chmod(argv[0], 0666);
	printf("serving %d fd(s)\n", nfds);
	fflush(stdout);
	pfd.fd = l;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 60000) <= 0)
		return fail("waiting for a client", ETIMEDOUT);
	c = accept(l, NULL, NULL);
	if (c < 0)
		return fail("accept", errno);
	iov.iov_base = &one;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	if (sendmsg(c, &mh, 0) < 0)
		return fail("sendmsg(SCM_RIGHTS)", errno);
	/* wait for the client to finish (it closes), bounded */
	pfd.fd = c;
	poll(&pfd, 1, 20000);
	printf("passed %d fd(s)\n", nfds);
	unlink(argv[0]);
	return 0;
}

int do_fdpass_client(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in to = { .sin_family = AF_INET };
	char cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	uint8_t b[PAYLOAD];
	char one;
	int s, i, got = 0, rc = 0;

	if (argc < 4)
		usage();
	addr4(argv[1], &to.sin_addr);
	to.sin_port = htons(num(argv[2], 65535));
	payload(b, tag_arg(argv[3]));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[0]);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	for (i = 0; i < 100; i++) {
		if (!connect(s, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		usleep(100000);
	}
	if (i == 100)
		return fail("connect(unix)", errno);
	iov.iov_base = &one;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(s, &mh, 0) < 0)
		return fail("recvmsg", errno);
	if (mh.msg_flags & MSG_CTRUNC)
		printf("control data truncated (MSG_CTRUNC): fds refused\n");
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k, nfd, fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (k = 0; k < nfd; k++) {
			int dom = 0;
			socklen_t dl = sizeof(dom);

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			got++;
			getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl);
			if (dom == AF_INET) {
				if (sendto(fd, b, sizeof(b), 0, NULL, 0) < 0)
					rc = fail("udp send on passed fd", errno);
				else
					printf("udp: sent 1 on a passed socket\n");
			} else {
				printf("received a socket of family %d\n", dom);
			}
		}
	}
	printf("received %d fd(s)\n", got);
	close(s);
	return got ? rc : 3;
}
