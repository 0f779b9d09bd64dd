// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attack: the witness (capture) and the link-layer senders (packet, xdp).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>

#include "attack.h"

/* ---- capture (the witness) ------------------------------------------------ */

static int frame_tag(const uint8_t *f, size_t n)
{
	size_t i, off;
	uint16_t et;

	for (i = 0; i + 10 <= n; i++) {
		if (!memcmp(f + i, MARK, 5) && f[i + 9] == ':') {
			char d[5];
			unsigned t;

			memcpy(d, f + i + 5, 4);
			d[4] = 0;
			if (sscanf(d, "%4u", &t) == 1 && t >= 1 && t <= MAX_TAG)
				return (int)t;
		}
	}
	if (n < 14)
		return 0;
	et = (uint16_t)(f[12] << 8 | f[13]);
	off = 14;
	if (et == 0x8100 && n >= 18) { /* VLAN */
		et = (uint16_t)(f[16] << 8 | f[17]);
		off = 18;
	}
	if (et == 0x0800 && n >= off + 20) {
		uint16_t id = (uint16_t)(f[off + 4] << 8 | f[off + 5]);

		if (id > 0xE000 && id <= 0xE000 + MAX_TAG)
			return id - 0xE000;
	}
	if (et == 0x86DD && n >= off + 40) {
		uint8_t nh = f[off + 6];
		int k;

		off += 40;
		for (k = 0; k < 16 && off + 8 <= n; k++) {
			if (nh == 44) {
				uint32_t ident = (uint32_t)f[off + 4] << 24 | f[off + 5] << 16 |
						 f[off + 6] << 8 | f[off + 7];

				if (ident > ID6(0) && ident <= ID6(MAX_TAG))
					return (int)(ident - ID6(0));
				return 0;
			}
			if (nh != 0 && nh != 43 && nh != 60)
				return 0;
			nh = f[off];
			off += (f[off + 1] + 1) * 8;
		}
	}
	return 0;
}

int do_capture(int argc, char **argv)
{
	static unsigned counts[MAX_TAG + 1];
	const char *ready = NULL, *stopf = NULL;
	struct sockaddr_ll sll = { 0 };
	struct timespec t0, now;
	unsigned total = 0;
	double secs;
	int fd, one = 1, i, t;
	uint8_t buf[65536];

	if (argc < 2)
		usage();
	secs = (double)num(argv[1], 3600);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			ready = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			stopf = argv[++i];
		else
			usage();
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return fail("socket", errno);
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(argv[0]);
	if (!sll.sll_ifindex)
		return fail("if_nametoindex", errno);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		return fail("bind", errno);
	if (ready) {
		int r = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (r >= 0)
			close(r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop_flag) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= secs)
			break;
		if (stopf && !access(stopf, F_OK))
			break;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			continue;
		t = frame_tag(buf, (size_t)n);
		if (t) {
			counts[t]++;
			total++;
		}
	}
	for (t = 1; t <= MAX_TAG; t++)
		if (counts[t])
			printf("%d %u\n", t, counts[t]);
	printf("total %u\n", total);
	return 0;
}

/* ---- L2 senders -------------------------------------------------------------- */

int do_packet(int argc, char **argv)
{
	struct sockaddr_ll sll = { 0 };
	struct in_addr src, dst;
	uint8_t f[256], smac[6];
	unsigned tag, count = 1, i, sent = 0;
	size_t n;
	int fd;

	if (argc < 4)
		usage();
	addr4(argv[1], &dst);
	tag = tag_arg(argv[3]);
	if (argc > 4)
		count = num(argv[4], 1000);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return fail("socket(AF_PACKET)", errno);
	if (if_mac(fd, argv[0], smac) || if_addr4(fd, argv[0], &src))
		return fail("interface", errno);
	n = eth_frame(f, smac, src, dst, num(argv[2], 65535), tag);
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(argv[0]);
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	for (i = 0; i < count; i++) {
		if (sendto(fd, f, n, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			return fail("sendto(AF_PACKET)", errno);
		sent++;
	}
	printf("sent %u\n", sent);
	return 0;
}

int do_xdp(int argc, char **argv)
{
	struct xdp_umem_reg mr = { 0 };
	struct xdp_mmap_offsets off;
	struct sockaddr_xdp sxdp = { 0 };
	struct in_addr src, dst;
	socklen_t ol = sizeof(off);
	uint8_t smac[6];
	unsigned tag, ring = 64;
	size_t n, umem_len = 16 * 4096;
	uint8_t *umem, *tx;
	struct xdp_desc *desc;
	uint32_t *prod;
	int fd, ifd;

	if (argc < 4)
		usage();
	addr4(argv[1], &dst);
	tag = tag_arg(argv[3]);
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (fd < 0)
		return fail("socket(AF_XDP)", errno);
	ifd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ifd < 0 || if_mac(ifd, argv[0], smac) || if_addr4(ifd, argv[0], &src))
		return fail("interface", errno);
	close(ifd);
	umem = mmap(NULL, umem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem == MAP_FAILED)
		return fail("mmap umem", errno);
	mr.addr = (uintptr_t)umem;
	mr.len = umem_len;
	mr.chunk_size = 4096;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)))
		return fail("XDP_UMEM_REG", errno);
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_TX_RING, &ring, sizeof(ring)))
		return fail("XDP rings", errno);
	if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol))
		return fail("XDP_MMAP_OFFSETS", errno);
	tx = mmap(NULL, off.tx.desc + ring * sizeof(struct xdp_desc), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, XDP_PGOFF_TX_RING);
	if (tx == MAP_FAILED)
		return fail("mmap tx ring", errno);
	sxdp.sxdp_family = AF_XDP;
	sxdp.sxdp_ifindex = if_nametoindex(argv[0]);
	sxdp.sxdp_queue_id = 0;
	sxdp.sxdp_flags = XDP_COPY;
	if (bind(fd, (struct sockaddr *)&sxdp, sizeof(sxdp)))
		return fail("bind(AF_XDP)", errno);
	n = eth_frame(umem, smac, src, dst, num(argv[2], 65535), tag);
	desc = (struct xdp_desc *)(tx + off.tx.desc);
	prod = (uint32_t *)(tx + off.tx.producer);
	desc[0].addr = 0;
	desc[0].len = n;
	desc[0].options = 0;
	__atomic_store_n(prod, 1, __ATOMIC_RELEASE);
	if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0)
		return fail("sendto(AF_XDP)", errno);
	usleep(100000);
	printf("sent 1\n");
	return 0;
}
