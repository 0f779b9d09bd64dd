// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* attack: what its files share (the commands are listed in main.c). */
#ifndef EGR_ATTACK_H
#define EGR_ATTACK_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

#define MARK "EGRV:"
#define MAX_TAG 4095
#define ID4(tag) ((uint16_t)(0xE000 + (tag)))
#define ID6(tag) (0xE6E60000u + (tag))
#define PAYLOAD 64

extern const char *prog;
extern volatile sig_atomic_t stop_flag;

/* main.c */
void usage(void) __attribute__((noreturn));
int fail(const char *step, int e);
unsigned long num(const char *s, unsigned long max);
unsigned tag_arg(const char *s);
void addr4(const char *s, struct in_addr *a);
void addr6(const char *s, struct in6_addr *a);
int is_v6(const char *s);

/* packet.c */
size_t payload(uint8_t *p, unsigned tag);
uint16_t csum(const void *data, size_t len, uint32_t sum);
void ip4hdr(uint8_t *b, struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t totlen,
	    uint16_t id, uint16_t frag);
size_t udp4(uint8_t *b, struct in_addr src, struct in_addr dst, uint16_t sport, uint16_t dport,
	    unsigned tag);
size_t udp6(uint8_t *b, const struct in6_addr *src, const struct in6_addr *dst, uint16_t dport,
	    unsigned tag);
int if_addr4(int fd, const char *ifname, struct in_addr *a);
int if_mac(int fd, const char *ifname, uint8_t mac[6]);
size_t eth_frame(uint8_t *f, const uint8_t smac[6], struct in_addr src, struct in_addr dst,
		 uint16_t port, unsigned tag);
int send_raw4(int fd, const void *b, size_t n, struct in_addr to);
int send_raw6(int fd, const uint8_t *b, size_t n, const struct in6_addr *dst);
void ip6hdr(uint8_t *b, const struct in6_addr *src, const struct in6_addr *dst, uint8_t nh,
	    uint16_t plen);
void frag6hdr(uint8_t *b, uint8_t nh, uint16_t off8, int more, uint32_t ident);

/* capture.c */
int do_capture(int argc, char **argv);
int do_packet(int argc, char **argv);
int do_xdp(int argc, char **argv);

/* raw.c */
int do_rawudp(int argc, char **argv);
int do_icmp(int argc, char **argv);
int do_pingsock(int argc, char **argv);
int do_proto(int argc, char **argv);
int do_udp6(int argc, char **argv);
int do_frag(int argc, char **argv);
int do_frag6(int argc, char **argv);
int do_rawudp6(int argc, char **argv);

/* sockets.c */
int do_family(void);
int do_prehold(int argc, char **argv);
int do_fdpass_server(int argc, char **argv);
int do_fdpass_client(int argc, char **argv);

/* escape.c */
int do_escape(void);
int do_sockbench(int argc, char **argv);
int do_sendbench(int argc, char **argv);

#endif
