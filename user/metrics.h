/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus text exposition (format 0.0.4) of every attached cgroup, shared
 * by `egressctl metrics` and `egressctl serve`. Reading the kernel
 * (metrics_collect) and formatting (metrics_format) are separate so the
 * formatting is testable without BPF.
 */
#ifndef EGR_METRICS_H
#define EGR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "kstate.h"

/* One rule in force with its hit counter, as read for metrics/events. */
struct metrics_rule {
	uint32_t id;
	uint64_t hits;
	struct egr_urule rule;
};

/* A snapshot of one attached cgroup. */
struct metrics_target {
	char label[300];  /* kstate_label() */
	char cgroup[256]; /* cgroup path (egr_meta.path) */
	uint64_t cgid;
	bool alive;	  /* the egress link is attached to a live cgroup */
	bool audit;
	struct egr_counter st[EGR_STAT_MAX];
	uint32_t capacity;    /* egr_meta.max_rules */
	uint32_t nprefix[2];  /* trie entries read: [0] IPv4, [1] IPv6 */
	struct metrics_rule *rules;
	size_t nrules;
};

/* Read every rule in force with its hits, a few syscalls in all (batch
 * lookups; one lookup per element where the kernel lacks them). Rules are
 * sorted by family, prefix, deny first, protocol, ports. nprefix (may be
 * NULL) gets the trie entry counts. *out is malloc'd. 0 or -errno.
 */
int metrics_read_rules(const struct egr_kstate *ks, struct metrics_rule **out, size_t *n,
		       uint32_t nprefix[2]);

/* Snapshot every attached target (pins not made by egressctl are skipped).
 * *out is malloc'd; free with metrics_free(). 0 or -errno.
 */
int metrics_collect(struct metrics_target **out, size_t *n);
void metrics_free(struct metrics_target *t, size_t n);

/* Write the exposition of n targets to f. version/libbpf go into
 * egressctl_build_info. Targets whose (target, cgroup) labels repeat an
 * earlier one are left out (the live one is kept), so no series repeats.
 * 0, or -EIO if writing to f failed.
 */
int metrics_format(FILE *f, const struct metrics_target *t, size_t n, const char *version,
		   const char *libbpf);

/* metrics_collect() + metrics_format() into a malloc'd buffer. 0 or -errno. */
int metrics_render(char **buf, size_t *len);

/* Write s as a label value: backslash, double quote and newline escaped as
 * \\, \" and \n; everything else as is. No quotes around it.
 */
void metrics_escape(FILE *f, const char *s);

/* The rule as text: "allow 10.0.0.0/8 tcp:443" (the form `list` shows). */
const char *metrics_rule_text(const struct egr_urule *r, char *buf, size_t len);

#endif /* EGR_METRICS_H */
