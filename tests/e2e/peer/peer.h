// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * peer: the declarations its files share (see main.c for the commands).
 */
#ifndef EGR_PEER_H
#define EGR_PEER_H

#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>

#define MAX_SECONDS 3600.0
#define MAX_CONNS 256
#define BUF_SIZE 65536
#define HOLD_MSG_LEN 16
#define HOLD_PERIOD_MS 100
#define HOLD_ACK_MS 1000

extern const char *prog;
extern volatile sig_atomic_t stop_flag;

struct opts {
	int v6;
	int bytes;
	int echo;
	int verbose;
	int retrans; /* tcp-send -R */
	unsigned long n; /* 0: no limit */
	unsigned long len;
	unsigned long interval_us;
	double timeout; /* < 0: not given */
	const char *src;
	const char *ready;
	const char *progress; /* -p FILE: the running result, rewritten as it changes */
	char *pos[8];
	int npos;
};

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

/* main.c: usage and arguments */
void usage(void) __attribute__((noreturn));
void die_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void parse_opts(int argc, char **argv, const char *flags, const char *valued, struct opts *o);
unsigned long parse_ulong(const char *s, const char *what, unsigned long min, unsigned long max);
double parse_seconds(const char *s);

/* util.c: time, signals, addresses, sockets, progress files */
double now(void);
int ms_left(double deadline);
void sleep_us(unsigned long us);
void setup_signals(void);
void parse_addr(const char *s, unsigned long port, int want_v6, struct addr *a);
void any_addr(int v6, unsigned long port, struct addr *a);
int fail(const char *what);
int fail_rc(const char *what);
void set_timeouts(int fd, double secs);
void big_rcvbuf(int fd);
int bound_socket(int v6, int type, unsigned long port);
void mark_ready(const char *path);
int connect_timeout(const struct addr *a, double timeout);
size_t send_all(int fd, const char *buf, size_t len, int stall_ms);
void progress(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* the commands: recv.c, udp.c, tcp.c */
int cmd_udp_recv(int argc, char **argv);
int cmd_tcp_recv(int argc, char **argv);
int cmd_icmp_recv(int argc, char **argv);
int cmd_udp_send(int argc, char **argv);
int cmd_udp_alt(int argc, char **argv);
int cmd_udp_flood(int argc, char **argv);
int cmd_tcp_send(int argc, char **argv);
int cmd_tcp_connect_hold(int argc, char **argv);
int cmd_tcp_hello(int argc, char **argv);

#endif
